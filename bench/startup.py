"""Start-up of the slim install: ``ndparse.open`` + ``keys()`` of a 303 MiB legacy dpn131 checkpoint as a whole
process, against a bare ``import numpy`` process (goal <= 1.15x), and the first bfloat16 read.

    python bench/startup.py --python /tmp/venv/bin/python      # a venv with the package installed from its wheel
    python bench/startup.py --python ... --runs 21 --importtime  # also list what ndparse imports beyond numpy

The checkpoint is made once (bench/_data/dpn131_v2.params) by ndparse's own writer from the manifest in
fixtures/dpn/manifests/ (bench/run.py's generator). Processes alternate (numpy, ndparse, numpy, ...) after one
untimed warm-up each; medians and minima of wall time are reported (the minimum is the least disturbed by
other load on a shared machine). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "_data"
CKPT = DATA / "dpn131_v2.params"
BF16 = DATA / "bf16_small.params"


def ensure_inputs() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "tools")]
    import numpy as np

    import run  # bench/run.py: the dpn131 arrays from the manifest

    run.make(CKPT, "V2", run.dpn131_arrays)
    if not BF16.exists():  # 4 KiB of bfloat16: the first read costs the import, not the bytes
        import ml_dtypes

        import ndparse

        a = np.arange(2048, dtype=np.float32).reshape(32, 64).astype(ml_dtypes.bfloat16)
        ndparse.save(BF16, {"arg:w": a})


CASES = {
    "import numpy": "import numpy",
    "ndparse.open + keys": f"import ndparse\nf = ndparse.open({str(CKPT)!r})\nk = list(f.keys())",
    "import ndparse": "import ndparse",
    "first bfloat16 read": f"import ndparse\na = ndparse.load({str(BF16)!r})",
    "first float32 read": f"import ndparse\nf = ndparse.open({str(CKPT)!r})\na = f[next(iter(f.keys()))]",
}


def time_cases(python: str, names: list[str], runs: int, cpu: bool) -> dict[str, list[float]]:
    """Wall seconds (or, with ``cpu``, the child's user + system CPU seconds from wait4: far less
    disturbed by other load on a shared machine) of each case, alternating."""
    res: dict[str, list[float]] = {n: [] for n in names}
    for i in range(runs + 1):
        for n in names:
            t = time.perf_counter()
            p = subprocess.Popen([python, "-c", CASES[n]], cwd="/tmp")
            _, status, ru = os.wait4(p.pid, 0)
            wall = time.perf_counter() - t
            if os.waitstatus_to_exitcode(status) != 0:
                raise RuntimeError(f"{n} failed")
            if i:
                res[n].append(ru.ru_utime + ru.ru_stime if cpu else wall)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--python", default=sys.executable, help="the interpreter of a venv holding the wheel")
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--importtime", action="store_true")
    ap.add_argument("--cpu", action="store_true", help="compare CPU time (user + sys) instead of wall time")
    args = ap.parse_args(argv)
    ensure_inputs()
    res = time_cases(args.python, list(CASES), args.runs, args.cpu)
    print(f"{'CPU' if args.cpu else 'wall'} time, {args.runs} alternating runs, load average {os.getloadavg()[0]:.1f}")
    base = res["import numpy"]
    for n, ts in res.items():
        print(f"{n:22s} median {statistics.median(ts) * 1e3:7.1f} ms  min {min(ts) * 1e3:7.1f} ms  "
              f"ratio to import numpy: median {statistics.median(ts) / statistics.median(base):.3f}x, "
              f"min {min(ts) / min(base):.3f}x")
    if args.importtime:
        code = ("import sys, numpy\nbefore = set(sys.modules)\n" + CASES["ndparse.open + keys"] +
                "\nprint(sorted(set(sys.modules) - before))")
        print(subprocess.run([args.python, "-c", code], capture_output=True, text=True, cwd="/tmp").stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
