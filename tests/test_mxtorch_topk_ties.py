"""topk/sort/argsort tie order (issue 18): MXNet's CPU kernel runs libstdc++'s std::partial_sort or std::sort on
positions, so equal values come out in neither position nor stable order. The eager model replays those
algorithms on tied rows (MXNet's own numbers are checked on fixtures/mxtorch/detection/*ties*); these tests cover
what the fixtures cannot: rows without ties never take the replay, the replay equals a plain reading of the two
algorithms on small cases, and the exported graph (which keeps position order) still traces."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from mxtorch.ops import indexing  # noqa: E402


@pytest.mark.parametrize("seed", range(3))
def test_distinct_values_skip_the_replay(seed: int, monkeypatch) -> None:
    """Without ties any correct sort agrees with MXNet: the replay must not run (it is Python-speed)."""
    x = torch.from_numpy(np.random.RandomState(seed).permutation(5000).astype(np.float32).reshape(2, 2500))
    monkeypatch.setattr(indexing, "stl_order", lambda *a, **k: pytest.fail("replay ran without ties"))
    idx = indexing.topk(x, axis=-1, k=50, ret_typ="indices", is_ascend=False, dtype="int64")
    assert torch.equal(idx, torch.topk(x, 50, dim=-1).indices)


def test_short_axis_is_position_order() -> None:
    """Up to 16 elements std::sort is an insertion sort: stable, i.e. position order (no replay needed)."""
    x = torch.tensor([[1.0, 2.0, 1.0, 2.0, 0.0, 2.0]])
    assert indexing.argsort(x, axis=-1, is_ascend=False, dtype="int64").tolist() == [[1, 3, 5, 0, 2, 4]]
    assert indexing.stl_order(x[0].tolist(), 6, False) == [1, 3, 5, 0, 2, 4]


def test_replay_departs_from_position_order() -> None:
    """All-equal values: partial_sort's heap leaves the k positions in its own order (what MXNet returns)."""
    vals = [1.0] * 64
    got = indexing.stl_order(vals, 8, False)
    assert sorted(got) == list(range(8)) and got != list(range(8))
    x = torch.ones(1, 64)
    assert indexing.topk(x, axis=-1, k=8, ret_typ="indices", is_ascend=False, dtype="int64").tolist() == [got]


def test_full_sort_is_a_permutation_in_order() -> None:
    r = np.random.RandomState(3)
    vals = r.randint(0, 4, 3000).astype(np.float32).tolist()
    for asc in (False, True):
        pos = indexing.stl_order(vals, 3000, asc)
        assert sorted(pos) == list(range(3000))
        seq = [vals[p] for p in pos]
        assert seq == sorted(vals, reverse=not asc)


def test_export_keeps_position_order() -> None:
    """torch.export traces the vectorised path (no data-dependent replay)."""
    class M(torch.nn.Module):
        def forward(self, x):
            return indexing.topk(x, axis=-1, k=8, ret_typ="indices", is_ascend=False, dtype="int64")

    x = torch.ones(1, 64)
    prog = torch.export.export(M(), (x,))
    assert prog.module()(x).tolist() == [list(range(8))]


def test_verify_compares_the_export_with_its_own_tie_order(tmp_path) -> None:
    """An all-ties input: the in-memory model returns MXNet's (heap) order, the .pt2 position order, and
    export's verification holds the artifact to the order it was traced to compute (so it passes), while
    position_order_ties() is what switches the in-memory model to that order."""
    import mxtorch
    from mxtorch.export import export

    sym = ('{"nodes":[{"op":"null","name":"data","inputs":[]},{"op":"topk","name":"top","attrs":{"k":"8",'
           '"ret_typ":"indices","dtype":"int64"},"inputs":[[0,0,0]]}],"arg_nodes":[0],"heads":[[1,0,0]],'
           '"attrs":{"mxnet_version":["int",10901]}}')
    model = mxtorch.from_symbol(sym, {}, {})
    x = torch.ones(1, 64)
    with torch.inference_mode():
        mx_order = model(x).tolist()[0]
        with indexing.position_order_ties():
            pos_order = model(x).tolist()[0]
    assert mx_order == indexing.stl_order([1.0] * 64, 8, False) and pos_order == list(range(8))
    export(model, tmp_path / "t.pt2", [x], verify=True)
    assert torch.export.load(str(tmp_path / "t.pt2")).module()(x).tolist() == [list(range(8))]
