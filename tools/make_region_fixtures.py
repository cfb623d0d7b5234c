"""Make the per-op fixtures of mxtorch's region and deformable ops with real MXNet 1.9.1 (never run by tests).

Run by hand from the repository root in the oracle venv:

    .oracle19/bin/python tools/make_region_fixtures.py [ops | nets | CASE ...]

Writes fixtures/mxtorch/regions/NAME{-symbol.json,-0000.params,.expected.npz,.json}: ROIPooling,
_contrib_ROIAlign, _contrib_PSROIPooling, _contrib_DeformableConvolution,
_contrib_ModulatedDeformableConvolution and _contrib_DeformablePSROIPooling over every attribute value
(pooled sizes, spatial scales, sample_ratio -1/1/2/3, aligned, position_sensitive, group sizes, deformable
groups, no_bias, no_trans, part sizes, samples per part), with odd map sizes, rois partly or wholly outside
the map, degenerate rois, halves (rounding ties) in roi corners, out-of-batch indices where MXNet defines
them, and offsets that push samples past every border. Values sit on a 1/16 grid (exact in float32).
Deterministic: a re-run rewrites every file identically.

``nets`` writes fixtures/mxtorch/detnet_b/: tiny GluonCV 0.10.5.post0 Faster R-CNN (roi_mode align and
pool), Mask R-CNN and CenterNet with DCNv2 (the real classes; tiny feature stacks and proposal counts via
constructor arguments), and MXNet's symbol-API Faster R-CNN from example/rcnn (extracted at run time from
the apache/mxnet mirror into a temporary folder), with seeded random weights and non-trivial BatchNorm
statistics. Class-id heads are listed under ``exact_outputs``.
"""

from __future__ import annotations

import json
import os
import sys

import mxnet as mx
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO, "fixtures", "mxtorch", "regions")
MAX_FILE_BYTES = 96 * 1024
CASES: list[tuple[str, object]] = []


def case(name: str):
    def deco(fn):
        CASES.append((name, fn))
        return fn
    return deco


def rand(seed: int, *shape: int, scale: float = 1.0) -> np.ndarray:
    x = np.random.RandomState(seed).randn(*shape) * scale
    return (np.round(x * 16) / 16).astype(np.float32)


def rois_mixed(n_batch: int, scale_img: float) -> np.ndarray:
    """Hand-picked rois in image coordinates for a 7x9 map at ``scale_img`` pixels per cell: inside,
    partly outside, wholly outside, degenerate (x2 < x1, zero size), corners on halves, both batches."""
    s = scale_img
    r = [
        [0, 0, 0, 8 * s, 6 * s],          # the whole map
        [0, 1.5 * s, 2.5 * s, 5.5 * s, 4.5 * s],  # halves (rounding ties)
        [1 % n_batch, -3 * s, -2 * s, 3 * s, 4 * s],  # partly outside (top-left)
        [0, 6 * s, 4 * s, 12 * s, 10 * s],  # partly outside (bottom-right)
        [1 % n_batch, 20 * s, 20 * s, 25 * s, 30 * s],  # wholly outside
        [0, 4 * s, 3 * s, 2 * s, 1 * s],  # degenerate: x2 < x1, y2 < y1
        [1 % n_batch, 3 * s, 3 * s, 3 * s, 3 * s],  # a point
        [0, 0.25 * s, 0.75 * s, 7.3 * s, 2.1 * s],  # fractional
        [1 % n_batch, 2.0625 * s, 1.9375 * s, 6.5 * s, 5.5 * s],
    ]
    return np.array(r, dtype=np.float32)


class Case:
    def __init__(self, sym, inputs, params=None, call="", notes="", seed=None):
        self.sym, self.inputs, self.params = sym, inputs, params or {}
        self.call, self.notes, self.seed = call, notes, seed


V = mx.sym.var

# ---- ROIPooling ------------------------------------------------------------------------------------------
for _ps, _sc in [((2, 2), 1.0), ((3, 2), 0.5), ((1, 1), 0.25), ((4, 5), 1.0), ((7, 7), 0.0625), ((2, 3), 0.3)]:
    def _mk(ps=_ps, sc=_sc):
        def build():
            data = rand(10 + ps[0] * 7 + ps[1], 2, 3, 7, 9)
            rois = rois_mixed(2, 1.0 / sc)
            extra = np.array([[-1, 0, 0, 4 / sc, 4 / sc], [2, 0, 0, 4 / sc, 4 / sc], [-0.5, 1 / sc, 1 / sc, 3 / sc, 5 / sc],
                              [1.75, 0, 0, 2 / sc, 2 / sc]], np.float32)
            rois = np.concatenate([rois, extra])
            sym = mx.sym.ROIPooling(V("data"), V("rois"), pooled_size=ps, spatial_scale=sc, name="pool")
            return Case(sym, {"data": data, "rois": rois},
                        call=f"mx.sym.ROIPooling(data, rois, pooled_size={ps}, spatial_scale={sc})",
                        notes="batch index -1 and 2 (outside the batch of 2) give 0; -0.5 and 1.75 truncate")
        return build
    case(f"roi_pooling_{_ps[0]}x{_ps[1]}_s{str(_sc).replace('.', 'p')}")(_mk())


@case("roi_pooling_negative_values")
def _():
    data = -np.abs(rand(3, 1, 2, 5, 6)) - 1  # all negative: the max must not be clipped at 0
    rois = np.array([[0, 0, 0, 5, 4], [0, 1, 1, 2, 2], [0, 3.5, 2.5, 4.5, 3.5]], np.float32)
    sym = mx.sym.ROIPooling(V("data"), V("rois"), pooled_size=(3, 3), spatial_scale=1.0, name="pool")
    return Case(sym, {"data": data, "rois": rois}, call="mx.sym.ROIPooling(data, rois, pooled_size=(3, 3), spatial_scale=1)")


# ---- ROIAlign ------------------------------------------------------------------------------------------------
for _ratio in (-1, 1, 2, 3):
    for _aligned in (False, True):
        for _ps, _sc in [((2, 2), 1.0), ((3, 4), 0.5)]:
            def _mk(ratio=_ratio, aligned=_aligned, ps=_ps, sc=_sc):
                def build():
                    data = rand(40 + ratio, 2, 3, 7, 9)
                    rois = rois_mixed(2, 1.0 / sc)
                    if aligned:  # MXNet refuses (CHECK) a roi of zero or negative size when aligned
                        rois = rois[[0, 1, 2, 3, 4, 7, 8]]
                    big = np.array([[0, -30 / sc, -20 / sc, 60 / sc, 50 / sc], [1, -2 / sc, -1 / sc, 40 / sc, 7 / sc]],
                                   np.float32)
                    rois = np.concatenate([rois, big])
                    sym = mx.sym.contrib.ROIAlign(V("data"), V("rois"), pooled_size=ps, spatial_scale=sc,
                                                  sample_ratio=ratio, aligned=aligned, name="align")
                    return Case(sym, {"data": data, "rois": rois},
                                call=f"mx.sym.contrib.ROIAlign(data, rois, pooled_size={ps}, spatial_scale={sc}, "
                                     f"sample_ratio={ratio}, aligned={aligned})",
                                notes="rois far larger than the map (adaptive grids of dozens of samples)")
                return build
            case(f"roi_align_r{str(_ratio).replace('-', 'm')}_{'al' if _aligned else 'na'}_{_ps[0]}x{_ps[1]}")(_mk())


@case("roi_align_position_sensitive")
def _():
    data = rand(50, 2, 2 * 2 * 3, 6, 7)
    rois = rois_mixed(2, 1.0)[[0, 1, 2, 3, 7, 8]]
    sym = mx.sym.contrib.ROIAlign(V("data"), V("rois"), pooled_size=(2, 3), spatial_scale=1.0, sample_ratio=2,
                                  position_sensitive=True, name="align")
    return Case(sym, {"data": data, "rois": rois}, call="mx.sym.contrib.ROIAlign(data, rois, pooled_size=(2, 3), "
                "spatial_scale=1, sample_ratio=2, position_sensitive=True)")


@case("roi_align_position_sensitive_adaptive_aligned")
def _():
    data = rand(51, 1, 3 * 3 * 2, 7, 8)
    rois = rois_mixed(1, 2.0)[[0, 1, 2, 3, 7, 8]]
    sym = mx.sym.contrib.ROIAlign(V("data"), V("rois"), pooled_size=(3, 3), spatial_scale=0.5, sample_ratio=-1,
                                  position_sensitive=True, aligned=True, name="align")
    return Case(sym, {"data": data, "rois": rois}, call="mx.sym.contrib.ROIAlign(data, rois, pooled_size=(3, 3), "
                "spatial_scale=0.5, sample_ratio=-1, position_sensitive=True, aligned=True)")


# ---- PSROIPooling ----------------------------------------------------------------------------------------------
for _od, _p, _g, _sc in [(2, 3, 0, 1.0), (2, 3, 2, 0.5), (1, 2, 2, 0.25), (3, 4, 3, 1.0)]:
    def _mk(od=_od, p=_p, g=_g, sc=_sc):
        def build():
            gs = g or p
            data = rand(60 + p + g, 2, od * gs * gs, 7, 9)
            rois = np.concatenate([rois_mixed(2, 1.0 / sc),
                                   np.array([[1, 0.5 / sc, 1.5 / sc, 2.5 / sc, 3.5 / sc]], np.float32)])
            sym = mx.sym.contrib.PSROIPooling(V("data"), V("rois"), spatial_scale=sc, output_dim=od, pooled_size=p,
                                              group_size=g, name="ps")
            return Case(sym, {"data": data, "rois": rois},
                        call=f"mx.sym.contrib.PSROIPooling(data, rois, spatial_scale={sc}, output_dim={od}, "
                             f"pooled_size={p}, group_size={g})",
                        notes="no batch index outside the batch: MXNet reads past its input there")
        return build
    case(f"psroi_pooling_d{_od}_p{_p}_g{_g}")(_mk())


# ---- deformable convolution --------------------------------------------------------------------------------
def _out(n, k, s, p, d):
    return (n + 2 * p - (d * (k - 1) + 1)) // s + 1


DCN = [  # (kernel, stride, pad, dilate, num_group, num_deformable_group, no_bias)
    ((3, 3), (1, 1), (1, 1), (1, 1), 1, 1, False),
    ((3, 3), (2, 2), (1, 1), (1, 1), 2, 2, True),
    ((2, 3), (1, 2), (0, 1), (2, 1), 1, 2, False),
    ((3, 3), (1, 1), (2, 2), (2, 2), 4, 1, False),
    ((1, 1), (1, 1), (0, 0), (1, 1), 1, 4, True),
]
for _i, (_k, _s, _p, _d, _g, _dg, _nb) in enumerate(DCN):
    for _v2 in (False, True):
        def _mk(i=_i, k=_k, s=_s, p=_p, d=_d, g=_g, dg=_dg, nb=_nb, v2=_v2):
            def build():
                n, c, h, w, f = 2, 4, 7, 9, 8
                ho, wo = _out(h, k[0], s[0], p[0], d[0]), _out(w, k[1], s[1], p[1], d[1])
                kk = k[0] * k[1]
                seed = 70 + 10 * i + v2
                inputs = {"data": rand(seed, n, c, h, w), "offset": rand(seed + 1, n, 2 * dg * kk, ho, wo, scale=2.5)}
                if v2:
                    m = 1 / (1 + np.exp(-np.random.RandomState(seed + 2).randn(n, dg * kk, ho, wo)))
                    inputs["mask"] = (np.round(m * 16) / 16).astype(np.float32)
                params = {"dc_weight": rand(seed + 3, f, c // g, *k, scale=0.5)}
                if not nb:
                    params["dc_bias"] = rand(seed + 4, f)
                op = mx.sym.contrib.ModulatedDeformableConvolution if v2 else mx.sym.contrib.DeformableConvolution
                ins = [V("data"), V("offset")] + ([V("mask")] if v2 else [])
                sym = op(*ins, kernel=k, stride=s, pad=p, dilate=d, num_filter=f, num_group=g,
                         num_deformable_group=dg, no_bias=nb, name="dc")
                return Case(sym, inputs, params,
                            call=f"mx.sym.contrib.{op.__name__}(data, offset{', mask' if v2 else ''}, kernel={k}, "
                                 f"stride={s}, pad={p}, dilate={d}, num_filter={f}, num_group={g}, "
                                 f"num_deformable_group={dg}, no_bias={nb})",
                            notes="offsets N(0, 2.5) on a 1/16 grid: samples past every border, some exactly on it",
                            seed=seed)
            return build
        case(f"{'mdcn' if _v2 else 'dcn'}_{_i}")(_mk())


# ---- DeformablePSROIPooling ----------------------------------------------------------------------------------
DPS = [  # (output_dim, group_size, pooled_size, part_size, sample_per_part, trans_std, no_trans, classes, scale)
    (2, 3, 3, 0, 1, 0.0, True, 1, 1.0),
    (4, 3, 3, 0, 2, 0.1, False, 2, 0.5),
    (2, 2, 4, 2, 4, 0.2, False, 1, 1.0),
    (3, 3, 3, 3, 3, 0.5, False, 3, 0.25),
]
for _i, (_od, _gs, _p, _part, _spp, _ts, _nt, _cls, _sc) in enumerate(DPS):
    def _mk(i=_i, od=_od, gs=_gs, p=_p, part=_part, spp=_spp, ts=_ts, nt=_nt, cls=_cls, sc=_sc):
        def build():
            seed = 120 + i
            data = rand(seed, 2, od * gs * gs, 7, 9)
            rois = rois_mixed(2, 1.0 / sc)
            inputs = {"data": data, "rois": rois}
            ins = [V("data"), V("rois")]
            if not nt:
                ps = part or p
                inputs["trans"] = rand(seed + 1, rois.shape[0], 2 * cls, ps, ps)
                ins.append(V("trans"))
            sym = mx.sym.contrib.DeformablePSROIPooling(*ins, spatial_scale=sc, output_dim=od, group_size=gs,
                                                        pooled_size=p, part_size=part, sample_per_part=spp,
                                                        trans_std=ts, no_trans=nt, name="dps")
            return Case(sym, inputs, call=f"mx.sym.contrib.DeformablePSROIPooling(data, rois{', trans' if not nt else ''}, "
                        f"spatial_scale={sc}, output_dim={od}, group_size={gs}, pooled_size={p}, part_size={part}, "
                        f"sample_per_part={spp}, trans_std={ts}, no_trans={nt})", seed=seed)
        return build
    case(f"dpsroi_pooling_{_i}")(_mk())


# ---- whole networks (fixtures/mxtorch/detnet_b/) ------------------------------------------------------------
NET_DIR = os.path.join(REPO, "fixtures", "mxtorch", "detnet_b")
NETS: list[tuple[str, object]] = []
MXNET_GIT = os.environ.get("MXNET_SRC", "")  # a git directory of apache/mxnet with branch v1.9.x


def net(name: str):
    def deco(fn):
        NETS.append((name, fn))
        return fn
    return deco


def _randomise(params, seed: int) -> None:
    """Seeded random weights; BatchNorm gets non-trivial statistics (mean N(0, 0.5), var U[0.5, 2])."""
    r = np.random.RandomState(seed)
    for name in sorted(params):
        p = params[name]
        shape = p.shape
        if not name.endswith(("weight", "bias", "gamma", "beta", "running_mean", "running_var")):
            continue  # constants the model made itself (the RPN's anchors): keep
        if name.endswith(("running_var", "moving_var")):
            v = r.uniform(0.5, 2.0, shape)
        elif name.endswith(("running_mean", "moving_mean")):
            v = r.randn(*shape) * 0.5
        elif name.endswith("gamma"):
            v = r.uniform(0.5, 1.5, shape)
        elif name.endswith(("beta", "bias")):
            v = r.randn(*shape) * 0.2
        else:
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
            v = r.randn(*shape) * np.sqrt(2.0 / max(fan_in, 1)) * _head_scale(name)
        p.set_data(mx.nd.array(v.astype(np.float32)))


def _head_scale(name: str) -> float:
    """Box regressors get small weights (as their real initialisers do), so proposals stay varied
    instead of all growing to the whole image."""
    return 0.05 if any(k in name for k in ("rpn", "box_pred", "bbox_pred", "wh", "reg")) else 1.0


def _tiny_stack(channels, strides):
    from mxnet.gluon import nn
    s = nn.HybridSequential()
    for c, st in zip(channels, strides):
        s.add(nn.Conv2D(c, 3, st, 1, use_bias=False), nn.BatchNorm(), nn.Activation("relu"))
    return s


def _export_gluon(name: str, block, x: np.ndarray, seed: int, call: str, notes: str = "",
                  exact=()) -> None:
    for p in block.collect_params().values():
        if p.name.endswith(("gamma", "beta", "mean", "var", "bias")):
            p.init = None
    block.initialize()
    block.hybridize()
    block(mx.nd.array(x))  # shapes, then the weights
    _randomise({p.name: p for p in block.collect_params().values()}, seed)
    res = block(mx.nd.array(x))
    outs = [o.asnumpy() for o in (res if isinstance(res, (list, tuple)) else [res])]
    prefix = os.path.join(NET_DIR, name)
    block.export(prefix, epoch=0)
    sym = mx.sym.load(prefix + "-symbol.json")
    _write_net(prefix, sym, {"data": x}, outs, {
        "call": call, "notes": notes, "seed": seed, "exact_outputs": list(exact),
        "made_by": "tools/make_region_fixtures.py nets: GluonCV class, random weights, hybridize(), "
                   "net(x), net.export(prefix, 0)"})


def _write_net(prefix: str, sym, inputs: dict, outs: list, prov: dict) -> None:
    exp = {f"in:{k}": v for k, v in inputs.items()}
    exp.update({f"out:{i}": o for i, o in enumerate(outs)})
    np.savez_compressed(prefix + ".expected.npz", **exp)
    prov.update({"mxnet": mx.__version__, "gluoncv": _gcv_version(),
                 "inputs": {k: [list(v.shape), str(v.dtype)] for k, v in inputs.items()},
                 "outputs": sym.list_outputs(), "output_shapes": [[list(o.shape), str(o.dtype)] for o in outs]})
    with open(prefix + ".json", "w") as f:
        json.dump(prov, f, indent=1, sort_keys=True)
        f.write("\n")
    for ext in ("-symbol.json", "-0000.params", ".expected.npz", ".json"):
        if os.path.exists(prefix + ext):
            assert os.path.getsize(prefix + ext) <= 900 * 1024, (prefix, ext)


def _gcv_version() -> str:
    import gluoncv
    return gluoncv.__version__


def _image(seed: int, h: int, w: int) -> np.ndarray:
    return rand(seed, 1, 3, h, w)


RCNN_TINY = dict(short=64, max_size=96, strides=16, rpn_channel=16, scales=(2, 4), ratios=(0.5, 1, 2),
                 alloc_size=(16, 16), rpn_test_pre_nms=40, rpn_test_post_nms=12, nms_topk=10, post_nms=8,
                 max_num_gt=5, num_sample=8)


def _rcnn_call(cls: str, extra: str) -> str:
    return (f"gluoncv.model_zoo.rcnn.{cls}(features=3x[conv3x3 s2, BN, relu] (8,8,16,16 ch, stride 16), "
            f"top_features=[conv3x3 s2 16ch, BN, relu], classes=['a','b','c'], {extra}"
            + ", ".join(f"{k}={v}" for k, v in RCNN_TINY.items()) + ")")


@net("faster_rcnn_tiny_align")
def _():
    from gluoncv.model_zoo.rcnn.faster_rcnn.faster_rcnn import FasterRCNN
    blk = FasterRCNN(_tiny_stack([8, 8, 16, 16], [2, 2, 2, 2]), _tiny_stack([16], [2]), classes=["a", "b", "c"],
                     roi_mode="align", roi_size=(4, 4), **RCNN_TINY)
    _export_gluon("faster_rcnn_tiny_align", blk, _image(200, 64, 96), 200,
                  _rcnn_call("FasterRCNN", "roi_mode='align', roi_size=(4, 4), "), exact=[0],
                  notes="outputs ids (class id or -1, float32: exact), scores, boxes")


@net("faster_rcnn_tiny_pool")
def _():
    from gluoncv.model_zoo.rcnn.faster_rcnn.faster_rcnn import FasterRCNN
    blk = FasterRCNN(_tiny_stack([8, 8, 16, 16], [2, 2, 2, 2]), _tiny_stack([16], [2]), classes=["a", "b", "c"],
                     roi_mode="pool", roi_size=(5, 3), **RCNN_TINY)
    _export_gluon("faster_rcnn_tiny_pool", blk, _image(201, 80, 96), 201,
                  _rcnn_call("FasterRCNN", "roi_mode='pool', roi_size=(5, 3), "), exact=[0])


@net("mask_rcnn_tiny")
def _():
    from gluoncv.model_zoo.rcnn.mask_rcnn.mask_rcnn import MaskRCNN
    blk = MaskRCNN(_tiny_stack([8, 8, 16, 16], [2, 2, 2, 2]), _tiny_stack([16], [2]), classes=["a", "b", "c"],
                   mask_channels=8, rcnn_max_dets=6, roi_mode="align", roi_size=(4, 4), **RCNN_TINY)
    _export_gluon("mask_rcnn_tiny", blk, _image(202, 64, 96), 202,
                  _rcnn_call("MaskRCNN", "mask_channels=8, rcnn_max_dets=6, roi_mode='align', roi_size=(4, 4), "),
                  exact=[0], notes="outputs ids (exact), scores, boxes, masks")


class _TinyResnet:
    """What DeconvResnet reads from a v1b ResNet (conv1, bn1, relu, maxpool, layer1..4), at tiny widths."""

    def __init__(self):
        from mxnet.gluon import nn
        self.conv1 = nn.Conv2D(8, 3, 2, 1, use_bias=False)
        self.bn1 = nn.BatchNorm()
        self.relu = nn.Activation("relu")
        self.maxpool = nn.MaxPool2D(3, 2, 1)
        self.layer1 = _tiny_stack([8], [1])
        self.layer2 = _tiny_stack([16], [2])
        self.layer3 = _tiny_stack([16], [2])
        self.layer4 = _tiny_stack([24], [2])


@net("center_net_tiny_dcnv2")
def _():
    from collections import OrderedDict
    from gluoncv.model_zoo.center_net import deconv_resnet
    from gluoncv.model_zoo.center_net.center_net import CenterNet
    real = deconv_resnet.get_model
    deconv_resnet.get_model = lambda name, **kw: _TinyResnet()  # the base's widths; the deconv head is GluonCV's
    try:
        base = deconv_resnet.DeconvResnet(base_network="resnet18_v1b", deconv_filters=(16, 8, 8),
                                          deconv_kernels=(4, 4, 4), pretrained_base=False, use_dcnv2=True)
    finally:
        deconv_resnet.get_model = real
    heads = OrderedDict([("heatmap", {"num_output": 3, "bias": -2.19}), ("wh", {"num_output": 2}),
                         ("reg", {"num_output": 2})])
    blk = CenterNet(base, heads, classes=["a", "b", "c"], head_conv_channel=8, scale=4.0, topk=12)
    _export_gluon("center_net_tiny_dcnv2", blk, _image(203, 64, 96), 203,
                  "gluoncv CenterNet(DeconvResnet('resnet18_v1b' layout at widths 8/8/16/16/24, deconv_filters="
                  "(16, 8, 8), use_dcnv2=True), heads heatmap 3/wh 2/reg 2, head_conv_channel=8, scale=4, topk=12)",
                  exact=[0], notes="three ModulatedDeformableConvolution layers (as center_net_resnet18_v1b_dcnv2)")


def _example_rcnn() -> str:
    """MXNet's example/rcnn (v1.9.x) extracted from the mirror into a temporary folder (never committed)."""
    import subprocess
    import tarfile
    import tempfile
    tmp = tempfile.mkdtemp(prefix="mx_example_rcnn_")
    if not MXNET_GIT:
        sys.exit("make_region_fixtures: set MXNET_SRC to a git directory of apache/mxnet (branch v1.9.x)")
    tar = subprocess.run(["git", "--git-dir", MXNET_GIT, "archive", "v1.9.x", "example/rcnn"], check=True,
                         capture_output=True).stdout
    import io
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        t.extractall(tmp)
    return os.path.join(tmp, "example", "rcnn")


@net("mx_example_rcnn_resnet_tiny")
def _():
    path = _example_rcnn()
    sys.path.insert(0, path)
    try:
        from symnet.symbol_resnet import get_resnet_test
    finally:
        sys.path.remove(path)
    kw = dict(anchor_scales=(2, 4), anchor_ratios=(0.5, 1, 2), rpn_feature_stride=16, rpn_pre_topk=60,
              rpn_post_topk=10, rpn_nms_thresh=0.7, rpn_min_size=8, num_classes=4, rcnn_feature_stride=16,
              rcnn_pooled_size=(4, 4), rcnn_batch_size=1, units=(1, 1, 1, 1), filter_list=(16, 16, 16, 32))
    sym = get_resnet_test(**kw)
    seed = 204
    x = _image(seed, 64, 96)
    im_info = np.array([[64, 96, 1.0]], np.float32)
    arg_shapes, _, aux_shapes = sym.infer_shape(data=x.shape, im_info=im_info.shape)
    r = np.random.RandomState(seed)
    args, auxs = {}, {}
    for n, shp in zip(sym.list_arguments(), arg_shapes):
        if n in ("data", "im_info"):
            continue
        if n.endswith("gamma"):
            v = r.uniform(0.5, 1.5, shp)
        elif n.endswith(("beta", "bias")):
            v = r.randn(*shp) * 0.2
        else:
            v = r.randn(*shp) * np.sqrt(2.0 / max(int(np.prod(shp[1:])), 1)) * _head_scale(n)
        args[n] = v.astype(np.float32)
    for n, shp in zip(sym.list_auxiliary_states(), aux_shapes):
        auxs[n] = (r.uniform(0.5, 2.0, shp) if n.endswith("var") else r.randn(*shp) * 0.5).astype(np.float32)
    exe = sym.simple_bind(mx.cpu(), data=x.shape, im_info=im_info.shape, grad_req="null")
    for n, v in args.items():
        exe.arg_dict[n][:] = v
    for n, v in auxs.items():
        exe.aux_dict[n][:] = v
    exe.arg_dict["data"][:] = x
    exe.arg_dict["im_info"][:] = im_info
    outs = [o.asnumpy() for o in exe.forward(is_train=False)]
    prefix = os.path.join(NET_DIR, "mx_example_rcnn_resnet_tiny")
    mx.model.save_checkpoint(prefix, 0, sym, {k: mx.nd.array(v) for k, v in args.items()},
                             {k: mx.nd.array(v) for k, v in auxs.items()})
    _write_net(prefix, sym, {"data": x, "im_info": im_info}, outs, {
        "call": "example/rcnn (v1.9.x) symnet.symbol_resnet.get_resnet_test("
                + ", ".join(f"{k}={v}" for k, v in kw.items()) + ")",
        "notes": "MultiProposal + ROIPooling; outputs rois (batch, x1, y1, x2, y2), cls_prob, bbox_pred",
        "seed": seed, "made_by": "tools/make_region_fixtures.py nets: simple_bind, forward(is_train=False), "
                                 "mx.model.save_checkpoint"})


# ---- writing --------------------------------------------------------------------------------------------------
def run(name: str, c: Case) -> None:
    args = {k: mx.nd.array(v, dtype=v.dtype) for k, v in {**c.inputs, **c.params}.items()}
    missing = set(c.sym.list_arguments()) - set(args)
    assert not missing, (name, missing)
    exe = c.sym.bind(mx.cpu(), args=args, grad_req="null")
    outs = [o.asnumpy() for o in exe.forward(is_train=False)]
    prefix = os.path.join(OUT_DIR, name)
    with open(prefix + "-symbol.json", "w") as f:
        f.write(c.sym.tojson())
    if c.params:
        mx.nd.save(prefix + "-0000.params", {"arg:" + k: mx.nd.array(v, dtype=v.dtype) for k, v in c.params.items()})
    exp = {f"in:{k}": v for k, v in c.inputs.items()}
    exp.update({f"out:{i}": o for i, o in enumerate(outs)})
    np.savez_compressed(prefix + ".expected.npz", **exp)
    prov = {"call": c.call, "notes": c.notes, "seed": c.seed, "mxnet": mx.__version__,
            "made_by": "tools/make_region_fixtures.py: Symbol.bind(mx.cpu(), grad_req='null').forward(is_train=False)",
            "inputs": {k: [list(v.shape), str(v.dtype)] for k, v in c.inputs.items()},
            "outputs": c.sym.list_outputs(), "output_shapes": [[list(o.shape), str(o.dtype)] for o in outs]}
    with open(prefix + ".json", "w") as f:
        json.dump(prov, f, indent=1, sort_keys=True)
        f.write("\n")
    for ext in ("-symbol.json", "-0000.params", ".expected.npz", ".json"):
        if os.path.exists(prefix + ext):
            assert os.path.getsize(prefix + ext) <= MAX_FILE_BYTES, (name, ext)


def main() -> int:
    os.makedirs(OUT_DIR, exist_ok=True)
    os.makedirs(NET_DIR, exist_ok=True)
    only = set(sys.argv[1:])
    names = [n for n, _ in CASES + NETS]
    assert len(names) == len(set(names)), "duplicate case names"
    done = 0
    for name, build in CASES:
        if not only or name in only or "ops" in only:
            run(name, build())
            done += 1
    for name, build in NETS:
        if not only or name in only or "nets" in only:
            build()
            done += 1
    print(f"{done} cases written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
