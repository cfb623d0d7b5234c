"""Anchors and proposals (issue 18): MultiBoxPrior, MultiBoxDetection, Proposal, MultiProposal. MultiBoxTarget
(a training op: targets from labels) is not registered, so a graph holding it is refused at load.

MXNet's CPU kernels are the specification (src/operator/contrib/multibox_*.cc, proposal.cc,
multi_proposal.cc), including their quirks: MultiBoxDetection ignores ``background_id`` (class 0 is the
background), leaves rows past ``nms_topk`` unsorted with id -1, and marks suppressed rows by id -1 only;
Proposal keeps boxes that are too small or outside the unpadded image as candidates with score -1 (and
grown by ``rpn_min_size``), stops NMS after ``rpn_post_nms_top_n`` kept boxes and fills the remaining
rows by cycling through the kept ones; Proposal refuses a batch > 1 at the forward, as MXNet's does. All
output shapes are fixed by the input shapes and attributes.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from . import _attrs as A
from ._common import Suppression, Workspace, greedy_keep, order_kept_first, stable_top, ws_take
from ._registry import Lowered, Node, register, unsupported


def f32(v: float) -> float:
    """``v`` rounded to float32, as MXNet stores a float parameter."""
    return float(np.float32(v))


# ---- MultiBoxPrior ---------------------------------------------------------------------------------------------
def multibox_prior(data: Tensor, *, sizes: tuple[float, ...], ratios: tuple[float, ...], clip: bool,
                   steps: tuple[float, float], offsets: tuple[float, float]) -> Tensor:
    """``_contrib_MultiBoxPrior``: anchors (1, H*W*(S+R-1), 4) in corner form, normalised to the feature map.

    Per location: every size with the FIRST ratio, then the first size with each further ratio; width
    ``size * H / W * sqrt(ratio) / 2`` each side, height ``size / sqrt(ratio) / 2``; steps <= 0 mean 1/H, 1/W.
    Computed in float32 (as MXNet does), returned in the input's dtype.
    """
    h, w = data.shape[2], data.shape[3]
    dev = data.device
    one = torch.ones((), dtype=torch.float32, device=dev)
    if steps[0] <= 0 or steps[1] <= 0:
        sy, sx = one / h, one / w
    else:
        sy, sx = one * steps[0], one * steps[1]
    cy = (torch.arange(h, device=dev).to(torch.float32) + offsets[0]) * sy
    cx = (torch.arange(w, device=dev).to(torch.float32) + offsets[1]) * sx
    sz = torch.tensor(sizes[:1] * (len(ratios) - 1), dtype=torch.float32, device=dev)
    sz = torch.cat((torch.tensor(sizes, dtype=torch.float32, device=dev), sz))
    rt = np.sqrt(np.array([ratios[0]] * len(sizes) + list(ratios[1:]), dtype=np.float32))
    rt = torch.tensor(rt.tolist(), dtype=torch.float32, device=dev)
    half_w = sz * h / w * rt / 2
    half_h = sz / rt / 2
    cy_ = cy.reshape(-1, 1, 1)
    cx_ = cx.reshape(1, -1, 1)
    shp = (h, w, sz.shape[0])
    out = torch.stack(((cx_ - half_w).expand(shp), (cy_ - half_h).expand(shp),
                       (cx_ + half_w).expand(shp), (cy_ + half_h).expand(shp)), -1)
    if clip:
        out = out.clamp(0.0, 1.0)
    return out.reshape(1, -1, 4).to(data.dtype)


@register("_contrib_MultiBoxPrior")
def _multibox_prior(node: Node) -> Lowered:
    sizes = tuple(f32(v) for v in A.floats(node, "sizes", (1.0,)))
    ratios = tuple(f32(v) for v in A.floats(node, "ratios", (1.0,)))
    steps = tuple(f32(v) for v in A.floats(node, "steps", (-1.0, -1.0)))
    offsets = tuple(f32(v) for v in A.floats(node, "offsets", (0.5, 0.5)))
    if not sizes or not ratios:
        raise unsupported(node, f"sizes={sizes}, ratios={ratios}", ["at least one size and one ratio"])
    if len(steps) != 2 or len(offsets) != 2:
        raise unsupported(node, f"steps={steps}, offsets={offsets}", ["2 steps (y, x) and 2 offsets (y, x)"])
    if steps[0] * steps[1] < 0:
        raise unsupported(node, f"steps={steps}", ["both steps > 0, or both <= 0 (automatic)"])
    if not all(0.0 <= o <= 1.0 for o in offsets):
        raise unsupported(node, f"offsets={offsets}", ["offsets in [0, 1]"])
    kw = {"sizes": sizes, "ratios": ratios, "clip": A.flag(node, "clip", False), "steps": steps, "offsets": offsets}
    return Lowered(multibox_prior, kw)


# ---- MultiBoxDetection -----------------------------------------------------------------------------------------
def _positive(v: Tensor) -> Tensor:
    """``v`` where ``0 < v``, else 0 (NaN included), in place: MXNet's overlap clamp without a comparison
    (a zero's sign may differ, which no ratio test can see)."""
    return v.clamp_min_(0).nan_to_num_(nan=0.0, posinf=math.inf, neginf=-math.inf)


def _mbd_rule(force: bool, thresh: float) -> Suppression:
    """MultiBoxDetection's overlap rule: IoU >= thresh (0 when the union is <= 0), within a class unless
    ``force``. Per box, once: the corners, the area (not clamped), the class."""
    def prep(boxes: Tensor, cls: Tensor | None) -> Tensor:
        x1, y1, x2, y2 = boxes.unbind(-1)
        cols = [x1, y1, x2, y2, (x2 - x1) * (y2 - y1)] + ([] if force else [cls.to(boxes.dtype)])
        return torch.stack(cols, -2)

    def iou(fa: Tensor, fb: Tensor, ws: Workspace | None = None) -> Tensor:
        a = [t.unsqueeze(-1) for t in fa.unbind(-2)]
        b = [t.unsqueeze(-2) for t in fb.unbind(-2)]
        t0, t1, t2 = (ws_take(ws, k, a[0], b[0]) for k in range(3))
        i = _positive(torch.minimum(a[2], b[2], out=t0).sub_(torch.maximum(a[0], b[0], out=t1)))
        i = i.mul_(_positive(torch.minimum(a[3], b[3], out=t1).sub_(torch.maximum(a[1], b[1], out=t2))))
        u = torch.add(a[4], b[4], out=t1).sub_(i)
        zero = torch.zeros((), dtype=fa.dtype, device=fa.device)
        return torch.where(u <= 0, zero, i.div_(u), out=t2)
    return Suppression(prep, iou, thresh, inclusive=True, by_class=not force)


def multibox_detection(cls_prob: Tensor, loc_pred: Tensor, anchor: Tensor, *, clip: bool, threshold: float,
                       nms_threshold: float, force_suppress: bool, variances: tuple[float, ...],
                       nms_topk: int) -> Tensor:
    """``_contrib_MultiBoxDetection``: (B, A, 6) rows [id, score, xmin, ymin, xmax, ymax].

    Each anchor takes its best non-background class (first maximum over classes 1..C-1; id -1 when below
    ``threshold``) and its decoded box. Valid rows are compacted in anchor order; when NMS runs
    (0 < nms_threshold <= 1) the first ``nms_topk`` of them are sorted by score (stable) and greedy NMS
    (IoU >= nms_threshold) sets the id of removed rows to -1; valid rows past ``nms_topk`` keep their
    anchor order with id -1. Everything else is -1.
    """
    bsz, ncls, na = cls_prob.shape[0], cls_prob.shape[1], cls_prob.shape[2]
    dt = cls_prob.dtype
    if ncls > 1:
        fg = cls_prob[:, 1:]
        score, arg = fg.max(1)  # first maximum wins, as MXNet's strict '>' scan
        # MXNet starts the scan at -1: a best score <= -1 leaves the id at 0 (background) and score -1
        low = ~(score > -1)
        score = torch.where(low, torch.full_like(score, -1), score)
        cid = torch.where(low, torch.zeros_like(arg), arg + 1)
    else:
        score = torch.full((bsz, na), -1, dtype=dt, device=cls_prob.device)
        cid = torch.zeros((bsz, na), dtype=torch.int64, device=cls_prob.device)
    cid = torch.where((cid > 0) & (score < threshold), torch.zeros_like(cid), cid)
    ident = (cid - 1).to(dt)
    a = anchor.reshape(-1, 4)[:na].unsqueeze(0)
    al, at, ar, ab = a.unbind(-1)
    aw, ah = ar - al, ab - at
    ax, ay = (al + ar) / 2, (at + ab) / 2
    p = loc_pred.reshape(bsz, na, 4)
    ox = p[..., 0] * variances[0] * aw + ax
    oy = p[..., 1] * variances[1] * ah + ay
    ow = torch.exp(p[..., 2] * variances[2]) * aw / 2
    oh = torch.exp(p[..., 3] * variances[3]) * ah / 2
    box = torch.stack((ox - ow, oy - oh, ox + ow, oy + oh), -1)
    if clip:
        box = box.clamp(0.0, 1.0)
    rows = torch.cat((ident.unsqueeze(-1), score.unsqueeze(-1), box), -1)  # (B, A, 6)
    valid = cid > 0
    comp_idx = order_kept_first(valid)
    comp = rows.gather(1, comp_idx.unsqueeze(2).expand(-1, -1, 6))
    comp_valid = valid.gather(1, comp_idx)
    minus = torch.full_like(comp, -1)
    if not (0 < nms_threshold <= 1):
        return torch.where(comp_valid.unsqueeze(2), comp, minus)
    k = na if nms_topk <= 0 else min(na, nms_topk)
    key = torch.where(comp_valid, comp[..., 1], torch.full_like(comp[..., 1], float("-inf")))
    order = stable_top(key, k)
    top = comp.gather(1, order.unsqueeze(2).expand(-1, -1, 6))
    top_valid = comp_valid.gather(1, order)
    keep = greedy_keep(top[..., 2:], top_valid, _mbd_rule(force_suppress, nms_threshold), top[..., 0])
    top = torch.cat((torch.where(keep, top[..., 0], torch.full_like(top[..., 0], -1)).unsqueeze(-1), top[..., 1:]), -1)
    top = torch.where(top_valid.unsqueeze(2), top, minus[:, :k])
    if k == na:
        return top
    rest = comp[:, k:]
    rest = torch.cat((torch.full_like(rest[..., :1], -1), rest[..., 1:]), -1)
    rest = torch.where(comp_valid[:, k:].unsqueeze(2), rest, minus[:, k:])
    return torch.cat((top, rest), 1)


@register("_contrib_MultiBoxDetection")
def _multibox_detection(node: Node) -> Lowered:
    var = tuple(f32(v) for v in A.floats(node, "variances", (0.1, 0.1, 0.2, 0.2)))
    if len(var) != 4:
        raise unsupported(node, f"variances={var}", ["4 variances"])
    A.req_int(node, "background_id", 0)  # read and checked, but MXNet's CPU kernel ignores it (class 0 is background)
    kw = {"clip": A.flag(node, "clip", True), "threshold": f32(A.num(node, "threshold", 0.01)),
          "nms_threshold": f32(A.num(node, "nms_threshold", 0.5)),
          "force_suppress": A.flag(node, "force_suppress", False), "variances": var,
          "nms_topk": A.req_int(node, "nms_topk", -1)}
    return Lowered(multibox_detection, kw)


# ---- Proposal / MultiProposal ------------------------------------------------------------------------------------
def base_anchors(stride: int, scales: tuple[float, ...], ratios: tuple[float, ...]) -> np.ndarray:
    """The (R*S, 4) anchors of one cell, ratio-major, in float32 exactly as MXNet's generator rounds."""
    f = np.float32
    x1 = y1 = f(0.0)
    x2 = y2 = f(float(stride) - 1.0)
    w = f(x2 - x1 + f(1.0))
    h = f(y2 - y1 + f(1.0))
    xc = f(float(x1) + 0.5 * float(w - f(1.0)))
    yc = f(float(y1) + 0.5 * float(h - f(1.0)))
    size = f(w * h)
    out = []
    for r in ratios:
        for s in scales:
            r32, s32 = f(r), f(s)
            size_r = f(np.floor(f(size / r32)))
            nw = f(f(np.floor(f(np.sqrt(size_r) + f(0.5)))) * s32)
            nh = f(f(np.floor(f(f(nw / s32) * r32) + f(0.5))) * s32)
            out.append([xc - f(0.5) * (nw - f(1.0)), yc - f(0.5) * (nh - f(1.0)),
                        xc + f(0.5) * (nw - f(1.0)), yc + f(0.5) * (nh - f(1.0))])
    return np.array(out, dtype=np.float32)


def _proposal_rule(thresh: float) -> Suppression:
    """(Multi)Proposal's overlap rule: IoU > thresh with MXNet's pixel convention (+1 on widths, heights and
    areas). Per box, once: the corners and the area."""
    def prep(boxes: Tensor, aux: Tensor | None) -> Tensor:
        x1, y1, x2, y2 = boxes.unbind(-1)
        return torch.stack((x1, y1, x2, y2, (x2 - x1 + 1) * (y2 - y1 + 1)), -2)

    def iou(fa: Tensor, fb: Tensor, ws: Workspace | None = None) -> Tensor:
        a = [t.unsqueeze(-1) for t in fa.unbind(-2)]
        b = [t.unsqueeze(-2) for t in fb.unbind(-2)]
        t0, t1, t2 = (ws_take(ws, k, a[0], b[0]) for k in range(3))
        w = _positive(torch.minimum(a[2], b[2], out=t0).sub_(torch.maximum(a[0], b[0], out=t1)).add_(1.0))
        h = _positive(torch.minimum(a[3], b[3], out=t1).sub_(torch.maximum(a[1], b[1], out=t2)).add_(1.0))
        inter = w.mul_(h)
        return inter.div_(torch.add(a[4], b[4], out=t1).sub_(inter))
    return Suppression(prep, iou, thresh)


def multi_proposal(cls_prob: Tensor, bbox_pred: Tensor, im_info: Tensor, *, anchors: tuple, stride: int,
                   pre_nms: int, post_nms: int, threshold: float, min_size: float, iou_loss: bool,
                   output_score: bool) -> Tensor | tuple[Tensor, Tensor]:
    """``_contrib_MultiProposal`` (and ``_contrib_Proposal``, batch 1): RPN proposals (B*post, 5) rows
    [batch, x1, y1, x2, y2] and, with ``output_score``, their scores (B*post, 1).

    Anchors (cell anchors shifted by the stride; order: row, column, anchor) are moved by the deltas and
    clipped to the image; cells outside ``im_info``'s unpadded size and boxes smaller than
    ``rpn_min_size * scale`` get score -1 (the small ones also grow by half the minimum each side) but
    stay candidates. The ``rpn_pre_nms_top_n`` best (stable sort) go through greedy NMS (IoU > threshold,
    areas +1) until ``post`` are kept; missing rows repeat the kept ones cyclically.
    """
    bsz, na2, hh, ww = cls_prob.shape
    na = na2 // 2
    dev = cls_prob.device
    base = torch.tensor(anchors, dtype=torch.float32, device=dev)  # (na, 4)
    sx = (torch.arange(ww, device=dev) * stride).to(torch.float32)
    sy = (torch.arange(hh, device=dev) * stride).to(torch.float32)
    shift = torch.stack((sx.reshape(1, -1, 1).expand(hh, ww, na), sy.reshape(-1, 1, 1).expand(hh, ww, na)), -1)
    anc = base.reshape(1, 1, na, 4) + torch.cat((shift, shift), -1)  # (H, W, na, 4)
    anc = anc.reshape(1, -1, 4)
    score = cls_prob[:, na:].permute(0, 2, 3, 1).reshape(bsz, -1)
    d = bbox_pred.reshape(bsz, na, 4, hh, ww).permute(0, 3, 4, 1, 2).reshape(bsz, -1, 4).to(torch.float32)
    im_h = im_info[:, 0:1].to(torch.float32)
    im_w = im_info[:, 1:2].to(torch.float32)
    x1, y1, x2, y2 = anc.unbind(-1)
    if iou_loss:
        px1, py1, px2, py2 = x1 + d[..., 0], y1 + d[..., 1], x2 + d[..., 2], y2 + d[..., 3]
    else:
        wid = x2 - x1 + 1.0
        hei = y2 - y1 + 1.0
        cx = x1 + 0.5 * (wid - 1.0)
        cy = y1 + 0.5 * (hei - 1.0)
        pcx = d[..., 0] * wid + cx
        pcy = d[..., 1] * hei + cy
        pw = torch.exp(d[..., 2]) * wid
        ph = torch.exp(d[..., 3]) * hei
        hw = (pw.double() - 1.0) * 0.5
        hh_ = (ph.double() - 1.0) * 0.5
        px1 = (pcx.double() - hw).to(torch.float32)
        py1 = (pcy.double() - hh_).to(torch.float32)
        px2 = (pcx.double() + hw).to(torch.float32)
        py2 = (pcy.double() + hh_).to(torch.float32)
    zero = torch.zeros((), dtype=torch.float32, device=dev)
    px1 = torch.maximum(torch.minimum(px1, im_w - 1.0), zero)
    py1 = torch.maximum(torch.minimum(py1, im_h - 1.0), zero)
    px2 = torch.maximum(torch.minimum(px2, im_w - 1.0), zero)
    py2 = torch.maximum(torch.minimum(py2, im_h - 1.0), zero)
    real_h = torch.trunc(im_h / stride)
    real_w = torch.trunc(im_w / stride)
    row = torch.arange(hh, device=dev).reshape(-1, 1, 1).expand(hh, ww, na).reshape(1, -1).to(torch.float32)
    col = torch.arange(ww, device=dev).reshape(1, -1, 1).expand(hh, ww, na).reshape(1, -1).to(torch.float32)
    score = torch.where((row >= real_h) | (col >= real_w), torch.full_like(score, -1), score.to(torch.float32))
    ms = min_size * im_info[:, 2:3].to(torch.float32)
    small = ((px2 - px1 + 1.0) < ms) | ((py2 - py1 + 1.0) < ms)
    half = ms / 2
    px1 = torch.where(small, px1 - half, px1)
    py1 = torch.where(small, py1 - half, py1)
    px2 = torch.where(small, px2 + half, px2)
    py2 = torch.where(small, py2 + half, py2)
    score = torch.where(small, torch.full_like(score, -1), score)
    boxes = torch.stack((px1, py1, px2, py2), -1)
    count = na * hh * ww
    pre = count if pre_nms <= 0 else min(pre_nms, count)
    limit = min(post_nms, pre)
    order = stable_top(score, pre)
    sb = boxes.gather(1, order.unsqueeze(2).expand(-1, -1, 4))
    ss = score.gather(1, order)
    keep = greedy_keep(sb, torch.ones_like(ss, dtype=torch.bool), _proposal_rule(threshold), None, limit)
    first = order_kept_first(keep)
    n_out = keep.to(torch.int64).sum(1, keepdim=True).clamp(max=limit)
    pick = first.gather(1, torch.arange(post_nms, device=dev).unsqueeze(0) % n_out)
    ob = sb.gather(1, pick.unsqueeze(2).expand(-1, -1, 4))
    bidx = torch.arange(bsz, device=dev).to(torch.float32).reshape(-1, 1, 1).expand(bsz, post_nms, 1)
    rois = torch.cat((bidx, ob), -1).reshape(-1, 5).to(cls_prob.dtype)
    if not output_score:
        return rois
    return rois, ss.gather(1, pick).reshape(-1, 1).to(cls_prob.dtype)


def _proposal_kwargs(node: Node) -> dict:
    stride = A.req_int(node, "feature_stride", 16)
    scales = tuple(f32(v) for v in A.floats(node, "scales", (4.0, 8.0, 16.0, 32.0)))
    ratios = tuple(f32(v) for v in A.floats(node, "ratios", (0.5, 1.0, 2.0)))
    post = A.req_int(node, "rpn_post_nms_top_n", 300)
    if stride < 1:
        raise unsupported(node, f"feature_stride={stride}", ["feature_stride >= 1"])
    if not scales or not ratios:
        raise unsupported(node, f"scales={scales}, ratios={ratios}", ["at least one scale and one ratio"])
    if post < 1:
        raise unsupported(node, f"rpn_post_nms_top_n={post}", ["rpn_post_nms_top_n >= 1"])
    anchors = tuple(tuple(float(v) for v in r) for r in base_anchors(stride, scales, ratios))
    return {"anchors": anchors, "stride": stride, "pre_nms": A.req_int(node, "rpn_pre_nms_top_n", 6000),
            "post_nms": post, "threshold": f32(A.num(node, "threshold", 0.7)),
            "min_size": float(A.req_int(node, "rpn_min_size", 16)), "iou_loss": A.flag(node, "iou_loss", False),
            "output_score": A.flag(node, "output_score", False)}


def proposal(cls_prob: Tensor, bbox_pred: Tensor, im_info: Tensor, *, node: str = "?",
             **kw: object) -> Tensor | tuple[Tensor, Tensor]:
    """``_contrib_Proposal``: MultiProposal for one image. MXNet 1.9.1 infers the output shape for any
    batch but its forward refuses a batch larger than 1, so a batch > 1 raises ValueError here too (at the
    first forward, or in ``mxtorch check`` / the memory check when the input shapes are known)."""
    b = cls_prob.shape[0]
    if b != 1:
        raise ValueError(f"op '_contrib_Proposal' (node {node!r}): a batch of {b} images is not supported: "
                         f"MXNet 1.9.1 refuses it ('multiple images each device is not implemented'); "
                         f"_contrib_MultiProposal takes a batch")
    return multi_proposal(cls_prob, bbox_pred, im_info, **kw)  # type: ignore[arg-type]


@register("_contrib_Proposal")
def _proposal(node: Node) -> Lowered:
    kw = _proposal_kwargs(node)
    kw["node"] = node.name
    return Lowered(proposal, kw, num_outputs=2 if kw["output_score"] else 1)


@register("_contrib_MultiProposal")
def _multi_proposal(node: Node) -> Lowered:
    kw = _proposal_kwargs(node)
    return Lowered(multi_proposal, kw, num_outputs=2 if kw["output_score"] else 1)
