"""Convolution, Deconvolution, FullyConnected (SYMBOL.md §4.1)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from . import _attrs as A
from ._common import NC_LAYOUTS
from ._registry import Lowered, Node, register, unsupported


def _conv_common(node: Node) -> tuple[int, dict]:
    """The attributes Convolution and Deconvolution share, in the ranges MXNet enforces: kernel, stride and
    dilate >= 1, pad >= 0, num_filter >= 1, num_group >= 1 dividing num_filter."""
    kernel = A.ints(node, "kernel", None, min=1, max=A.INT_MAX)
    if kernel is None or not 1 <= len(kernel) <= 3:
        raise unsupported(node, f"kernel={kernel!r}", ["a kernel of 1, 2 or 3 dimensions"])
    nd = len(kernel)
    layout = A.text(node, "layout")
    if layout not in (None, NC_LAYOUTS[nd]):
        raise unsupported(node, f"layout={layout!r}", ["layout=None", f"layout={NC_LAYOUTS[nd]!r}"])
    num_filter = A.req_int(node, "num_filter", None, min=1, max=A.INT_MAX)
    groups = A.req_int(node, "num_group", 1, min=1, max=A.INT_MAX)
    if num_filter % groups:
        raise unsupported(node, f"num_group={groups} with num_filter={num_filter}",
                          ["num_group dividing num_filter"])
    return nd, dict(stride=A.per_dim(node, "stride", nd, 1, min=1, max=A.INT_MAX),
                    pad=A.per_dim(node, "pad", nd, 0, min=0, max=A.INT_MAX),
                    dilate=A.per_dim(node, "dilate", nd, 1, min=1, max=A.INT_MAX), groups=groups)


_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_DECONV = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def convolution(x: Tensor, weight: Tensor, bias: Tensor | None = None, *, stride: tuple[int, ...],
                pad: tuple[int, ...], dilate: tuple[int, ...], groups: int) -> Tensor:
    """MXNet Convolution: ``F.conv{d}d`` with the kernel's dimensionality."""
    return _CONV[len(stride)](x, weight, bias, stride, pad, dilate, groups)


@register("Convolution")
@register("Convolution_v1")
def _convolution(node: Node) -> Lowered:
    _, kw = _conv_common(node)
    no_bias = A.flag(node, "no_bias", False)
    return Lowered(convolution, kw, inputs=(0, 1) if no_bias else (0, 1, 2))


def deconvolution(x: Tensor, weight: Tensor, bias: Tensor | None = None, *, stride: tuple[int, ...],
                  pad: tuple[int, ...], dilate: tuple[int, ...], groups: int, adj: tuple[int, ...],
                  target_shape: tuple[int, ...] | None = None) -> Tensor:
    """MXNet Deconvolution: ``F.conv_transpose{d}d``; a ``target_shape`` sets pad and adj per dimension
    from the input size (``t = s(in-1) + dilate(k-1) + 1 - target``, ``adj = t % 2``, ``pad = (t+1)//2``)."""
    nd = len(stride)
    if target_shape is not None:
        kernel = weight.shape[2:]
        pads, adjs = [], []
        for i in range(nd):
            t = stride[i] * (x.shape[2 + i] - 1) + dilate[i] * (kernel[i] - 1) + 1 - target_shape[i]
            torch._check(t >= 0, lambda: "Deconvolution target_shape larger than the full output")
            adjs.append(t % 2)
            pads.append((t + 1) // 2)
        pad, adj = tuple(pads), tuple(adjs)
    return _DECONV[nd](x, weight, bias, stride, pad, adj, groups, dilate)


@register("Deconvolution")
def _deconvolution(node: Node) -> Lowered:
    nd, kw = _conv_common(node)
    kw["adj"] = adj = A.per_dim(node, "adj", nd, 0, min=0)
    if any(a >= s for a, s in zip(adj, kw["stride"])):
        raise unsupported(node, f"adj={adj} with stride={kw['stride']}", ["adj < stride (MXNet enforces it)"])
    target = A.ints(node, "target_shape", (), min=0, max=A.INT_MAX)
    if target and any(t != 0 for t in target):
        if len(target) != nd:
            raise unsupported(node, f"target_shape={target}", [f"target_shape of length {nd}"])
        kw["target_shape"] = target
    no_bias = A.flag(node, "no_bias", True)  # Deconvolution: no bias unless asked for
    return Lowered(deconvolution, kw, inputs=(0, 1) if no_bias else (0, 1, 2))


def fully_connected(x: Tensor, weight: Tensor, bias: Tensor | None = None, *, flatten: bool) -> Tensor:
    """MXNet FullyConnected: with ``flatten`` the input becomes ``(N, -1)`` (1-D ``(n,)`` -> ``(n, 1)``);
    without it the last axis is mapped."""
    if flatten:
        x = x.reshape(x.shape[0], -1) if x.dim() > 1 else x.reshape(-1, 1)
    return F.linear(x, weight, bias)


@register("FullyConnected")
def _fully_connected(node: Node) -> Lowered:
    A.req_int(node, "num_hidden", None, min=1, max=A.INT_MAX)  # the weight's shape says it; MXNet checks it
    no_bias = A.flag(node, "no_bias", False)
    return Lowered(fully_connected, {"flatten": A.flag(node, "flatten", True)},
                   inputs=(0, 1) if no_bias else (0, 1, 2))
