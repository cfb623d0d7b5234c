"""Resizing and spatial-normalisation ops (issue 17): _contrib_BilinearResize2D, _contrib_AdaptiveAvgPooling2D,
LRN.

MXNet's rules that matter here:

* BilinearResize2D's ``align_corners`` defaults to True (PyTorch's to False). Source positions are
  ``dst * (in-1)/(out-1)`` (align_corners) or ``max((dst + 0.5) * in/out - 0.5, 0)``, in float32; an output
  of size 1 always reads source row/column 0 (MXNet's scale is 0 there, where PyTorch samples the centre).
  The output size: ``height``/``width``, or ``int(scale * in)`` when ``scale_height`` is given (MXNet then
  also reads ``scale_width``; a ``scale_width`` without ``scale_height`` is ignored), or the like input's
  size, or the input's size moved to an even/odd neighbour, or ``odd_scale``'s ``(in - 1) * scale + 1``
  for an odd size. Sizes derived from the input stay symbolic (``x.shape``) so they export.
* AdaptiveAvgPooling2D averages rows ``floor(i*H/out) .. ceil((i+1)*H/out)`` (PyTorch's rule);
  ``output_size`` () is 1x1, one value is square.
* LRN: ``x / (knorm + alpha/nsize * sum of x^2 over nsize neighbouring channels)^beta`` (nsize odd).
"""

from __future__ import annotations

import struct

import torch
import torch.nn.functional as F
from torch import Tensor

from . import _attrs as A
from ._registry import Lowered, Node, register, unsupported


# ---- bilinear resize ---------------------------------------------------------------------------------------
def _taps(in_size, out_size, align_corners: bool, device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
    """For each output position along one axis: the lower source index, the upper one (clamped) and the
    float32 weight of the upper one, by MXNet's float32 rule."""
    if isinstance(out_size, int) and out_size <= 1:
        scale = 0.0
    elif align_corners:
        scale = (in_size - 1) / (out_size - 1)
    else:
        scale = in_size / out_size
    pos = torch.arange(out_size, dtype=torch.float32, device=device)
    src = pos * scale if align_corners else ((pos + 0.5) * scale - 0.5).clamp_min(0.0)
    lo = src.to(torch.int64)  # truncation: src >= 0
    lam = src - lo.to(torch.float32)
    hi = torch.clamp(lo + 1, max=in_size - 1)
    return lo, hi, lam


def bilinear_resize(x: Tensor, out_h, out_w, align_corners: bool) -> Tensor:
    """``x`` (N, C, H, W) resized to ``out_h x out_w`` by MXNet's bilinear rule (float32 weights)."""
    h, w = x.shape[2], x.shape[3]
    h_lo, h_hi, h_lam = _taps(h, out_h, align_corners, x.device)
    w_lo, w_hi, w_lam = _taps(w, out_w, align_corners, x.device)
    h_lam, w_lam = h_lam.to(x.dtype), w_lam.to(x.dtype)
    top, bottom = x.index_select(2, h_lo), x.index_select(2, h_hi)
    w0, w1 = (1 - w_lam), w_lam

    def across(rows: Tensor) -> Tensor:
        return w0 * rows.index_select(3, w_lo) + w1 * rows.index_select(3, w_hi)

    h1 = h_lam.reshape(-1, 1)
    return (1 - h1) * across(top) + h1 * across(bottom)


def _scaled(size, scale: float):
    """``int(scale * size)`` as MXNet computes it (float32 product, truncated)."""
    if isinstance(size, int):  # float32(scale) * float32(size) is exact in a double; round it to float32
        return int(_f32(_f32(scale) * _f32(float(size))))
    return torch.sym_int(size * scale)


def _f32(v: float) -> float:
    return struct.unpack("f", struct.pack("f", v))[0]


def _odd_scaled(size, scale: float):
    if isinstance(size, int):
        return _scaled(size, scale) if size % 2 == 0 else _scaled(size - 1, scale) + 1
    return torch.sym_int(size * scale)  # a symbolic size is assumed even (odd_scale is for even maps)


def bilinear_resize2d(x: Tensor, *like: Tensor, mode: str, height: int, width: int,
                      scale_height: float | None, scale_width: float | None, align_corners: bool) -> Tensor:
    """``_contrib_BilinearResize2D`` in every ``mode`` (see the module docstring for the size rule)."""
    h, w = x.shape[2], x.shape[3]
    if mode == "size":
        if scale_height is not None:
            oh, ow = _scaled(h, scale_height), _scaled(w, scale_width)
        else:
            oh, ow = height, width
    elif mode == "odd_scale":
        oh, ow = _odd_scaled(h, scale_height), _odd_scaled(w, scale_width)
    elif mode == "like":
        oh, ow = like[0].shape[2], like[0].shape[3]
    elif mode == "to_even_down":
        oh, ow = h - h % 2, w - w % 2
    elif mode == "to_even_up":
        oh, ow = h + h % 2, w + w % 2
    elif mode == "to_odd_down":
        oh, ow = h - 1 + h % 2, w - 1 + w % 2
    else:  # to_odd_up
        oh, ow = h + 1 - h % 2, w + 1 - w % 2
    return bilinear_resize(x, oh, ow, align_corners)


_RESIZE_MODES = ("size", "odd_scale", "like", "to_even_down", "to_even_up", "to_odd_down", "to_odd_up")


@register("_contrib_BilinearResize2D")
def _bilinear_resize2d(node: Node) -> Lowered:
    mode = A.choice(node, "mode", _RESIZE_MODES, "size")
    height, width = A.req_int(node, "height", 1), A.req_int(node, "width", 1)
    sh = None if A.text(node, "scale_height") is None else A.num(node, "scale_height")
    sw = None if A.text(node, "scale_width") is None else A.num(node, "scale_width")
    if height < 1 or width < 1:
        raise unsupported(node, f"height={height}, width={width}", ["height >= 1, width >= 1"])
    if (mode == "size" and sh is not None and sw is None) or (mode == "odd_scale" and (sh is None or sw is None)):
        raise unsupported(node, f"mode={mode!r} with scale_height={sh}, scale_width={sw}",
                          ["scale_height and scale_width both given"])
    if any(s is not None and not s > 0 for s in (sh, sw)):
        raise unsupported(node, f"scale_height={sh}, scale_width={sw}", ["positive scales"])
    if mode == "size" and sh is None:
        sw = None  # MXNet ignores scale_width when scale_height is not given
    kw = {"mode": mode, "height": height, "width": width, "scale_height": sh, "scale_width": sw,
          "align_corners": A.flag(node, "align_corners", True)}
    return Lowered(bilinear_resize2d, kw, inputs=(0, 1) if mode == "like" else (0,))


# ---- adaptive average pooling --------------------------------------------------------------------------------
def adaptive_avg_pool2d(x: Tensor, *, output_size: tuple[int, int]) -> Tensor:
    """``_contrib_AdaptiveAvgPooling2D``: the mean of each ``floor(i*H/oh) .. ceil((i+1)*H/oh)`` window."""
    return F.adaptive_avg_pool2d(x, output_size)


@register("_contrib_AdaptiveAvgPooling2D")
def _adaptive_avg_pool2d(node: Node) -> Lowered:
    size = A.ints(node, "output_size", ()) or ()
    if len(size) == 1:
        size = (size[0], size[0])
    elif len(size) != 2:  # () and (MXNet's reading of) a longer tuple both give 1x1
        size = (1, 1)
    if any(s < 1 for s in size):
        raise unsupported(node, f"output_size={size}", ["output sizes >= 1"])
    return Lowered(adaptive_avg_pool2d, {"output_size": tuple(size)})


# ---- LRN -------------------------------------------------------------------------------------------------------
def lrn(x: Tensor, *, nsize: int, alpha: float, beta: float, knorm: float) -> Tensor:
    """``LRN`` across channels: ``x / (knorm + alpha/nsize * window sum of x^2)^beta``."""
    return F.local_response_norm(x, nsize, alpha=alpha, beta=beta, k=knorm)


@register("LRN")
def _lrn(node: Node) -> Lowered:
    nsize = A.req_int(node, "nsize")
    if nsize < 1 or nsize % 2 == 0:
        raise unsupported(node, f"nsize={nsize}", ["an odd nsize >= 1 (MXNet refuses even sizes)"])
    kw = {"nsize": nsize, "alpha": A.num(node, "alpha", 1e-4), "beta": A.num(node, "beta", 0.75),
          "knorm": A.num(node, "knorm", 2.0)}
    return Lowered(lrn, kw)
