"""Full-size GluonCV region detectors through mxtorch, checked against MXNet 1.9.1 (run by hand; not a test).

    .oracle19/bin/python tools/check_zoo_rcnn.py [--keep DIR] [--runs N] [--skip-export] [NAME ...]

For each of faster_rcnn_resnet50_v1b_voc, mask_rcnn_resnet50_v1b_coco and center_net_resnet18_v1b_dcnv2_voc
(GluonCV 0.10.5.post0, ``pretrained=False, pretrained_base=False``): seeded random weights with non-trivial
BatchNorm statistics, ``hybridize(); net(x); net.export(prefix)`` into a temporary folder, MXNet's outputs
and its forward time (median of N runs, 2 OpenMP threads). Then, in a separate process with the project's
venv (no MXNet there): ``mxtorch.load`` + forward on the same input (median time, 2 torch threads), the
per-head error (max|torch - MXNet| / max|MXNet|; class-id heads compared exactly), the same after
``mxtorch.optimize`` (BatchNorm folding, channels_last), and
``mxtorch convert PREFIX -o NAME.pt2/.onnx --verify``. Prints one block per model, with the rows matched as
sets and MXNet's own spread on a 1-ulp nudged input (see check_zoo_detection: an error at or below that spread is
float32 noise the random-weight model amplifies, not a conversion bug).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("MXNET_CPU_WORKER_NTHREADS", "1")

import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402

from check_zoo_detection import COMPARE, PROJECT_PY, REPO, build as _build, convert, describe  # noqa: E402  (tools/ is on sys.path)

# name -> (gluoncv model name, constructor kwargs, input shape, class-id heads)
MODELS = {
    "faster_rcnn_resnet50_v1b_voc": ("faster_rcnn_resnet50_v1b_voc", {}, (1, 3, 600, 800), [0]),
    "mask_rcnn_resnet50_v1b_coco": ("mask_rcnn_resnet50_v1b_coco", {}, (1, 3, 512, 640), [0]),
    "center_net_resnet18_v1b_dcnv2_voc": ("center_net_resnet18_v1b_dcnv2_voc", {}, (1, 3, 512, 512), [0]),
}
SMALL_WEIGHTS = ("rpn", "box_pred", "bbox_pred", "wh", "reg")  # the RPN's and the heads' box regressors


def build(name: str, tmp: str, runs: int) -> dict:
    """check_zoo_detection's builder for these models."""
    return _build(name, tmp, runs, MODELS, SMALL_WEIGHTS)



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
from mxtorch.optimization import optimize
fast = optimize(model)  # BatchNorm folding, constant folding, channels_last (no compile)
oout, t_opt = timed(fast)
res.update({"torch_time": t_plain, "load_s": load_s, "opt_time": t_opt, "opt": report(oout, ref, exact),
            "opt_vs_plain": head_errors(oout, out, exact)})
print(json.dumps(res))
"""


def run_mxtorch(info: dict, runs: int) -> dict:
    r = subprocess.run([PROJECT_PY, "-c", RUNNER, info["prefix"], str(runs), json.dumps(info["exact"])],
                       capture_output=True, text=True, cwd=REPO)
    if r.returncode:
        return {"error": (r.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(r.stdout.strip().splitlines()[-1])


OPS_RUNNER = r"""
import sys, numpy as np, torch
torch.set_num_threads(2)
from mxtorch.ops import roi, deformable
from mxtorch.ops._common import f32
e = np.load(sys.argv[1]); T = lambda k: torch.from_numpy(e[k])
def err(g, w): return float(np.abs(g.numpy() - w).max() / np.abs(w).max())
kw = dict(kernel=(3, 3), stride=(1, 1), pad=(1, 1), dilate=(1, 1), num_group=1, num_deformable_group=1)
with torch.inference_mode():
    print(f"   ROIAlign (1,1024,38,50) x {e['rois'].shape[0]} rois, 14x14, sample_ratio=2: "
          f"{err(roi.roi_align(T('data'), T('rois'), pooled_size=(14, 14), spatial_scale=f32(1 / 16), sample_ratio=2, position_sensitive=False, aligned=False), e['align2']):.1e}")
    print(f"   ROIAlign 7x7, sample_ratio=-1, aligned: "
          f"{err(roi.roi_align(T('data'), T('rois'), pooled_size=(7, 7), spatial_scale=f32(1 / 16), sample_ratio=-1, position_sensitive=False, aligned=True), e['alignm1']):.1e}")
    print(f"   ROIPooling 14x14: {err(roi.roi_pooling(T('data'), T('rois'), pooled_size=(14, 14), spatial_scale=f32(1 / 16)), e['pool']):.1e}")
    print(f"   ModulatedDeformableConvolution 512->256 on 16x16: "
          f"{err(deformable.modulated_deformable_convolution(T('x'), T('off'), T('m'), T('w'), **kw), e['mdcn']):.1e}")
    print(f"   DeformableConvolution 512->256 on 16x16: "
          f"{err(deformable.deformable_convolution(T('x'), T('off'), T('w'), **kw), e['dcn']):.1e}")
"""


def check_ops(tmp: str) -> None:
    """The region/deformable ops alone at full-size shapes (C4 feature map of a 600x800 image, 250 rois;
    CenterNet's first DCNv2 layer), MXNet vs mxtorch."""
    r = np.random.RandomState(0)
    data = r.randn(1, 1024, 38, 50).astype(np.float32)
    xy = r.uniform(0, 600, (250, 2))
    wh = r.uniform(16, 300, (250, 2))
    rois = np.concatenate([np.zeros((250, 1)), xy, xy + wh], 1).astype(np.float32)
    x = r.randn(1, 512, 16, 16).astype(np.float32)
    off = (r.randn(1, 18, 16, 16) * 3).astype(np.float32)
    m = r.uniform(size=(1, 9, 16, 16)).astype(np.float32)
    w = (r.randn(256, 512, 3, 3) * 0.02).astype(np.float32)
    d, rr = mx.nd.array(data), mx.nd.array(rois)
    res = {"data": data, "rois": rois, "x": x, "off": off, "m": m, "w": w,
           "align2": mx.nd.contrib.ROIAlign(d, rr, pooled_size=(14, 14), spatial_scale=1 / 16, sample_ratio=2),
           "alignm1": mx.nd.contrib.ROIAlign(d, rr, pooled_size=(7, 7), spatial_scale=1 / 16, sample_ratio=-1,
                                             aligned=True),
           "pool": mx.nd.ROIPooling(d, rr, pooled_size=(14, 14), spatial_scale=1 / 16),
           "mdcn": mx.nd.contrib.ModulatedDeformableConvolution(
               mx.nd.array(x), mx.nd.array(off), mx.nd.array(m), mx.nd.array(w), kernel=(3, 3), pad=(1, 1),
               num_filter=256, no_bias=True),
           "dcn": mx.nd.contrib.DeformableConvolution(mx.nd.array(x), mx.nd.array(off), mx.nd.array(w), kernel=(3, 3),
                                                      pad=(1, 1), num_filter=256, no_bias=True)}
    path = os.path.join(tmp, "ops.npz")
    np.savez(path, **{k: (v.asnumpy() if isinstance(v, mx.nd.NDArray) else v) for k, v in res.items()})
    r = subprocess.run([PROJECT_PY, "-c", OPS_RUNNER, path], capture_output=True, text=True, cwd=REPO)
    print(r.stdout.rstrip() if r.returncode == 0 else "   " + (r.stderr.strip().splitlines() or ["?"])[-1], flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", default=["ops", *MODELS], help="models, and/or 'ops' (the ops alone)")
    ap.add_argument("--keep", help="export into this folder (kept) instead of a temporary one")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-export", action="store_true", help="no mxtorch convert (.pt2/.onnx)")
    args = ap.parse_args()
    tmp = args.keep or tempfile.mkdtemp(prefix="check_zoo_rcnn_")
    os.makedirs(tmp, exist_ok=True)
    for name in args.names:
        print(f"== {name}", flush=True)
        if name == "ops":
            check_ops(tmp)
            continue
        info = build(name, tmp, args.runs)
        res = run_mxtorch(info, args.runs)
        if "error" in res:
            print(f"   mxtorch: {res['error']}", flush=True)
            continue
        ratio = res["torch_time"] / info["mx_time"]
        for line in describe(res):
            print(f"   {line}", flush=True)
        print(f"   forward (median of {args.runs}, 2 threads): MXNet {info['mx_time']:.2f}s, mxtorch "
              f"{res['torch_time']:.2f}s, ratio {ratio:.2f}x (load {res['load_s']:.1f}s)", flush=True)
        print(f"   mxtorch.optimize (fold BN, channels_last): {res['opt_time']:.2f}s, ratio "
              f"{res['opt_time'] / info['mx_time']:.2f}x; {describe(res['opt'], 'vs MXNet')[0]}; "
              f"vs the plain model: {', '.join(res['opt_vs_plain'])}", flush=True)
        if not args.skip_export:
            for ext in (".pt2", ".onnx"):
                print(f"   convert {ext} --verify: {convert(info, ext)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
