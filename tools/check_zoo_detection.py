"""Full-size GluonCV single-stage detectors through mxtorch, checked against MXNet 1.9.1 (run by hand; not a test).

    .oracle19/bin/python tools/check_zoo_detection.py [--keep DIR] [--runs N] [--skip-export] [NAME ...]

For each of SSD-512 MobileNet-1.0, SSD-300 VGG16-atrous, YOLOv3 DarkNet-53 and MobileNet-1.0, and CenterNet
ResNet-18 (GluonCV 0.10.5.post0, ``pretrained=False, pretrained_base=False``): seeded random weights with
non-trivial BatchNorm statistics, ``hybridize(); net(x); net.export(prefix)`` into a temporary folder, MXNet's
outputs and forward time (median of N runs, 2 OpenMP threads). Then, in a separate process with the project's
venv (no MXNet there): ``mxtorch.load`` + forward on the same input (median of N, 2 torch threads), the per-head
error (max|torch - MXNet| / max|MXNet|; class-id heads compared exactly) and
``mxtorch convert PREFIX -o NAME.pt2/.onnx --verify``. Prints one block per model with the time ratio.

With random weights, a detector's NMS keeps many near-equal boxes: a last-bit difference in a score can reorder
two rows, which shows as a large error on that head while every other head agrees. So besides the per-head error
the script reports (1) how many output rows differ, (2) the rows matched as a set (each mxtorch row paired with an
unused MXNet row whose integer heads are equal and whose other heads are within 1e-5 of each head's scale; a
reordering of near-equal rows then leaves nothing unmatched), and (3) MXNet against itself: the same Gluon net
on the input nudged by one ulp (``np.nextafter`` towards +inf), which is how far float32 noise alone moves each
head. An mxtorch error at or below that spread is float noise the model amplifies, not a conversion bug.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("MXNET_CPU_WORKER_NTHREADS", "1")

import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROJECT_PY = os.path.join(REPO, ".venv", "bin", "python")

# name -> (gluoncv model name, constructor kwargs, input shape, class-id heads)
MODELS = {
    "ssd_512_mobilenet1.0_voc": ("ssd_512_mobilenet1.0_voc", {}, (1, 3, 512, 512), [0]),
    "ssd_300_vgg16_atrous_voc": ("ssd_300_vgg16_atrous_voc", {}, (1, 3, 300, 300), [0]),
    "yolo3_darknet53_voc": ("yolo3_darknet53_voc", {}, (1, 3, 416, 416), [0]),
    "yolo3_mobilenet1.0_voc": ("yolo3_mobilenet1.0_voc", {}, (1, 3, 416, 416), [0]),
    "center_net_resnet18_v1b_voc": ("center_net_resnet18_v1b_voc", {}, (1, 3, 512, 512), [0]),
}


# parameter-name parts of the box regressors, whose weights are scaled x0.05
SMALL_WEIGHTS = ("box_pred", "bbox_pred", "boxpredictor", "wh", "reg")


def randomise(net, seed: int, small_weights: tuple[str, ...] = SMALL_WEIGHTS) -> None:
    """Seeded weights (He-scaled normal; box regressors, named by ``small_weights``, x0.05 so proposals stay
    varied); BatchNorm with random mean N(0, 0.5), var U[0.5, 2], gamma U[0.5, 1.5], beta N(0, 0.2); the
    model's own constants (anchors) kept."""
    r = np.random.RandomState(seed)
    for name, p in sorted(net.collect_params().items()):
        shape = p.shape
        if name.endswith(("running_var", "moving_var")):
            v = r.uniform(0.5, 2.0, shape)
        elif name.endswith(("running_mean", "moving_mean")):
            v = r.randn(*shape) * 0.5
        elif name.endswith("gamma"):
            v = r.uniform(0.5, 1.5, shape)
        elif name.endswith(("beta", "bias")):
            v = r.randn(*shape) * 0.2
        elif name.endswith("weight"):
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
            small = any(k in name for k in small_weights)
            v = r.randn(*shape) * np.sqrt(2.0 / max(fan_in, 1)) * (0.05 if small else 1.0)
        else:
            continue
        p.set_data(mx.nd.array(v.astype(np.float32)))


def build(name: str, tmp: str, runs: int, models: dict = MODELS,
          small_weights: tuple[str, ...] = SMALL_WEIGHTS) -> dict:
    """Build ``models[name]`` with random weights, export it into ``tmp``, record MXNet's outputs and time."""
    from gluoncv import model_zoo
    zoo_name, kwargs, shape, exact = models[name]
    net = model_zoo.get_model(zoo_name, pretrained=False, pretrained_base=False, **kwargs)
    for p in net.collect_params().values():
        if p.name.endswith(("gamma", "beta", "mean", "var", "bias")):
            p.init = None
    with warnings.catch_warnings():  # "already initialized" for each parameter the model zoo initialised
        warnings.simplefilter("ignore", UserWarning)
        net.initialize()
    net.hybridize()
    x = mx.nd.array(np.random.RandomState(7).randn(*shape).astype(np.float32))
    net(x)
    randomise(net, 11, small_weights)
    outs = net(x)
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    mx.nd.waitall()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        res = net(x)
        mx.nd.waitall()
        times.append(time.perf_counter() - t)
    del res
    nudged = net(mx.nd.array(np.nextafter(x.asnumpy(), np.float32(np.inf))))  # MXNet's own float32 spread
    nudged = nudged if isinstance(nudged, (list, tuple)) else [nudged]
    prefix = os.path.join(tmp, name)
    net.export(prefix, epoch=0)
    np.savez(prefix + ".mx.npz", data=x.asnumpy(), **{f"out{i}": o.asnumpy() for i, o in enumerate(outs)},
             **{f"ulp{i}": o.asnumpy() for i, o in enumerate(nudged)})
    return {"prefix": prefix, "exact": exact, "mx_time": float(np.median(times)), "shape": shape}


# comparison code shared by this script's runner and check_zoo_rcnn's (run in the project's venv)
COMPARE = r"""
import numpy as np
def _clean(got, want):
    bad = ~np.isfinite(want)
    if bad.any():  # inf/nan (exp overflow under random weights) must sit in the same places with the same values
        if not (np.array_equal(np.isnan(got), np.isnan(want)) and np.array_equal(got[np.isinf(want)], want[np.isinf(want)])):
            return None
        got, want = np.where(bad, 0, got), np.where(bad, 0, want)
    return got, want
def head_errors(outs, ref, exact, key="out"):
    errs = []
    for i, got in enumerate(outs):
        want = ref[f"{key}{i}"] if isinstance(ref, dict) or hasattr(ref, "files") else ref[i]
        if got.shape != want.shape:
            errs.append(f"shape {got.shape} != {want.shape}"); continue
        if i in exact:
            errs.append("exact" if np.array_equal(got, want) else f"{int((got != want).sum())} of {want.size} differ")
            continue
        c = _clean(got, want)
        if c is None:
            errs.append("non-finite values differ"); continue
        got, want = c
        scale = float(np.abs(want).max()) or 1.0
        rows = int((np.abs(got - want) > 1e-4 * scale).reshape(got.shape[0], got.shape[1], -1).any(-1).sum()) if got.ndim >= 2 else 0
        errs.append(f"{float(np.abs(got.astype(np.float64) - want).max()) / scale:.1e} ({rows} rows off)")
    return errs
def rows_as_sets(outs, wants, exact, tol=1e-5):
    # heads sharing the (batch, rows) of head 0; each row of `outs` paired greedily with an unused row of `wants`
    # with equal integer heads and the other heads within tol * that head's scale. Returns (unmatched, rows).
    if not outs or outs[0].ndim < 2:
        return None
    b, n = outs[0].shape[:2]
    hs = [i for i, o in enumerate(outs) if o.ndim >= 2 and o.shape[:2] == (b, n) and wants[i].shape == o.shape]
    unmatched = 0
    for bi in range(b):
        g = [np.nan_to_num(outs[i][bi].reshape(n, -1).astype(np.float64)) for i in hs]
        w = [np.nan_to_num(wants[i][bi].reshape(n, -1).astype(np.float64)) for i in hs]
        tols = [0.0 if i in exact else tol * (float(np.abs(wh).max()) or 1.0) for i, wh in zip(hs, w)]
        ok = np.ones((n, n), bool)
        for gh, wh, t in zip(g, w, tols):
            ok &= (np.abs(gh[:, None, :] - wh[None, :, :]) <= t).all(-1)
        used = np.zeros(n, bool)
        for r in range(n):
            if ok[r, r] and not used[r]:  # the same place first, else the first free equal row
                used[r] = True
                continue
            cand = np.flatnonzero(ok[r] & ~used)
            if cand.size:
                used[cand[0]] = True
            else:
                unmatched += 1
    return unmatched, b * n
def report(outs, ref, exact):
    # per-head errors, rows as sets, and MXNet's own 1-ulp spread (when the reference holds it)
    n = len(outs)
    wants = [ref[f"out{i}"] for i in range(n)]
    res = {"errors": head_errors(outs, ref, exact)}
    m = rows_as_sets(outs, wants, exact)
    if m is not None:
        res["sets"] = f"{m[0]} of {m[1]} rows unmatched"
    if all(f"ulp{i}" in ref.files for i in range(n)):
        ulp = [ref[f"ulp{i}"] for i in range(n)]
        res["mx_ulp"] = head_errors(ulp, ref, exact)
        m = rows_as_sets(ulp, wants, exact)
        if m is not None:
            res["mx_ulp_sets"] = f"{m[0]} of {m[1]} rows unmatched"
    return res
"""

RUNNER = COMPARE + r"""
import json, sys, time, torch
torch.set_num_threads(2)
import mxtorch
prefix, runs, exact = sys.argv[1], int(sys.argv[2]), set(json.loads(sys.argv[3]))
ref = np.load(prefix + ".mx.npz")
t0 = time.perf_counter()
model = mxtorch.load(prefix)
load_s = time.perf_counter() - t0
x = torch.from_numpy(ref["data"])
def timed(m):
    with torch.inference_mode():
        out = m(x)
        times = []
        for _ in range(runs):
            t = time.perf_counter(); m(x); times.append(time.perf_counter() - t)
    out = out if isinstance(out, tuple) else (out,)
    return [o.numpy() for o in out], float(np.median(times))
out, t_plain = timed(model)
res = report(out, ref, exact)
opt = mxtorch.optimize(model)  # BatchNorm folding, constant folding, channels_last (no compile)
oout, t_opt = timed(opt)
same = all(np.array_equal(a, b) for a, b in zip(oout, out))
res.update({"torch_time": t_plain, "load_s": load_s, "opt_time": t_opt, "opt_same": bool(same),
            "opt": report(oout, ref, exact)})
print(json.dumps(res))
"""


def describe(res: dict, label: str = "per-head error") -> list[str]:
    """The report's lines for one result of COMPARE's ``report``."""
    lines = [f"{label}: {', '.join(res['errors'])}" + (f"; as row sets: {res['sets']}" if "sets" in res else "")]
    if "mx_ulp" in res:
        lines.append(f"MXNet vs itself, input nudged 1 ulp: {', '.join(res['mx_ulp'])}"
                     + (f"; as row sets: {res['mx_ulp_sets']}" if "mx_ulp_sets" in res else ""))
    return lines


def run_mxtorch(info: dict, runs: int) -> dict:
    r = subprocess.run([PROJECT_PY, "-c", RUNNER, info["prefix"], str(runs), json.dumps(info["exact"])],
                       capture_output=True, text=True, cwd=REPO)
    if r.returncode:
        return {"error": (r.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def convert(info: dict, ext: str) -> str:
    shape = ",".join(str(v) for v in info["shape"])
    out = info["prefix"] + ext
    t = time.perf_counter()
    r = subprocess.run([PROJECT_PY, "-m", "mxtorch", "convert", info["prefix"], "--input", f"data={shape}",
                        "-o", out, "--verify"], capture_output=True, text=True, cwd=REPO)
    took = time.perf_counter() - t
    text = (r.stdout + r.stderr).strip().splitlines()
    return f"{'ok' if r.returncode == 0 else 'FAILED'} in {took:.0f}s: " + (" | ".join(text[-3:]) if text else "")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", default=list(MODELS))
    ap.add_argument("--keep", help="export into this folder (kept) instead of a temporary one")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-export", action="store_true", help="no mxtorch convert (.pt2/.onnx)")
    args = ap.parse_args()
    tmp = args.keep or tempfile.mkdtemp(prefix="check_zoo_detection_")
    os.makedirs(tmp, exist_ok=True)
    for name in args.names:
        print(f"== {name}", flush=True)
        info = build(name, tmp, args.runs)
        res = run_mxtorch(info, args.runs)
        if "error" in res:
            print(f"   mxtorch: {res['error']}", flush=True)
            continue
        ratio = res["torch_time"] / info["mx_time"]
        for line in describe(res):
            print(f"   {line}", flush=True)
        print(f"   forward (median of {args.runs}, 2 threads): MXNet {info['mx_time']:.2f}s, mxtorch "
              f"{res['torch_time']:.2f}s, ratio {ratio:.2f}x (load {res['load_s']:.1f}s); mxtorch.optimize "
              f"{res['opt_time']:.2f}s, ratio {res['opt_time'] / info['mx_time']:.2f}x "
              f"(outputs {'bit-identical to' if res['opt_same'] else 'not bit-identical to'} the plain model)",
              flush=True)
        print(f"   {describe(res['opt'], 'mxtorch.optimize vs MXNet')[0]}", flush=True)
        if not args.skip_export:
            for ext in (".pt2", ".onnx"):
                print(f"   convert {ext} --verify: {convert(info, ext)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
