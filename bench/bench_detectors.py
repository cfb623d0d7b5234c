"""Forward speed of full-size detectors: mxtorch (eager and optimized) against MXNet 1.9.1, same export and input.

    python bench/bench_detectors.py PREFIX [PREFIX ...] [--runs 5] [--warmup 2] [--rounds 2]

Each PREFIX is a Gluon export (``PREFIX-symbol.json`` + ``PREFIX-0000.params``) with ``PREFIX.mx.npz`` beside
it holding its input as ``data`` (what tools/check_zoo_detection.py and tools/check_zoo_rcnn.py write with
``--keep DIR``). Per round, three child processes run one after another, each with 2 threads and
``OMP_WAIT_POLICY=PASSIVE``: MXNet 1.9.1 (the oracle venv, ``MXNET_PYTHON`` or ``.oracle19/``;
``SymbolBlock.imports`` hybridized with static_alloc/static_shape, ``wait_to_read`` per call), the default
``mxtorch.load`` model, and ``mxtorch.optimize(model, inputs)``. Each warms up, then times ``--runs`` calls; the
table gives medians over rounds of each child's median wall and CPU (user + system, all threads) time per
call, and the ratios to MXNet. Without MXNet the MXNet column says so. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MXNET_PY = Path(os.environ.get("MXNET_PYTHON", str(ROOT / ".oracle19" / "bin" / "python")))

_TIMER = r"""
import json, os, sys, time
import numpy as np
def timed(call, warmup, runs):
    for _ in range(warmup):
        call()
    wall, cpu = [], []
    for _ in range(runs):
        c, t = os.times(), time.perf_counter()
        call()
        t2, c2 = time.perf_counter(), os.times()
        wall.append(t2 - t); cpu.append((c2.user - c.user) + (c2.system - c.system))
    return {"wall": sorted(wall)[len(wall) // 2], "cpu": sorted(cpu)[len(cpu) // 2]}
prefix, what, warmup, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
x_np = np.load(prefix + ".mx.npz")["data"]
"""

_MX = _TIMER + r"""
import mxnet as mx
net = mx.gluon.SymbolBlock.imports(prefix + "-symbol.json", ["data"], prefix + "-0000.params")
net.hybridize(static_alloc=True, static_shape=True)
x = mx.nd.array(x_np)
def call():
    out = net(x)
    for o in (out if isinstance(out, (list, tuple)) else [out]):
        o.wait_to_read()
print(json.dumps(timed(call, warmup, runs)))
"""

_PT = _TIMER + r"""
import torch
torch.set_num_threads(2)
import mxtorch
model = mxtorch.load(prefix)
x = torch.from_numpy(x_np)
if what == "optimized":
    model = mxtorch.optimize(model, (x,))
with torch.inference_mode():
    print(json.dumps(timed(lambda: model(x), warmup, runs)))
"""


def _child(py: str, code: str, prefix: str, what: str, warmup: int, runs: int) -> dict | None:
    env = dict(os.environ, OMP_NUM_THREADS="2", MKL_NUM_THREADS="2", OMP_WAIT_POLICY="PASSIVE",
               MXNET_CPU_WORKER_NTHREADS="1", PYTHONWARNINGS="ignore")
    r = subprocess.run([py, "-c", code, prefix, what, str(warmup), str(runs)], capture_output=True, text=True,
                       env=env, cwd=ROOT)
    if r.returncode:
        print(f"{Path(prefix).name} {what}: {(r.stderr.strip().splitlines() or ['?'])[-1]}", file=sys.stderr)
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("prefixes", nargs="+")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    have_mx = MXNET_PY.exists()
    print("| detector | MXNet ms (CPU ms) | eager ms (CPU ms) | optimized ms (CPU ms) | eager/MXNet wall, CPU | "
          "optimized/MXNet wall, CPU |")
    print("|---|---|---|---|---|---|")
    for prefix in args.prefixes:
        res: dict[str, list[dict]] = {"mxnet": [], "eager": [], "optimized": []}
        for _ in range(args.rounds):
            for what in res:
                if what == "mxnet" and not have_mx:
                    continue
                py, code = (str(MXNET_PY), _MX) if what == "mxnet" else (sys.executable, _PT)
                r = _child(py, code, prefix, what, args.warmup, args.runs)
                if r:
                    res[what].append(r)
        med = {w: {k: statistics.median(r[k] for r in rs) * 1e3 for k in ("wall", "cpu")} for w, rs in res.items()
               if rs}
        cell = lambda w: f"{med[w]['wall']:.0f} ({med[w]['cpu']:.0f})" if w in med else "n/a"
        ratio = lambda w: (f"{med[w]['wall'] / med['mxnet']['wall']:.2f}x, {med[w]['cpu'] / med['mxnet']['cpu']:.2f}x"
                           if w in med and "mxnet" in med else "no MXNet")
        print(f"| {Path(prefix).name} | {cell('mxnet')} | {cell('eager')} | {cell('optimized')} | {ratio('eager')} | "
              f"{ratio('optimized')} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
