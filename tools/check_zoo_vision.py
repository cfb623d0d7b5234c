"""Full-size GluonCV classification, segmentation, pose and video networks through mxtorch (issue 17).

Run by hand from the repository root with the oracle interpreter (MXNet 1.9.1, GluonCV 0.10.5.post0):

    .oracle19/bin/python tools/check_zoo_vision.py [--convert] [--project-python P] [NAME ...]

For each network: build it with ``pretrained=False, pretrained_base=False`` at its full standard width, give
it seeded random weights and non-trivial BatchNorm statistics (tools/make_vision_fixtures.py's rule),
``hybridize(); net(x); export(prefix)`` into a temporary folder, then load and run the export with mxtorch in
a separate process of the project's venv and print max|torch - MXNet| / max|MXNet| per head. With
``--convert`` each network also goes through ``mxtorch convert`` to .pt2 and .onnx (``--verify``), which
takes minutes per network on a small machine. Nothing is written to the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
NO_ONEDNN = {"i3d_resnet50_v1_kinetics400"}  # oneDNN fails on 3-D convolutions in the 1.9.1 pip build

# (zoo name, constructor keywords, input shape)
MODELS = [
    ("resnest50", {}, (1, 3, 224, 224)),
    ("se_resnext50_32x4d", {}, (1, 3, 224, 224)),
    ("residualattentionnet56", {}, (1, 3, 224, 224)),
    ("nasnet_4_1056", {}, (1, 3, 224, 224)),
    ("fcn_resnet50_ade", {"crop_size": 240, "base_size": 240}, (1, 3, 240, 240)),
    ("psp_resnet50_ade", {"crop_size": 240, "base_size": 240}, (1, 3, 240, 240)),
    ("deeplab_resnet50_ade", {"crop_size": 240, "base_size": 240}, (1, 3, 240, 240)),
    ("danet_resnet50_citys", {"crop_size": 240, "base_size": 240}, (1, 3, 240, 240)),
    ("simple_pose_resnet50_v1b", {}, (1, 3, 256, 192)),
    ("alpha_pose_resnet101_v1b_coco", {}, (1, 3, 256, 192)),
    ("i3d_resnet50_v1_kinetics400", {}, (1, 3, 8, 224, 224)),
]

RUNNER = r"""
import json, sys, time, numpy as np, torch, mxtorch
prefix, npz = sys.argv[1], sys.argv[2]
e = np.load(npz)
t = time.time()
m = mxtorch.load(prefix)
load_s = time.time() - t
xs = [torch.from_numpy(e["in:" + n]) for n in m.input_names]
t = time.time()
with torch.inference_mode():
    out = m(*xs)
run_s = time.time() - t
outs = out if isinstance(out, tuple) else (out,)
errs = []
for i, o in enumerate(outs):
    want = e["out:%d" % i].astype(np.float64)
    got = o.numpy().astype(np.float64)
    if got.shape != want.shape:
        errs.append("shape %s != %s" % (got.shape, want.shape))
        continue
    scale = np.abs(want).max()
    errs.append(float(np.abs(got - want).max() / scale) if scale > 0 else float(np.abs(got - want).max()))
print(json.dumps({"errors": errs, "load_s": load_s, "run_s": run_s}))
"""


def build_and_export(name: str, kw: dict, shape: tuple, folder: str) -> tuple[str, str, float]:
    import mxnet as mx
    import numpy as np
    from gluoncv.model_zoo import get_model

    sys.path.insert(0, HERE)
    from make_vision_fixtures import _init_net, rand  # the fixtures' weight rule

    kwargs = dict(pretrained=False, **kw)
    if not name.startswith(("resnest", "se_resnext", "residualattention", "nasnet")):
        kwargs["pretrained_base"] = False
    net = get_model(name, **kwargs)
    x = rand(1, *shape)
    _init_net(net, 0, x)
    net.hybridize()
    t = time.time()
    out = net(mx.nd.array(x))
    outs = [o.asnumpy() for o in (out if isinstance(out, (list, tuple)) else [out])]
    mx_s = time.time() - t
    prefix = os.path.join(folder, name)
    net.export(prefix, epoch=0)
    npz = prefix + ".npz"
    np.savez(npz, **{"in:data": x}, **{f"out:{i}": o for i, o in enumerate(outs)})
    return prefix, npz, mx_s


def _child(name: str, onednn: bool = True) -> dict:
    """Build/export one network in a fresh oracle process (MXNet's oneDNN switch is read at import)."""
    env = dict(os.environ)
    if name in NO_ONEDNN or not onednn:
        env["MXNET_MKLDNN_ENABLED"] = "0"
    folder = tempfile.mkdtemp(prefix=f"zoo_{name}_")
    code = (f"import sys, json; sys.path.insert(0, {HERE!r}); import check_zoo_vision as c; "
            f"spec = {{m[0]: m for m in c.MODELS}}[{name!r}]; "
            f"print('RESULT ' + json.dumps(c.build_and_export(spec[0], spec[1], spec[2], {folder!r})))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    for line in r.stdout.splitlines():
        if line.startswith("RESULT "):
            prefix, npz, mx_s = json.loads(line[7:])
            return {"prefix": prefix, "npz": npz, "mx_s": mx_s, "folder": folder}
    return {"error": (r.stderr.strip().splitlines() or ["?"])[-1][:300], "folder": folder}


def _mxnet_floor(name: str, npz: str) -> list[float]:
    """MXNet's own disagreement per head: its oneDNN build against MXNET_MKLDNN_ENABLED=0 on the same
    seeded weights and input (the float32 noise floor of a deep random-weight network)."""
    if name in NO_ONEDNN:
        return []
    import numpy as np
    ref = _child(name, onednn=False)
    if "error" in ref:
        return []
    a, b = np.load(npz), np.load(ref["npz"])
    out = []
    for k in sorted(k for k in a.files if k.startswith("out:")):
        w = b[k].astype(np.float64)
        out.append(float(np.abs(a[k] - w).max() / max(np.abs(w).max(), 1e-30)))
    subprocess.run(["rm", "-rf", ref["folder"]])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("names", nargs="*")
    ap.add_argument("--convert", action="store_true", help="also mxtorch convert to .pt2/.onnx with --verify")
    ap.add_argument("--project-python", default=os.path.join(REPO, ".venv", "bin", "python"))
    args = ap.parse_args()
    todo = [m for m in MODELS if not args.names or m[0] in args.names]
    worst = 0.0
    for name, _kw, shape in todo:
        b = _child(name)
        if "error" in b:
            print(f"{name:32s} MXNet build/export failed: {b['error']}", flush=True)
            continue
        r = subprocess.run([args.project_python, "-c", RUNNER, b["prefix"], b["npz"]], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"{name:32s} mxtorch failed: {(r.stderr.strip().splitlines() or ['?'])[-1][:300]}", flush=True)
            continue
        res = json.loads(r.stdout.strip().splitlines()[-1])
        errs = res["errors"]
        floor = _mxnet_floor(name, b["npz"])
        worst = max([worst] + [e for e in errs if isinstance(e, float)])
        line = (f"{name:32s} input {'x'.join(map(str, shape)):14s} heads {len(errs)} rel.err "
                + " ".join(f"{e:.1e}" if isinstance(e, float) else str(e) for e in errs)
                + f"  (mxnet {b['mx_s']:.1f}s, mxtorch load {res['load_s']:.1f}s run {res['run_s']:.1f}s)"
                + (f"\n    MXNet oneDNN vs MXNet without oneDNN, same weights: {' '.join(f'{e:.1e}' for e in floor)}"
                   if floor else ""))
        if args.convert:
            for ext in ("pt2", "onnx"):
                t = time.time()
                c = subprocess.run([args.project_python, "-m", "mxtorch", "convert", b["prefix"], "-o",
                                    os.path.join(b["folder"], f"{name}.{ext}"), "--input",
                                    "data=" + ",".join(map(str, shape)), "--verify"], capture_output=True, text=True)
                last = ((c.stdout + c.stderr).strip().splitlines() or ["?"])[-1][:400]
                line += f"\n    {ext}: exit {c.returncode} in {time.time() - t:.0f}s: {last}"
        print(line, flush=True)
        subprocess.run(["rm", "-rf", b["folder"]])
    print(f"worst relative error over {len(todo)} networks: {worst:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
