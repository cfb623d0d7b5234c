"""Whole-process benchmark of ndparse and dpn-convert against the physical floor.

    python bench/run.py --quick          # dpn131-size checkpoint (~318 MB) as V0, V2 and npz
    python bench/run.py --full           # + scaling: 10 MB / 100 MB / 1 GB, 10 / 1k / 100k arrays
    python bench/run.py --quick --runs 7 --data /var/tmp/ndbench

Every measurement is a separate `python -c` process. The competitors of one comparison run
alternately (A, B, A, B, ...) after one untimed warm-up each, so all of them read from the page
cache; the table shows medians of the timed runs. Wall time is measured around the child
process; peak memory is the child's ru_maxrss from os.wait4 (resident set high-water mark,
which includes mapped file pages that were touched).

Inputs are generated here: V0 records with tools/ndbytes.py (FORMAT.md §4.1; no writer in the
package writes V0), V2 with ndparse.save, npz with numpy.savez (stored `<key>.npy` members, the
layout MXNet 2.x writes). The table is printed; with --write it also replaces the tracked
bench/RESULTS.md (so a quick look never dirties the checkout).

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import textwrap
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "fixtures" / "dpn" / "manifests" / "dpn131.json"
ORACLE19 = ROOT / ".oracle19" / "bin" / "python"
ORACLE20 = ROOT / ".oracle20" / "bin" / "python"
PY = sys.executable
MiB = 1 << 20
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]  # ndparse (V2 inputs), ndbytes (V0 inputs)


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------

def write_v0(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """A 0x112 container of V0 float32 records with names, as MXNet 0.7-0.10 wrote it."""
    import ndbytes  # tools/ndbytes.py: the repository's byte builder (streams the data)

    for a in arrays.values():
        assert a.dtype == np.float32 and a.flags.c_contiguous
    ndbytes.write_v0(path, arrays)


def write_v2(path: Path, arrays: dict[str, np.ndarray]) -> None:
    import ndparse
    ndparse.save(path, arrays)


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, **arrays)  # stored members named <key>.npy, like MXNet 2.x npx.savez
    os.replace(tmp, path)


WRITERS = {"V0": (write_v0, ".params"), "V2": (write_v2, ".params"), "npz": (write_npz, ".npz")}


def _random(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    return rng.standard_normal(shape, dtype=np.float32)


def dpn131_arrays() -> dict[str, np.ndarray]:
    man = json.loads(MANIFEST.read_text())
    rng = np.random.default_rng(131)
    out = {}
    for key, shape in man["keys"]:
        a = _random(tuple(shape), rng)
        if key.endswith("moving_var"):
            a = np.abs(a) + np.float32(0.5)
        out[key] = a
    return out


def synthetic_arrays(total_bytes: int, n: int) -> dict[str, np.ndarray]:
    """n float32 arrays of (about) total_bytes together, 2-D where possible."""
    per = max(1, total_bytes // 4 // n)
    rng = np.random.default_rng(n)
    block = _random((min(per * n, 1 << 26),), rng)  # reuse one random block: generation is not timed
    out = {}
    for i in range(n):
        start = (i * per) % max(1, block.size - per + 1)
        flat = block[start:start + per] if per <= block.size else np.resize(block, per)
        shape = (per // 64, 64) if per % 64 == 0 and per >= 64 else (per,)
        out[f"arg:layer{i}_weight"] = np.ascontiguousarray(flat).reshape(shape)
    return out


def make(path: Path, fmt: str, arrays_fn) -> Path:
    if path.exists():
        return path
    t = time.perf_counter()
    arrays = arrays_fn()
    WRITERS[fmt][0](path, arrays)
    print(f"  generated {path.name}: {path.stat().st_size / MiB:,.1f} MiB, {len(arrays)} arrays "
          f"({time.perf_counter() - t:.1f} s)", flush=True)
    return path


# --------------------------------------------------------------------------------------------
# Running children
# --------------------------------------------------------------------------------------------

TIME = shutil.which("time", path="/usr/bin:/bin") if Path("/usr/bin/time").exists() else None


def run_child(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """(wall seconds, peak RSS bytes) of one child process; raises if it fails.

    The peak comes from /usr/bin/time (%M, the child's ru_maxrss): a child spawned straight from
    this process would inherit our own RSS high-water mark through vfork/exec.
    """
    rss_file = Path(tempfile.gettempdir()) / f"ndparse-bench-{os.getpid()}.rss"
    full = [TIME, "-f", "%M", "-o", str(rss_file)] + argv if TIME else argv
    t0 = time.perf_counter()
    p = subprocess.Popen(full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode(errors="replace") if p.stderr else ""
    if p.returncode != 0:
        raise RuntimeError(f"child failed ({p.returncode}): {' '.join(argv)[:200]}\n{err[-2000:]}")
    kib = int(rss_file.read_text().split()[-1]) if TIME else ru.ru_maxrss
    return wall, kib * 1024


def py(code: str, python: str = PY) -> list[str]:
    return [python, "-c", textwrap.dedent(code)]


class Case:
    def __init__(self, name: str, argv: list[str]) -> None:
        self.name = name
        self.argv = argv
        self.times: list[float] = []
        self.rss: list[int] = []

    @property
    def t(self) -> float:
        return statistics.median(self.times)

    @property
    def m(self) -> int:
        return int(statistics.median(self.rss))


def compare(cases: list[Case], runs: int, env: dict[str, str]) -> list[Case]:
    """Warm up every case once, then run them alternately `runs` times."""
    for c in cases:
        run_child(c.argv, env)
    for _ in range(runs):
        for c in cases:
            w, r = run_child(c.argv, env)
            c.times.append(w)
            c.rss.append(r)
    return cases


# child programs ----------------------------------------------------------------------------

def c_fromfile(p: Path) -> list[str]:
    return py(f"""
        import numpy as np
        a = np.fromfile({str(p)!r}, dtype=np.uint8)
    """)


def c_import_numpy() -> list[str]:
    return py("import numpy")


def c_eager(p: Path) -> list[str]:
    return py(f"""
        import ndparse
        d = ndparse.load({str(p)!r}, mmap=False)
    """)


def c_lazy(p: Path) -> list[str]:
    return py(f"""
        import ndparse
        f = ndparse.open({str(p)!r})
        k = list(f.keys())
    """)


def c_mxnet(p: Path, python: Path) -> list[str]:
    return py(f"""
        import mxnet as mx
        d = mx.nd.load({str(p)!r})
        r = {{k: v.asnumpy() for k, v in d.items()}}
    """, str(python))


def c_save_floor(p: Path, out: Path) -> list[str]:
    return py(f"""
        import numpy as np, torch
        a = np.fromfile({str(p)!r}, dtype=np.uint8)
        torch.save(torch.from_numpy(a), {str(out)!r})
    """)


def c_convert(p: Path, out: Path) -> list[str]:
    return [PY, "-m", "dpn_torch", str(p), "-o", str(out)]


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------

class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, ...]] = []

    def add(self, *cells: object) -> None:
        self.rows.append(tuple(str(c) for c in cells))
        print(" | ".join(self.rows[-1]), flush=True)

    def markdown(self, header: tuple[str, ...]) -> str:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        return "\n".join(lines)


HEADER = ("input", "what", "A (ndparse)", "B (floor)", "A/B time", "goal", "A peak MiB",
          "B peak MiB", "A/B mem", "goal", "met")


def _fmt_t(c: Case) -> str:
    return f"{c.t * 1000:,.0f} ms"


def _mib(b: int) -> str:
    return f"{b / MiB:,.0f}"


def verdict(table: Table, inp: str, what: str, a: Case, b: Case, tgoal: float | None,
            mgoal: float | None, mem_mode: str = "ratio") -> bool:
    rt = a.t / b.t
    ok = tgoal is None or rt <= tgoal
    if mem_mode == "ratio":
        rm = a.m / b.m
        mcell = f"{rm:.2f}x"
        ok_m = mgoal is None or rm <= mgoal
        mg = f"<= {mgoal}x" if mgoal else "-"
    else:  # "above": absolute MiB above B
        above = (a.m - b.m) / MiB
        mcell = f"+{above:.0f} MiB"
        ok_m = mgoal is None or above < mgoal
        mg = f"< +{mgoal:.0f} MiB" if mgoal else "-"
    met = ok and ok_m
    table.add(inp, what, _fmt_t(a), f"{_fmt_t(b)} ({b.name})", f"{rt:.2f}x",
              f"<= {tgoal}x" if tgoal else "-", _mib(a.m), _mib(b.m), mcell, mg,
              "yes" if met else "NO")
    return met


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="dpn131-size inputs only (default)")
    mode.add_argument("--full", "--sizes", action="store_true", dest="full",
                      help="also the size and array-count scaling runs (1 GB, 100k arrays)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per case (median; default 5)")
    ap.add_argument("--data", type=Path, default=ROOT / "bench" / "_data",
                    help="where inputs are generated (kept between runs)")
    ap.add_argument("--only", default="", help="comma list of sections: eager,lazy,convert,mxnet,scale")
    ap.add_argument("--formats", default="V0,V2,npz")
    ap.add_argument("--write", action="store_true",
                    help="also rewrite the tracked bench/RESULTS.md (default: print the table only)")
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))
    sections = only or {"eager", "lazy", "convert", "mxnet"} | ({"scale"} if args.full else set())
    formats = args.formats.split(",")
    args.data.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PYTHONSTARTUP", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # any non-empty value turns .pyc writing off

    print(f"Python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, "
          f"{os.cpu_count()} CPUs; {args.runs} alternating runs per case, medians; page cache warm",
          flush=True)
    t_start = time.perf_counter()
    print("generating inputs:", flush=True)
    arrays_cache: dict[str, dict[str, np.ndarray]] = {}

    def dpn():
        if "dpn131" not in arrays_cache:
            arrays_cache["dpn131"] = dpn131_arrays()
        return arrays_cache["dpn131"]

    inputs = {fmt: make(args.data / (f"dpn131-{fmt.lower()}-0000" + WRITERS[fmt][1]), fmt, dpn)
              for fmt in formats}
    arrays_cache.clear()
    out = args.data / "out.pth"
    table = Table()
    goals: list[tuple[str, bool]] = []
    have19 = ORACLE19.exists()
    have20 = ORACLE20.exists()
    for fmt, p in inputs.items():
        size = p.stat().st_size
        label = f"dpn131 {fmt} {size / MiB:,.0f} MiB"
        floor = Case("np.fromfile", c_fromfile(p))
        group = [floor]
        eager = Case("ndparse.load", c_eager(p))
        if "eager" in sections:
            group.append(eager)
        mx = None
        if "mxnet" in sections:
            oracle = ORACLE19 if fmt != "npz" else ORACLE20
            if oracle.exists():
                mx = Case(f"mxnet {'1.9.1' if fmt != 'npz' else '2.0.0b1'}", c_mxnet(p, oracle))
                group.append(mx)
                if eager not in group:
                    group.append(eager)
        if len(group) > 1:
            compare(group, args.runs, env)
        if "eager" in sections:
            goals.append((f"{fmt} eager", verdict(table, label, "eager load (mmap=False)", eager,
                                                  floor, 1.25, 1.1)))
        if mx is not None:
            speed = mx.t / eager.t
            ok = speed >= 5
            goals.append((f"{fmt} vs {mx.name}", ok))
            table.add(label, f"{mx.name} mx.nd.load+asnumpy", _fmt_t(eager), f"{_fmt_t(mx)} ({mx.name})",
                      f"{eager.t / mx.t:.2f}x ({speed:.1f}x faster)", "<= 0.2x", _mib(eager.m),
                      _mib(mx.m), f"{eager.m / mx.m:.2f}x", "-", "yes" if ok else "NO")
        if "lazy" in sections:
            base = Case("import numpy", c_import_numpy())
            lazy = Case("ndparse.open+keys", c_lazy(p))
            compare([base, lazy], args.runs, env)
            goals.append((f"{fmt} lazy", verdict(table, label, "lazy open + keys", lazy, base, 1.15,
                                                 64, mem_mode="above")))
        if "convert" in sections:
            floor_s = Case("fromfile+torch.save", c_save_floor(p, args.data / "floor.pth"))
            conv = Case("dpn-convert", c_convert(p, out))
            compare([floor_s, conv], args.runs, env)
            goals.append((f"{fmt} convert", verdict(table, label, "dpn-convert to .pth", conv,
                                                    floor_s, 1.5, 1.2)))
    scale_rows: list[str] = []
    if "scale" in sections:
        scale_rows = scaling(args, env)
    elapsed = time.perf_counter() - t_start
    report = render(args, table, goals, scale_rows, elapsed, have19, have20)
    print(report)
    if args.write:
        (ROOT / "bench" / "RESULTS.md").write_text(report)
    for f in (out, args.data / "floor.pth"):
        f.unlink(missing_ok=True)
    return 0


def scaling(args: argparse.Namespace, env: dict[str, str]) -> list[str]:
    """Eager load and lazy open against their floors for growing sizes and array counts."""
    rows = ["| input | arrays | MiB | np.fromfile | ndparse.load | ratio | load MiB/s | import numpy "
            "| ndparse.open+keys | open - import | per array |", "|" + "---|" * 11]
    MB = 1_000_000
    meas: dict[tuple[int, int], tuple[float, float, float, int]] = {}
    cases = [(10 * MB, 100), (100 * MB, 100), (1000 * MB, 100), (100 * MB, 10), (100 * MB, 1000),
             (100 * MB, 100_000)]
    for total, n in cases:
        p = make(args.data / f"scale-{total // MB}MB-{n}.params", "V0",
                 lambda total=total, n=n: synthetic_arrays(total, n))
        floor, eager = Case("np.fromfile", c_fromfile(p)), Case("ndparse.load", c_eager(p))
        base, lazy = Case("import numpy", c_import_numpy()), Case("open", c_lazy(p))
        compare([floor, eager, base, lazy], args.runs, env)
        size = p.stat().st_size
        meas[(total, n)] = (eager.t, floor.t, lazy.t, size)
        over = lazy.t - base.t
        rows.append(f"| V0 {total // MB} MB | {n:,} | {size / MiB:,.0f} | {floor.t * 1000:,.0f} ms "
                    f"| {eager.t * 1000:,.0f} ms | {eager.t / floor.t:.2f}x "
                    f"| {size / MiB / eager.t:,.0f} | {base.t * 1000:,.0f} ms | {lazy.t * 1000:,.0f} ms "
                    f"| {over * 1000:+,.1f} ms | {over / n * 1e6:,.2f} us |")
        print(rows[-1], flush=True)
    # marginal costs: the slope between the extremes, which the fixed process cost cancels out of
    (e10, f10, _, s10), (e1g, f1g, _, s1g) = meas[(10 * MB, 100)], meas[(1000 * MB, 100)]
    (_, _, l10, _), (_, _, l100k, _) = meas[(100 * MB, 10)], meas[(100 * MB, 100_000)]
    (e10n, _, _, _), (e100k, _, _, _) = meas[(100 * MB, 10)], meas[(100 * MB, 100_000)]
    dmib = (s1g - s10) / MiB
    rows += ["", f"Marginal cost per MiB (10 MB -> 1 GB, 100 arrays): ndparse.load "
             f"{(e1g - e10) / dmib * 1000:.3f} ms/MiB, np.fromfile {(f1g - f10) / dmib * 1000:.3f} ms/MiB "
             f"(ratio {(e1g - e10) / (f1g - f10):.2f}).",
             f"Marginal cost per array (10 -> 100,000 arrays, 100 MB): ndparse.open+keys "
             f"{(l100k - l10) / 99_990 * 1e6:.1f} us/array, ndparse.load {(e100k - e10n) / 99_990 * 1e6:.1f} "
             "us/array (Python work per record header: independent of the array's size)."]
    return rows


def render(args, table: Table, goals, scale_rows, elapsed, have19, have20) -> str:
    import torch
    lines = [
        "# ndparse benchmark results",
        "",
        f"`python bench/run.py {'--full' if args.full else '--quick'}{' --write' if args.write else ''}` — Python {platform.python_version()}, "
        f"numpy {np.__version__}, torch {torch.__version__}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
        f"Every cell is the median of {args.runs} whole-process runs; competitors ran alternately "
        "(A, B, A, B, ...) after one untimed warm-up each, so **all reads come from the page cache**. "
        "Peak memory is the child's `ru_maxrss` (resident high-water mark, mapped file pages included). "
        "Ratios are A/B: A is ndparse (or dpn-convert), B is the floor it is measured against.",
        "",
        table.markdown(HEADER),
        "",
        "Goals: " + ", ".join(f"{n}: {'met' if ok else 'NOT met'}" for n, ok in goals) + ".",
        "",
    ]
    if not have19:
        lines.append("MXNet 1.9.1 oracle venv (.oracle19) absent: MXNet comparison skipped.\n")
    if scale_rows:
        lines += ["## Scaling (V0 float32, eager load vs np.fromfile, lazy open vs import numpy)", ""]
        lines += scale_rows + [""]
    lines.append(f"Total benchmark time {elapsed / 60:.1f} min.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
