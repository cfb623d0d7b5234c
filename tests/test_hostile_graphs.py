"""Issue 23: hostile graphs. A bounded campaign (fixed seeds) of mutated attributes and inserted
allocation bombs over the fixture networks (tools/hostile_campaign.py, whose longer opt-in run prints
the counts): every outcome is a run, an error of the project's family, the input guard's line or a
torch shape error naming the MXNet node; nothing allocates beyond the budget, nothing is slow."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

import hostile_campaign as H
import mxtorch
import ndparse
from mxtorch.budget import MemoryBudgetError, parse_size

CASES = 72


def test_campaign_has_no_wrong_outcome() -> None:
    H.warm_up()
    base = H.peak_rss()
    outcomes = H.campaign(CASES, seed=0)
    counts = Counter(o.kind for o in outcomes)
    wrong = [f"{o.net}: {o.mutation}: {o.detail}" for o in outcomes if o.kind == "wrong"]
    assert not wrong, f"{len(wrong)} wrong of {CASES}: " + "; ".join(wrong[:5])
    assert counts["ran"] and counts["refused"], counts  # the campaign exercises both sides
    assert H.peak_rss() - base < 4 * H.BUDGET  # nothing near a bomb's size was ever held


def _graph(nodes: list[dict], heads: list[int]) -> str:
    out = [{"op": n.get("op", "null"), "name": n["name"], "attrs": n.get("attrs", {}),
            "inputs": [[i, 0, 0] for i in n.get("inputs", [])]} for n in nodes]
    return json.dumps({"nodes": out, "arg_nodes": [i for i, n in enumerate(out) if n["op"] == "null"],
                       "heads": [[h, 0, 0] for h in heads], "attrs": {"mxnet_version": ["int", 10901]}})


@pytest.mark.parametrize("op, attrs", [
    ("_zeros", {"shape": "(100000, 100000, 100)"}),
    ("_full", {"shape": "(1000000, 1000000)", "value": "2"}),
    ("_ones", {"shape": "(9223372036854775807, 2)"}),
    ("_arange", {"start": "0", "stop": "9.2e21"}),
])
def test_graph_constants_are_checked_at_load(op: str, attrs: dict) -> None:
    g = _graph([{"name": "data"}, {"op": "relu", "name": "r", "inputs": [0]},
                {"op": op, "name": "bomb", "attrs": attrs}], [1, 2])
    with pytest.raises(ndparse.NDFormatError, match="'bomb'"):
        mxtorch.from_symbol(g, {}, {}, max_memory="1G")


def test_a_bomb_just_under_the_machine_is_refused_before_it_allocates() -> None:
    """A tile that would need 8 GiB under a 256 MiB budget: refused, naming the node and the size,
    before any of it is allocated (the model is never run)."""
    g = _graph([{"name": "data"}, {"op": "tile", "name": "t", "inputs": [0], "attrs": {"reps": "(1024, 1024)"}}],
               [1])
    model = mxtorch.from_symbol(g, {}, {}, max_memory="256M")
    with pytest.raises(MemoryBudgetError) as info:
        model(torch.ones(32, 64))
    err = info.value
    assert err.node == "t" and err.op == "tile" and err.nbytes == 32 * 64 * 1024 * 1024 * 4
    assert "tile node 't' would allocate 8 GiB (8,589,934,592 bytes)" in str(err)
    assert model(torch.ones(2, 2)).shape == (2048, 2048)  # 16 MiB: within the budget


def test_live_values_count_against_the_budget() -> None:
    # three 4 MiB values alive at once under a 10 MiB budget
    g = _graph([{"name": "data"}, {"op": "_mul_scalar", "name": "a", "inputs": [0], "attrs": {"scalar": "2"}},
                {"op": "_mul_scalar", "name": "b", "inputs": [0], "attrs": {"scalar": "3"}},
                {"op": "_mul_scalar", "name": "c", "inputs": [0], "attrs": {"scalar": "4"}}], [1, 2, 3])
    model = mxtorch.from_symbol(g, {}, {}, max_memory="10M")
    with pytest.raises(MemoryBudgetError, match=r"_mul_scalar node 'c' would allocate 4 MiB .*8 MiB of earlier"):
        model(torch.ones(1024, 1024))


def test_default_budget_is_half_the_machine() -> None:
    from mxtorch.budget import _memory_total, default_budget
    assert default_budget() == _memory_total() // 2 > 0


@pytest.mark.parametrize("text, n", [("4G", 4 << 30), ("512MiB", 512 << 20), ("1e9", 10**9), (1024, 1024),
                                     ("1.5k", 1536)])
def test_parse_size(text: object, n: int) -> None:
    assert parse_size(text) == n


@pytest.mark.parametrize("text", ["0", "-1", "lots", "", True, float("nan")])
def test_parse_size_refuses(text: object) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


def test_cli_max_memory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mxtorch.cli import main
    net = Path(H.NET) / "resnet_v1"
    assert main(["run", str(net), "--input", "data=4,3,128,128", "--max-memory", "100K"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "over the memory budget of 100 KiB" in err, err
    assert main(["run", str(net), "--input", "data=1,3,64,64", "--max-memory", "nonsense"]) == 2
    assert "--max-memory" in capsys.readouterr().err
    x = np.zeros((1, 3, 8, 8), np.float32)
    assert mxtorch.load(net, max_memory="64M")(torch.from_numpy(x)).shape == (1, 5)


def test_a_bomb_after_an_op_the_meta_run_cannot_follow_is_checked_when_it_runs() -> None:
    """``_contrib_boolean_mask``-like ops have value-dependent shapes; here a user converter whose
    function has no meta kernel stands for them: the tile after it is checked just before it runs."""
    from mxtorch.ops._registry import Lowered

    def no_meta(node: object) -> Lowered:
        return Lowered(_values_dependent, {})
    g = _graph([{"name": "data"}, {"op": "ValueShaped", "name": "v", "inputs": [0]},
                {"op": "tile", "name": "t", "inputs": [1], "attrs": {"reps": "(100000, 100000)"}},
                {"op": "relu", "name": "r", "inputs": [0]},
                {"op": "tile", "name": "t0", "inputs": [3], "attrs": {"reps": "(1, 2)"}}], [2, 4])
    model = mxtorch.from_symbol(g, {}, {}, max_memory="64M", converters={"ValueShaped": no_meta})
    with pytest.raises(MemoryBudgetError, match="tile node 't' would allocate"):
        model(torch.ones(4, 4))


def _values_dependent(x: torch.Tensor) -> torch.Tensor:
    return x[x > 0]  # output shape depends on the values: no meta result
