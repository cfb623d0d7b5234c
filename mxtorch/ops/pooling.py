"""Pooling and legacy Pooling_v1 (SYMBOL.md §4.4), with MXNet's window conventions exactly.

Per spatial dimension, output ``i`` covers ``[i*s - p, i*s - p + k)``; ``valid`` has
``(in + 2p - k)//s + 1`` outputs, ``full`` ``ceil((in + 2p - k)/s) + 1``. PyTorch's ``ceil_mode`` drops a
last window starting at or past ``in + p`` that MXNet keeps, and PyTorch refuses ``p > k/2``; those
cases are emulated by padding explicitly (``p`` left, ``p + e`` right with ``e`` the overhang) and pooling
with divisor 1 over the data and over a mask of what counts. Everything else uses the native kernels.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from . import _attrs as A
from ._common import NC_LAYOUTS
from ._registry import Lowered, Node, register, unsupported

_MAX = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


def _out_size(n: int, k: int, s: int, p: int, full: bool) -> int:
    span = n + 2 * p - k
    return (-(-span // s) if full else span // s) + 1


def _pads(x: Tensor, kernel, stride, pad, full: bool) -> tuple[list[int], bool]:
    """Per-dimension right overhang ``e`` beyond the padded input, and whether torch's own kernel
    (floor or ceil mode, padding <= k/2) yields MXNet's windows."""
    extra, native = [], True
    for i, (k, s, p) in enumerate(zip(kernel, stride, pad)):
        n = x.shape[2 + i]
        if isinstance(n, torch.SymInt):  # a dynamic size (export): the padded path, no branch on n, no
            span = n + 2 * p - k           # floor division of a negative (ONNX's Div truncates instead)
            extra.append(((span + s - 1) // s) * s - span if full else 0)
            native = False
            continue
        o = _out_size(n, k, s, p, full)
        e = max(0, (o - 1) * s + k - n - 2 * p)
        extra.append(e)
        if 2 * p > k or (e > 0 and (o - 1) * s >= n + p):
            native = False  # torch refuses the padding, or ceil mode would drop MXNet's last window
    return extra, native


def _flat_pad(pad, extra) -> list[int]:
    """F.pad's argument (last dimension first) for ``p`` left and ``p + e`` right."""
    out: list[int] = []
    for p, e in zip(reversed(pad), reversed(extra)):
        out += [p, p + e]
    return out


def _window_sum(x: Tensor, kernel, stride) -> Tensor:
    """Sum over each window of an already padded input (no padding, divisor 1)."""
    if len(kernel) == 1:  # avg_pool1d has no divisor_override: pool a (…, 1, W) view in 2-D
        return F.avg_pool2d(x.unsqueeze(-2), (1, kernel[0]), (1, stride[0]), divisor_override=1).squeeze(-2)
    return _AVG[len(kernel)](x, kernel, stride, divisor_override=1)


def _global(x: Tensor, pool_type: str, p_value: int) -> Tensor:
    dims = tuple(range(2, x.dim()))
    if pool_type == "max":
        return x.amax(dim=dims, keepdim=True)
    if pool_type == "avg":
        return x.mean(dim=dims, keepdim=True)
    if pool_type == "sum":
        return x.sum(dim=dims, keepdim=True)
    return _lp_root(x.pow(p_value).sum(dim=dims, keepdim=True), p_value)


def _lp_root(total: Tensor, p: int) -> Tensor:
    if p == 1:
        return total
    if p == 2:
        return total.sqrt()
    return total.sign() * total.abs().pow(1.0 / p)


def pooling(x: Tensor, *, pool_type: str, kernel: tuple[int, ...], stride: tuple[int, ...],
            pad: tuple[int, ...], full: bool, count_include_pad: bool, global_pool: bool,
            p_value: int = 2) -> Tensor:
    """MXNet Pooling (max/avg/sum/lp) with its valid/full conventions and avg divisors."""
    if global_pool:
        return _global(x, pool_type, p_value)
    extra, native = _pads(x, kernel, stride, pad, full)
    nd = len(kernel)
    if pool_type == "max":
        if native:
            return _MAX[nd](x, kernel, stride, pad, ceil_mode=any(extra))
        low = torch.finfo(x.dtype).min  # MXNet's value for a window wholly in padding
        xp = F.pad(x, _flat_pad(pad, extra), value=-math.inf)
        return _MAX[nd](xp, kernel, stride).clamp_min(low)
    if pool_type == "avg" and native:
        return _AVG[nd](x, kernel, stride, pad, ceil_mode=any(extra), count_include_pad=count_include_pad)
    flat = _flat_pad(pad, extra)
    if pool_type == "lp":
        return _lp_root(_window_sum(F.pad(x.pow(p_value), flat), kernel, stride), p_value)
    total = _window_sum(F.pad(x, flat), kernel, stride)
    if pool_type == "sum":
        return total
    # avg: divide by what counts in each window: data, plus the p pads with count_include_pad,
    # never the overhang e
    mask = torch.ones(x.shape[2:], dtype=x.dtype, device=x.device)
    if count_include_pad:
        mask = F.pad(mask, _flat_pad(pad, [0] * nd), value=1.0)
        if not all(isinstance(e, int) and e == 0 for e in extra):  # (always, for dynamic sizes)
            mask = F.pad(mask, _flat_pad([0] * nd, extra), value=0.0)
    else:
        mask = F.pad(mask, flat, value=0.0)
    count = _window_sum(mask[None, None], kernel, stride)
    return total / count.clamp_min(1)


def pooling_v1(x: Tensor, *, pool_type: str, kernel: tuple[int, ...], stride: tuple[int, ...],
               pad: tuple[int, ...], full: bool, global_pool: bool) -> Tensor:
    """Legacy Pooling_v1: zero-pads first (max sees the zeros), avg always divides by the kernel size."""
    if global_pool:
        return _global(x, pool_type, 2)
    extra, _ = _pads(x, kernel, stride, pad, full)
    xp = F.pad(x, _flat_pad(pad, extra), value=0.0)
    if pool_type == "max":
        return _MAX[len(kernel)](xp, kernel, stride)
    total = _window_sum(xp, kernel, stride)
    return total if pool_type == "sum" else total / math.prod(kernel)


def _pool_common(node: Node, types: tuple[str, ...]) -> dict:
    pool_type = A.choice(node, "pool_type", types, "max")
    global_pool = A.flag(node, "global_pool", False)
    conv = A.choice(node, "pooling_convention", ("valid", "full"), "valid")
    # MXNet refuses a 0 in kernel or stride even with global_pool, and a negative pad
    kernel = A.ints(node, "kernel", (), min=1, max=A.INT_MAX) or ()
    if not global_pool and not 1 <= len(kernel) <= 3:
        raise unsupported(node, f"kernel={kernel!r}", ["a kernel of 1-3 dimensions", "global_pool=True"])
    nd = len(kernel)
    A.ints(node, "stride", (), min=1, max=A.INT_MAX)
    A.ints(node, "pad", (), min=0, max=A.INT_MAX)
    if global_pool:  # the window is the whole input: stride and pad do not matter
        stride, pad = (1,) * nd, (0,) * nd
    else:
        stride, pad = A.per_dim(node, "stride", nd, 1), A.per_dim(node, "pad", nd, 0)
    return dict(pool_type=pool_type, kernel=kernel, stride=stride, pad=pad, full=conv == "full",
                global_pool=global_pool)


@register("Pooling")
def _pooling(node: Node) -> Lowered:
    kw = _pool_common(node, ("max", "avg", "sum", "lp"))
    layout = A.text(node, "layout")
    if layout is not None and layout not in NC_LAYOUTS.values():
        raise unsupported(node, f"layout={layout!r}", ["layout=None", *map(repr, NC_LAYOUTS.values())])
    if layout is not None and not kw["global_pool"] and layout != NC_LAYOUTS[len(kw["kernel"])]:
        raise unsupported(node, f"layout={layout!r} with kernel={kw['kernel']}",
                          [f"layout={NC_LAYOUTS[len(kw['kernel'])]!r}"])
    cip = A.text(node, "count_include_pad")
    kw["count_include_pad"] = True if cip is None else A.flag(node, "count_include_pad")
    if kw["pool_type"] == "lp":
        p = A.opt_int(node, "p_value", 2)  # MXNet's default for an unset p_value is 2
        if p not in (1, 2, 3):
            raise unsupported(node, f"p_value={p}", ["p_value=1", "p_value=2", "p_value=3"])
        kw["p_value"] = p
    return Lowered(pooling, kw)


@register("Pooling_v1")
def _pooling_v1(node: Node) -> Lowered:
    kw = _pool_common(node, ("max", "avg", "sum"))
    if not kw["global_pool"] and len(kw["kernel"]) != 2:
        raise unsupported(node, f"kernel={kw['kernel']}", ["a 2-D kernel"])
    return Lowered(pooling_v1, kw)
