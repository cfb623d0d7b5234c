"""Make the ground-truth fixtures of mxtorch's box, anchor and proposal ops (and the detectors that use them)
with real MXNet 1.9.1 (never run by tests or CI).

Run by hand from the repository root in the oracle venv (numpy < 1.24, mxnet 1.9.1, gluoncv 0.10.5.post0):

    .oracle19/bin/python tools/make_detection_fixtures.py            # every case
    .oracle19/bin/python tools/make_detection_fixtures.py ops        # per-op cases only
    .oracle19/bin/python tools/make_detection_fixtures.py nets       # whole detectors only
    .oracle19/bin/python tools/make_detection_fixtures.py box_nms_class ...   # named cases

Per-op cases go to fixtures/mxtorch/detection/ (names box_*, multibox_*, proposal_*), whole detectors to
fixtures/mxtorch/detnet_a/. Each case writes ``NAME-symbol.json``, ``NAME-0000.params`` (nets only),
``NAME.expected.npz`` (``in:<name>`` inputs, ``out:<i>`` MXNet's outputs in list_outputs order) and ``NAME.json``
(provenance; ``exact_outputs`` lists heads of ids/indices MXNet returns as float32).

The symbol-API SSD comes from MXNet's own example/ssd (branch v1.9.x of the source mirror), extracted to a
temporary folder at run time and imported from there; none of its code is kept.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile

import mxnet as mx
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPS_DIR = os.path.join(REPO, "fixtures", "mxtorch", "detection")
NETS_DIR = os.path.join(REPO, "fixtures", "mxtorch", "detnet_a")
# A git directory of apache/mxnet with its v1.9.x branch (a clone or mirror), for example/ssd's symbol code,
# which is read from it at run time and never copied into this repository.
MIRROR = os.environ.get("MXNET_SRC", "")
MAX_FILE_BYTES = 900 * 1024

OP_CASES: list[tuple[str, object]] = []
NET_CASES: list[tuple[str, object]] = []


class Case:
    def __init__(self, sym, inputs, call="", notes="", seed=None, exact=(), params=None, aux=None, env=None):
        self.sym = sym
        self.inputs = inputs  # name -> array (data inputs)
        self.call = call
        self.notes = notes
        self.seed = seed
        self.exact = list(exact)
        self.params = params or {}
        self.aux = aux or {}
        self.env = env


def op(name):
    def deco(fn):
        OP_CASES.append((name, fn))
        return fn
    return deco


def net(name):
    def deco(fn):
        NET_CASES.append((name, fn))
        return fn
    return deco


def var(n="data"):
    return mx.sym.var(n)


C = mx.sym.contrib


# ---- inputs -----------------------------------------------------------------------------------------------------
def rng(seed):
    return np.random.RandomState(seed)


def corner_boxes(r, n, img=1.0, lo=0.05, hi=0.4):
    xy = r.uniform(0, img * 0.8, (n, 2))
    wh = r.uniform(lo * img, hi * img, (n, 2))
    return np.concatenate([xy, xy + wh], 1)


def nms_rows(seed, n, ncls=3, batch=(1,), equal=False, cluster=True):
    """Rows [id, score, x1, y1, x2, y2]: clustered boxes so NMS has work, ids in 0..ncls-1."""
    r = rng(seed)
    out = []
    for _ in range(int(np.prod(batch))):
        if cluster:
            centres = corner_boxes(r, max(2, n // 5))
            pick = r.randint(0, len(centres), n)
            b = centres[pick] + r.normal(0, 0.03, (n, 4))
        else:
            b = corner_boxes(r, n)
        s = np.round(r.uniform(-0.1, 1.0, n) * (8 if equal else 4096)) / (8 if equal else 4096)
        ids = r.randint(0, ncls, n)
        out.append(np.concatenate([ids[:, None], s[:, None], b], 1))
    return np.stack(out).reshape(tuple(batch) + (n, 6)).astype(np.float32)


def nms_case(x, call, **kw):
    return Case(C.box_nms(var(), **kw), {"data": x}, call=f"mx.sym.contrib.box_nms(data, {call})")


# ---- box_nms ------------------------------------------------------------------------------------------------------
@op("box_nms_default")
def _():
    x = nms_rows(1, 40)
    return nms_case(x, "defaults (no class: id_index=-1)")


@op("box_nms_class")
def _():
    return nms_case(nms_rows(2, 40), "id_index=0, overlap_thresh=0.3", id_index=0, overlap_thresh=0.3)


@op("box_nms_force")
def _():
    return nms_case(nms_rows(2, 40), "id_index=0, force_suppress=True, overlap_thresh=0.3",
                    id_index=0, force_suppress=True, overlap_thresh=0.3)


@op("box_nms_background")
def _():
    return nms_case(nms_rows(3, 40), "id_index=0, background_id=1, valid_thresh=0.25",
                    id_index=0, background_id=1, valid_thresh=0.25)


@op("box_nms_topk")
def _():
    return nms_case(nms_rows(4, 40), "id_index=0, topk=12", id_index=0, topk=12)


@op("box_nms_topk0")
def _():
    x = nms_rows(5, 10)
    return nms_case(x, "topk=0 (input returned as is), in_format=center, out_format=corner",
                    topk=0, in_format="center", out_format="corner")


@op("box_nms_center_in")
def _():
    x = nms_rows(6, 40)
    b = x[..., 2:6].copy()  # corner -> center form
    x[..., 2], x[..., 3] = (b[..., 0] + b[..., 2]) / 2, (b[..., 1] + b[..., 3]) / 2
    x[..., 4], x[..., 5] = b[..., 2] - b[..., 0], b[..., 3] - b[..., 1]
    return nms_case(x, "in_format=center, out_format=corner, id_index=0", in_format="center",
                    out_format="corner", id_index=0)


@op("box_nms_center_both")
def _():
    x = nms_rows(7, 40)
    b = x[..., 2:6].copy()
    x[..., 2], x[..., 3] = (b[..., 0] + b[..., 2]) / 2, (b[..., 1] + b[..., 3]) / 2
    x[..., 4], x[..., 5] = b[..., 2] - b[..., 0], b[..., 3] - b[..., 1]
    return nms_case(x, "in_format=center, out_format=center", in_format="center", out_format="center")


@op("box_nms_corner_to_center")
def _():
    x = nms_rows(8, 40)
    x[0, :8, 2] -= 0.5  # negative xmin: MXNet leaves such rows unconverted
    return nms_case(x, "out_format=center; some boxes with xmin < 0", out_format="center", id_index=0)


@op("box_nms_equal_scores")
def _():
    return nms_case(nms_rows(9, 48, equal=True), "scores on a 1/8 grid (many ties), id_index=0",
                    id_index=0, overlap_thresh=0.4)


@op("box_nms_all_same_box")
def _():
    x = nms_rows(10, 12)
    x[0, :, 2:6] = [0.1, 0.1, 0.5, 0.6]
    x[0, :, 1] = 0.5
    return nms_case(x, "12 identical boxes with equal scores: all but the first suppressed", force_suppress=True)


@op("box_nms_none_valid")
def _():
    return nms_case(nms_rows(11, 12), "valid_thresh=2 (nothing valid: all -1)", valid_thresh=2.0)


@op("box_nms_layout")
def _():
    r = rng(12)
    x = nms_rows(12, 30, batch=(2, 3))
    x = x[..., [2, 3, 4, 5, 1, 0]].copy()  # coords first, then score, then id
    x[1, 2, :, 4] = -1  # one batch item without a valid box
    _ = r
    return nms_case(x, "4-D input (2, 3, 30, 6), coord_start=0, score_index=4, id_index=5, overlap_thresh=0.45",
                    coord_start=0, score_index=4, id_index=5, overlap_thresh=0.45)


@op("box_nms_wide_rows")
def _():
    x = nms_rows(13, 30)
    extra = rng(13).normal(size=(1, 30, 2)).astype(np.float32)
    x = np.concatenate([x, extra], 2)
    return nms_case(x, "rows of 8 values (extra columns carried along), id_index=0, valid_thresh=0.5",
                    id_index=0, valid_thresh=0.5)


@op("box_nms_alias")
def _():
    x = nms_rows(14, 30)
    return Case(C.box_non_maximum_suppression(var(), overlap_thresh=0.6, id_index=0), {"data": x},
                call="mx.sym.contrib.box_non_maximum_suppression(data, overlap_thresh=0.6, id_index=0)")


@op("box_nms_big")
def _():
    x = nms_rows(15, 300, ncls=4)
    return nms_case(x, "300 rows, topk=200 (several greedy blocks), id_index=0, overlap_thresh=0.5",
                    id_index=0, topk=200, overlap_thresh=0.5)


def many_rows(seed, n, ncls, batch):
    """Rows [id, score, x1, y1, x2, y2] of small boxes, some around objects and the rest spread, so that
    hundreds of rows are kept (the eager NMS then compares blocks with several chunks of kept boxes)."""
    r = rng(seed)
    out = []
    for _ in range(batch):
        obj = r.uniform(0.05, 0.9, (n // 20, 2))
        near = r.uniform(size=n) < 0.5
        c = np.where(near[:, None], obj[r.randint(0, len(obj), n)] + r.normal(0, 0.005, (n, 2)),
                     r.uniform(0, 0.95, (n, 2)))
        wh = r.uniform(0.01, 0.06, (n, 2))
        s = np.round(r.uniform(-0.1, 1.0, n) * 4096) / 4096
        out.append(np.concatenate([r.randint(0, ncls, n)[:, None], s[:, None], c, c + wh], 1))
    return np.stack(out).astype(np.float32)


@op("box_nms_many")
def _():
    return nms_case(many_rows(17, 2000, 10, 2), "2 x 2000 rows, hundreds kept, id_index=0, overlap_thresh=0.45, "
                    "valid_thresh=0.01", id_index=0, overlap_thresh=0.45, valid_thresh=0.01)


@op("box_nms_many_one_class")
def _():
    return nms_case(many_rows(18, 2500, 1, 1), "2500 rows of one class, over 1000 kept, overlap_thresh=0.3",
                    overlap_thresh=0.3)


# ---- box_iou / decode / encode / bipartite -------------------------------------------------------------------------
@op("box_iou_corner")
def _():
    r = rng(20)
    a = corner_boxes(r, 6).reshape(2, 3, 4).astype(np.float32)
    b = corner_boxes(r, 5).astype(np.float32)
    b[0] = [0.9, 0.9, 0.95, 0.95]  # far away: 0
    return Case(C.box_iou(var("lhs"), var("rhs")), {"lhs": a, "rhs": b}, call="mx.sym.contrib.box_iou(lhs, rhs)")


@op("box_iou_center")
def _():
    r = rng(21)
    a = np.abs(r.uniform(0, 1, (4, 4))).astype(np.float32)
    b = np.abs(r.uniform(0, 1, (2, 3, 4))).astype(np.float32)
    a[0, 2] = -0.1  # negative width: area 0
    return Case(C.box_iou(var("lhs"), var("rhs"), format="center"), {"lhs": a, "rhs": b},
                call="mx.sym.contrib.box_iou(lhs, rhs, format='center')")


def _decode(seed, **kw):
    r = rng(seed)
    d = r.normal(0, 1, (2, 10, 4)).astype(np.float32)
    a = corner_boxes(r, 10)[None].astype(np.float32)
    args = ", ".join(f"{k}={v!r}" for k, v in kw.items())
    return Case(C.box_decode(var("data"), var("anchors"), **kw), {"data": d, "anchors": a},
                call=f"mx.sym.contrib.box_decode(data, anchors, {args})")


@op("box_decode_default")
def _():
    return _decode(30)


@op("box_decode_corner_clip")
def _():
    return _decode(31, format="corner", clip=0.5, std0=0.1, std1=0.1, std2=0.2, std3=0.2)


@op("box_decode_center_clip")
def _():
    return _decode(32, format="center", clip=1.2, std0=2.0, std3=0.5)


@op("box_encode")
def _():
    r = rng(33)
    b, n, m = 2, 8, 3
    samples = r.choice([-1.0, 0.0, 1.0], (b, n)).astype(np.float32)
    matches = r.randint(0, m, (b, n)).astype(np.float32)
    anchors = corner_boxes(r, b * n).reshape(b, n, 4).astype(np.float32)
    refs = corner_boxes(r, b * m).reshape(b, m, 4).astype(np.float32)
    means = np.array([0.0, 0.1, -0.1, 0.0], np.float32)
    stds = np.array([0.1, 0.1, 0.2, 0.2], np.float32)
    names = ["samples", "matches", "anchors", "refs", "means", "stds"]
    sym = C.box_encode(*[var(nm) for nm in names])
    return Case(sym, dict(zip(names, [samples, matches, anchors, refs, means, stds])),
                call="mx.sym.contrib.box_encode(samples, matches, anchors, refs, means, stds)")


def _bip(seed, shape, equal=False, **kw):
    r = rng(seed)
    x = r.uniform(0, 1, shape)
    if equal:
        x = np.round(x * 4) / 4
    args = ", ".join(f"{k}={v!r}" for k, v in kw.items())
    return Case(C.bipartite_matching(var(), **kw), {"data": x.astype(np.float32)},
                call=f"mx.sym.contrib.bipartite_matching(data, {args})", exact=[0, 1])


@op("box_bipartite_default")
def _():
    return _bip(40, (2, 5, 4), threshold=0.2)


@op("box_bipartite_ascend")
def _():
    return _bip(41, (5, 6), is_ascend=True, threshold=0.7)


@op("box_bipartite_topk")
def _():
    return _bip(42, (2, 6, 6), threshold=0.05, topk=2)


@op("box_bipartite_ties")
def _():
    return _bip(43, (2, 1, 5, 5), equal=True, threshold=0.3)


# ---- MultiBoxPrior ----------------------------------------------------------------------------------------------
def _prior(seed, shape, call, **kw):
    x = rng(seed).normal(size=shape).astype(np.float32)
    return Case(C.MultiBoxPrior(var(), **kw), {"data": x}, call=f"mx.sym.contrib.MultiBoxPrior(data, {call})")


@op("multibox_prior_default")
def _():
    return _prior(50, (1, 2, 5, 7), "defaults")


@op("multibox_prior_sizes_ratios")
def _():
    return _prior(51, (2, 1, 6, 3), "sizes=(0.2, 0.45, 0.7), ratios=(2, 1, 0.5, 3)", sizes=(0.2, 0.45, 0.7),
                  ratios=(2, 1, 0.5, 3))


@op("multibox_prior_clip_steps")
def _():
    return _prior(52, (1, 1, 9, 11), "sizes=(0.5, 0.8), ratios=(1, 2), clip=True, steps=(0.12, 0.09)",
                  sizes=(0.5, 0.8), ratios=(1, 2), clip=True, steps=(0.12, 0.09))


@op("multibox_prior_offsets")
def _():
    return _prior(53, (1, 1, 4, 5), "sizes=(0.3,), ratios=(1, 0.5), offsets=(0.2, 0.9), clip=True",
                  sizes=(0.3,), ratios=(1, 0.5), offsets=(0.2, 0.9), clip=True)


# ---- MultiBoxDetection -----------------------------------------------------------------------------------------
def _det_inputs(seed, b=2, ncls=4, h=4, w=5, equal=False):
    r = rng(seed)
    anchors = mx.nd.contrib.MultiBoxPrior(mx.nd.zeros((1, 1, h, w)), sizes=(0.3, 0.5), ratios=(1, 2)).asnumpy()
    na = anchors.shape[1]
    logits = r.normal(0, 2, (b, ncls, na))
    if equal:
        logits = np.round(logits)
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    if equal:
        p = np.round(p * 8) / 8
    loc = r.normal(0, 0.5, (b, na * 4))
    return {"cls_prob": p.astype(np.float32), "loc_pred": loc.astype(np.float32), "anchor": anchors}


def _det(seed, call, equal=False, **kw):
    x = _det_inputs(seed, equal=equal)
    sym = C.MultiBoxDetection(var("cls_prob"), var("loc_pred"), var("anchor"), **kw)
    return Case(sym, x, call=f"mx.sym.contrib.MultiBoxDetection(cls_prob, loc_pred, anchor, {call})")


@op("multibox_detection_default")
def _():
    return _det(60, "defaults")


@op("multibox_detection_force")
def _():
    return _det(61, "force_suppress=True, nms_threshold=0.3, threshold=0.2", force_suppress=True,
                nms_threshold=0.3, threshold=0.2)


@op("multibox_detection_topk")
def _():
    return _det(62, "nms_topk=7, clip=False, variances=(0.2, 0.2, 0.3, 0.3)", nms_topk=7, clip=False,
                variances=(0.2, 0.2, 0.3, 0.3))


@op("multibox_detection_no_nms")
def _():
    return _det(63, "nms_threshold=0 (no NMS: valid rows in anchor order), background_id=2 (ignored by MXNet)",
                nms_threshold=0.0, background_id=2)


@op("multibox_detection_equal_scores")
def _():
    return _det(64, "probabilities on a 1/8 grid (ties), nms_threshold=0.45", equal=True, nms_threshold=0.45)


@op("multibox_detection_none_valid")
def _():
    return _det(65, "threshold=1.5 (nothing valid: all -1)", threshold=1.5)


# ---- Proposal / MultiProposal ----------------------------------------------------------------------------------------
def _prop_inputs(seed, b, scales, ratios, h, w, stride, info):
    r = rng(seed)
    na = len(scales) * len(ratios)
    logits = r.normal(0, 1, (b, 2, na, h, w))
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    cls = p.reshape(b, 2 * na, h, w).astype(np.float32)
    bbox = r.normal(0, 0.3, (b, 4 * na, h, w)).astype(np.float32)
    return {"cls_prob": cls, "bbox_pred": bbox, "im_info": np.array(info, np.float32).reshape(b, 3)}


def _prop(seed, multi, b, h, w, info, call, exact=(), **kw):
    scales = kw.get("scales", (4, 8, 16, 32))
    ratios = kw.get("ratios", (0.5, 1, 2))
    stride = kw.get("feature_stride", 16)
    x = _prop_inputs(seed, b, scales, ratios, h, w, stride, info)
    fn = C.MultiProposal if multi else C.Proposal
    sym = fn(var("cls_prob"), var("bbox_pred"), var("im_info"), **kw)
    name = "MultiProposal" if multi else "Proposal"
    return Case(sym, x, call=f"mx.sym.contrib.{name}(cls_prob, bbox_pred, im_info, {call})", exact=exact)


@op("proposal_default")
def _():
    return _prop(70, False, 1, 5, 7, [80, 112, 1.0], "rpn_pre_nms_top_n=300, rpn_post_nms_top_n=50",
                 rpn_pre_nms_top_n=300, rpn_post_nms_top_n=50)


@op("proposal_score_padded")
def _():
    return _prop(71, False, 1, 6, 5, [70, 65, 1.0],
                 "output_score=True, im_info smaller than the feature map, threshold=0.5, rpn_min_size=8, "
                 "scales=(2, 4), ratios=(0.5, 1, 2), feature_stride=12, pre 60, post 40",
                 output_score=True, threshold=0.5, rpn_min_size=8, scales=(2, 4), ratios=(0.5, 1, 2),
                 feature_stride=12, rpn_pre_nms_top_n=60, rpn_post_nms_top_n=40)


@op("proposal_cycle")
def _():
    return _prop(72, False, 1, 3, 3, [48, 48, 1.5],
                 "few survivors: threshold=0.1, rpn_post_nms_top_n=30 (rows repeat the kept ones), "
                 "rpn_min_size=20 with scale 1.5, output_score=True",
                 threshold=0.1, rpn_post_nms_top_n=30, rpn_pre_nms_top_n=-1, rpn_min_size=20, output_score=True)


@op("proposal_iou_loss")
def _():
    return _prop(73, False, 1, 4, 6, [30, 44, 1.0], "iou_loss=True, scales=(1, 2), ratios=(1,), feature_stride=8",
                 iou_loss=True, scales=(1, 2), ratios=(1,), feature_stride=8, rpn_pre_nms_top_n=40,
                 rpn_post_nms_top_n=20, rpn_min_size=4)


@op("proposal_multi")
def _():
    return _prop(74, True, 2, 5, 7, [80, 112, 1.0, 64, 100, 0.8],
                 "batch 2 with different im_info, output_score=True, pre 200, post 40",
                 output_score=True, rpn_pre_nms_top_n=200, rpn_post_nms_top_n=40)


@op("proposal_multi_default")
def _():
    return _prop(75, True, 2, 7, 9, [112, 144, 1.0, 100, 130, 1.0], "defaults (pre 6000 > count, post 300)")


@op("proposal_multi_iou_loss")
def _():
    return _prop(76, True, 2, 4, 4, [64, 64, 1.0, 48, 60, 2.0],
                 "iou_loss=True, threshold=0.6, ratios=(0.5, 2), scales=(2, 3), pre 30, post 25",
                 iou_loss=True, threshold=0.6, ratios=(0.5, 2), scales=(2, 3), rpn_pre_nms_top_n=30,
                 rpn_post_nms_top_n=25, output_score=True)


# ---- topk / argsort ties (detector decoders: CenterNet's heatmap topk, RPN score topk) ----------------------------
# MXNet's CPU topk sorts positions with std::partial_sort (k * 8 <= n) or std::sort, neither stable: on rows with
# equal values its order is neither position order nor any stable order. Values on a coarse grid force ties.
def _ties(seed, shape, levels, nan_every=0):
    x = rng(seed).randint(0, levels, shape).astype(np.float32) / levels
    if nan_every:
        x.reshape(-1)[::nan_every] = np.nan
    return x


@op("topk_ties_partial")
def _():
    x = _ties(60, (2, 4000), 3)
    return Case(mx.sym.topk(var(), k=40, ret_typ="both"), {"data": x}, exact=[1],
                call="mx.sym.topk(data, k=40, ret_typ='both'); 3 distinct values (std::partial_sort)")


@op("topk_ties_saturated")
def _():
    x = _ties(61, (1, 20, 24, 24), 50)
    x[x > 0.9] = 1.0  # a saturated sigmoid heatmap: many exact 1.0 peaks, the rest lower
    return Case(mx.sym.topk(mx.sym.reshape(var(), shape=(0, -1)), k=40, ret_typ="both"), {"data": x}, exact=[1],
                call="mx.sym.topk(reshape(data, (0, -1)), k=40, ret_typ='both') as in GluonCV's CenterNet decoder")


@op("topk_ties_full_sort")
def _():
    x = _ties(62, (3, 300), 4)
    return Case(mx.sym.topk(var(), k=200, ret_typ="indices", is_ascend=True), {"data": x}, exact=[0],
                call="mx.sym.topk(data, k=200, is_ascend=True); k * 8 > n: std::sort")


@op("topk_ties_mask_axis0")
def _():
    x = _ties(63, (500, 3), 2)
    return Case(mx.sym.topk(var(), axis=0, k=60, ret_typ="mask"), {"data": x},
                call="mx.sym.topk(data, axis=0, k=60, ret_typ='mask')")


@op("topk_ties_nan")
def _():
    x = _ties(64, (2, 1000), 5, nan_every=7)
    return Case(mx.sym.topk(var(), k=30, ret_typ="both"), {"data": x}, exact=[1],
                call="mx.sym.topk(data, k=30, ret_typ='both'); every 7th value NaN")


@op("argsort_ties")
def _():
    x = _ties(65, (2, 2500), 6)
    return Case(mx.sym.argsort(var()), {"data": x}, exact=[0], call="mx.sym.argsort(data); 6 distinct values (std::sort)")


@op("sort_ties_flat")
def _():
    x = _ties(66, (40, 30), 5)
    x[0, 0] = -0.0  # -0.0 == 0.0: a tie whose members differ in sign
    return Case(mx.sym.sort(var(), axis=None, is_ascend=False), {"data": x},
                call="mx.sym.sort(data, axis=None, is_ascend=False)")


# ---- whole detectors (GluonCV 0.10.5.post0 classes at tiny widths; MXNet's example/ssd) ---------------------------
def _init_net(net, seed, x):
    """Seeded random weights (He-normal), non-trivial BatchNorm statistics, constants (anchors, offsets) left as
    the classes make them; then hybridize and run once, as users do before export."""
    mx.random.seed(seed)
    net.initialize(mx.init.Normal(0.05))
    net(mx.nd.array(x))  # finish deferred shapes
    r = rng(seed + 1)
    for name, p in sorted(net.collect_params().items()):
        shape = p.shape
        if name.endswith("running_mean"):
            p.set_data(mx.nd.array(r.normal(0, 0.2, shape)))
        elif name.endswith("running_var"):
            p.set_data(mx.nd.array(r.uniform(0.5, 2.0, shape)))
        elif p.grad_req == "null":
            continue
        elif name.endswith("gamma"):
            p.set_data(mx.nd.array(r.uniform(0.6, 1.4, shape)))
        elif name.endswith(("beta", "bias")):
            p.set_data(mx.nd.array(r.normal(0, 0.1, shape)))
        elif len(shape) >= 2:
            fan = int(np.prod(shape[1:]))
            p.set_data(mx.nd.array(r.normal(0, np.sqrt(2.0 / fan), shape)))
    net.hybridize()
    net(mx.nd.array(x))
    return net


def _gluon_case(net, x, call, seed, exact=(), notes=""):
    tmp = tempfile.mkdtemp()
    try:
        prefix = os.path.join(tmp, "net")
        net.export(prefix)
        sym = mx.sym.load(prefix + "-symbol.json")
        saved = mx.nd.load(prefix + "-0000.params")
    finally:
        shutil.rmtree(tmp)
    params = {k[4:]: v.asnumpy() for k, v in saved.items() if k.startswith("arg:")}
    aux = {k[4:]: v.asnumpy() for k, v in saved.items() if k.startswith("aux:")}
    return Case(sym, {"data": x}, call=call, seed=seed, exact=exact, params=params, aux=aux, notes=notes)


def _image(seed, *shape):
    return rng(seed).uniform(-1.5, 1.5, shape).astype(np.float32)


@net("ssd_mobilenet_tiny")
def _():
    from gluoncv.model_zoo.mobilenet import MobileNet
    from gluoncv.model_zoo.ssd.ssd import SSD
    base = MobileNet(multiplier=0.0625, classes=2, prefix="mobilenet0_")
    net = SSD(base, 128, features=["relu22_fwd", "relu26_fwd"], num_filters=[16, 16],
              sizes=[20, 40, 70, 100, 128], ratios=[[1, 2, 0.5]] + [[1, 2, 0.5, 3, 1.0 / 3]] * 2 + [[1, 2, 0.5]],
              steps=[16, 32, 64, 128], classes=("a", "b", "c", "d"), anchor_alloc_size=16, nms_topk=60, post_nms=25, min_depth=8,
              pretrained=False)
    x = _image(80, 1, 3, 80, 112)
    _init_net(net, 80, x)
    call = ("gluoncv SSD(MobileNet(multiplier=0.0625), base_size=128, features=['relu22_fwd','relu26_fwd'], "
            "num_filters=[16,16], 4 classes, anchor_alloc_size=16, nms_topk=60, post_nms=25); input 80x112")
    return _gluon_case(net, x, call, 80, exact=[0])


@net("ssd_vgg_tiny")
def _():
    from gluoncv.model_zoo.ssd.ssd import SSD
    from gluoncv.model_zoo.ssd.vgg_atrous import VGGAtrousExtractor
    from mxnet.gluon import nn

    def features(**kw):
        ext = VGGAtrousExtractor([1, 1, 2, 2, 1], [4, 8, 8, 16, 16], [((8, 1, 1, 0), (16, 3, 2, 1))] * 2,
                                 batch_norm=True)
        # the atrous stage has 1024 filters in GluonCV; the same layers at 24 filters keep the fixture small
        with ext.name_scope():
            stage = nn.HybridSequential(prefix="dilated_")
            with stage.name_scope():
                stage.add(nn.Conv2D(24, kernel_size=3, padding=6, dilation=6), nn.BatchNorm(), nn.Activation("relu"),
                          nn.Conv2D(24, kernel_size=1), nn.BatchNorm(), nn.Activation("relu"))
        ext.stages._children[list(ext.stages._children)[-1]] = stage
        return ext

    net = SSD(None, 96, features=features, num_filters=None, sizes=[10, 25, 45, 70, 96],
              ratios=[[1, 2, 0.5]] + [[1, 2, 0.5, 3, 1.0 / 3]] * 2 + [[1, 2, 0.5]], steps=[8, 16, 32, 64],
              classes=("a", "b", "c"), anchor_alloc_size=16, nms_topk=80, post_nms=30, pretrained=False)
    x = _image(81, 1, 3, 96, 96)
    _init_net(net, 81, x)
    call = ("gluoncv SSD(features=VGGAtrousExtractor([1,1,2,2,1], [4,8,8,16,16], 2 extras, batch_norm=True) with "
            "its dilated stage at 24 filters, base_size=96, 3 classes, nms_topk=80, post_nms=30); input 96x96")
    return _gluon_case(net, x, call, 81, exact=[0])


@net("yolo3_tiny")
def _():
    from gluoncv.model_zoo.yolo.darknet import DarknetBasicBlockV3, _conv2d
    from gluoncv.model_zoo.yolo.yolo3 import YOLOV3
    from mxnet.gluon import nn

    def stage(convs, block):
        st = nn.HybridSequential(prefix="")
        for c in convs:
            st.add(_conv2d(c, 3, 1, 2))
        st.add(DarknetBasicBlockV3(block))
        return st

    stages = [stage([4, 8, 8], 4), stage([16], 8), stage([16], 8)]
    anchors = [[10, 13, 16, 30, 33, 23], [30, 61, 62, 45, 59, 119], [116, 90, 156, 198, 373, 326]]
    net = YOLOV3(stages, [16, 8, 8], anchors, [8, 16, 32], classes=("a", "b", "c"), alloc_size=(16, 16),
                 nms_topk=100, post_nms=30)
    x = _image(82, 1, 3, 96, 128)
    _init_net(net, 82, x)
    call = ("gluoncv YOLOV3(3 tiny darknet stages (_conv2d + DarknetBasicBlockV3), channels [16,8,8], the VOC anchors, "
            "strides [8,16,32], 3 classes, alloc_size=(16,16), nms_topk=100, post_nms=30); input 96x128")
    return _gluon_case(net, x, call, 82, exact=[0])


@net("center_net_tiny")
def _():
    from collections import OrderedDict
    from gluoncv.model_zoo.center_net.center_net import CenterNet
    from mxnet.gluon import nn
    base = nn.HybridSequential(prefix="base_")
    with base.name_scope():
        for c, s in ((8, 2), (16, 2), (16, 2)):
            base.add(nn.Conv2D(c, 3, s, 1, use_bias=False), nn.BatchNorm(), nn.Activation("relu"))
        base.add(nn.Conv2DTranspose(16, 4, 2, 1, use_bias=False), nn.BatchNorm(), nn.Activation("relu"))
    heads = OrderedDict([("heatmap", {"num_output": 3, "bias": -2.19}), ("wh", {"num_output": 2}),
                         ("reg", {"num_output": 2})])
    net = CenterNet(base, heads, classes=("a", "b", "c"), head_conv_channel=8, scale=4.0, topk=12)
    x = _image(83, 1, 3, 68, 84)
    _init_net(net, 83, x)
    call = ("gluoncv CenterNet(a conv/BatchNorm/deconv base with output stride 4, heads heatmap/wh/reg, "
            "head_conv_channel=8, scale=4, topk=12, no DCN); input 68x84")
    return _gluon_case(net, x, call, 83, exact=[0])


def _example_ssd():
    """Extract MXNet's example/ssd (v1.9.x) to a temporary folder and import its symbol builder from there."""
    if not MIRROR:
        sys.exit("make_detection_fixtures: set MXNET_SRC to a git directory of apache/mxnet (branch v1.9.x)")
    tmp = tempfile.mkdtemp(prefix="mx_example_ssd_")
    tar = subprocess.run(["git", f"--git-dir={MIRROR}", "archive", "v1.9.x", "example/ssd/symbol",
                          "example/ssd/config"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", tmp], input=tar, check=True)
    root = os.path.join(tmp, "example", "ssd")
    with open(os.path.join(root, "symbol", "tinynet.py"), "w") as f:  # a tiny base network, written here
        f.write(
            "import mxnet as mx\n"
            "def get_symbol(num_classes=1000, **kwargs):\n"
            "    x = mx.sym.var('data')\n"
            "    for i, (c, s) in enumerate(((8, 2), (16, 2), (16, 2), (24, 2))):\n"
            "        x = mx.sym.Convolution(x, num_filter=c, kernel=(3, 3), stride=(s, s), pad=(1, 1), name='conv%d' % i)\n"
            "        x = mx.sym.BatchNorm(x, name='bn%d' % i, fix_gamma=False)\n"
            "        x = mx.sym.Activation(x, act_type='relu', name='relu%d' % i)\n"
            "    return x\n")
    sys.path[:0] = [os.path.join(root, "symbol"), root]
    return tmp


@net("mx_example_ssd_tiny")
def _():
    tmp = _example_ssd()
    try:
        import symbol_builder
        sym = symbol_builder.get_symbol("tinynet", num_classes=3, from_layers=["relu2", "relu3", "", ""],
                                        num_filters=[16, -1, 16, 16], strides=[-1, -1, 2, 2], pads=[-1, -1, 1, 1],
                                        sizes=[[0.1, 0.2], [0.3, 0.4], [0.5, 0.6], [0.7, 0.9]],
                                        ratios=[[1, 2, 0.5]] * 4, normalizations=[20, -1, -1, -1],
                                        steps=[], min_filter=8, nms_thresh=0.45, force_suppress=False, nms_topk=40)
    finally:
        shutil.rmtree(tmp)
    x = _image(84, 1, 3, 96, 96)
    shapes, _, aux_shapes = sym.infer_shape(data=x.shape)
    r = rng(84)
    params, aux = {}, {}
    for n, shp in zip(sym.list_arguments(), shapes):
        if n == "data":
            continue
        if n.endswith("gamma"):
            params[n] = r.uniform(0.6, 1.4, shp)
        elif n.endswith(("beta", "bias")):
            params[n] = r.normal(0, 0.1, shp)
        elif n.endswith("scale"):
            params[n] = np.full(shp, 20.0) * r.uniform(0.8, 1.2, shp)
        else:
            fan = int(np.prod(shp[1:])) if len(shp) > 1 else 1
            params[n] = r.normal(0, np.sqrt(2.0 / fan), shp)
    for n, shp in zip(sym.list_auxiliary_states(), aux_shapes):
        params_or = r.normal(0, 0.2, shp) if n.endswith("mean") else r.uniform(0.5, 2.0, shp)
        aux[n] = params_or
    params = {k: v.astype(np.float32) for k, v in params.items()}
    aux = {k: v.astype(np.float32) for k, v in aux.items()}
    call = ("MXNet example/ssd (v1.9.x) symbol_builder.get_symbol with a 4-conv BatchNorm base (written by this "
            "script), 3 classes, 4 layers, normalizations [20,-1,-1,-1], nms_thresh=0.45, nms_topk=40; input 96x96")
    return Case(sym, {"data": x}, call=call, seed=84, params=params, aux=aux)


NO_ONEDNN = {"ssd_mobilenet_tiny", "ssd_vgg_tiny"}


def build_net(name, build):
    case = build()
    if os.environ.get("MXNET_MKLDNN_ENABLED") == "0":
        case.env = {"MXNET_MKLDNN_ENABLED": "0"}
    run(name, case, NETS_DIR, writer="tools/make_detection_fixtures.py: net.export, then simple_bind(grad_req='null').forward(is_train=False)")


# ---- running a case ----------------------------------------------------------------------------------------------
def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    raise TypeError(type(o))


def run(name: str, case: Case, out_dir: str, *, writer: str) -> None:
    sym = case.sym
    shapes = {k: v.shape for k, v in case.inputs.items()}
    dtypes = {k: v.dtype for k, v in case.inputs.items()}
    exe = sym.simple_bind(mx.cpu(), grad_req="null", type_dict=dtypes, **shapes)
    for k, v in case.inputs.items():
        exe.arg_dict[k][:] = v
    for k, v in case.params.items():
        exe.arg_dict[k][:] = v
    for k, v in case.aux.items():
        exe.aux_dict[k][:] = v
    outs = [o.asnumpy() for o in exe.forward(is_train=False)]
    prefix = os.path.join(out_dir, name)
    with open(prefix + "-symbol.json", "w") as f:
        f.write(sym.tojson())
    if case.params or case.aux:
        mx.nd.save(prefix + "-0000.params", {**{f"arg:{k}": mx.nd.array(v, dtype=v.dtype) for k, v in case.params.items()},
                                             **{f"aux:{k}": mx.nd.array(v, dtype=v.dtype) for k, v in case.aux.items()}})
    arrays = {f"in:{k}": v for k, v in case.inputs.items()}
    arrays.update({f"out:{i}": o for i, o in enumerate(outs)})
    np.savez_compressed(prefix + ".expected.npz", **arrays)
    prov = {"mxnet": mx.__version__, "call": case.call, "made_by": writer, "seed": case.seed, "notes": case.notes,
            "inputs": {k: [list(v.shape), str(v.dtype)] for k, v in case.inputs.items()},
            "output_shapes": [[list(o.shape), str(o.dtype)] for o in outs], "outputs": sym.list_outputs()}
    if case.exact:
        prov["exact_outputs"] = case.exact
    if case.env:
        prov["env"] = case.env
    with open(prefix + ".json", "w") as f:
        json.dump(prov, f, indent=1, sort_keys=True, default=_json_default)
    for ext in ("-symbol.json", "-0000.params", ".expected.npz", ".json"):
        p = prefix + ext
        if os.path.exists(p):
            assert os.path.getsize(p) <= MAX_FILE_BYTES, (p, os.path.getsize(p))


def main() -> int:
    args = sys.argv[1:]
    want_ops = not args or "ops" in args
    want_nets = not args or "nets" in args
    named = {a for a in args if a not in ("ops", "nets")}
    os.makedirs(OPS_DIR, exist_ok=True)
    os.makedirs(NETS_DIR, exist_ok=True)
    n = 0
    for name, build in OP_CASES:
        if (want_ops and not named) or name in named:
            run(name, build(), OPS_DIR, writer="tools/make_detection_fixtures.py: simple_bind(grad_req='null').forward(is_train=False)")
            n += 1
    for name, build in NET_CASES:
        if (want_nets and not named) or name in named:
            if name in NO_ONEDNN and os.environ.get("MXNET_MKLDNN_ENABLED") != "0":
                # oneDNN's depthwise/fused kernels give wrong numbers on these tiny widths: MXNet's own
                # reference kernels are the truth (a separate process, since the switch is read at start-up)
                subprocess.run([sys.executable, os.path.abspath(__file__), name], check=True,
                               env={**os.environ, "MXNET_MKLDNN_ENABLED": "0"})
            else:
                build_net(name, build)
            n += 1
    print(f"mxnet {mx.__version__}: {n} cases written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
