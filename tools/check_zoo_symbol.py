"""Full-size symbol-API detectors from MXNet's own examples through mxtorch, checked against MXNet 1.9.1
(run by hand; not a test).

    MXNET_SRC=<apache/mxnet git dir> .oracle19/bin/python tools/check_zoo_symbol.py [--keep DIR] [--runs N]
        [--skip-export] [NAME ...]

The graphs users of the SageMaker object-detection algorithm and of MXNet's examples hold, at full size:

- ``ssd_vgg16_reduced_300``, ``ssd_resnet50_512``: example/ssd ``symbol_factory.get_symbol(network, size,
  num_classes=20)`` (MultiBoxPrior / MultiBoxDetection, L2Normalization on VGG);
- ``rcnn_vgg16``, ``rcnn_resnet101``: example/rcnn ``get_vgg_test`` / ``get_resnet_test`` with ``test.py``'s
  defaults (anchors (8, 16, 32) x (0.5, 1, 2), 6000 -> 300 proposals at IoU 0.7, 21 classes, ROIPooling 7x7 or
  14x14), on a 600x800 image with ``im_info = [600, 800, 1]``.

Each is built from the v1.9.x sources of the git directory ``MXNET_SRC`` (extracted to a temporary folder,
never committed), given seeded random weights (He-scaled normal; the box regressors x0.05 so proposals stay
varied; BatchNorm with non-trivial statistics; L2Normalization scales 20), saved with
``mx.model.save_checkpoint`` and run by MXNet's executor (``simple_bind``, ``forward(is_train=False)``, median
time of N calls, 2 OpenMP threads). Then, in a separate process with the project's venv (no MXNet there):
``mxtorch.load`` + forward on the same inputs (median time, 2 torch threads), the per-head error
(max|torch - MXNet| / max|MXNet|; class-id heads compared exactly, with the number of rows that differ) and the
same for ``mxtorch.optimize``, beside MXNet's own spread (its default run against the same run with
``MXNET_SUBGRAPH_BACKEND=NONE``: with random weights the logits reach the thousands and a softmax amplifies
last-bit differences, so that spread is the floor for any implementation); then ``mxtorch convert
PREFIX -o NAME.pt2/.onnx --verify``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("MXNET_CPU_WORKER_NTHREADS", "1")

import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROJECT_PY = os.path.join(REPO, ".venv", "bin", "python")
MXNET_SRC = os.environ.get("MXNET_SRC", "")

SMALL_WEIGHTS = ("bbox_pred", "loc_pred")  # box regressors (RPN, R-CNN head, SSD loc heads)
RCNN = dict(anchor_scales=(8, 16, 32), anchor_ratios=(0.5, 1, 2), rpn_feature_stride=16, rpn_pre_topk=6000,
            rpn_post_topk=300, rpn_nms_thresh=0.7, rpn_min_size=16, num_classes=21, rcnn_feature_stride=16,
            rcnn_batch_size=1)


def _extract(paths: list[str]) -> str:
    """``paths`` of MXNet's v1.9.x tree extracted into a temporary folder; returns the folder."""
    if not MXNET_SRC:
        sys.exit("check_zoo_symbol: set MXNET_SRC to a git directory of apache/mxnet (branch v1.9.x)")
    tar = subprocess.run(["git", f"--git-dir={MXNET_SRC}", "archive", "v1.9.x", *paths], check=True,
                         capture_output=True).stdout
    tmp = tempfile.mkdtemp(prefix="check_zoo_symbol_")
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        t.extractall(tmp)
    return tmp


def _ssd(network: str, size: int):
    tmp = _extract(["example/ssd/symbol", "example/ssd/config"])
    root = os.path.join(tmp, "example", "ssd")
    sys.path[:0] = [os.path.join(root, "symbol"), root]
    try:
        import symbol_factory
        sym = symbol_factory.get_symbol(network, size, num_classes=20)
    finally:
        del sys.path[:2]
        shutil.rmtree(tmp)
    return sym, {"data": _image(size, size)}, []


def _rcnn(kind: str):
    tmp = _extract(["example/rcnn/symnet", "example/rcnn/symdata"])
    path = os.path.join(tmp, "example", "rcnn")
    for mod in [m for m in sys.modules if m.split(".")[0] in ("symnet", "symdata")]:
        del sys.modules[mod]  # a previous model's copy, from a folder since removed
    sys.path.insert(0, path)
    try:
        if kind == "vgg16":
            from symnet.symbol_vgg import get_vgg_test
            sym = get_vgg_test(rcnn_pooled_size=(7, 7), **RCNN)
        else:
            from symnet.symbol_resnet import get_resnet_test
            sym = get_resnet_test(rcnn_pooled_size=(14, 14), units=(3, 4, 23, 3),
                                  filter_list=(256, 512, 1024, 2048), **RCNN)
    finally:
        sys.path.remove(path)
        shutil.rmtree(tmp)
    return sym, {"data": _image(600, 800), "im_info": np.array([[600, 800, 1.0]], np.float32)}, []


def _image(h: int, w: int) -> np.ndarray:
    return np.random.RandomState(7).uniform(-1.5, 1.5, (1, 3, h, w)).astype(np.float32)


MODELS = {
    "ssd_vgg16_reduced_300": lambda: _ssd("vgg16_reduced", 300),
    "ssd_resnet50_512": lambda: _ssd("resnet50", 512),
    "rcnn_vgg16": lambda: _rcnn("vgg16"),
    "rcnn_resnet101": lambda: _rcnn("resnet101"),
}


def random_params(sym, inputs: dict[str, np.ndarray], seed: int = 11):
    """Seeded arg and aux params for ``sym`` at the shapes of ``inputs`` (see the module docstring)."""
    arg_shapes, _, aux_shapes = sym.infer_shape(**{k: v.shape for k, v in inputs.items()})
    r = np.random.RandomState(seed)
    args, auxs = {}, {}
    for n, shp in zip(sym.list_arguments(), arg_shapes):
        if n in inputs:
            continue
        if n.endswith("gamma"):
            v = r.uniform(0.5, 1.5, shp)
        elif n.endswith(("beta", "bias")):
            v = r.randn(*shp) * 0.2
        elif n.endswith("scale"):  # L2Normalization's learnt scale, initialised at 20 by example/ssd
            v = 20.0 * r.uniform(0.8, 1.2, shp)
        else:
            fan_in = int(np.prod(shp[1:])) if len(shp) > 1 else 1
            small = any(k in n for k in SMALL_WEIGHTS)
            v = r.randn(*shp) * np.sqrt(2.0 / max(fan_in, 1)) * (0.05 if small else 1.0)
        args[n] = v.astype(np.float32)
    for n, shp in zip(sym.list_auxiliary_states(), aux_shapes):
        auxs[n] = (r.uniform(0.5, 2.0, shp) if n.endswith("var") else r.randn(*shp) * 0.5).astype(np.float32)
    return args, auxs


def build(name: str, tmp: str, runs: int) -> dict:
    """Build ``name``, save its checkpoint into ``tmp``, record MXNet's outputs and forward time."""
    sym, inputs, exact = MODELS[name]()
    args, auxs = random_params(sym, inputs)
    exe = sym.simple_bind(mx.cpu(), grad_req="null", **{k: v.shape for k, v in inputs.items()})
    for n, v in {**args, **inputs}.items():
        exe.arg_dict[n][:] = v
    for n, v in auxs.items():
        exe.aux_dict[n][:] = v
    outs = [o.asnumpy() for o in exe.forward(is_train=False)]
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        for o in exe.forward(is_train=False):
            o.wait_to_read()
        times.append(time.perf_counter() - t)
    prefix = os.path.join(tmp, name)
    mx.model.save_checkpoint(prefix, 0, sym, {k: mx.nd.array(v) for k, v in args.items()},
                             {k: mx.nd.array(v) for k, v in auxs.items()})
    np.savez(prefix + ".mx.npz", **{f"in:{k}": v for k, v in inputs.items()},
             **{f"out{i}": o for i, o in enumerate(outs)})
    return {"prefix": prefix, "exact": exact, "mx_time": float(np.median(times)),
            "shapes": {k: v.shape for k, v in inputs.items()}}


RUNNER = r"""
import json, sys, time, numpy as np, torch
torch.set_num_threads(2)
import mxtorch
prefix, runs, exact = sys.argv[1], int(sys.argv[2]), set(json.loads(sys.argv[3]))
ref = np.load(prefix + ".mx.npz")
t0 = time.perf_counter()
model = mxtorch.load(prefix)
load_s = time.perf_counter() - t0
xs = [torch.from_numpy(ref["in:" + n]) for n in model.input_names]

def timed(m):
    with torch.inference_mode():
        out = m(*xs)
        ts = []
        for _ in range(runs):
            t = time.perf_counter(); m(*xs); ts.append(time.perf_counter() - t)
    return (out if isinstance(out, tuple) else (out,)), float(np.median(ts))

def errors(out):
    errs = []
    for i, o in enumerate(out):
        want, got = ref[f"out{i}"], o.numpy()
        if got.shape != want.shape:
            errs.append(f"shape {got.shape} != {want.shape}"); continue
        rows = lambda d: int(d.reshape(d.shape[0] * d.shape[1], -1).any(-1).sum()) if d.ndim >= 2 else int(d.any())
        if i in exact:
            errs.append("exact" if np.array_equal(got, want) else f"{rows(got != want)} rows differ"); continue
        if want.ndim == 3 and want.shape[-1] == 6:  # MultiBoxDetection: [class id, score, x1, y1, x2, y2]
            ids = "ids exact" if np.array_equal(got[..., 0], want[..., 0]) else \
                f"ids: {int((got[..., 0] != want[..., 0]).sum())} rows differ"
            from mxtorch.export import relative_error
            errs.append(f"{ids}, scores {relative_error(got[..., 1], want[..., 1]):.1e}, "
                        f"boxes {relative_error(got[..., 2:], want[..., 2:]):.1e}"); continue
        from mxtorch.export import relative_error
        scale = float(np.abs(want[np.isfinite(want)]).max(initial=0.0)) or 1.0
        off = rows(~np.isclose(got, want, rtol=0, atol=1e-5 * scale, equal_nan=True))
        errs.append(f"{relative_error(got, want):.1e} ({off} rows off)")
    return errs

out, t_eager = timed(model)
opt = mxtorch.optimize(model, xs)
oout, t_opt = timed(opt)
print(json.dumps({"errors": errors(out), "opt_errors": errors(oout), "torch_time": t_eager, "load_s": load_s,
                  "opt_time": t_opt}))
"""


def _head_errors(outs: list[np.ndarray], ref) -> list[str]:
    """Per-head max|a-b|/max|b| of ``outs`` against the saved MXNet outputs (MultiBoxDetection split into
    ids, scores and boxes)."""
    errs = []
    for i, a in enumerate(outs):
        b = ref[f"out{i}"]
        rel = lambda x, y: float(np.abs(x.astype(np.float64) - y).max() / (np.abs(y).max() or 1.0))
        if a.ndim == 3 and a.shape[-1] == 6:
            errs.append(f"ids {'exact' if np.array_equal(a[..., 0], b[..., 0]) else 'differ'}, scores "
                        f"{rel(a[..., 1], b[..., 1]):.1e}, boxes {rel(a[..., 2:], b[..., 2:]):.1e}")
        else:
            errs.append(f"{rel(a, b):.1e}")
    return errs


def spread(prefix: str) -> str:
    """MXNet against itself: the saved outputs (oneDNN subgraph fusion on, MXNet's default) against the same
    checkpoint and inputs run with ``MXNET_SUBGRAPH_BACKEND=NONE``, in a child process. With random weights
    a deep net's logits reach the thousands, so a softmax amplifies last-bit differences; this is the floor
    any other implementation can be held to."""
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--spread-of", prefix], capture_output=True,
                       text=True, env=dict(os.environ, MXNET_SUBGRAPH_BACKEND="NONE"))
    return r.stdout.strip().splitlines()[-1] if r.returncode == 0 else "failed: " + r.stderr.strip()[-200:]


def _spread_child(prefix: str) -> None:
    ref = np.load(prefix + ".mx.npz")
    sym, args, auxs = mx.model.load_checkpoint(prefix, 0)
    names = [k[3:] for k in ref.files if k.startswith("in:")]
    exe = sym.simple_bind(mx.cpu(), grad_req="null", **{n: ref["in:" + n].shape for n in names})
    exe.copy_params_from(args, auxs)
    for n in names:
        exe.arg_dict[n][:] = ref["in:" + n]
    print(", ".join(_head_errors([o.asnumpy() for o in exe.forward(is_train=False)], ref)))


def run_mxtorch(info: dict, runs: int) -> dict:
    r = subprocess.run([PROJECT_PY, "-c", RUNNER, info["prefix"], str(runs), json.dumps(info["exact"])],
                       capture_output=True, text=True, cwd=REPO)
    if r.returncode:
        return {"error": (r.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def convert(info: dict, ext: str) -> str:
    out = info["prefix"] + ext
    shapes = [f"{k}={','.join(str(v) for v in s)}" for k, s in info["shapes"].items()]
    cmd = [PROJECT_PY, "-m", "mxtorch", "convert", info["prefix"], "-o", out, "--verify"]
    for s in shapes:
        cmd += ["--input", s]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    text = (r.stdout + r.stderr).strip().splitlines()
    return f"{'ok' if r.returncode == 0 else 'FAILED'} in {time.perf_counter() - t:.0f}s: " + " | ".join(text[-4:])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", default=list(MODELS))
    ap.add_argument("--keep", help="save into this folder (kept) instead of a temporary one")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-export", action="store_true", help="no mxtorch convert (.pt2/.onnx)")
    ap.add_argument("--spread-of", help=argparse.SUPPRESS)  # the child of spread()
    args = ap.parse_args()
    if args.spread_of:
        _spread_child(args.spread_of)
        return 0
    tmp = args.keep or tempfile.mkdtemp(prefix="check_zoo_symbol_")
    os.makedirs(tmp, exist_ok=True)
    for name in args.names:
        print(f"== {name}", flush=True)
        info = build(name, tmp, args.runs)
        res = run_mxtorch(info, args.runs)
        if "error" in res:
            print(f"   mxtorch: {res['error']}", flush=True)
            continue
        print(f"   per-head error: {', '.join(res['errors'])}", flush=True)
        print(f"   optimized per-head error: {', '.join(res['opt_errors'])}", flush=True)
        print(f"   MXNet against itself without its oneDNN fusion: {spread(info['prefix'])}", flush=True)
        print(f"   forward (median of {args.runs}, 2 threads): MXNet {info['mx_time']:.2f}s, mxtorch "
              f"{res['torch_time']:.2f}s, ratio {res['torch_time'] / info['mx_time']:.2f}x (load "
              f"{res['load_s']:.1f}s); optimized {res['opt_time']:.2f}s, ratio "
              f"{res['opt_time'] / info['mx_time']:.2f}x", flush=True)
        if not args.skip_export:
            for ext in (".pt2", ".onnx"):
                print(f"   convert {ext} --verify: {convert(info, ext)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
