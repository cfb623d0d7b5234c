"""Indexing, products and constants: Embedding, take, one_hot, dot, batch_dot, _arange, _zeros/_ones/_full.

Index inputs are float tensors in MXNet graphs; they are truncated toward 0 (``Tensor.long``) before use,
as MXNet casts them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from . import _attrs as A
from ._common import DTYPES, dtype_of
from ._registry import Lowered, Node, register, unsupported


# ---- lookups --------------------------------------------------------------------------------------------------
def embedding(idx: Tensor, weight: Tensor) -> Tensor:
    """``Embedding``: indices truncated toward 0, then clipped to ``[0, input_dim - 1]`` (-1.5 -> 0, 9 -> K-1)."""
    return F.embedding(idx.long().clamp(0, weight.shape[0] - 1), weight)


@register("Embedding")
def _embedding(node: Node) -> Lowered:
    A.req_int(node, "input_dim", None, min=1, max=A.INT_MAX)  # the weight's shape says them; MXNet checks them
    A.req_int(node, "output_dim", None, min=1, max=A.INT_MAX)
    return Lowered(embedding, inputs=(0, 1))


def take(a: Tensor, idx: Tensor, *, axis: int, mode: str) -> Tensor:
    """``take`` along ``axis``: ``clip`` clamps out-of-range indices, ``wrap`` wraps them (Python modulo)."""
    n = a.shape[axis]
    i = idx.long()
    i = i.clamp(0, n - 1) if mode == "clip" else torch.remainder(i, n)
    ax = axis % a.dim()
    picked = torch.index_select(a, ax, i.reshape(-1))
    return picked.reshape(list(a.shape[:ax]) + list(idx.shape) + list(a.shape[ax + 1:]))


@register("take")
def _take(node: Node) -> Lowered:
    mode = A.text(node, "mode", "clip")
    if mode not in ("clip", "wrap"):  # ``raise`` checks bounds at run time: no such check in a traced graph
        raise unsupported(node, f"mode={mode!r}", ["clip", "wrap"])
    return Lowered(take, {"axis": A.req_int(node, "axis", 0), "mode": mode})


def one_hot(idx: Tensor, *, depth: int, on_value: float, off_value: float, dtype: str) -> Tensor:
    """``one_hot``: indices truncated toward 0; out-of-range ones give all ``off_value``."""
    hit = idx.long().unsqueeze(-1) == torch.arange(depth, device=idx.device)
    on = torch.full((), on_value, dtype=DTYPES[dtype], device=idx.device)
    off = torch.full((), off_value, dtype=DTYPES[dtype], device=idx.device)
    return torch.where(hit, on, off)


@register("one_hot")
def _one_hot(node: Node) -> Lowered:
    kw = {"depth": A.req_int(node, "depth", min=0, max=A.INT_MAX), "on_value": A.num(node, "on_value", 1.0),
          "off_value": A.num(node, "off_value", 0.0), "dtype": dtype_of(node, default="float32")}
    return Lowered(one_hot, kw)


# ---- products -------------------------------------------------------------------------------------------------
def dot(a: Tensor, b: Tensor, *, transpose_a: bool, transpose_b: bool) -> Tensor:
    """``dot``: contracts a's last axis (its first with ``transpose_a``) with b's first (its last with
    ``transpose_b``); the output is the remaining axes of a then of b, ``(1,)`` when none remain."""
    if a.dim() == 2 and b.dim() == 2:
        return (a.t() if transpose_a else a) @ (b.t() if transpose_b else b)
    k = a.shape[0] if transpose_a else a.shape[-1]
    rest_a = list(a.shape[1:]) if transpose_a else list(a.shape[:-1])
    rest_b = list(b.shape[:-1]) if transpose_b else list(b.shape[1:])
    a2 = a.reshape(k, -1).t() if transpose_a else a.reshape(-1, k)
    b2 = b.reshape(-1, k).t() if transpose_b else b.reshape(k, -1)
    return (a2 @ b2).reshape(rest_a + rest_b or [1])


@register("dot")
def _dot(node: Node) -> Lowered:
    if A.text(node, "forward_stype") is not None:
        raise unsupported(node, f"forward_stype={node.attrs.get('forward_stype')!r}", ["forward_stype=None"])
    return Lowered(dot, {"transpose_a": A.flag(node, "transpose_a"), "transpose_b": A.flag(node, "transpose_b")})


def batch_dot(a: Tensor, b: Tensor, *, transpose_a: bool, transpose_b: bool) -> Tensor:
    """``batch_dot``: per-batch matrix product of ``(B, M, K)`` and ``(B, K, N)`` (optionally transposed)."""
    return torch.matmul(a.transpose(-1, -2) if transpose_a else a, b.transpose(-1, -2) if transpose_b else b)


@register("batch_dot")
def _batch_dot(node: Node) -> Lowered:
    return Lowered(batch_dot, {"transpose_a": A.flag(node, "transpose_a"), "transpose_b": A.flag(node, "transpose_b")})


# ---- constants (no inputs) ------------------------------------------------------------------------------------
def arange(*, start: float, stop: float | None, step: float, repeat: int, dtype: str) -> Tensor:
    """``_arange``: ``[start, stop)`` by ``step`` (``[0, start)`` when stop is None), each value ``repeat`` times."""
    if stop is None:
        start, stop = 0.0, start
    n = max(0, math.ceil((stop - start) / step))
    y = (start + step * torch.arange(n, dtype=torch.float64)).to(DTYPES[dtype])
    return y.repeat_interleave(repeat) if repeat != 1 else y


@register("_arange")
def _arange(node: Node) -> Lowered:
    """Refused where MXNet refuses: step 0 (or NaN), repeat < 1, a non-finite start/stop, a range running
    against its step, and 2^31 - 1 elements or more."""
    step = A.num(node, "step", 1.0)
    repeat = A.req_int(node, "repeat", 1, min=1, max=A.INT_MAX)
    if step == 0 or math.isnan(step):
        raise unsupported(node, f"step={step}", ["step != 0"])
    if A.flag(node, "infer_range"):
        raise unsupported(node, "infer_range=True", ["infer_range=False"])
    start = A.num(node, "start", 0.0, finite=True)
    stop = None if A.text(node, "stop") is None else A.num(node, "stop", finite=True)
    lo, hi = (0.0, start) if stop is None else (start, stop)
    if (step > 0 and not lo < hi) or (step < 0 and not lo > hi):
        raise unsupported(node, f"start={lo}, stop={hi}, step={step}",
                          ["start < stop for step > 0, start > stop for step < 0"])
    span = (hi - lo) / step
    if not math.isfinite(span) or math.ceil(span) * repeat >= A.INT_MAX:
        raise unsupported(node, f"start={lo}, stop={hi}, step={step}, repeat={repeat}",
                          [f"fewer than {A.INT_MAX} elements (MXNet's limit)"])
    kw = {"start": start, "stop": stop, "step": step, "repeat": repeat, "dtype": dtype_of(node, default="float32")}
    return Lowered(arange, kw, inputs=())


def full(*, shape: tuple, value: float, dtype: str) -> Tensor:
    """``_zeros``/``_ones``/``_full``: a constant of ``shape`` (no inputs)."""
    return torch.full(shape, value, dtype=DTYPES[dtype])


def _constant(node: Node, value: float) -> Lowered:
    """A fully known ``shape`` (MXNet: 0 or -1 is an unknown dim, -2 and below an error) of fewer than
    2^31 - 1 elements (MXNet's limit)."""
    shape = A.ints(node, "shape", ())
    if any(s <= 0 for s in shape):
        raise unsupported(node, f"shape={shape}", ["a fully known shape"])
    if math.prod(shape) >= A.INT_MAX:
        raise unsupported(node, f"shape={shape}", [f"fewer than {A.INT_MAX} elements (MXNet's limit)"])
    return Lowered(full, {"shape": shape, "value": value, "dtype": dtype_of(node, default="float32")}, inputs=())


@register("_zeros")
def _zeros(node: Node) -> Lowered:
    return _constant(node, 0.0)


@register("_ones")
def _ones(node: Node) -> Lowered:
    return _constant(node, 1.0)


@register("_full")
def _full(node: Node) -> Lowered:
    return _constant(node, A.num(node, "value"))
