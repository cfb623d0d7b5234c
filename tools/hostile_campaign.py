"""Hostile-graph campaign: mutate the fixture networks' graphs and check that mxtorch refuses what it
cannot hold, before it tries (issue 23).

Each case takes one network of fixtures/mxtorch/net/ (symbol, params, the input MXNet ran) and either
sets one attribute of one op node to a hostile value (0, -1, 10^9, 2^63, nan, inf, empty or
oversized tuples, ...) or inserts an allocation bomb as an extra head (``_zeros``/``_ones``/``_full``
shapes, ``_arange`` stop, ``tile`` reps, ``repeat``, ``broadcast_to``, ``UpSampling`` scale, ``Pad``
widths, ``Reshape`` targets). It is loaded with ``mxtorch.from_symbol(..., max_memory=BUDGET)`` and run
on the fixture's input. Outcomes:

- ``ran``: it ran (the mutation was harmless);
- ``refused``: an error of the project's family (``ndparse.NDFormatError``: UnsupportedOpError,
  MemoryBudgetError, SymbolFormatError, ...) at load or before the forward allocated;
- ``input``: the input guard's one line (`mxtorch.budget.InputRankError`) naming the consumer node;
- ``shape``: a torch shape error that names the MXNet node (``exc.mxnet_node``);
- ``wrong``: anything else (a bare ZeroDivisionError/OverflowError, an allocation failure, an error
  without the node), or a case more than ``SLOW`` seconds slower than 3x the unmutated network.

    python tools/hostile_campaign.py [--cases N] [--seed S] [--max-memory 64M] [--show-wrong]

prints the counts by outcome (and each wrong case). tests/test_hostile_graphs.py runs a bounded
campaign with fixed seeds in CI.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import resource
import sys
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NET = ROOT / "fixtures" / "mxtorch" / "net"
SLOW = 5.0            # seconds a case may take beyond 3x the network's honest load and run
BUDGET = 64 << 20     # max_memory of every case: far above what the nets need, far below the bombs

HOSTILE_INTS = ["0", "-1", "1000000000", "9223372036854775808", "-9223372036854775809", "2147483648", "3"]
HOSTILE_FLOATS = ["nan", "inf", "-inf", "1e300", "-1e300", "0", "-1"]
HOSTILE_TUPLES = ["()", "(0, 0)", "(-1, -1)", "(1000000000, 0)", "(1000000000, 1000000000)",
                  "(1, 1, 1, 1, 1)", "(9223372036854775807, 1)", "(2,)", "(0,)"]
HOSTILE_WORDS = ["", "garbage", "None", "True", "(1, 2", "1e999"]
# attributes to add when a node lacks them (its op reads them with defaults)
EXTRA_KEYS = ["kernel", "stride", "pad", "dilate", "num_filter", "num_group", "axis", "eps", "p",
              "slope", "shape", "num_outputs", "dim", "pooling_convention", "pool_type", "act_type",
              "global_pool", "flatten", "num_hidden"]


@dataclass
class Outcome:
    net: str
    mutation: str
    kind: str          # ran | refused | input | shape | wrong
    detail: str
    seconds: float


# the networks of the opt-in run's --all (every whole-network fixture folder)
NETWORK_KINDS = ("net", "detnet_a", "detnet_b", "gluoncv_cls_seg", "gluonnlp")
_KINDS: list[str] = ["net"]


@cache
def _net(name: str) -> tuple[dict, dict, dict, dict]:
    """(symbol JSON dict, arg params, aux params, {input name: array}) of a fixture network
    (``name``: ``NAME`` in fixtures/mxtorch/net/, or ``KIND/NAME``)."""
    import numpy as np

    import ndparse
    from ndparse.checkpoint import split_checkpoint_params
    folder, _, base = name.rpartition("/")
    where = NET.parent / (folder or "net")
    sym = json.loads((where / f"{base}-symbol.json").read_text())
    params = where / f"{base}-0000.params"
    arg, aux = split_checkpoint_params(ndparse.load(params, mmap=False), params) if params.is_file() else ({}, {})
    with np.load(where / f"{base}.expected.npz") as z:
        inputs = {k[3:]: z[k] for k in z.files if k.startswith("in:")}
    return sym, arg, aux, inputs


def networks() -> list[str]:
    out = []
    for kind in _KINDS:
        where = NET.parent / kind
        for p in sorted(where.glob("*-symbol.json")):
            base = p.name[: -len("-symbol.json")]
            if (where / f"{base}.expected.npz").is_file():
                out.append(base if kind == "net" else f"{kind}/{base}")
    return out


def _attrs(node: dict) -> dict:
    key = "attrs" if "attrs" in node else ("attr" if "attr" in node else "param")
    return node.setdefault(key, {})


def _op_nodes(sym: dict) -> list[int]:
    return [i for i, n in enumerate(sym["nodes"]) if n["op"] != "null"]


def _hostile_value(rng: random.Random, old: str | None) -> str:
    if old is not None and old.strip().startswith(("(", "[")):
        n = max(1, old.count(",") + (0 if old.strip()[1:-1].strip().endswith(",") else 1))
        pick = rng.choice(HOSTILE_INTS[:5])
        if rng.random() < 0.5:
            return rng.choice(HOSTILE_TUPLES)
        vals = [pick if rng.random() < 0.6 else "1" for _ in range(n)]
        return "(" + ", ".join(vals) + ")"
    pool = rng.choice([HOSTILE_INTS, HOSTILE_FLOATS, HOSTILE_TUPLES, HOSTILE_WORDS])
    return rng.choice(pool)


def mutate_attribute(sym: dict, rng: random.Random) -> str:
    i = rng.choice(_op_nodes(sym))
    node = sym["nodes"][i]
    attrs = _attrs(node)
    keys = [k for k in attrs if not k.startswith("__")]
    key = rng.choice(keys) if keys and rng.random() < 0.75 else rng.choice(EXTRA_KEYS)
    value = _hostile_value(rng, attrs.get(key))
    attrs[key] = value
    return f"{node['op']} {node['name']!r}: {key}={value}"


def _add(sym: dict, op: str, name: str, attrs: dict, inputs: list[int]) -> int:
    sym["nodes"].append({"op": op, "name": name, "attrs": attrs, "inputs": [[i, 0, 0] for i in inputs]})
    k = len(sym["nodes"]) - 1
    sym["heads"].append([k, 0, 0])
    if "node_row_ptr" in sym:
        del sym["node_row_ptr"]
    return k


def _feature_node(sym: dict, rng: random.Random) -> int:
    """A node whose output is 4-D in these networks (N, C, H, W)."""
    four_d = [i for i in _op_nodes(sym) if sym["nodes"][i]["op"] in ("Convolution", "Pooling", "BatchNorm",
                                                                   "Activation", "LeakyReLU")]
    return rng.choice(four_d or _op_nodes(sym))


BIG = ["1000000", "100000000", "1000000000", "9223372036854775807"]


def insert_bomb(sym: dict, rng: random.Random) -> str:
    big = rng.choice(BIG)
    kind = rng.choice(["zeros", "ones", "full", "arange", "arange_huge", "tile", "repeat", "broadcast_to",
                       "upsampling", "pad", "reshape", "zeros_small"])
    if kind in ("zeros", "ones", "full"):
        op = {"zeros": "_zeros", "ones": "_ones", "full": "_full"}[kind]
        shape = "(" + ", ".join(rng.choice(["1000", "100000", big]) for _ in range(rng.randint(2, 4))) + ")"
        attrs = {"shape": shape, "dtype": rng.choice(["float32", "float64", "int64"])}
        if kind == "full":
            attrs["value"] = "1.5"
        _add(sym, op, "bomb", attrs, [])
        return f"{op} shape={shape}"
    if kind == "zeros_small":  # a legitimate constant: must run
        _add(sym, "_zeros", "small", {"shape": "(2, 3)"}, [])
        return "_zeros shape=(2, 3)"
    if kind in ("arange", "arange_huge"):
        stop = rng.choice(["1e10", "9.2e21", "1e300", "inf", big])
        attrs = {"start": "0", "stop": stop, "step": rng.choice(["1", "0", "1e-30", "-1"])}
        if kind == "arange_huge":
            attrs["repeat"] = big
            attrs["stop"] = "10"
        _add(sym, "_arange", "bomb", attrs, [])
        return f"_arange {attrs}"
    src = _feature_node(sym, rng)
    if kind == "tile":
        reps = "(" + ", ".join(rng.choice(["1", "1000", big]) for _ in range(4)) + ")"
        _add(sym, "tile", "bomb", {"reps": reps}, [src])
        return f"tile reps={reps}"
    if kind == "repeat":
        _add(sym, "repeat", "bomb", {"repeats": big, "axis": rng.choice(["0", "1", "None", "7"])}, [src])
        return f"repeat repeats={big}"
    if kind == "broadcast_to":
        m = _add(sym, "mean", "squash", {"axis": "(1, 2, 3)", "keepdims": "True"}, [src])
        sym["heads"].pop()
        shape = f"(0, {rng.choice(['1000', big])}, {rng.choice(['1000', big])}, 0)"
        _add(sym, "broadcast_to", "bomb", {"shape": shape}, [m])
        return f"broadcast_to shape={shape}"
    if kind == "upsampling":
        scale = rng.choice(["1000", "100000", big, "0", "-2"])
        _add(sym, "UpSampling", "bomb", {"scale": scale, "sample_type": "nearest", "num_args": "1"}, [src])
        return f"UpSampling scale={scale}"
    if kind == "pad":
        w = rng.choice(["100000", big, "-5"])
        widths = f"(0, 0, 0, 0, {w}, {w}, {w}, {w})"
        _add(sym, "Pad", "bomb", {"mode": rng.choice(["constant", "edge", "reflect"]), "pad_width": widths,
                                  "constant_value": "0"}, [src])
        return f"Pad pad_width={widths}"
    shape = rng.choice([f"({big}, {big}, -1)", f"(-1, {big})", "(0, 0, 0, 0, 0)", f"({big},)", "(-2, -3, -4)",
                        f"(-4, {big}, -1, -2)"])
    _add(sym, "Reshape", "bomb", {"shape": shape}, [src])
    return f"Reshape shape={shape}"


def classify(exc: BaseException) -> tuple[str, str]:
    from ndparse.errors import NDFormatError

    from mxtorch.budget import InputRankError
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    text = f"{type(exc).__name__}: {first}"
    if isinstance(exc, NDFormatError):
        return "refused", text
    if isinstance(exc, InputRankError):
        return "input", text
    if isinstance(exc, (RuntimeError, ValueError, IndexError, TypeError)) and \
            getattr(exc, "mxnet_node", None) is not None:
        if "allocate" in first or "DefaultCPUAllocator" in first or "out of memory" in first:
            return "wrong", "allocation attempted: " + text
        return "shape", text
    return "wrong", text


def run_case(net: str, seed: int, *, budget: int = BUDGET) -> Outcome:
    """One mutation (by ``seed``) of ``net``, loaded and run; its outcome."""
    import torch

    import mxtorch
    sym0, arg, aux, xs = _net(net)
    rng = random.Random(seed)
    sym = copy.deepcopy(sym0)
    mutation = mutate_attribute(sym, rng) if rng.random() < 0.55 else insert_bomb(sym, rng)
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = mxtorch.from_symbol(json.dumps(sym), arg, aux, max_memory=budget)
            with torch.inference_mode():
                model(**{k: torch.from_numpy(v) for k, v in xs.items() if k in model.input_names})
        kind, detail = "ran", ""
    except Exception as exc:  # noqa: BLE001  (every outcome is classified)
        kind, detail = classify(exc)
    except RecursionError as exc:
        kind, detail = "wrong", f"RecursionError: {exc}"
    seconds = time.perf_counter() - start
    if seconds > SLOW + 3 * HONEST.get(net, 0.0):  # a few seconds beyond the honest compute
        kind, detail = "wrong", f"slow: {seconds:.1f} s; {detail}"
    return Outcome(net, mutation, kind, detail, seconds)


HONEST: dict[str, float] = {}  # network -> seconds of an unmutated load and run


def warm_up() -> None:
    """Load every network and run one unmutated (torch imports its meta kernels on first use: a
    one-time cost that is not the case's), timing the honest load and run of each."""
    import torch

    import mxtorch
    for net in networks():
        sym, arg, aux, xs = _net(net)
        for _ in range(2):
            start = time.perf_counter()
            with torch.inference_mode():
                model = mxtorch.from_symbol(json.dumps(sym), arg, aux, max_memory=BUDGET)
                model(**{k: torch.from_numpy(v) for k, v in xs.items() if k in model.input_names})
            HONEST[net] = time.perf_counter() - start


def campaign(cases: int, seed: int = 0, *, budget: int = BUDGET) -> list[Outcome]:
    """``cases`` mutations spread over every fixture network, from ``seed``."""
    nets = networks()
    warm_up()
    return [run_case(nets[k % len(nets)], seed * 1_000_003 + k, budget=budget) for k in range(cases)]


def peak_rss() -> int:
    """This process's peak resident memory so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=int, default=2000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max-memory", default="64M")
    p.add_argument("--show-wrong", action="store_true", help="print every wrong case")
    p.add_argument("--all", action="store_true",
                   help="also the detection, GluonCV and GluonNLP network fixtures (" + ", ".join(NETWORK_KINDS) + ")")
    args = p.parse_args(argv)
    if args.all:
        _KINDS[:] = list(NETWORK_KINDS)
    sys.path.insert(0, str(ROOT))
    from mxtorch.budget import format_bytes, parse_size
    budget = parse_size(args.max_memory)
    warm_up()  # load and run each network once before measuring
    base = peak_rss()
    t0 = time.perf_counter()
    outcomes = campaign(args.cases, args.seed, budget=budget)
    took = time.perf_counter() - t0
    counts = Counter(o.kind for o in outcomes)
    slowest = max(outcomes, key=lambda o: o.seconds)
    print(f"{len(outcomes)} cases over {len(networks())} networks in {took:.1f} s, budget {format_bytes(budget)}")
    for kind in ("ran", "refused", "input", "shape", "wrong"):
        print(f"  {kind:8} {counts.get(kind, 0)}")
    print(f"slowest case: {slowest.seconds:.2f} s ({slowest.net}: {slowest.mutation})")
    print(f"peak RSS growth during the campaign: {format_bytes(max(0, peak_rss() - base))}")
    wrong = [o for o in outcomes if o.kind == "wrong"]
    if wrong:
        by = Counter(o.detail.split(":")[0] for o in wrong)
        print("wrong by exception: " + ", ".join(f"{k} {v}" for k, v in by.most_common()))
        for o in wrong if args.show_wrong else wrong[:10]:
            print(f"  WRONG {o.net}: {o.mutation}: {o.detail}")
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
