"""Make the ground-truth fixtures of mxtorch's vision ops (issue 17) with real MXNet 1.9.1 (never run by
tests or CI).

Run by hand from the repository root in the oracle venv (numpy < 1.24, mxnet 1.9.1, gluoncv 0.10.5.post0):

    .oracle19/bin/python tools/make_vision_fixtures.py [ops|nets|NAME ...]

``ops`` writes one case per op and attribute value under fixtures/mxtorch/vision/; ``nets`` writes tiny
whole GluonCV networks (real classes, seeded random weights, non-trivial BatchNorm statistics,
``hybridize(); net(x); export(prefix)`` as users do) under fixtures/mxtorch/gluoncv_cls_seg/. Per case:

* ``NAME-symbol.json`` (``Symbol.tojson()`` / Gluon ``export``), ``NAME-0000.params`` (only with weights),
* ``NAME.expected.npz``: ``in:<input>`` and ``out:<i>`` in ``list_outputs`` order, dtypes as MXNet gave them,
* ``NAME.json``: provenance (mxnet/gluoncv version, the call, seed, shapes, ``exact_outputs``).

Inputs are seeded and rounded to 1/16 (exact in float32); sort/topk inputs hold ties on purpose.
"""

from __future__ import annotations

import json
import os
import sys

import mxnet as mx
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPS_DIR = os.path.join(REPO, "fixtures", "mxtorch", "vision")
NETS_DIR = os.path.join(REPO, "fixtures", "mxtorch", "gluoncv_cls_seg")
MAX_OP_FILE = 64 * 1024
MAX_NET_FILE = 1024 * 1024

OPS: list[tuple[str, object]] = []
NETS: list[tuple[str, object]] = []


def rand(seed: int, *shape: int, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    r = np.random.RandomState(seed)
    x = r.randn(*shape) if lo is None else r.uniform(lo, hi, size=shape)
    return (np.round(x * 16) / 16).astype(np.float32)


def ties(seed: int, *shape: int, levels: int = 4) -> np.ndarray:
    """Small integers (many equal values) as float32: ties for sort/topk."""
    return np.random.RandomState(seed).randint(-levels // 2, levels - levels // 2, size=shape).astype(np.float32)


class Case:
    def __init__(self, sym, inputs, call, notes="", exact=(), params=None):
        self.sym, self.inputs, self.call, self.notes = sym, inputs, call, notes
        self.exact, self.params = list(exact), params or {}


def op(name: str):
    def deco(fn):
        OPS.append((name, fn))
        return fn
    return deco


def net(name: str):
    def deco(fn):
        NETS.append((name, fn))
        return fn
    return deco


V = mx.sym.var


def slug(v) -> str:
    return str(v).replace("-", "m").replace(" ", "").replace("(", "").replace(")", "").replace(",", "_")


# ================================================================================================= ops
# ---- topk / sort / argsort -------------------------------------------------------------------------------
# MXNet's CPU sort is std::sort (std::partial_sort when k*8 <= n): equal values stay in position order on
# axes of up to 16 entries (insertion sort) and come in an unspecified order beyond; ties only there.
for _ret in ("value", "indices", "mask", "both"):
    for _asc in (False, True):
        for _axis, _k in ((-1, 2), (1, 3), (0, 1), (None, 4), (-1, 0), (1, -1)):
            def _mk(ret=_ret, asc=_asc, axis=_axis, k=_k):
                def build():
                    kw = dict(ret_typ=ret, is_ascend=asc, k=k)
                    if axis is not None:
                        kw["axis"] = axis
                    else:
                        kw["axis"] = None
                    s = mx.sym.topk(V("data"), **kw)
                    exact = [0] if ret == "indices" else [1] if ret == "both" else []
                    x = ties(1, 3, 5, 4) if axis is not None else ties(1, 2, 2, 3)  # ties only where MXNet's order is defined
                    return Case(s, {"data": x}, f"mx.sym.topk(data, {kw})",
                                "ties: equal values in position order", exact)
                return build
            op(f"topk_{_ret}_{'asc' if _asc else 'desc'}_ax{slug(_axis)}_k{slug(_k)}")(_mk())

for _dt in ("float16", "float64", "int32", "int64", "uint8"):
    def _mk(dt=_dt):
        return lambda: Case(mx.sym.topk(V("data"), k=3, ret_typ="both", dtype=dt), {"data": ties(2, 2, 7)},
                            f"mx.sym.topk(data, k=3, ret_typ='both', dtype='{dt}')", exact=[1])
    op(f"topk_both_dtype_{_dt}")(_mk())


@op("topk_long_axis_distinct")
def _():
    x = np.random.RandomState(3).permutation(40).reshape(2, 20).astype(np.float32)
    return Case(mx.sym.topk(V("data"), k=3, ret_typ="both"), {"data": x}, "mx.sym.topk(data, k=3, ret_typ='both')",
                "40 distinct values: partial_sort path (k*8 <= n)", [1])


for _asc in (True, False):
    for _axis in (-1, 0, 1, None):
        def _mk(asc=_asc, axis=_axis):
            def build():
                return Case(mx.sym.sort(V("data"), axis=axis, is_ascend=asc), {"data": ties(4, 3, 6, 2) if axis is not None else ties(4, 2, 3, 2)},
                            f"mx.sym.sort(data, axis={axis}, is_ascend={asc})")
            return build
        op(f"sort_{'asc' if _asc else 'desc'}_ax{slug(_axis)}")(_mk())

        def _mk2(asc=_asc, axis=_axis):
            def build():
                return Case(mx.sym.argsort(V("data"), axis=axis, is_ascend=asc), {"data": ties(5, 3, 6, 2) if axis is not None else ties(5, 2, 3, 2)},
                            f"mx.sym.argsort(data, axis={axis}, is_ascend={asc})", "ties in position order", [0])
            return build
        op(f"argsort_{'asc' if _asc else 'desc'}_ax{slug(_axis)}")(_mk2())

for _dt in ("float16", "float64", "int32", "int64", "uint8"):
    def _mk(dt=_dt):
        return lambda: Case(mx.sym.argsort(V("data"), dtype=dt), {"data": ties(6, 2, 9)},
                            f"mx.sym.argsort(data, dtype='{dt}')", exact=[0])
    op(f"argsort_dtype_{_dt}")(_mk())


# ---- gather_nd / scatter_nd / pick -----------------------------------------------------------------------------
@op("gather_nd_full")
def _():
    idx = np.array([[1, 0, -1], [2, -3, 0]], np.float32)
    return Case(mx.sym.gather_nd(V("data"), V("indices")), {"data": rand(7, 2, 3, 4), "indices": idx},
                "mx.sym.gather_nd(data, indices) M=2 of a 3-D input, negative indices")


@op("gather_nd_m1_nd")
def _():
    idx = np.array([[[1, 0], [0, 1], [1, 1]]], np.float32)
    return Case(mx.sym.gather_nd(V("data"), V("indices")), {"data": rand(8, 2, 3, 4), "indices": idx},
                "mx.sym.gather_nd(data, indices) M=1 with a 2-D index grid")


@op("gather_nd_int_indices")
def _():
    idx = np.array([[0, 1, 1], [2, 0, 1], [3, 2, 0]], np.int32)
    return Case(mx.sym.gather_nd(V("data"), V("indices")), {"data": rand(9, 4, 3, 4), "indices": idx},
                "mx.sym.gather_nd(data, int32 indices), M = ndim")


@op("scatter_nd")
def _():
    idx = np.array([[0, 1, 1], [2, 0, 3]], np.float32)
    return Case(mx.sym.scatter_nd(V("data"), V("indices"), shape=(2, 4, 3)), {"data": rand(10, 3, 3), "indices": idx},
                "mx.sym.scatter_nd(data, indices, shape=(2, 4, 3))")


@op("scatter_nd_1d")
def _():
    idx = np.array([[4, 0, 2]], np.int32)
    return Case(mx.sym.scatter_nd(V("data"), V("indices"), shape=(6,)), {"data": rand(11, 3), "indices": idx},
                "mx.sym.scatter_nd(data, int32 indices, shape=(6,))")


for _mode in ("clip", "wrap"):
    for _axis, _kd in ((-1, False), (1, True), (0, False), (-3, True)):
        def _mk(mode=_mode, axis=_axis, kd=_kd):
            def build():
                x = rand(12, 3, 4, 5)
                shape = list(x.shape)
                shape[axis] = 1
                if not kd:
                    del shape[axis]
                r = np.random.RandomState(13)
                idx = (r.randint(-7, 8, size=shape) + r.choice([0, 0.5, 0.9, -0.5], size=shape)).astype(np.float32)
                return Case(mx.sym.pick(V("data"), V("index"), axis=axis, keepdims=kd, mode=mode),
                            {"data": x, "index": idx}, f"mx.sym.pick(data, index, axis={axis}, keepdims={kd}, mode='{mode}')",
                            "out-of-range and fractional indices (truncated toward zero)")
            return build
        op(f"pick_{_mode}_ax{slug(_axis)}{'_keep' if _kd else ''}")(_mk())


@op("pick_index_keepdims_shape")
def _():
    idx = np.array([[1], [0], [2]], np.float32)
    return Case(mx.sym.pick(V("data"), V("index"), axis=1), {"data": rand(14, 3, 4), "index": idx},
                "mx.sym.pick(data, index (3,1), axis=1): the index given with the axis kept")


# ---- slice_like / reshape_like / shape_array / size_array / reverse ---------------------------------------------
for _axes in ((), (1,), (-1, 0), (2, -2)):
    def _mk(axes=_axes):
        return lambda: Case(mx.sym.slice_like(V("data"), V("like"), axes=axes),
                            {"data": rand(15, 3, 5, 7), "like": rand(16, 2, 4, 3)},
                            f"mx.sym.slice_like(data, like, axes={axes})")
    op(f"slice_like_{slug(_axes) or 'all'}")(_mk())

for _lb, _le, _rb, _re in ((None, None, None, None), (1, 3, 0, 2), (-2, None, 1, None), (0, 1, -1, None), (2, -1, 0, -2)):
    def _mk(lb=_lb, le=_le, rb=_rb, re=_re):
        lhs, rhs = {(None, None, None, None): ((2, 3, 4), (6, 2, 2)), (1, 3, 0, 2): ((2, 3, 4, 5), (12, 1, 7)),
                    (-2, None, 1, None): ((2, 3, 4, 5), (7, 2, 10)), (0, 1, -1, None): ((6, 5), (2, 6)),
                    (2, -1, 0, -2): ((2, 3, 4, 5, 1), (20, 2, 9))}[(lb, le, rb, re)]
        return lambda: Case(mx.sym.reshape_like(V("lhs"), V("rhs"), lhs_begin=lb, lhs_end=le, rhs_begin=rb, rhs_end=re),
                            {"lhs": rand(17, *lhs), "rhs": rand(18, *rhs)},
                            f"mx.sym.reshape_like(lhs, rhs, lhs_begin={lb}, lhs_end={le}, rhs_begin={rb}, rhs_end={re})")
    op(f"reshape_like_{slug(_lb)}_{slug(_le)}_{slug(_rb)}_{slug(_re)}")(_mk())


@op("shape_array")
def _():
    return Case(mx.sym.shape_array(V("data")), {"data": rand(19, 2, 3, 5)}, "mx.sym.shape_array(data)")


@op("size_array")
def _():
    return Case(mx.sym.size_array(V("data")), {"data": rand(20, 2, 3, 5)}, "mx.sym.size_array(data)")


@op("shape_array_reshape_graph")
def _():
    d = V("data")
    n = mx.sym.reshape(mx.sym.sum(mx.sym.cast(mx.sym.shape_array(d), "float32")), shape=(1, 1, 1))
    s = mx.sym.broadcast_mul(mx.sym.reshape_like(mx.sym.flatten(d), d), n)
    return Case(s, {"data": rand(21, 2, 3, 5)}, "reshape_like(flatten(d), d) * sum(cast(shape_array(d)))")


for _axes in (0, (1,), (2, 0), (0, 1, 2)):
    def _mk(axes=_axes):
        return lambda: Case(mx.sym.reverse(V("data"), axis=axes), {"data": rand(22, 2, 3, 5)},
                            f"mx.sym.reverse(data, axis={axes})")
    op(f"reverse_{slug(_axes)}")(_mk())


@op("flip_alias")
def _():
    return Case(mx.sym.flip(V("data"), axis=1), {"data": rand(23, 3, 4)}, "mx.sym.flip(data, axis=1)")


# ---- depth_to_space / space_to_depth / _split_v2 ------------------------------------------------------------------
for _b, _shape in ((2, (2, 8, 3, 5)), (3, (1, 18, 2, 3)), (1, (1, 3, 2, 2))):
    def _mk(b=_b, shape=_shape):
        return lambda: Case(mx.sym.depth_to_space(V("data"), block_size=b), {"data": rand(24, *shape)},
                            f"mx.sym.depth_to_space(data, block_size={b})")
    op(f"depth_to_space_b{_b}")(_mk())

for _b, _shape in ((2, (2, 3, 6, 4)), (3, (1, 2, 3, 9))):
    def _mk(b=_b, shape=_shape):
        return lambda: Case(mx.sym.space_to_depth(V("data"), block_size=b), {"data": rand(25, *shape)},
                            f"mx.sym.space_to_depth(data, block_size={b})")
    op(f"space_to_depth_b{_b}")(_mk())

for _ios, _axis, _sq, _shape in (((1, 3), 1, False, (2, 5, 3)), (3, 0, False, (6, 2)), ((2,), -1, False, (2, 3, 5)),
                                 (3, -1, True, (2, 3)), ((1, 2), 0, True, (3, 4)), (1, 1, False, (2, 4))):
    def _mk(ios=_ios, axis=_axis, sq=_sq, shape=_shape):
        return lambda: Case(mx.sym.split_v2(V("data"), ios, axis=axis, squeeze_axis=sq), {"data": rand(26, *shape)},
                            f"mx.sym.split_v2(data, {ios}, axis={axis}, squeeze_axis={sq})")
    op(f"split_v2_{slug(_ios)}_ax{slug(_axis)}{'_sq' if _sq else ''}")(_mk())


# ---- BilinearResize2D / AdaptiveAvgPooling2D / LRN / UpSampling --------------------------------------------------
for _ac in (True, False):
    for _kw, _shape in ((dict(height=7, width=4), (1, 2, 5, 6)), (dict(height=1, width=1), (1, 2, 5, 6)),
                        (dict(height=10, width=13), (2, 1, 3, 5)), (dict(height=2, width=3), (1, 1, 7, 9)),
                        (dict(scale_height=2.0, scale_width=1.5), (1, 2, 5, 7)),
                        (dict(scale_height=0.5, scale_width=0.34), (1, 2, 9, 10)),
                        (dict(mode="odd_scale", scale_height=2.0, scale_width=0.5), (1, 2, 5, 8)),
                        (dict(mode="odd_scale", scale_height=0.5, scale_width=3.0), (1, 2, 9, 3)),
                        (dict(mode="to_even_down"), (1, 2, 5, 6)), (dict(mode="to_even_up"), (1, 2, 5, 6)),
                        (dict(mode="to_odd_down"), (1, 2, 5, 6)), (dict(mode="to_odd_up"), (1, 2, 5, 6)),
                        (dict(height=5, width=6), (1, 2, 5, 6))):
        def _mk(ac=_ac, kw=_kw, shape=_shape):
            return lambda: Case(mx.sym.contrib.BilinearResize2D(V("data"), align_corners=ac, **kw),
                                {"data": rand(27, *shape)}, f"mx.sym.contrib.BilinearResize2D(data, align_corners={ac}, **{kw})")
        op(f"bilinear_{'_'.join(f'{k}{slug(v)}' for k, v in _kw.items())}_{'ac' if _ac else 'noac'}")(_mk())

    def _mk_like(ac=_ac):
        return lambda: Case(mx.sym.contrib.BilinearResize2D(V("data"), V("like"), mode="like", align_corners=ac),
                            {"data": rand(28, 1, 2, 4, 5), "like": rand(29, 1, 3, 9, 7)},
                            f"mx.sym.contrib.BilinearResize2D(data, like, mode='like', align_corners={ac})")
    op(f"bilinear_like_{'ac' if _ac else 'noac'}")(_mk_like())


@op("bilinear_default")
def _():
    return Case(mx.sym.contrib.BilinearResize2D(V("data")), {"data": rand(30, 1, 2, 3, 4)},
                "mx.sym.contrib.BilinearResize2D(data): height=width=1 by default")


@op("bilinear_scale_width_only")
def _():
    return Case(mx.sym.contrib.BilinearResize2D(V("data"), height=4, width=3, scale_width=2.0), {"data": rand(31, 1, 2, 5, 5)},
                "BilinearResize2D(height=4, width=3, scale_width=2.0): MXNet ignores scale_width without scale_height")


for _os, _shape in (((), (1, 2, 5, 7)), (1, (2, 3, 4, 4)), (3, (1, 2, 7, 5)), ((2, 5), (1, 2, 5, 7)), ((4, 3), (1, 1, 9, 10)),
                    ((6, 7), (1, 2, 3, 4)), ((5, 5), (1, 2, 5, 5)), ((3, 2), (2, 2, 8, 6))):
    def _mk(os_=_os, shape=_shape):
        return lambda: Case(mx.sym.contrib.AdaptiveAvgPooling2D(V("data"), output_size=os_), {"data": rand(32, *shape)},
                            f"mx.sym.contrib.AdaptiveAvgPooling2D(data, output_size={os_})")
    op(f"adaptive_avg_{slug(_os) or 'default'}")(_mk())

for _kw in (dict(nsize=3), dict(nsize=5, alpha=0.5, beta=0.6, knorm=1.0), dict(nsize=1, alpha=2.0), dict(nsize=7, alpha=0.01, beta=1.25, knorm=0.5)):
    def _mk(kw=_kw):
        return lambda: Case(mx.sym.LRN(V("data"), **kw), {"data": rand(33, 2, 6, 3, 5)}, f"mx.sym.LRN(data, **{kw})")
    op(f"lrn_{'_'.join(f'{k}{slug(v)}' for k, v in _kw.items())}")(_mk())


@op("upsampling_bilinear_deconv")
def _():
    s = mx.sym.UpSampling(V("data"), V("up_weight"), scale=2, sample_type="bilinear", num_filter=3, num_args=2)
    w = rand(35, 3, 1, 4, 4)
    return Case(s, {"data": rand(34, 1, 3, 5, 4)}, "mx.sym.UpSampling(data, weight, scale=2, sample_type='bilinear', num_filter=3)",
                params={"up_weight": w})


@op("hard_sigmoid_default")
def _():
    return Case(mx.sym.hard_sigmoid(V("data")), {"data": rand(36, 3, 8, lo=-4, hi=4)}, "mx.sym.hard_sigmoid(data)")


@op("hard_sigmoid_alpha_beta")
def _():
    return Case(mx.sym.hard_sigmoid(V("data"), alpha=0.3, beta=0.25), {"data": rand(37, 3, 8, lo=-4, hi=4)},
                "mx.sym.hard_sigmoid(data, alpha=0.3, beta=0.25)")


@op("seg_head_graph")
def _():
    """A segmentation head in miniature: sizes from the input (scale, like, to_even_up), fixed pooling, topk."""
    d = V("data")
    c = mx.sym.Activation(mx.sym.Convolution(d, V("conv_weight"), V("conv_bias"), kernel=(3, 3), pad=(1, 1),
                                             num_filter=4, name="conv"), act_type="relu")
    pooled = mx.sym.contrib.AdaptiveAvgPooling2D(c, output_size=(2, 3))
    up = mx.sym.contrib.BilinearResize2D(pooled, c, mode="like")
    half = mx.sym.contrib.BilinearResize2D(c, scale_height=0.5, scale_width=0.5, align_corners=False)
    back = mx.sym.contrib.BilinearResize2D(half, c, mode="like")
    even = mx.sym.contrib.BilinearResize2D(up + back, mode="to_even_up")
    score = mx.sym.topk(mx.sym.flatten(even), k=3, ret_typ="both")
    return Case(mx.sym.Group([even, score[0], score[1]]), {"data": rand(70, 1, 3, 7, 9)},
                "conv-relu, AdaptiveAvgPooling2D(2,3), BilinearResize2D like / scale 0.5 / to_even_up, topk both",
                exact=[2], params={"conv_weight": rand(71, 4, 3, 3, 3) * 0.5, "conv_bias": rand(72, 4)})


# ---- _linalg_* ------------------------------------------------------------------------------------------------
def spd(seed: int, *shape: int) -> np.ndarray:
    """Symmetric positive definite matrices (batch of n x n), well conditioned, distinct eigenvalues."""
    a = rand(seed, *shape)
    n = shape[-1]
    return (a @ np.swapaxes(a, -1, -2) / n + np.eye(n, dtype=np.float32) * (1 + np.arange(n, dtype=np.float32))).astype(np.float32)


LA = mx.sym.linalg
for _ta, _tb, _axis in ((False, False, -2), (True, False, -2), (False, True, -2), (True, True, 1)):
    def _mk(ta=_ta, tb=_tb, axis=_axis):
        def build():
            def shp(rows, cols, t):
                r, c = (cols, rows) if t else (rows, cols)
                return (2, r, 3, c) if axis == 1 else (2, 3, r, c)
            a, b, c = rand(40, *shp(4, 5, ta)), rand(41, *shp(5, 3, tb)), rand(42, *shp(4, 3, False))
            kw = dict(transpose_a=ta, transpose_b=tb, axis=axis)
            return Case(LA.gemm(V("A"), V("B"), V("C"), alpha=0.5, beta=-1.5, **kw), {"A": a, "B": b, "C": c},
                        f"mx.sym.linalg.gemm(A, B, C, alpha=0.5, beta=-1.5, **{kw})")
        return build
    op(f"linalg_gemm_{int(_ta)}{int(_tb)}_ax{slug(_axis)}")(_mk())

    def _mk2(ta=_ta, tb=_tb, axis=_axis):
        def build():
            def shp(rows, cols, t):
                r, c = (cols, rows) if t else (rows, cols)
                return (2, r, 3, c) if axis == 1 else (3, r, c)
            a, b = rand(43, *shp(4, 5, ta)), rand(44, *shp(5, 2, tb))
            if axis == 1:
                b = rand(44, 2, *(2, 3, 5) if tb else (5, 3, 2))
            kw = dict(transpose_a=ta, transpose_b=tb, axis=axis)
            return Case(LA.gemm2(V("A"), V("B"), alpha=2.0, **kw), {"A": a, "B": b}, f"mx.sym.linalg.gemm2(A, B, alpha=2.0, **{kw})")
        return build
    op(f"linalg_gemm2_{int(_ta)}{int(_tb)}_ax{slug(_axis)}")(_mk2())


@op("linalg_gemm2_default")
def _():
    return Case(LA.gemm2(V("A"), V("B")), {"A": rand(45, 3, 4), "B": rand(46, 4, 5)}, "mx.sym.linalg.gemm2(A, B)")


@op("linalg_potrf")
def _():
    a = spd(47, 2, 4, 4)
    a[..., 0, 3] = 99.0  # the upper triangle is not read
    return Case(LA.potrf(V("A")), {"A": a}, "mx.sym.linalg.potrf(A) (upper triangle of A garbage)")


@op("linalg_potri")
def _():
    l_ = np.linalg.cholesky(spd(48, 2, 4, 4).astype(np.float64)).astype(np.float32)
    return Case(LA.potri(V("A")), {"A": l_}, "mx.sym.linalg.potri(L)")


for _tr, _rs, _lo in ((False, False, True), (True, False, True), (False, True, False), (True, True, False)):
    def _mk(tr=_tr, rs=_rs, lo=_lo):
        def build():
            a = spd(49, 2, 4, 4) + rand(50, 2, 4, 4)
            b = rand(51, 2, 3, 4) if rs else rand(51, 2, 4, 3)
            kw = dict(transpose=tr, rightside=rs, lower=lo, alpha=1.5)
            return Case(LA.trmm(V("A"), V("B"), **kw), {"A": a, "B": b}, f"mx.sym.linalg.trmm(A, B, **{kw})")
        return build
    op(f"linalg_trmm_{int(_tr)}{int(_rs)}{int(_lo)}")(_mk())

    def _mk2(tr=_tr, rs=_rs, lo=_lo):
        def build():
            a = spd(52, 2, 4, 4) + rand(53, 2, 4, 4) * 0.25
            b = rand(54, 2, 3, 4) if rs else rand(54, 2, 4, 3)
            kw = dict(transpose=tr, rightside=rs, lower=lo, alpha=-0.5)
            return Case(LA.trsm(V("A"), V("B"), **kw), {"A": a, "B": b}, f"mx.sym.linalg.trsm(A, B, **{kw})")
        return build
    op(f"linalg_trsm_{int(_tr)}{int(_rs)}{int(_lo)}")(_mk2())


@op("linalg_sumlogdiag")
def _():
    return Case(LA.sumlogdiag(V("A")), {"A": spd(55, 3, 4, 4)}, "mx.sym.linalg.sumlogdiag(A)")


for _off in (0, 1, -2):
    def _mk(off=_off):
        return lambda: Case(LA.extractdiag(V("A"), offset=off), {"A": rand(56, 2, 4, 4)}, f"mx.sym.linalg.extractdiag(A, offset={off})")
    op(f"linalg_extractdiag_{slug(_off)}")(_mk())

    def _mk2(off=_off):
        return lambda: Case(LA.makediag(V("A"), offset=off), {"A": rand(57, 2, 3)}, f"mx.sym.linalg.makediag(A, offset={off})")
    op(f"linalg_makediag_{slug(_off)}")(_mk2())

for _off, _lo in ((0, True), (0, False), (1, True), (-1, True), (2, False), (-2, False)):
    def _mk(off=_off, lo=_lo):
        return lambda: Case(LA.extracttrian(V("A"), offset=off, lower=lo), {"A": rand(58, 2, 4, 4)},
                            f"mx.sym.linalg.extracttrian(A, offset={off}, lower={lo})")
    op(f"linalg_extracttrian_{slug(_off)}_{int(_lo)}")(_mk())

    def _mk2(off=_off, lo=_lo):
        return lambda: Case(LA.maketrian(V("A"), offset=off, lower=lo), {"A": rand(59, 2, 6)},
                            f"mx.sym.linalg.maketrian(A (2, 6), offset={off}, lower={lo})")
    op(f"linalg_maketrian_{slug(_off)}_{int(_lo)}")(_mk2())

for _tr in (False, True):
    def _mk(tr=_tr):
        return lambda: Case(LA.syrk(V("A"), transpose=tr, alpha=0.75), {"A": rand(60, 2, 3, 5)},
                            f"mx.sym.linalg.syrk(A, transpose={tr}, alpha=0.75)")
    op(f"linalg_syrk_{int(_tr)}")(_mk())


@op("linalg_gelqf")
def _():
    return Case(LA.gelqf(V("A")), {"A": rand(61, 2, 3, 5)}, "mx.sym.linalg.gelqf(A) (m=3 <= n=5)",
                "LAPACK's Householder signs: L's diagonal may be negative")


@op("linalg_gelqf_square")
def _():
    return Case(LA.gelqf(V("A")), {"A": rand(62, 4, 4)}, "mx.sym.linalg.gelqf(A) square")


@op("linalg_syevd")
def _():
    a = spd(63, 2, 4, 4)
    a[..., 0, 2] = 50.0  # only the lower triangle is read
    return Case(LA.syevd(V("A")), {"A": a}, "mx.sym.linalg.syevd(A) (upper triangle garbage; distinct eigenvalues)",
                "eigenvector rows signed so the largest-magnitude entry is positive")


@op("linalg_inverse")
def _():
    return Case(LA.inverse(V("A")), {"A": spd(64, 2, 3, 3) + rand(65, 2, 3, 3) * 0.5}, "mx.sym.linalg.inverse(A)")


@op("linalg_det")
def _():
    return Case(LA.det(V("A")), {"A": rand(66, 3, 3, 3) + np.eye(3, dtype=np.float32)}, "mx.sym.linalg.det(A)")


@op("linalg_slogdet")
def _():
    return Case(LA.slogdet(V("A")), {"A": rand(67, 3, 4, 4) + np.eye(4, dtype=np.float32)}, "mx.sym.linalg.slogdet(A)")


# ================================================================================================= nets
# GluonCV's zoo networks have their widths written into the classes (64..2048 channels), far beyond a small
# fixture. `narrow(k)` builds the real classes with every layer width that is a multiple of k divided by k:
# while it is active, the constructors of gluon's Conv2D/Conv3D/Conv2DTranspose/BatchNorm/Dense (and the
# one block that keeps its width for a reshape, gluoncv.nn.SplitAttentionConv) see channels // k. The
# network code, graph structure and every op stay as users get them; only the channel counts shrink.
class narrow:
    def __init__(self, k: int):
        self.k = k
        self.saved = []

    def _f(self, c):
        return c // self.k if isinstance(c, int) and c >= self.k and c % self.k == 0 else c

    def _patch(self, cls, keys):
        import inspect
        orig = cls.__init__
        sig = inspect.signature(orig)
        f = self._f

        def init(obj, *args, **kwargs):
            b = sig.bind(obj, *args, **kwargs)
            for k in keys:
                if k in b.arguments:
                    b.arguments[k] = f(b.arguments[k])
            if "groups" in b.arguments and "channels" in b.arguments:
                g = b.arguments["groups"]
                if isinstance(g, int) and g > 1 and (b.arguments["channels"] % g):
                    b.arguments["groups"] = f(g)
            orig(*b.args, **b.kwargs)
        self.saved.append((cls, orig))
        cls.__init__ = init

    def __enter__(self):
        from mxnet.gluon import nn
        from gluoncv.nn import splat
        for cls in (nn.Conv2D, nn.Conv3D, nn.Conv2DTranspose):
            self._patch(cls, ("channels", "in_channels"))
        self._patch(nn.BatchNorm, ("in_channels",))
        self._patch(nn.Dense, ("units", "in_units"))
        orig = splat.SplitAttentionConv.__init__
        f = self._f

        def sa_init(obj, channels, *args, **kwargs):
            orig(obj, channels, *args, **kwargs)
            obj.channels = f(channels)
        self.saved.append((splat.SplitAttentionConv, orig))
        splat.SplitAttentionConv.__init__ = sa_init
        return self

    def __exit__(self, *exc):
        for cls, orig in reversed(self.saved):
            cls.__init__ = orig
        return False


def _init_net(net, seed: int, x: np.ndarray) -> None:
    """Seeded random weights (fan-in scaled normal), non-trivial BatchNorm statistics (mean in [-0.5, 0.5],
    var in [0.5, 2], gamma in [0.5, 1.5]), small random biases/betas. Shapes come from one forward pass."""
    net.initialize(mx.init.Zero(), force_reinit=True)
    net(mx.nd.array(x))
    r = np.random.RandomState(seed)
    for name, p in sorted(net.collect_params().items()):
        shape = p.shape
        if name.endswith("running_mean"):
            v = r.uniform(-0.5, 0.5, shape)
        elif name.endswith("running_var"):
            v = r.uniform(0.5, 2.0, shape)
        elif name.endswith("gamma"):
            v = r.uniform(0.5, 1.5, shape)
        elif name.endswith(("beta", "bias")) or len(shape) < 2:
            v = r.uniform(-0.2, 0.2, shape)
        else:
            fan_in = int(np.prod(shape[1:]))
            v = r.randn(*shape) * np.sqrt(2.0 / max(fan_in, 1))
        p.set_data(mx.nd.array(v.astype(np.float32)))


NO_ONEDNN = {"i3d_resnet50_v1"}  # MXNet 1.9.1's oneDNN build fails on its 3-D convolutions ("IsDefaultData")


def _export_net(name: str, make, shape: tuple, call: str, k: int | None, seed: int = 0, notes: str = "") -> None:
    import gluoncv
    if name in NO_ONEDNN:
        if os.environ.get("MXNET_MKLDNN_ENABLED") != "0":  # the switch is read at import: run in a child
            import subprocess
            subprocess.run([sys.executable, os.path.abspath(__file__), name], check=True,
                           env={**os.environ, "MXNET_MKLDNN_ENABLED": "0"})
            return
        notes = (notes + " " if notes else "") + "made with MXNET_MKLDNN_ENABLED=0 (oneDNN fails on this net's 3-D convolutions)."
    if k:
        with narrow(k) as nw:
            net = make()
        todo = [net]
        while todo:  # widths some forwards read back from an attribute (the video nets' feat_dim)
            b = todo.pop()
            if isinstance(getattr(b, "feat_dim", None), int):
                b.feat_dim = nw._f(b.feat_dim)
            todo.extend(b._children.values())
    else:
        net = make()
    x = rand(seed + 1000, *shape)
    _init_net(net, seed, x)
    net.hybridize()
    out = net(mx.nd.array(x))
    outs = [o.asnumpy() for o in (out if isinstance(out, (list, tuple)) else [out])]
    prefix = os.path.join(NETS_DIR, name)
    net.export(prefix, epoch=0)
    sym = mx.sym.load(prefix + "-symbol.json")
    with open(prefix + "-symbol.json") as f:
        text = f.read()
    prov = {"call": call, "gluoncv": gluoncv.__version__, "seed": seed, "width_divisor": k,
            "notes": (notes + " " if notes else "") + ("built inside tools/make_vision_fixtures.narrow(k): layer widths "
                                                       "that are multiples of k divided by k" if k else ""),
            "made_by": "tools/make_vision_fixtures.py: GluonCV class, seeded init, hybridize(); net(x); export(prefix, 0)"}
    _write(NETS_DIR, name, text, {"data": x}, outs, sym.list_outputs(), prov, None)


def _zoo(name, **kw):
    from gluoncv.model_zoo import get_model
    return lambda: get_model(name, pretrained=False, **kw)


def _seg(cls: str, crop_size: int):
    import gluoncv
    mod = gluoncv.model_zoo.danet if cls == "DANet" else gluoncv.model_zoo
    return getattr(mod, cls)(nclass=5, backbone="resnet50", pretrained_base=False,
                                          crop_size=crop_size, base_size=crop_size)


NET_SPECS = [
    # (fixture name, constructor, input shape, call text, width divisor)
    ("resnest14", _zoo("resnest14", classes=10), (1, 3, 32, 32), "get_model('resnest14', classes=10)", 16),
    ("se_resnext50_32x4d", _zoo("se_resnext50_32x4d", classes=10), (1, 3, 32, 32),
     "get_model('se_resnext50_32x4d', classes=10)", 16),
    ("cifar_residualattentionnet56", _zoo("cifar_residualattentionnet56", classes=10), (1, 3, 32, 32),
     "get_model('cifar_residualattentionnet56', classes=10)", 16),
    ("nasnet_tiny", lambda: __import__("gluoncv").model_zoo.nasnet.NASNetALarge(
        repeat=1, penultimate_filters=192, stem_filters=8, classes=10), (1, 3, 64, 64),
     "gluoncv.model_zoo.nasnet.NASNetALarge(repeat=1, penultimate_filters=192, stem_filters=8, classes=10)", None),
    ("fcn_resnet50", lambda: _seg("FCN", crop_size=48), (1, 3, 48, 48),
     "gluoncv.model_zoo.FCN(nclass=5, backbone='resnet50', pretrained_base=False, crop_size=48, base_size=48)", 32),
    ("psp_resnet50", lambda: _seg("PSPNet", crop_size=64), (1, 3, 64, 64),
     "gluoncv.model_zoo.PSPNet(nclass=5, backbone='resnet50', pretrained_base=False, crop_size=64, base_size=64)", 32),
    ("deeplab_resnet50", lambda: _seg("DeepLabV3", crop_size=48), (1, 3, 48, 48),
     "gluoncv.model_zoo.DeepLabV3(nclass=5, backbone='resnet50', pretrained_base=False, crop_size=48, base_size=48)", 32),
    ("danet_resnet50", lambda: _seg("DANet", crop_size=48), (1, 3, 48, 48),
     "gluoncv.model_zoo.danet.DANet(nclass=5, backbone='resnet50', pretrained_base=False, crop_size=48, base_size=48)", 32),
    ("simple_pose_resnet18", _zoo("simple_pose_resnet18_v1b", pretrained_base=False), (1, 3, 64, 48),
     "get_model('simple_pose_resnet18_v1b', pretrained_base=False)", 16),
    ("alpha_pose_resnet101", _zoo("alpha_pose_resnet101_v1b_coco", pretrained_base=False), (1, 3, 64, 48),
     "get_model('alpha_pose_resnet101_v1b_coco', pretrained_base=False)", 32),
    ("i3d_resnet50_v1", _zoo("i3d_resnet50_v1_kinetics400", nclass=10, pretrained_base=False), (1, 3, 8, 32, 32),
     "get_model('i3d_resnet50_v1_kinetics400', nclass=10, pretrained_base=False)", 32),
]

for _n, _make, _shape, _call, _k in NET_SPECS:
    def _mk(n=_n, make=_make, shape=_shape, call=_call, k=_k):
        return lambda name: _export_net(name, make, shape, call, k)
    net(_n)(_mk())


# ================================================================================================= writer
def _write(out_dir: str, name: str, sym_json: str, inputs: dict, outs: list, out_names: list, prov: dict,
           params: dict | None) -> None:
    with open(os.path.join(out_dir, name + "-symbol.json"), "w") as f:
        f.write(sym_json)
    if params:
        mx.nd.save(os.path.join(out_dir, name + "-0000.params"),
                   {k: mx.nd.array(v, dtype=v.dtype) for k, v in params.items()})
    exp = {f"in:{k}": v for k, v in inputs.items()}
    exp.update({f"out:{i}": o for i, o in enumerate(outs)})
    np.savez_compressed(os.path.join(out_dir, name + ".expected.npz"), **exp)
    prov.update({"mxnet": mx.__version__, "inputs": {k: [list(v.shape), str(v.dtype)] for k, v in inputs.items()},
                 "outputs": out_names, "output_shapes": [[list(o.shape), str(o.dtype)] for o in outs]})
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(prov, f, indent=1, sort_keys=True)
        f.write("\n")


def run_op(name: str, c: Case) -> None:
    args = {k: mx.nd.array(v, dtype=v.dtype) for k, v in {**c.inputs, **c.params}.items()}
    exe = c.sym.bind(mx.cpu(), args=args, grad_req="null")
    outs = [o.asnumpy() for o in exe.forward(is_train=False)]
    prov = {"call": c.call, "notes": c.notes, "exact_outputs": c.exact,
            "made_by": "tools/make_vision_fixtures.py: Symbol.bind(mx.cpu(), grad_req='null').forward(is_train=False)"}
    _write(OPS_DIR, name, c.sym.tojson(), c.inputs, outs, c.sym.list_outputs(), prov,
           {"arg:" + k: v for k, v in c.params.items()})


def _check_sizes(out_dir: str, limit: int) -> int:
    total = 0
    for fn in os.listdir(out_dir):
        size = os.path.getsize(os.path.join(out_dir, fn))
        assert size <= limit, (fn, size)
        total += size
    return total


def main() -> int:
    args = sys.argv[1:]
    want_ops = not args or "ops" in args
    want_nets = not args or "nets" in args
    names = {a for a in args if a not in ("ops", "nets")}
    for table in (OPS, NETS):
        assert len({n for n, _ in table}) == len(table), "duplicate case names"
    if want_ops or names:
        os.makedirs(OPS_DIR, exist_ok=True)
        for name, build in OPS:
            if names and name not in names:
                continue
            try:
                run_op(name, build())
            except Exception as e:
                raise SystemExit(f"case {name}: {e}") from e
        print(f"ops: {len(OPS)} cases, {_check_sizes(OPS_DIR, MAX_OP_FILE)} bytes")
    if want_nets or names:
        os.makedirs(NETS_DIR, exist_ok=True)
        for name, build in NETS:
            if names and name not in names:
                continue
            try:
                build(name)
            except Exception as e:
                raise SystemExit(f"net {name}: {e}") from e
        print(f"nets: {len(NETS)} cases, {_check_sizes(NETS_DIR, MAX_NET_FILE)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
