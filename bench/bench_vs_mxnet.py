"""Forward speed of mxtorch against MXNet 1.9.1 on the same exported graphs, inputs and threads.

    python bench/bench_vs_mxnet.py                         # the Gluon zoo backbones, batch 1 and 8
    python bench/bench_vs_mxnet.py --models resnet18_v1,densenet121 --batches 1
    python bench/bench_vs_mxnet.py --quick                 # 2 models, batch 1, few runs; writes nothing tracked

What it does, per model (a `ModelSpec`: a builder name, its arguments and an input spec):
1. export (once, cached in bench/_data/zoo/): MXNet 1.9.1 (the oracle venv, --mxnet-python) builds the
   network with ``pretrained=False``, seeded random weights and non-trivial BatchNorm statistics (running
   mean random, var in [0.5, 2]), ``hybridize(); net(x); export(prefix)`` exactly as users do; the input of
   each batch size is drawn once (seeded) into an .npy beside it, so every side reads the same input;
2. time, each in a process of its own, with --threads threads (OMP/MKL and torch.set_num_threads) and
   alternating backends (MXNet, eager, optimized; then again, --rounds times): MXNet 1.9.1
   (``SymbolBlock.imports`` hybridized with static_alloc/static_shape, ``wait_to_read`` per call), the
   default ``mxtorch.load`` model (eager: its fast path, mxtorch.fastpath) and ``mxtorch.optimize(model, inputs)``
   of it (--optimize-args: default the load-time rewrites and oneDNN steps; '{"compile": true}' adds
   torch.compile with frozen weights), with --plain the eager model with ``fast_path = False`` (the plain torch
   op of each MXNet op, what torch.export traces), and with --pt2 the default model exported to .pt2 (as
   ``mxtorch convert`` writes it) and loaded back; all under inference mode; each
   child warms up, then times --runs forward calls and reports the median; the table shows the median
   over rounds. The optimized child also reports its one-time cost: optimize() plus the first call
   (compilation, in a fresh inductor cache so it is the cost a user pays once);
   Each call's CPU time (user + system of the whole process, all threads) is recorded too: on a shared
   machine whose load takes cores away mid-call, wall time measures the load, CPU time the work;
3. compare: eager against MXNet (relative error max|a-b|/max|b|) and optimized against eager (goal
   <= 1e-5), and write the table to bench/SPEED.md (not with --quick, or with --out).

MXNet is optional: without the oracle venv the MXNet column says so and the export step cannot run (the
cached exports are used when present). The spec is generic: a detector or BERT is a builder name of
`_MX_CHILD`'s BUILDERS plus its input spec (names, per-sample shapes, dtype, value range).
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "_data" / "zoo"
ORACLE19 = Path(os.environ.get("MXNET_PYTHON", str(Path(__file__).resolve().parent.parent / ".oracle19" / "bin" / "python")))
if not ORACLE19.exists():
    ORACLE19 = ROOT / ".oracle19" / "bin" / "python"


@dataclass(frozen=True)
class InputSpec:
    """One data input: its MXNet name, per-sample shape (the batch axis is prepended), dtype and range."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"
    low: float | None = None   # integers: values drawn in [low, high); floats: None = standard normal
    high: float | None = None


@dataclass(frozen=True)
class ModelSpec:
    """How to build a model with MXNet (a BUILDERS key of the MXNet child and its keyword arguments)."""

    builder: str
    args: dict = field(default_factory=dict)
    inputs: tuple[InputSpec, ...] = (InputSpec("data", (3, 224, 224)),)


def _cls(name: str, size: int = 224) -> ModelSpec:
    return ModelSpec("gluoncv", {"name": name}, (InputSpec("data", (3, size, size)),))


MODELS: dict[str, ModelSpec] = {
    "resnet18_v1": _cls("resnet18_v1"),
    "resnet50_v1": _cls("resnet50_v1"),
    "resnet50_v2": _cls("resnet50_v2"),
    "densenet121": _cls("densenet121"),
    "inceptionv3": _cls("inceptionv3", 299),
    "mobilenet1.0": _cls("mobilenet1.0"),
    "mobilenetv2_1.0": _cls("mobilenetv2_1.0"),
    "vgg16_bn": _cls("vgg16_bn"),
    "squeezenet1.1": _cls("squeezenet1.1"),
}
QUICK = ("resnet18_v1", "mobilenetv2_1.0")


# ---- the MXNet side (runs in the oracle venv) ------------------------------------------------------------

_MX_CHILD = textwrap.dedent(r'''
    import json, os, sys, time
    import numpy as np
    import mxnet as mx

    req = json.loads(sys.argv[1])

    def gluoncv(args):
        from gluoncv import model_zoo
        return model_zoo.get_model(args["name"], pretrained=False, **args.get("kwargs", {}))

    BUILDERS = {"gluoncv": gluoncv}  # a detector / gluonnlp builder goes here, named by its ModelSpec

    def export(req):
        mx.random.seed(0)
        np.random.seed(0)
        net = BUILDERS[req["builder"]](req["args"])
        for name, p in net.collect_params().items():
            p.init = None  # zoo blocks name their own initialisers; one rule for all here
        net.initialize(mx.init.Uniform(0.05))  # every value is set below, once shapes are known
        rng = np.random.default_rng(0)
        xs = [mx.nd.array(np.load(p)) for p in req["inputs"]]
        net(*xs)  # deferred shapes
        for name, p in net.collect_params().items():
            shape = p.shape
            if name.endswith(("running_mean", "moving_mean")):
                p.set_data(mx.nd.array(rng.normal(0, 0.1, shape).astype("float32")))
            elif name.endswith(("running_var", "moving_var")):
                p.set_data(mx.nd.array(rng.uniform(0.5, 2.0, shape).astype("float32")))
            elif name.endswith("gamma"):
                p.set_data(mx.nd.array(rng.uniform(0.5, 1.5, shape).astype("float32")))
            elif name.endswith(("beta", "bias")) or len(shape) < 2:
                p.set_data(mx.nd.array(rng.normal(0, 0.1, shape).astype("float32")))
            else:  # He-normal: activations keep their scale through a deep stack
                fan_in = int(np.prod(shape[1:]))
                p.set_data(mx.nd.array(rng.normal(0, (2.0 / fan_in) ** 0.5, shape).astype("float32")))
        net.hybridize()
        net(*xs)
        net.export(req["prefix"])
        print(json.dumps({"ok": True}))

    def timed(req):
        names = req["input_names"]
        net = mx.gluon.SymbolBlock.imports(req["prefix"] + "-symbol.json", names, req["prefix"] + "-0000.params")
        net.hybridize(static_alloc=True, static_shape=True)
        xs = [mx.nd.array(np.load(p), dtype=np.load(p).dtype) for p in req["inputs"]]

        def call():
            out = net(*xs)
            outs = out if isinstance(out, (list, tuple)) else [out]
            for o in outs:
                o.wait_to_read()
            return outs

        t = time.perf_counter(); outs = call(); first = time.perf_counter() - t
        for _ in range(req["warmup"]):
            call()
        times, cpu = [], []
        for _ in range(req["runs"]):
            t, c = time.perf_counter(), time.process_time(); call()
            times.append(time.perf_counter() - t); cpu.append(time.process_time() - c)
        np.savez(req["save"], *[o.asnumpy() for o in outs])
        print(json.dumps({"times": times, "cpu": cpu, "first_s": first, "setup_s": 0.0}))

    {"export": export, "time": timed}[req["what"]](req)
''')


# ---- the mxtorch side (this venv) --------------------------------------------------------------------------

_PT_CHILD = textwrap.dedent(r'''
    import json, sys, time
    req = json.loads(sys.argv[1])
    import numpy as np
    import torch
    torch.set_num_threads(req["threads"])
    sys.path.insert(0, req["root"])
    import mxtorch

    model = mxtorch.load(req["prefix"])
    if req["what"] == "plain":  # the eager model with its fast path off: the plain torch ops of each MXNet op
        model.fast_path = False
    xs = [torch.from_numpy(np.load(p)) for p in req["inputs"]]
    setup = 0.0
    with torch.inference_mode():
        if req["what"] == "optimized":
            t = time.perf_counter()
            model = mxtorch.optimize(model, xs, **req["optimize"])
            setup = time.perf_counter() - t
        if req["what"] == "pt2":  # the default model exported (as `mxtorch convert` does), loaded back
            from mxtorch.export import export
            pt2 = req["save"] + ".pt2"
            t = time.perf_counter()
            export(model, pt2, xs, input_names=model.input_names, output_names=model.output_names, verify=False)
            model = torch.export.load(pt2).module()
            setup = time.perf_counter() - t
        if req["what"] == "aot":  # `mxtorch convert --aot`: the program compiled by AOTInductor, loaded back
            import torch._inductor
            from mxtorch.export import export
            pt2 = req["save"] + ".aot.pt2"
            t = time.perf_counter()
            export(model, pt2, xs, input_names=model.input_names, output_names=model.output_names, verify=False,
                   aot=True)
            model = torch._inductor.aoti_load_package(pt2)
            setup = time.perf_counter() - t
        t = time.perf_counter(); out = model(*xs); first = time.perf_counter() - t
        for _ in range(req["warmup"]):
            model(*xs)
        times, cpu = [], []
        for _ in range(req["runs"]):
            t, c = time.perf_counter(), time.process_time(); model(*xs)
            times.append(time.perf_counter() - t); cpu.append(time.process_time() - c)
    outs = out if isinstance(out, (list, tuple)) else [out]
    np.savez(req["save"], *[o.contiguous().numpy() for o in outs])
    print(json.dumps({"times": times, "cpu": cpu, "first_s": first, "setup_s": setup}))
''')


PASSIVE = False  # --passive: OMP_WAIT_POLICY=PASSIVE for every child


def _env(threads: int, extra: dict | None = None) -> dict:
    env = dict(os.environ)
    if PASSIVE:
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[k] = str(threads)
    env["MXNET_ENGINE_TYPE"] = env.get("MXNET_ENGINE_TYPE", "ThreadedEnginePerDevice")
    env.update(extra or {})
    return env


def _child(python: str | Path, code: str, req: dict, env: dict) -> dict:
    out = subprocess.run([str(python), "-c", code, json.dumps(req)], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"child {req.get('what')} of {req.get('prefix')} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def inputs_for(name: str, spec: ModelSpec, batch: int) -> list[Path]:
    """The model's inputs at ``batch`` as .npy files (drawn once, seeded by model and batch)."""
    import numpy as np

    paths = []
    rng = np.random.default_rng([batch, *name.encode()])
    for k, inp in enumerate(spec.inputs):
        p = DATA / f"{name}.in{k}.b{batch}.npy"
        if not p.exists():
            shape = (batch, *inp.shape)
            if inp.low is None:
                a = rng.standard_normal(shape, dtype=np.float32).astype(inp.dtype)
            else:
                a = rng.integers(inp.low, inp.high, shape).astype(inp.dtype)
            np.save(p, a)
        paths.append(p)
    return paths


def ensure_export(name: str, spec: ModelSpec, have_mx: bool) -> Path:
    """MXNet's export of the model (built once; cached under bench/_data/zoo/)."""
    prefix = DATA / name
    if Path(f"{prefix}-symbol.json").exists() and Path(f"{prefix}-0000.params").exists():
        return prefix
    if not have_mx:
        raise SystemExit(f"no cached export of {name} in {DATA} and no MXNet at {ORACLE19} to make it")
    t = time.perf_counter()
    _child(ORACLE19, _MX_CHILD, {"what": "export", "builder": spec.builder, "args": spec.args,
                                 "prefix": str(prefix), "inputs": [str(p) for p in inputs_for(name, spec, 1)]},
           _env(2))
    print(f"  exported {name} with MXNet 1.9.1 in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return prefix


def rel_err(a, b) -> float:
    import numpy as np

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


def _outs(path: Path) -> list:
    import numpy as np

    with np.load(path) as z:
        return [z[f"arr_{i}"] for i in range(len(z.files))]


def bench_one(name: str, spec: ModelSpec, batch: int, args, have_mx: bool, tmp: Path) -> dict:
    prefix = ensure_export(name, spec, have_mx)
    ins = [str(p) for p in inputs_for(name, spec, batch)]
    runs = args.runs if batch == 1 else max(3, args.runs // 2)
    base = {"prefix": str(prefix), "inputs": ins, "runs": runs, "warmup": args.warmup,
            "threads": args.threads, "root": str(args.root), "input_names": [i.name for i in spec.inputs]}
    backends = (["mxnet"] if have_mx else []) + (["plain"] if args.plain else []) + ["eager", "optimized"] + \
        (["pt2"] if args.pt2 else []) + (["aot"] if args.aot else [])
    res: dict[str, list[dict]] = {b: [] for b in backends}
    for rnd in range(args.rounds):
        for b in backends:
            req = {**base, "what": "time" if b == "mxnet" else b, "save": str(tmp / f"{name}.{batch}.{b}.npz"),
                   "optimize": args.optimize_kwargs}
            if b == "mxnet":
                r = _child(ORACLE19, _MX_CHILD, req, _env(args.threads))
            else:
                extra = {}
                if b in ("optimized", "aot"):  # a fresh compile cache: the one-time cost a user pays
                    extra["TORCHINDUCTOR_CACHE_DIR"] = args.compile_cache or tempfile.mkdtemp(dir=tmp)
                r = _child(sys.executable, _PT_CHILD, req, _env(args.threads, extra))
            r["median_s"] = statistics.median(r["times"])
            r["median_cpu"] = statistics.median(r["cpu"])
            res[b].append(r)
    row = {"model": name, "batch": batch}
    for b in backends:
        row[f"{b}_ms"] = statistics.median(r["median_s"] for r in res[b]) * 1e3
        row[f"{b}_cpu_ms"] = statistics.median(r["median_cpu"] for r in res[b]) * 1e3
    row["mxnet_ms"] = row.get("mxnet_ms")
    if "mxnet" in res:  # each round's own CPU ratios (the table shows their medians)
        row["round_cpu_ratios"] = [{b: r["median_cpu"] / m["median_cpu"] for b, r in ((b, res[b][i]) for b in res
                                                                                     if b != "mxnet")}
                                   for i, m in enumerate(res["mxnet"])]
    opt = res["optimized"]
    row["compile_s"] = statistics.median(r["setup_s"] + r["first_s"] - r["median_s"] for r in opt)
    if args.plain:
        row["plain_vs_eager"] = max(rel_err(e, p) for e, p in zip(_outs(tmp / f"{name}.{batch}.eager.npz"),
                                                                  _outs(tmp / f"{name}.{batch}.plain.npz")))
        if have_mx:
            row["plain_cpu_ratio"] = row["plain_cpu_ms"] / row["mxnet_cpu_ms"]
    if args.pt2:
        row["pt2_export_s"] = statistics.median(r["setup_s"] for r in res["pt2"])
        row["pt2_vs_eager"] = row["pt2_cpu_ms"] / row["eager_cpu_ms"]
    if args.aot:
        row["aot_export_s"] = statistics.median(r["setup_s"] for r in res["aot"])
        row["aot_vs_eager"] = row["aot_cpu_ms"] / row["eager_cpu_ms"]
        row["aot_out_vs_eager"] = max(rel_err(a, e) for a, e in zip(_outs(tmp / f"{name}.{batch}.aot.npz"),
                                                                   _outs(tmp / f"{name}.{batch}.eager.npz")))
        if have_mx:
            row["aot_cpu_ratio"] = row["aot_cpu_ms"] / row["mxnet_cpu_ms"]
    eager_out = _outs(tmp / f"{name}.{batch}.eager.npz")
    row["opt_vs_eager"] = max(rel_err(o, e) for o, e in zip(_outs(tmp / f"{name}.{batch}.optimized.npz"), eager_out))
    if have_mx:
        row["eager_vs_mxnet"] = max(rel_err(e, m) for e, m in zip(eager_out, _outs(tmp / f"{name}.{batch}.mxnet.npz")))
        row["eager_ratio"] = row["eager_ms"] / row["mxnet_ms"]
        row["opt_ratio"] = row["optimized_ms"] / row["mxnet_ms"]
        row["eager_cpu_ratio"] = row["eager_cpu_ms"] / row["mxnet_cpu_ms"]
        row["opt_cpu_ratio"] = row["optimized_cpu_ms"] / row["mxnet_cpu_ms"]
    return row


def _fmt(v, spec: str, none: str = "n/a") -> str:
    return none if v is None else format(v, spec)


def table(rows: list[dict], have_mx: bool) -> str:
    lines = ["| model | batch | MXNet ms | eager ms | optimized ms | eager/MXNet | optimized/MXNet | "
             "optimize (+compile) s | optimized vs eager | eager vs MXNet | CPU ms MXNet / eager / optimized | "
             "CPU eager/MXNet | CPU optimized/MXNet |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    if any("plain_cpu_ms" in r for r in rows):
        lines[0] += " plain CPU ms | CPU plain/MXNet | eager vs plain |"
        lines[1] += "---|---|---|"
    if any("pt2_ms" in r for r in rows):
        lines[0] += " .pt2 ms | CPU .pt2/eager |"
        lines[1] += "---|---|"
    if any("aot_ms" in r for r in rows):
        lines[0] += " AOT .pt2 ms | CPU AOT .pt2/eager | CPU AOT .pt2/MXNet | AOT vs eager | convert --aot s |"
        lines[1] += "---|---|---|---|---|"
    for r in rows:
        mx_ms = _fmt(r.get("mxnet_ms"), ".1f", "no MXNet")
        lines.append(f"| {r['model']} | {r['batch']} | {mx_ms} | {r['eager_ms']:.1f} | {r['optimized_ms']:.1f} | "
                     f"{_fmt(r.get('eager_ratio'), '.2f')}x | {_fmt(r.get('opt_ratio'), '.2f')}x | "
                     f"{r['compile_s']:.1f} | {r['opt_vs_eager']:.1e} | {_fmt(r.get('eager_vs_mxnet'), '.1e')} | "
                     f"{_fmt(r.get('mxnet_cpu_ms'), '.0f')} / {r['eager_cpu_ms']:.0f} / {r['optimized_cpu_ms']:.0f} | "
                     f"{_fmt(r.get('eager_cpu_ratio'), '.2f')}x | {_fmt(r.get('opt_cpu_ratio'), '.2f')}x |"
                     + (f" {r['plain_cpu_ms']:.0f} | {_fmt(r.get('plain_cpu_ratio'), '.2f')}x | "
                        f"{r['plain_vs_eager']:.1e} |" if "plain_cpu_ms" in r else "")
                     + (f" {r['pt2_ms']:.1f} | {r['pt2_vs_eager']:.2f}x |" if "pt2_ms" in r else "")
                     + (f" {r['aot_ms']:.1f} | {r['aot_vs_eager']:.2f}x | {_fmt(r.get('aot_cpu_ratio'), '.2f')}x | "
                        f"{r['aot_out_vs_eager']:.1e} | {r['aot_export_s']:.0f} |" if "aot_ms" in r else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", help=f"comma-separated subset of {', '.join(MODELS)}")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=20, help="timed calls per child at batch 1 (half at batch 8)")
    ap.add_argument("--warmup", type=int, default=10,
                    help="untimed calls first (MXNet's first ~6 calls are slow: oneDNN primitive set-up)")
    ap.add_argument("--rounds", type=int, default=1, help="alternating rounds of the three children")
    ap.add_argument("--optimize-args", default='{}',
                    help="JSON keyword arguments of mxtorch.optimize for the optimized column")
    ap.add_argument("--compile-cache", metavar="DIR",
                    help="inductor cache shared by the optimized children (default: a fresh one per child, so "
                         "the compile column is the cold one-time cost; a warm cache measures a re-load)")
    ap.add_argument("--root", type=Path, default=ROOT, help="the mxtorch source tree the children import")
    ap.add_argument("--passive", action="store_true",
                    help="OMP_WAIT_POLICY=PASSIVE for every child (a machine shared with other load: spinning "
                         "OpenMP threads that lose their core make every side several times slower)")
    ap.add_argument("--pt2", action="store_true",
                    help="also time the default model exported to .pt2 (as `mxtorch convert` writes it) and loaded "
                         "back (torch.export.load)")
    ap.add_argument("--aot", action="store_true",
                    help="also time the .pt2 that `mxtorch convert --aot` writes, run with "
                    "torch._inductor.aoti_load_package (its compile time in a fresh inductor cache)")
    ap.add_argument("--plain", action="store_true",
                    help="also time the eager model with its fast path off (model.fast_path = False: the plain "
                         "torch op of each MXNet op, as `torch.export` traces it)")
    ap.add_argument("--quick", action="store_true", help=f"{', '.join(QUICK)}, batch 1, 5 runs; no file written")
    ap.add_argument("--out", help="write the table here (default bench/SPEED.md; --quick: nowhere)")
    args = ap.parse_args(argv)
    args.optimize_kwargs = json.loads(args.optimize_args)
    global PASSIVE
    PASSIVE = args.passive
    names = args.models.split(",") if args.models else list(QUICK if args.quick else MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        ap.error(f"unknown model(s) {unknown}; known: {', '.join(MODELS)}")
    batches = [1] if args.quick and args.batches == "1,8" else [int(b) for b in args.batches.split(",")]
    if args.quick:
        args.runs = min(args.runs, 5)
    out = Path(args.out) if args.out else (None if args.quick else ROOT / "bench" / "SPEED.md")
    have_mx = ORACLE19.exists()
    if not have_mx:
        print(f"MXNet 1.9.1 is not installed here ({ORACLE19} missing): timing mxtorch only", file=sys.stderr)
    DATA.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    load0 = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory(dir=DATA.parent) as tmp:
        for name in names:
            for batch in batches:
                row = bench_one(name, MODELS[name], batch, args, have_mx, Path(tmp))
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
                if out is not None:  # the table so far, in case the run is cut short
                    out.write_text("# mxtorch vs MXNet 1.9.1: forward speed (run in progress)\n\n"
                                   + table(rows, have_mx) + "\n")
    import torch

    head = (f"`python bench/bench_vs_mxnet.py {' '.join(argv if argv is not None else sys.argv[1:])}` — "
            f"Python {platform.python_version()}, torch {torch.__version__}, {os.cpu_count()} CPUs, "
            f"{args.threads} threads per process, {time.strftime('%Y-%m-%d %H:%M')}, load average "
            f"{load0[0]:.1f} at the start and {os.getloadavg()[0]:.1f} at the end; "
            f"compile cache: {'shared ' + args.compile_cache if args.compile_cache else 'fresh per process'}; "
            f"OMP_WAIT_POLICY={'PASSIVE' if args.passive else 'default'}; "
            f"optimize({args.optimize_args}); {'MXNet 1.9.1 (its own venv)' if have_mx else 'no MXNet'}; "
            f"medians of {args.runs} calls (batch 1; half at batch >1) x {args.rounds} round(s); "
            f"{time.perf_counter() - t0:.0f} s in all.")
    text = table(rows, have_mx)
    print(head + "\n\n" + text)
    if out is not None:
        out.write_text("# mxtorch vs MXNet 1.9.1: forward speed\n\n" + head + "\n\n" + text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
