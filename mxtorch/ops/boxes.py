"""Box ops (issue 18): box_nms, box_iou, box_decode, box_encode, bipartite_matching.

MXNet's CPU kernels are the specification (src/operator/contrib/bounding_box-inl.h): scores are sorted
with a stable sort (equal scores keep their input order), suppression is greedy in that order, a box that
was suppressed never suppresses another. Output shapes never depend on the data: box_nms returns the
shape of its input with kept rows first and the rest filled with -1.

The greedy pass (`mxtorch.ops._common.greedy_keep`, shared with MultiBoxDetection and (Multi)Proposal)
is exact in eager mode and when exported: blocks of candidates are cleared against the boxes kept before
them, then resolved inside to the fixed point of ``keep = cand & ~any(keep[j] & suppresses[j, i])``, the
unique greedy answer (traced, a ``while_loop``, which torch.export and the ONNX exporter take as a loop).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from . import _attrs as A
from ._common import Suppression, Workspace, greedy_keep, order_kept_first, stable_order, stable_top, ws_take
from ._registry import Lowered, Node, register, unsupported


def f32(v: float) -> float:
    """``v`` rounded to float32, as MXNet stores a float parameter."""
    return float(np.float32(v))


def _pick(cond: Tensor, a: Tensor, b: Tensor) -> Tensor:
    return torch.where(cond, a, b)


# ---- MXNet's box geometry (bounding_box-common.h) --------------------------------------------------------------
def _overlap_1d(a1: Tensor, a2: Tensor, b1: Tensor, b2: Tensor, center: bool) -> Tensor:
    """Overlap along one axis: corner (min, max) or center (c, extent); negative -> 0."""
    if center:
        ah, bh = a2 / 2, b2 / 2
        a1, a2, b1, b2 = a1 - ah, a1 + ah, b1 - bh, b1 + bh
    return (torch.minimum(a2, b2) - torch.maximum(a1, b1)).clamp_min(0)


def _area(b: Tensor, center: bool) -> Tensor:
    """Box area, 0 when the width or height is negative."""
    if center:
        w, h = b[..., 2], b[..., 3]
    else:
        w, h = b[..., 2] - b[..., 0], b[..., 3] - b[..., 1]
    bad = (w < 0) | (h < 0)
    return _pick(bad, torch.zeros_like(w), w * h)


def _intersection(a: Tensor, b: Tensor, center: bool) -> Tensor:
    """Pairwise intersection of a (..., m, 4) and b (..., n, 4) -> (..., m, n)."""
    a0, a1, a2, a3 = (t.unsqueeze(-1) for t in a.unbind(-1))
    b0, b1, b2, b3 = (t.unsqueeze(-2) for t in b.unbind(-1))
    return _overlap_1d(a0, a2, b0, b2, center) * _overlap_1d(a1, a3, b1, b3, center)


# ---- box_nms -----------------------------------------------------------------------------------------------------
def _nms_rule(center: bool, thresh: float, by_class: bool) -> Suppression:
    """box_nms's overlap rule: IoU > thresh (and the same class when ``by_class``). Per box, once: corners
    (from center form as MXNet converts them), the area (0 when negative), the class."""
    def prep(boxes: Tensor, cls: Tensor | None) -> Tensor:
        a0, a1, a2, a3 = boxes.unbind(-1)
        area = _area(boxes, center)
        if center:
            hw, hh = a2 / 2, a3 / 2
            a0, a1, a2, a3 = a0 - hw, a1 - hh, a0 + hw, a1 + hh
        cols = [a0, a1, a2, a3, area] + ([cls.to(boxes.dtype)] if by_class else [])
        return torch.stack(cols, -2)

    def iou(fa: Tensor, fb: Tensor, ws: Workspace | None = None) -> Tensor:
        a = [t.unsqueeze(-1) for t in fa.unbind(-2)]
        b = [t.unsqueeze(-2) for t in fb.unbind(-2)]
        t0, t1, t2 = (ws_take(ws, k, a[0], b[0]) for k in range(3))
        iw = torch.minimum(a[2], b[2], out=t0).sub_(torch.maximum(a[0], b[0], out=t1)).clamp_min_(0)
        ih = torch.minimum(a[3], b[3], out=t1).sub_(torch.maximum(a[1], b[1], out=t2)).clamp_min_(0)
        inter = iw.mul_(ih)
        return inter.div_(torch.add(a[4], b[4], out=t1).sub_(inter))
    return Suppression(prep, iou, thresh, by_class=by_class)


def _convert_format(rows: Tensor, coord_start: int, to_center: bool) -> Tensor:
    """Re-encode the 4 coordinates of each row; rows whose first coordinate is negative are left as they are
    (MXNet's rule: it marks removed rows with -1 and skips them)."""
    c = rows[..., coord_start:coord_start + 4]
    a, b, cc, d = c.unbind(-1)
    if to_center:
        new = torch.stack(((a + cc) / 2, (b + d) / 2, cc - a, d - b), -1)
    else:
        hw, hh = cc / 2, d / 2
        new = torch.stack((a - hw, b - hh, a + hw, b + hh), -1)
    new = torch.where((a < 0).unsqueeze(-1), c, new)
    return torch.cat((rows[..., :coord_start], new, rows[..., coord_start + 4:]), -1)


def box_nms(data: Tensor, *, overlap_thresh: float, valid_thresh: float, topk: int, coord_start: int,
            score_index: int, id_index: int, background_id: int, force_suppress: bool, in_center: bool,
            out_center: bool) -> Tensor:
    """``_contrib_box_nms``: rows (..., N, W) with a score, 4 coordinates and optionally a class id.

    Valid rows (score > valid_thresh, class != background_id) are sorted by score (stable), the first
    ``topk`` take part in greedy NMS (IoU > overlap_thresh removes; only within a class unless
    force_suppress or id_index < 0). Output: the input's shape, kept rows first in score order, the rest
    -1; coordinates re-encoded to ``out_format`` except in rows whose first coordinate is negative.
    """
    shape = data.shape
    n, w = shape[-2], shape[-1]
    x = data.reshape(-1, n, w)
    k = n if topk < 0 else min(n, topk)
    if k < 1:  # MXNet returns its input untouched
        return data.clone()
    score = x[..., score_index]
    valid = score > valid_thresh
    by_class = id_index >= 0
    if by_class:
        valid = valid & (x[..., id_index] != background_id)
    key = torch.where(valid, score, torch.full_like(score, float("-inf")))
    order = stable_top(key, k)
    rows = x.gather(1, order.unsqueeze(2).expand(-1, -1, w))
    cand = valid.gather(1, order)
    cls = rows[..., id_index].trunc() if by_class and not force_suppress else None
    keep = greedy_keep(rows[..., coord_start:coord_start + 4], cand,
                       _nms_rule(in_center, overlap_thresh, cls is not None), cls)
    first = order_kept_first(keep)
    kept_rows = rows.gather(1, first.unsqueeze(2).expand(-1, -1, w))
    kept = keep.gather(1, first)
    out = torch.where(kept.unsqueeze(2), kept_rows, torch.full_like(kept_rows, -1))
    if k < n:
        out = torch.cat((out, torch.full_like(x[:, :n - k], -1)), 1)
    if in_center != out_center:
        out = _convert_format(out, coord_start, out_center)
    return out.reshape(shape)


@register("_contrib_box_nms")
def _box_nms(node: Node) -> Lowered:
    kw = {
        "overlap_thresh": f32(A.num(node, "overlap_thresh", 0.5)),
        "valid_thresh": f32(A.num(node, "valid_thresh", 0.0)),
        "topk": A.req_int(node, "topk", -1),
        "coord_start": A.req_int(node, "coord_start", 2),
        "score_index": A.req_int(node, "score_index", 1),
        "id_index": A.req_int(node, "id_index", -1),
        "background_id": A.req_int(node, "background_id", -1),
        "force_suppress": A.flag(node, "force_suppress", False),
        "in_center": A.choice(node, "in_format", ("corner", "center"), "corner") == "center",
        "out_center": A.choice(node, "out_format", ("corner", "center"), "corner") == "center",
    }
    cs, si, ii = kw["coord_start"], kw["score_index"], kw["id_index"]
    # MXNet's shape check (run time there; here at load, without the row width)
    if cs < 0 or si < 0:
        raise unsupported(node, f"coord_start={cs}, score_index={si}", ["indices >= 0"])
    if cs <= si <= cs + 3:
        raise unsupported(node, f"score_index={si} inside the coordinates {cs}..{cs + 3}",
                          ["score_index outside coord_start..coord_start+3"])
    if ii >= 0 and (cs <= ii <= cs + 3 or ii == si):
        raise unsupported(node, f"id_index={ii} overlaps the score or coordinates",
                          ["id_index apart from score_index and the coordinates"])
    return Lowered(box_nms, kw)


# ---- box_iou ----------------------------------------------------------------------------------------------------
def box_iou(lhs: Tensor, rhs: Tensor, *, center: bool) -> Tensor:
    """``_contrib_box_iou``: IoU of every lhs box (..., 4) with every rhs box (..., 4) -> lhs[:-1] + rhs[:-1];
    0 where the boxes do not overlap."""
    a = lhs.reshape(-1, 4)
    b = rhs.reshape(-1, 4)
    inter = _intersection(a, b, center)
    union = _area(a, center).unsqueeze(1) + _area(b, center).unsqueeze(0) - inter
    iou = torch.where(inter <= 0, torch.zeros_like(inter), inter / union)
    return iou.reshape(tuple(lhs.shape[:-1]) + tuple(rhs.shape[:-1]))


@register("_contrib_box_iou")
def _box_iou(node: Node) -> Lowered:
    fmt = A.choice(node, "format", ("corner", "center"), "corner")
    return Lowered(box_iou, {"center": fmt == "center"})


# ---- box_decode / box_encode --------------------------------------------------------------------------------------
def box_decode(data: Tensor, anchors: Tensor, *, stds: tuple[float, float, float, float], clip: float,
               center: bool) -> Tensor:
    """``_contrib_box_decode``: deltas (B, N, 4) against anchors (1, N, 4) -> corner boxes; the width and
    height deltas are capped at ``clip`` when it is positive."""
    n = data.shape[1]
    a = anchors.reshape(-1, 4)[:n].unsqueeze(0)
    ax, ay, aw, ah = a.unbind(-1)
    if not center:
        aw = aw - ax
        ah = ah - ay
        ax = (ax.double() + aw.double() * 0.5).to(a.dtype)
        ay = (ay.double() + ah.double() * 0.5).to(a.dtype)
    d0, d1, d2, d3 = data.unbind(-1)
    ox = d0 * stds[0] * aw + ax
    oy = d1 * stds[1] * ah + ay
    dw = d2 * stds[2]
    dh = d3 * stds[3]
    if clip > 0:
        dw = torch.where(dw < clip, dw, torch.full_like(dw, clip))
        dh = torch.where(dh < clip, dh, torch.full_like(dh, clip))
    ow = (torch.exp(dw) * aw).double() * 0.5
    oh = (torch.exp(dh) * ah).double() * 0.5
    ow, oh = ow.to(data.dtype), oh.to(data.dtype)
    return torch.stack((ox - ow, oy - oh, ox + ow, oy + oh), -1)


@register("_contrib_box_decode")
def _box_decode(node: Node) -> Lowered:
    stds = tuple(f32(A.num(node, f"std{i}", 1.0)) for i in range(4))
    fmt = A.choice(node, "format", ("corner", "center"), "center")
    return Lowered(box_decode, {"stds": stds, "clip": f32(A.num(node, "clip", -1.0)), "center": fmt == "center"})


def box_encode(samples: Tensor, matches: Tensor, anchors: Tensor, refs: Tensor, means: Tensor,
               stds: Tensor) -> tuple[Tensor, Tensor]:
    """``_contrib_box_encode``: regression targets of matched reference boxes against corner anchors, and
    the mask (1 where samples > 0.5); unmatched targets are 0."""
    b, n = anchors.shape[0], anchors.shape[1]
    m = refs.shape[1]
    idx = matches.reshape(b, n).to(torch.int64).clamp(0, m - 1)
    ref = refs.reshape(b, m, 4).gather(1, idx.unsqueeze(2).expand(-1, -1, 4))
    anc = anchors.reshape(b, n, 4)

    def centre(box: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        x0, y0 = box[..., 0], box[..., 1]
        w, h = box[..., 2] - x0, box[..., 3] - y0
        cx = (x0.double() + w.double() * 0.5).to(box.dtype)
        cy = (y0.double() + h.double() * 0.5).to(box.dtype)
        return cx, cy, w, h

    rx, ry, rw, rh = centre(ref)
    ax, ay, aw, ah = centre(anc)
    valid = samples.reshape(b, n) > 0.5
    t = torch.stack((((rx - ax) / aw - means[0]) / stds[0], ((ry - ay) / ah - means[1]) / stds[1],
                     (torch.log(rw / aw) - means[2]) / stds[2], (torch.log(rh / ah) - means[3]) / stds[3]), -1)
    mask = valid.unsqueeze(2).expand(-1, -1, 4).to(anchors.dtype)
    return torch.where(mask > 0.5, t, torch.zeros_like(t)), mask


@register("_contrib_box_encode")
def _box_encode(node: Node) -> Lowered:
    return Lowered(box_encode, num_outputs=2)


# ---- bipartite_matching -------------------------------------------------------------------------------------------
def bipartite_matching(data: Tensor, *, is_ascend: bool, threshold: float, topk: int) -> tuple[Tensor, Tensor]:
    """``_contrib_bipartite_matching``: greedy matching on a score matrix (..., R, C).

    Pairs are visited best first (stable sort); a pair whose row and column are both free is matched if
    its score beats ``threshold``, else matching stops. With ``topk`` > 0 it stops once more than ``topk``
    pairs are matched (MXNet keeps that last one: topk + 1 matches). Returns the column of each row and
    the row of each column, -1 where unmatched, in the input's dtype.
    """
    shape = data.shape
    r, c = shape[-2], shape[-1]
    s = data.reshape(-1, r * c)
    bsz = s.shape[0]
    order = stable_order(s, descending=not is_ascend)
    rank = torch.empty_like(order).scatter(1, order, torch.arange(r * c, device=s.device).expand_as(order))
    big = r * c
    rows = torch.arange(r * c, device=s.device) // c
    cols = torch.arange(r * c, device=s.device) % c
    rmark = torch.full((bsz, r), -1, dtype=torch.int64, device=s.device)
    cmark = torch.full((bsz, c), -1, dtype=torch.int64, device=s.device)
    stop = torch.zeros(bsz, dtype=torch.bool, device=s.device)
    count = torch.zeros(bsz, dtype=torch.int64, device=s.device)
    steps = min(r, c)
    for _ in range(steps):  # at most min(R, C) matches: a trip count fixed by the shape
        free = (rmark[:, rows] < 0) & (cmark[:, cols] < 0)
        pr = torch.where(free, rank, torch.full_like(rank, big))
        best = pr.argmin(1)
        sc = s.gather(1, best.unsqueeze(1)).squeeze(1)
        ok = (sc < threshold) if is_ascend else (sc > threshold)
        go = ~stop & (pr.gather(1, best.unsqueeze(1)).squeeze(1) < big) & ok
        br, bc = best // c, best % c
        rmark = torch.where(go.unsqueeze(1) & (torch.arange(r, device=s.device) == br.unsqueeze(1)),
                            bc.unsqueeze(1), rmark)
        cmark = torch.where(go.unsqueeze(1) & (torch.arange(c, device=s.device) == bc.unsqueeze(1)),
                            br.unsqueeze(1), cmark)
        count = count + go.to(torch.int64)
        stop = stop | ~go
        if topk > 0:
            stop = stop | (count > topk)
    return (rmark.to(data.dtype).reshape(tuple(shape[:-1])),
            cmark.to(data.dtype).reshape(tuple(shape[:-2]) + (c,)))


@register("_contrib_bipartite_matching")
def _bipartite(node: Node) -> Lowered:
    kw = {"is_ascend": A.flag(node, "is_ascend", False), "threshold": f32(A.num(node, "threshold")),
          "topk": A.req_int(node, "topk", -1)}
    return Lowered(bipartite_matching, kw, num_outputs=2)
