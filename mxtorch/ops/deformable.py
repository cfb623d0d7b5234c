"""Deformable convolution and pooling (SYMBOL.md §4.9): _contrib_DeformableConvolution (v1),
_contrib_ModulatedDeformableConvolution (v2), _contrib_DeformablePSROIPooling.

A deformable convolution samples, for output position ``(y, x)`` and kernel tap ``(i, j)``, the input
at ``(y*s - p + i*d + dy, x*s - p + j*d + dx)`` with the learnt offset ``(dy, dx)`` of the tap's
deformable group (offset channels per group: ``2*(i*kw + j)`` is dy, ``+1`` is dx), then multiplies the
sampled columns by the weights (a grouped matmul). The two versions differ in MXNet's out-of-bounds
rule, kept exactly:

- v1: a sample outside ``[0, H) x [0, W)`` is 0; inside, the bilinear corners are clamped to the last
  row/column (no blend with zero past the edge).
- v2: a sample outside ``(-1, H) x (-1, W)`` is 0; inside, corners beyond the map read 0 (zero-padded
  bilinear); the result is scaled by the tap's ``mask`` value.

DeformablePSROIPooling averages ``sample_per_part**2`` bilinear samples of each bin (shifted by
``trans * trans_std`` times the roi size per part and class), skipping samples beyond
``[-0.5, size - 0.5]`` (the mean is over those kept; none kept gives 0).

Sampling is gather-based (four ``gather``s per sample of a flattened map), so it traces under
torch.export and exports to ONNX, with no per-pixel Python loop.
"""

from __future__ import annotations

import torch
from torch import Tensor

from . import _attrs as A
from ._common import f32, mx_round
from ._registry import Lowered, Node, register, unsupported


def _corners(y: Tensor, x: Tensor, h: int, w: int, modulated: bool) -> tuple[list[Tensor], list[Tensor]]:
    """Flat indices (into an H*W plane) and weights of the four bilinear corners of each sample, with the
    weight of an out-of-bounds sample or corner set to 0 (v1 or v2 rule)."""
    dt = y.dtype
    if modulated:
        inside = (y > -1) & (x > -1) & (y < h) & (x < w)
        yl = torch.floor(y)
        xl = torch.floor(x)
        ly, lx = y - yl, x - xl
        yl, xl = yl.to(torch.int64), xl.to(torch.int64)
        yh, xh = yl + 1, xl + 1
        oky = [yl >= 0, yh <= h - 1]
        okx = [xl >= 0, xh <= w - 1]
    else:
        inside = (y >= 0) & (x >= 0) & (y < h) & (x < w)
        yl = torch.floor(y).to(torch.int64)
        xl = torch.floor(x).to(torch.int64)
        ey, ex = yl >= h - 1, xl >= w - 1
        yh = torch.where(ey, torch.full_like(yl, h - 1), yl + 1)
        xh = torch.where(ex, torch.full_like(xl, w - 1), xl + 1)
        ly = torch.where(ey, torch.zeros_like(y), y - yl.to(dt))
        lx = torch.where(ex, torch.zeros_like(x), x - xl.to(dt))
        oky = [torch.ones_like(inside), torch.ones_like(inside)]
        okx = oky
    hy, hx = 1 - ly, 1 - lx
    ins = inside.to(dt)
    ys = [yl.clamp(0, h - 1), yh.clamp(0, h - 1)]
    xs = [xl.clamp(0, w - 1), xh.clamp(0, w - 1)]
    wy = [hy, ly]
    wx = [hx, lx]
    idx, wts = [], []
    for a in range(2):
        for b in range(2):
            idx.append(ys[a] * w + xs[b])
            wts.append(wy[a] * wx[b] * ins * (oky[a] & okx[b]).to(dt))
    return idx, wts


def _deform_columns(data: Tensor, offset: Tensor, mask: Tensor | None, kernel: tuple[int, int],
                    stride: tuple[int, int], pad: tuple[int, int], dilate: tuple[int, int],
                    deformable_groups: int) -> Tensor:
    """The sampled columns (N, C, K, Ho*Wo) of a deformable convolution (K = kh*kw)."""
    n, c, h, w = data.shape
    ho, wo = offset.shape[2], offset.shape[3]
    kh, kw = kernel
    k = kh * kw
    g = deformable_groups
    dt = data.dtype
    dev = data.device
    off = offset.reshape(n, g, k, 2, ho, wo)
    ti = torch.arange(kh, device=dev).repeat_interleave(kw)  # tap -> i
    tj = torch.arange(kw, device=dev).repeat(kh)  # tap -> j
    base_y = (torch.arange(ho, device=dev) * stride[0] - pad[0]).view(1, -1, 1) + (ti * dilate[0]).view(-1, 1, 1)
    base_x = (torch.arange(wo, device=dev) * stride[1] - pad[1]).view(1, 1, -1) + (tj * dilate[1]).view(-1, 1, 1)
    y = base_y.to(dt) + off[:, :, :, 0]  # (N, G, K, Ho, Wo)
    x = base_x.to(dt) + off[:, :, :, 1]
    # MXNet's arithmetic: the four weighted corners summed in order, then (v2) times the tap's mask. (torch's
    # grid_sample is ~3x faster but its normalised coordinates lose a few ulps of the sample position: 2-5e-6
    # from MXNet per layer on CenterNet-DCNv2's shapes, against 3-5e-7 this way.)
    idx, wts = _corners(y, x, h, w, mask is not None)
    planes = data.reshape(n, g, c // g, h * w)
    cols = None
    for i, wt in zip(idx, wts):
        flat = i.reshape(n, g, 1, -1).expand(n, g, c // g, k * ho * wo)
        v = torch.gather(planes, 3, flat) * wt.reshape(n, g, 1, -1)
        cols = v if cols is None else cols + v
    if mask is not None:
        cols = cols.reshape(n, g, c // g, k, ho * wo) * mask.reshape(n, g, 1, k, ho * wo)
    return cols.reshape(n, c, k, ho * wo)


def deformable_convolution(data: Tensor, offset: Tensor, weight: Tensor, bias: Tensor | None = None, *,
                           kernel: tuple[int, int], stride: tuple[int, int], pad: tuple[int, int],
                           dilate: tuple[int, int], num_group: int, num_deformable_group: int) -> Tensor:
    """MXNet's _contrib_DeformableConvolution (v1) forward: (N, num_filter, Ho, Wo)."""
    return _deform_conv(data, offset, None, weight, bias, kernel, stride, pad, dilate, num_group,
                        num_deformable_group)


def modulated_deformable_convolution(data: Tensor, offset: Tensor, mask: Tensor, weight: Tensor,
                                     bias: Tensor | None = None, *, kernel: tuple[int, int],
                                     stride: tuple[int, int], pad: tuple[int, int], dilate: tuple[int, int],
                                     num_group: int, num_deformable_group: int) -> Tensor:
    """MXNet's _contrib_ModulatedDeformableConvolution (v2, DCNv2) forward: (N, num_filter, Ho, Wo)."""
    return _deform_conv(data, offset, mask, weight, bias, kernel, stride, pad, dilate, num_group,
                        num_deformable_group)


def _deform_conv(data, offset, mask, weight, bias, kernel, stride, pad, dilate, groups, dgroups) -> Tensor:
    n = data.shape[0]
    ho, wo = offset.shape[2], offset.shape[3]
    f = weight.shape[0]
    cols = _deform_columns(data, offset, mask, kernel, stride, pad, dilate, dgroups)  # (N, C, K, L)
    cols = cols.reshape(n, groups, -1, ho * wo)
    wmat = weight.reshape(groups, f // groups, -1)
    out = torch.matmul(wmat.unsqueeze(0), cols).reshape(n, f, ho, wo)
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out


def deformable_psroi_pooling(data: Tensor, rois: Tensor, trans: Tensor | None = None, *, spatial_scale: float,
                             output_dim: int, group_size: int, pooled_size: int, part_size: int,
                             sample_per_part: int, trans_std: float, no_trans: bool) -> Tensor:
    """MXNet's _contrib_DeformablePSROIPooling forward (the visible output): (R, output_dim, P, P)."""
    n, c, h, w = data.shape
    p, s, gs = pooled_size, sample_per_part, group_size
    dt = data.dtype
    dev = data.device
    b = rois[:, 0].to(torch.int64).clamp(0, n - 1)
    rd = mx_round(rois[:, 1:5])
    x1, y1, x2, y2 = rd.unbind(1)
    sw = x1 * spatial_scale - 0.5
    sh = y1 * spatial_scale - 0.5
    ew = (x2 + 1.0) * spatial_scale - 0.5
    eh = (y2 + 1.0) * spatial_scale - 0.5
    rw = (ew - sw).clamp(min=f32(0.1))
    rh = (eh - sh).clamp(min=f32(0.1))
    bw, bh = rw / p, rh / p
    sbw, sbh = bw / s, bh / s
    # static per-bin tables: part cell, group cell (float32 as MXNet computes them)
    part = [int(f32(f32(i / p) * part_size) // 1) for i in range(p)]
    grp = [min(max((i * gs) // p, 0), gs - 1) for i in range(p)]
    ip = torch.arange(p, device=dev).to(dt)
    wstart = ip.view(1, 1, 1, p) * bw.view(-1, 1, 1, 1) + sw.view(-1, 1, 1, 1)  # (R, 1, 1, P)
    hstart = ip.view(1, 1, p, 1) * bh.view(-1, 1, 1, 1) + sh.view(-1, 1, 1, 1)  # (R, 1, P, 1)
    if not no_trans:
        classes = trans.shape[1] // 2
        each = output_dim // classes
        cls = torch.arange(output_dim, device=dev) // each  # (C',)
        ph_idx = torch.tensor(part, device=dev)
        t = trans.reshape(trans.shape[0], classes, 2, part_size, part_size)
        t = t[:, :, :, ph_idx][:, :, :, :, ph_idx]  # (R, classes, 2, P, P)
        t = t[:, cls] * trans_std  # (R, C', 2, P, P)
        wstart = wstart + t[:, :, 0] * rw.view(-1, 1, 1, 1)
        hstart = hstart + t[:, :, 1] * rh.view(-1, 1, 1, 1)
    r = rois.shape[0]
    wstart = wstart.expand(r, output_dim, p, p)
    hstart = hstart.expand(r, output_dim, p, p)
    i_s = torch.arange(s, device=dev).to(dt)
    xs = wstart.unsqueeze(-1).unsqueeze(-1) + (i_s.view(1, -1) * sbw.view(-1, 1, 1, 1, 1, 1))  # (R,C',P,P,1,S)
    ys = hstart.unsqueeze(-1).unsqueeze(-1) + (i_s.view(-1, 1) * sbh.view(-1, 1, 1, 1, 1, 1))  # (R,C',P,P,S,1)
    xs, ys = torch.broadcast_tensors(xs, ys)
    keep = ~((xs < -0.5) | (xs > w - 0.5) | (ys < -0.5) | (ys > h - 0.5))
    xs = xs.clamp(0, w - 1)
    ys = ys.clamp(0, h - 1)
    x_lo, y_lo = torch.floor(xs), torch.floor(ys)
    dx, dy = xs - x_lo, ys - y_lo
    x_lo, y_lo = x_lo.to(torch.int64), y_lo.to(torch.int64)
    x_hi, y_hi = torch.ceil(xs).to(torch.int64), torch.ceil(ys).to(torch.int64)
    chan = torch.tensor([[[(ct * gs + grp[i]) * gs + grp[j] for j in range(p)] for i in range(p)]
                         for ct in range(output_dim)], dtype=torch.int64, device=dev)
    plane = ((b.view(-1, 1, 1, 1) * c + chan.unsqueeze(0)) * h).view(r, output_dim, p, p, 1, 1)
    flat = data.reshape(-1)

    def at(yy: Tensor, xx: Tensor) -> Tensor:
        return flat[(plane + yy) * w + xx]

    val = ((1 - dx) * (1 - dy) * at(y_lo, x_lo) + (1 - dx) * dy * at(y_hi, x_lo)
           + dx * (1 - dy) * at(y_lo, x_hi) + dx * dy * at(y_hi, x_hi))
    keepf = keep.to(dt)
    total = (val * keepf).sum((-1, -2))
    count = keepf.sum((-1, -2))
    return torch.where(count > 0, total / count.clamp(min=1), torch.zeros((), dtype=dt, device=dev))


# ---- converters --------------------------------------------------------------------------------------


def _conv_attrs(node: Node) -> dict:
    kernel = A.ints(node, "kernel", None)
    if kernel is None or len(kernel) != 2:
        raise unsupported(node, f"kernel={kernel}", ["a 2-D kernel (MXNet implements no other)"])
    layout = A.text(node, "layout")
    if layout not in (None, "NCHW"):
        raise unsupported(node, f"layout={layout}", ["layout=NCHW"])

    def pair(key: str, default: int, least: int) -> tuple[int, int]:
        v = A.ints(node, key, ()) or (default, default)
        if len(v) != 2 or min(v) < least:
            raise unsupported(node, f"{key}={v}", [f"{key}=(a, b) with a, b >= {least}"])
        return (int(v[0]), int(v[1]))

    kernel = pair("kernel", 1, 1)
    stride = pair("stride", 1, 1)
    dilate = pair("dilate", 1, 1)
    pad = pair("pad", 0, 0)
    num_filter = A.req_int(node, "num_filter")
    groups = A.req_int(node, "num_group", 1)
    dgroups = A.req_int(node, "num_deformable_group", 1)
    if num_filter < 1 or groups < 1 or dgroups < 1 or num_filter % groups:
        raise unsupported(node, f"num_filter={num_filter}, num_group={groups}, num_deformable_group={dgroups}",
                          ["num_filter, num_group, num_deformable_group >= 1, num_filter divisible by num_group"])
    return {"kernel": kernel, "stride": stride, "pad": pad, "dilate": dilate, "num_group": groups,
            "num_deformable_group": dgroups}


@register("_contrib_DeformableConvolution")
def _deformable_convolution(node: Node) -> Lowered:
    kw = _conv_attrs(node)
    return Lowered(deformable_convolution, kw)


@register("_contrib_ModulatedDeformableConvolution")
def _modulated_deformable_convolution(node: Node) -> Lowered:
    kw = _conv_attrs(node)
    return Lowered(modulated_deformable_convolution, kw)


@register("_contrib_DeformablePSROIPooling")
def _deformable_psroi_pooling(node: Node) -> Lowered:
    s = A.num(node, "spatial_scale")
    if not 0.0 <= s <= 1.0:
        raise unsupported(node, f"spatial_scale={s}", ["0 <= spatial_scale <= 1"])
    out_dim = A.req_int(node, "output_dim")
    group = A.req_int(node, "group_size")
    pooled = A.req_int(node, "pooled_size")
    part = A.req_int(node, "part_size", 0) or pooled  # 0 means pooled_size
    spp = A.req_int(node, "sample_per_part", 1)
    if min(out_dim, group, pooled, part, spp) < 1:
        raise unsupported(node, f"output_dim={out_dim}, group_size={group}, pooled_size={pooled}, "
                          f"part_size={part}, sample_per_part={spp}", ["all >= 1"])
    no_trans = A.flag(node, "no_trans")
    return Lowered(deformable_psroi_pooling,
                   {"spatial_scale": f32(s), "output_dim": out_dim, "group_size": group, "pooled_size": pooled,
                    "part_size": part, "sample_per_part": spp, "trans_std": f32(A.num(node, "trans_std", 0.0)),
                    "no_trans": no_trans})
