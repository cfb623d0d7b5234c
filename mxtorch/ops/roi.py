"""Regions of interest (SYMBOL.md §4.9): ROIPooling, _contrib_ROIAlign, _contrib_PSROIPooling.

Every op pools a fixed ``pooled_size`` grid out of each roi ``[batch, x1, y1, x2, y2]`` (image
coordinates, scaled by ``spatial_scale`` onto the feature map), with MXNet 1.9.1's CPU arithmetic:

- ROIPooling rounds the scaled corners half away from zero, takes integer bins ``[floor(i*b),
  ceil((i+1)*b))`` (``b`` = roi extent + 1 over the pooled size, float32), clips them to the map, and
  gives the max of each bin (an empty bin, or a batch index outside the batch, gives 0).
- ROIAlign averages ``grid_h x grid_w`` bilinear samples per bin (``grid = sample_ratio``, or
  ``ceil(roi extent / pooled)`` when it is -1); a sample beyond ``[-1, size]`` counts as 0, one in
  ``[-1, 0]`` reads the border. ``aligned`` shifts the roi by half a pixel and drops the 1x1 minimum;
  ``position_sensitive`` reads channel ``(c*PH + ph)*PW + pw`` for output channel ``c`` at bin
  ``(ph, pw)``. A negative batch index gives 0 (what MXNet documents; its CPU kernel only zeroes one
  element and leaves the rest of such a roi's output uninitialised).
- PSROIPooling rounds the corners, takes ``[x1, x2 + 1) * spatial_scale`` (at least 0.1 wide), and
  averages integer bins of channel ``(c*group + gh)*group + gw``.

The samples are data-dependent but their count is not: ROIAlign builds, per roi, dense separable
sample weights over the map rows and columns (the bilinear weight of every sample is a product of a
row and a column factor) and applies them with two matmuls; ROIPooling queries a 2-D sparse table of
window maxima (four gathers per bin); PSROIPooling reads a summed-area table. All trace under
torch.export with a symbolic number of rois.
"""

from __future__ import annotations

import torch
from torch import Tensor

from . import _attrs as A
from ._common import f32, mx_round
from ._registry import Lowered, Node, register, unsupported

_FLT_MAX = 3.4028234663852886e38


def _batch_select(b: Tensor, n: int, dtype: torch.dtype) -> Tensor:
    """(R, N) one-hot of each roi's batch index (all zero for an index outside ``[0, N)``)."""
    return (b.unsqueeze(1) == torch.arange(n, device=b.device).unsqueeze(0)).to(dtype)


def _floor_log2(length: Tensor, levels: int) -> tuple[Tensor, Tensor]:
    """``k = floor(log2(length))`` and ``2**k`` for ``1 <= length < 2**levels`` (integer tensors)."""
    k = torch.zeros_like(length)
    p2 = torch.ones_like(length)
    for j in range(1, levels):
        ge = (length >= (1 << j)).to(length.dtype)
        k = k + ge
        p2 = p2 + ge * (1 << (j - 1))
    return k, p2


def _window_max_table(data: Tensor, lh: int, lw: int) -> Tensor:
    """Sparse table ``T[kh, kw, n, c, y, x] = max(data[n, c, y:y+2**kh, x:x+2**kw])`` (-inf past the edge)."""
    rows = [data]
    for k in range(1, lw):
        prev = rows[-1]
        s = 1 << (k - 1)
        shifted = torch.cat([prev[..., s:], torch.full_like(prev[..., :s], float("-inf"))], dim=-1)
        rows.append(torch.maximum(prev, shifted))
    table = []
    for row in rows:
        cols = [row]
        for k in range(1, lh):
            prev = cols[-1]
            s = 1 << (k - 1)
            shifted = torch.cat([prev[..., s:, :], torch.full_like(prev[..., :s, :], float("-inf"))], dim=-2)
            cols.append(torch.maximum(prev, shifted))
        table.append(torch.stack(cols, 0))  # (LH, N, C, H, W)
    return torch.stack(table, 1)  # (LH, LW, N, C, H, W)


def roi_pooling(data: Tensor, rois: Tensor, *, pooled_size: tuple[int, int], spatial_scale: float) -> Tensor:
    """Max pooling of integer bins of each roi (MXNet's ROIPooling forward): (R, C, PH, PW)."""
    n, c, h, w = data.shape
    ph_n, pw_n = pooled_size
    dt = data.dtype
    b = rois[:, 0].to(torch.int64)  # C's int conversion truncates
    valid = (b >= 0) & (b < n)
    b = b.clamp(0, n - 1)
    corners = mx_round(rois[:, 1:5] * spatial_scale).to(torch.int64)
    sw, sh, ew, eh = corners.unbind(1)
    rh = (eh - sh + 1).clamp(min=1)
    rw = (ew - sw + 1).clamp(min=1)
    bin_h = rh.to(dt) / ph_n
    bin_w = rw.to(dt) / pw_n
    iph = torch.arange(ph_n, device=data.device).to(dt)
    ipw = torch.arange(pw_n, device=data.device).to(dt)
    hs = (torch.floor(iph.unsqueeze(0) * bin_h.unsqueeze(1)).to(torch.int64) + sh.unsqueeze(1)).clamp(0, h)
    he = (torch.ceil((iph + 1).unsqueeze(0) * bin_h.unsqueeze(1)).to(torch.int64) + sh.unsqueeze(1)).clamp(0, h)
    ws = (torch.floor(ipw.unsqueeze(0) * bin_w.unsqueeze(1)).to(torch.int64) + sw.unsqueeze(1)).clamp(0, w)
    we = (torch.ceil((ipw + 1).unsqueeze(0) * bin_w.unsqueeze(1)).to(torch.int64) + sw.unsqueeze(1)).clamp(0, w)
    empty = (he <= hs).unsqueeze(2) | (we <= ws).unsqueeze(1)  # (R, PH, PW)
    keep = (~empty) & valid.view(-1, 1, 1)

    lh, lw = int(h).bit_length(), int(w).bit_length()
    table = _window_max_table(data, lh, lw).permute(3, 0, 1, 2, 4, 5).reshape(c, -1)
    len_h = (he - hs).clamp(min=1)
    len_w = (we - ws).clamp(min=1)
    kh, p2h = _floor_log2(len_h, lh)
    kw, p2w = _floor_log2(len_w, lw)
    y0 = hs.clamp(0, h - 1)
    y1 = (hs + len_h - p2h).clamp(0, h - 1)
    x0 = ws.clamp(0, w - 1)
    x1 = (ws + len_w - p2w).clamp(0, w - 1)
    lvl = ((kh.unsqueeze(2) * lw + kw.unsqueeze(1)) * n).view(-1, ph_n, pw_n)  # (R, PH, PW)
    base = (lvl + b.view(-1, 1, 1)) * (h * w)
    best = None
    for yy in (y0, y1):
        for xx in (x0, x1):
            idx = base + yy.unsqueeze(2) * w + xx.unsqueeze(1)
            got = table.index_select(1, idx.reshape(-1))
            best = got if best is None else torch.maximum(best, got)
    out = best.view(c, -1, ph_n, pw_n).permute(1, 0, 2, 3)
    out = out.clamp(min=-_FLT_MAX) if dt == torch.float32 else out
    return torch.where(keep.unsqueeze(1), out, torch.zeros((), dtype=dt, device=data.device))


def _align_weights(start: Tensor, bin_size: Tensor, grid: Tensor, pooled: int, size: int,
                   samples: int, adaptive: bool) -> Tensor:
    """(R, pooled, size): the summed bilinear weight of each map row (or column) over the samples of
    each bin, with MXNet's rules (beyond ``[-1, size]``: 0; at or below 0: the first row; from
    ``size - 1``: the last row). ``samples`` samples per bin are evaluated; in adaptive mode they start
    just before the first one that can lie inside ``[-1, size]`` (at most ``size + 3`` do)."""
    dt = start.dtype
    dev = start.device
    gf = grid.to(dt).unsqueeze(1)  # (R, 1)
    p = torch.arange(pooled, device=dev).to(dt)
    base = start.unsqueeze(1) + p.unsqueeze(0) * bin_size.unsqueeze(1)  # (R, P)
    steps = torch.arange(samples, device=dev)
    if adaptive:
        step = bin_size.unsqueeze(1) / gf.clamp(min=1)
        first = torch.floor((-1.0 - base) / step.clamp(min=1e-30) - 0.5) - 2
        first = first.clamp(0, 1 << 30).to(torch.int64)
        first = torch.minimum(first, grid.unsqueeze(1))
        i = first.unsqueeze(2) + steps.view(1, 1, -1)  # (R, P, S)
    else:
        i = steps.view(1, 1, -1).expand(base.shape[0], pooled, samples)
    inside = i < grid.view(-1, 1, 1)
    y = base.unsqueeze(2) + (i.to(dt) + 0.5) * bin_size.view(-1, 1, 1) / gf.unsqueeze(2)
    ok = inside & (y >= -1.0) & (y <= size)
    y = y.clamp(min=0)
    low = y.to(torch.int64)
    edge = low >= size - 1
    low = torch.where(edge, torch.full_like(low, size - 1), low)
    high = torch.where(edge, low, low + 1)
    y = torch.where(edge, low.to(dt), y)
    frac = y - low.to(dt)
    okf = ok.to(dt)
    hi_w = frac * okf
    lo_w = (1 - frac) * okf
    pos = torch.arange(size, device=dev).view(1, 1, 1, -1)
    wts = lo_w.unsqueeze(3) * (low.unsqueeze(3) == pos).to(dt) + hi_w.unsqueeze(3) * (high.unsqueeze(3) == pos).to(dt)
    return wts.sum(2)


_CHUNK = 128  # channels per matmul in roi_align (bounds the (R, PH, chunk, W) intermediate)


def roi_align(data: Tensor, rois: Tensor, *, pooled_size: tuple[int, int], spatial_scale: float,
              sample_ratio: int, position_sensitive: bool, aligned: bool) -> Tensor:
    """Average of bilinear samples per bin (MXNet's _contrib_ROIAlign forward): (R, C', PH, PW)."""
    n, c, h, w = data.shape
    ph_n, pw_n = pooled_size
    dt = data.dtype
    b = rois[:, 0].to(torch.int64)  # MXNet's shape check wants (R, 5) rois
    box = rois[:, 1:5]
    scaled = box * spatial_scale
    if aligned:
        scaled = scaled - 0.5
    sw, sh, ew, eh = scaled.unbind(1)
    rw = ew - sw
    rh = eh - sh
    if not aligned:
        rw = rw.clamp(min=1.0)
        rh = rh.clamp(min=1.0)
    bin_h = rh / ph_n
    bin_w = rw / pw_n
    adaptive = sample_ratio <= 0
    if adaptive:
        gh = torch.ceil(rh / ph_n).to(torch.int64)
        gw = torch.ceil(rw / pw_n).to(torch.int64)
        sy, sx = h + 6, w + 6
    else:
        gh = torch.full_like(b, sample_ratio)
        gw = gh
        sy = sx = sample_ratio
    wy = _align_weights(sh, bin_h, gh, ph_n, h, sy, adaptive)  # (R, PH, H)
    wx = _align_weights(sw, bin_w, gw, pw_n, w, sx, adaptive)  # (R, PW, W)
    count = (gh * gw).clamp(min=1).to(dt)
    sel = _batch_select(b, n, dt)  # (R, N): 0 for a batch index outside the batch
    wy = (wy / count.view(-1, 1, 1)).unsqueeze(2) * sel.view(-1, 1, n, 1)  # (R, PH, N, H)
    rows = data.permute(0, 2, 1, 3)  # (N, H, C, W)
    r = rois.shape[0]
    if not position_sensitive:
        outs = []
        for c0 in range(0, c, _CHUNK):
            cc = min(_CHUNK, c - c0)
            d = rows[:, :, c0:c0 + cc, :].reshape(n * h, cc * w)
            v = (wy.reshape(r * ph_n, n * h) @ d).view(r, ph_n * cc, w)
            o = (v @ wx.transpose(1, 2)).view(r, ph_n, cc, pw_n)
            outs.append(o.permute(0, 2, 1, 3))
        return outs[0] if len(outs) == 1 else torch.cat(outs, 1)
    co = c // (ph_n * pw_n)
    grouped = rows.reshape(n, h, co, ph_n, pw_n, w)
    per_row = []
    for p in range(ph_n):
        d = grouped[:, :, :, p].reshape(n * h, co * pw_n * w)
        v = (wy[:, p].reshape(r, n * h) @ d).view(r, co, pw_n, w)
        per_row.append((v * wx.unsqueeze(1)).sum(-1))  # (R, C', PW)
    return torch.stack(per_row, 2)


def psroi_pooling(data: Tensor, rois: Tensor, *, spatial_scale: float, output_dim: int, pooled_size: int,
                  group_size: int) -> Tensor:
    """Position-sensitive average pooling of integer bins (MXNet's _contrib_PSROIPooling): (R, output_dim, P, P)."""
    n, c, h, w = data.shape
    p = pooled_size
    dt = data.dtype
    dev = data.device
    b = rois[:, 0].to(torch.int64)
    valid = (b >= 0) & (b < n)
    b = b.clamp(0, n - 1)
    rounded = mx_round(rois[:, 1:5])
    x1, y1, x2, y2 = rounded.unbind(1)
    sw, sh = x1 * spatial_scale, y1 * spatial_scale
    ew, eh = (x2 + 1.0) * spatial_scale, (y2 + 1.0) * spatial_scale
    rw = (ew - sw).clamp(min=f32(0.1))
    rh = (eh - sh).clamp(min=f32(0.1))
    bin_h, bin_w = rh / p, rw / p
    ip = torch.arange(p, device=dev).to(dt)
    hs = torch.floor(ip.unsqueeze(0) * bin_h.unsqueeze(1) + sh.unsqueeze(1)).to(torch.int64).clamp(0, h)
    he = torch.ceil((ip + 1).unsqueeze(0) * bin_h.unsqueeze(1) + sh.unsqueeze(1)).to(torch.int64).clamp(0, h)
    ws = torch.floor(ip.unsqueeze(0) * bin_w.unsqueeze(1) + sw.unsqueeze(1)).to(torch.int64).clamp(0, w)
    we = torch.ceil((ip + 1).unsqueeze(0) * bin_w.unsqueeze(1) + sw.unsqueeze(1)).to(torch.int64).clamp(0, w)
    empty = (he <= hs).unsqueeze(2) | (we <= ws).unsqueeze(1)  # (R, P, P)
    keep = ((~empty) & valid.view(-1, 1, 1)).unsqueeze(1)
    g = [min(max((i * group_size) // p, 0), group_size - 1) for i in range(p)]
    chan = torch.tensor([[[(ct * group_size + g[i]) * group_size + g[j] for j in range(p)] for i in range(p)]
                         for ct in range(output_dim)], dtype=torch.int64, device=dev)  # (C', P, P)
    sat = torch.nn.functional.pad(data.to(torch.float64).cumsum(2).cumsum(3), (1, 0, 1, 0)).reshape(-1)
    plane = ((b.view(-1, 1, 1, 1) * c + chan.unsqueeze(0)) * (h + 1))  # (R, C', P, P)

    def corner(yy: Tensor, xx: Tensor) -> Tensor:
        return sat[(plane + yy.view(-1, 1, p, 1)) * (w + 1) + xx.view(-1, 1, 1, p)]

    total = corner(he, we) - corner(hs, we) - corner(he, ws) + corner(hs, ws)
    area = ((he - hs).unsqueeze(2) * (we - ws).unsqueeze(1)).unsqueeze(1).clamp(min=1).to(torch.float64)
    out = (total / area).to(dt)
    return torch.where(keep, out, torch.zeros((), dtype=dt, device=dev))


# ---- converters --------------------------------------------------------------------------------------


def _scale(node: Node) -> float:
    s = A.num(node, "spatial_scale")
    if not 0.0 <= s <= 1.0:  # MXNet's declared range
        raise unsupported(node, f"spatial_scale={s}", ["0 <= spatial_scale <= 1"])
    return f32(s)


def _pair(node: Node, key: str) -> tuple[int, int]:
    size = A.ints(node, key, None)
    if size is None or len(size) != 2 or min(size) < 1:
        raise unsupported(node, f"{key}={size}", [f"{key}=(h, w) with h, w >= 1"])
    return (int(size[0]), int(size[1]))


@register("ROIPooling")
def _roi_pooling(node: Node) -> Lowered:
    return Lowered(roi_pooling, {"pooled_size": _pair(node, "pooled_size"), "spatial_scale": _scale(node)})


@register("_contrib_ROIAlign")
def _roi_align(node: Node) -> Lowered:
    size = _pair(node, "pooled_size")
    ratio = A.req_int(node, "sample_ratio", -1)
    return Lowered(roi_align, {"pooled_size": size, "spatial_scale": _scale(node), "sample_ratio": ratio,
                               "position_sensitive": A.flag(node, "position_sensitive"),
                               "aligned": A.flag(node, "aligned")})


@register("_contrib_PSROIPooling")
def _psroi_pooling(node: Node) -> Lowered:
    pooled = A.req_int(node, "pooled_size")
    out_dim = A.req_int(node, "output_dim")
    group = A.req_int(node, "group_size", 0) or pooled  # 0 means pooled_size
    if pooled < 1 or out_dim < 1 or group < 1:
        raise unsupported(node, f"pooled_size={pooled}, output_dim={out_dim}, group_size={group}",
                          ["pooled_size, output_dim, group_size >= 1"])
    return Lowered(psroi_pooling, {"spatial_scale": _scale(node), "output_dim": out_dim, "pooled_size": pooled,
                                   "group_size": group})
