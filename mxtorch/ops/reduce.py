"""Reductions (docs/SYMBOL.md §4.7, §4.8): sum/mean/max/min/prod (+ nansum/nanprod, norm) with
``axis``/``keepdims``/``exclude``, argmax/argmin/argmax_channel, and the 2.x ``_npi_*`` reductions.

Legacy ops return shape ``(1,)`` for a full reduction without keepdims; the 2.x ops return a 0-d tensor.
(The pre-0.9.5 ``argmax``/``argmin`` ``axis=-1`` meaning "flattened" is rewritten by ndparse's upgrade.)
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from . import _attrs as A
from ._common import DTYPES
from ._registry import Lowered, Node, register, unsupported


def reduce_axes(ndim: int, axis: tuple | None, exclude: bool) -> list[int]:
    """The axes a reduction runs over: all for None/``()``, else ``axis`` (or its complement if ``exclude``)."""
    if axis is None or len(axis) == 0:
        return list(range(ndim))
    picked = sorted({a % ndim for a in axis})
    return [a for a in range(ndim) if a not in picked] if exclude else picked


def _prod(x: Tensor, axes: list[int], keepdim: bool) -> Tensor:
    for a in sorted(axes, reverse=True):
        x = torch.prod(x, a, keepdim=keepdim)
    return x


_REDUCE: dict[str, Callable[[Tensor, list[int], bool], Tensor]] = {
    "sum": lambda x, ax, k: torch.sum(x, ax, keepdim=k),
    "mean": lambda x, ax, k: torch.mean(x, ax, keepdim=k),
    "max": lambda x, ax, k: torch.amax(x, ax, keepdim=k),
    "min": lambda x, ax, k: torch.amin(x, ax, keepdim=k),
    "prod": _prod,
    "nansum": lambda x, ax, k: torch.nansum(x, ax, keepdim=k),
    "nanprod": lambda x, ax, k: _prod(torch.where(torch.isnan(x), torch.ones_like(x), x), ax, k),
    "norm1": lambda x, ax, k: torch.sum(x.abs(), ax, keepdim=k),
    "norm2": lambda x, ax, k: torch.sqrt(torch.sum(x * x, ax, keepdim=k)),
}


def reduce(x: Tensor, *, op: str, axis: tuple | None, keepdims: bool, exclude: bool, numpy: bool,
           dtype: str | None = None) -> Tensor:
    """Reduce ``x`` over the selected axes (computed in ``dtype`` if given); a legacy full reduction
    without keepdims gives ``(1,)``, a 2.x one a 0-d tensor."""
    if dtype is not None:
        x = x.to(DTYPES[dtype])
    axes = reduce_axes(x.dim(), axis, exclude)
    if not axes:
        return x
    y = _REDUCE[op](x, axes, keepdims)
    if y.dim() == 0 and not numpy:
        y = y.reshape(1)
    return y


def _legacy(op: str) -> Callable[[Node], Lowered]:
    def conv(node: Node) -> Lowered:
        kw = {"op": op, "axis": A.axis_or_axes(node, "axis"), "keepdims": A.flag(node, "keepdims"),
              "exclude": A.flag(node, "exclude"), "numpy": False}
        return Lowered(reduce, kw)

    return conv


# legacy reduction op name -> computation (`sum_axis`, `max_axis`, ... are aliases in ndparse's op table)
_LEGACY_OPS = {"sum": "sum", "mean": "mean", "max": "max", "min": "min", "prod": "prod", "nansum": "nansum",
               "nanprod": "nanprod"}
for _name, _op in _LEGACY_OPS.items():
    register(_name)(_legacy(_op))


@register("norm")
def _norm(node: Node) -> Lowered:
    ord_ = A.req_int(node, "ord", 2)
    if ord_ not in (1, 2):
        raise unsupported(node, f"ord={ord_}", ["ord=1", "ord=2"])
    out_dtype = A.text(node, "out_dtype")
    if out_dtype is not None:
        raise unsupported(node, f"out_dtype={out_dtype!r}", ["out_dtype=None"])
    kw = {"op": f"norm{ord_}", "axis": A.axis_or_axes(node, "axis"), "keepdims": A.flag(node, "keepdims"),
          "exclude": False, "numpy": False}
    return Lowered(reduce, kw)


def _np_reduce(op: str) -> Callable[[Node], Lowered]:
    def conv(node: Node) -> Lowered:
        if A.text(node, "initial") is not None:
            raise unsupported(node, f"initial={node.attrs.get('initial')!r}", ["initial=None"])
        dtype = A.text(node, "dtype")
        if dtype is not None and (op in ("max", "min") or dtype not in DTYPES):
            raise unsupported(node, f"dtype={dtype!r}", ["dtype=None"] + ([] if op in ("max", "min") else list(DTYPES)))
        kw = {"op": op, "axis": A.axis_or_axes(node, "axis"), "keepdims": A.flag(node, "keepdims"),
              "exclude": False, "numpy": True, "dtype": dtype}
        return Lowered(reduce, kw)

    return conv


# 2.x reduction op name -> computation (`_npi_amax`, `_np_product`, ... are aliases in ndparse's op table)
_NP_OPS = {"_npi_sum": "sum", "_npi_mean": "mean", "_npi_max": "max", "_npi_min": "min", "_npi_prod": "prod"}
for _name, _op in _NP_OPS.items():
    register(_name)(_np_reduce(_op))


# ---- arg reductions -------------------------------------------------------------------------------------------
def argreduce(x: Tensor, *, op: str, axis: int | None, keepdims: bool) -> Tensor:
    """Index of the first max/min along ``axis`` (the flattened input when None), in x's dtype like MXNet."""
    fn = torch.argmax if op == "argmax" else torch.argmin
    if axis is None:
        y = fn(x.reshape(-1)).reshape([1] * x.dim() if keepdims else [1])
    else:
        y = fn(x, axis, keepdim=keepdims)
    return y.to(x.dtype)


@register("argmax")
def _argmax(node: Node) -> Lowered:
    return Lowered(argreduce, {"op": "argmax", "axis": A.opt_int(node, "axis"), "keepdims": A.flag(node, "keepdims")})


@register("argmin")
def _argmin(node: Node) -> Lowered:
    return Lowered(argreduce, {"op": "argmin", "axis": A.opt_int(node, "axis"), "keepdims": A.flag(node, "keepdims")})


@register("argmax_channel")
def _argmax_channel(node: Node) -> Lowered:
    return Lowered(argreduce, {"op": "argmax", "axis": 1, "keepdims": False})
