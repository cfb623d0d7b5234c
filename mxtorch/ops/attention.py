"""Attention and sequence-mask ops (docs/SYMBOL.md §4.10): the interleaved multi-head matmuls of
GluonNLP's transformers, ``_contrib_div_sqrt_dim``, ``_contrib_arange_like``, SequenceMask, SequenceLast,
SequenceReverse.

Interleaved layouts (MXNet's contrib/transformer.cc): the self-attention projection is (T, N, heads*3*d)
read as (T, N, heads, 3, d), i.e. query, key and value of one head side by side; encoder-decoder keys and
values are (T, N, heads*2*d) read as (T, N, heads, 2, d). Attention scores are (N*heads, Tq, Tk) with the
batch index ``n*heads + h``; the query-key product is scaled by ``1/sqrt(d)``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from . import _attrs as A
from ._registry import Lowered, Node, register, unsupported


def _heads_of(x: Tensor, heads: int, parts: int) -> Tensor:
    """(T, N, heads*parts*d) -> (N*heads, T, parts, d)."""
    t, n = x.shape[0], x.shape[1]
    d = x.shape[2] // (heads * parts)
    return x.reshape(t, n * heads, parts, d).transpose(0, 1)


def selfatt_qk(qkv: Tensor, *, heads: int) -> Tensor:
    """Scores q.k / sqrt(d) of every head: (N*heads, T, T)."""
    x = _heads_of(qkv, heads, 3)
    q, k = x[:, :, 0], x[:, :, 1]
    return torch.bmm(q, k.transpose(1, 2)) * (1.0 / math.sqrt(q.shape[-1]))


def selfatt_valatt(qkv: Tensor, attention: Tensor, *, heads: int) -> Tensor:
    """Attention-weighted values, heads concatenated: (T, N, heads*d)."""
    v = _heads_of(qkv, heads, 3)[:, :, 2]
    out = torch.bmm(attention, v)  # (N*heads, T, d)
    t, n = qkv.shape[0], qkv.shape[1]
    return out.transpose(0, 1).reshape(t, n, -1)


def encdec_qk(queries: Tensor, kv: Tensor, *, heads: int) -> Tensor:
    """Scores of queries (Tq, N, heads*d) against keys of (Tk, N, heads*2*d): (N*heads, Tq, Tk)."""
    q = _heads_of(queries, heads, 1)[:, :, 0]
    k = _heads_of(kv, heads, 2)[:, :, 0]
    return torch.bmm(q, k.transpose(1, 2)) * (1.0 / math.sqrt(q.shape[-1]))


def encdec_valatt(kv: Tensor, attention: Tensor, *, heads: int) -> Tensor:
    """Attention (N*heads, Tq, Tk) applied to the values of (Tk, N, heads*2*d): (Tq, N, heads*d)."""
    v = _heads_of(kv, heads, 2)[:, :, 1]
    out = torch.bmm(attention, v)
    return out.transpose(0, 1).reshape(attention.shape[1], kv.shape[1], -1)


def _heads(node: Node) -> int:
    h = A.req_int(node, "heads")
    if h < 1:
        raise unsupported(node, f"heads={h}", ["heads >= 1"])
    return h


@register("_contrib_interleaved_matmul_selfatt_qk")
def _selfatt_qk(node: Node) -> Lowered:
    return Lowered(selfatt_qk, {"heads": _heads(node)})


@register("_contrib_interleaved_matmul_selfatt_valatt")
def _selfatt_valatt(node: Node) -> Lowered:
    return Lowered(selfatt_valatt, {"heads": _heads(node)})


@register("_contrib_interleaved_matmul_encdec_qk")
def _encdec_qk(node: Node) -> Lowered:
    return Lowered(encdec_qk, {"heads": _heads(node)})


@register("_contrib_interleaved_matmul_encdec_valatt")
def _encdec_valatt(node: Node) -> Lowered:
    return Lowered(encdec_valatt, {"heads": _heads(node)})


def div_sqrt_dim(data: Tensor) -> Tensor:
    """``data / sqrt(data.shape[-1])``."""
    return data / math.sqrt(data.shape[-1])


@register("_contrib_div_sqrt_dim")
def _div_sqrt_dim(node: Node) -> Lowered:
    return Lowered(div_sqrt_dim)


def arange_like(data: Tensor, *, start: float, step: float, repeat: int, axis: int | None) -> Tensor:
    """``start + step * (i // repeat)`` shaped like ``data`` (axis None) or as long as ``data.shape[axis]``;
    float32 as MXNet gives it, whatever ``data``'s dtype."""
    n = data.numel() if axis is None else data.shape[axis]
    i = torch.arange(n, device=data.device)
    if repeat != 1:
        i = torch.div(i, repeat, rounding_mode="floor")
    out = (start + step * i.to(torch.float64)).to(torch.float32)
    return out.reshape(data.shape) if axis is None else out


@register("_contrib_arange_like")
def _arange_like(node: Node) -> Lowered:
    repeat = A.req_int(node, "repeat", 1)
    if repeat < 1:
        raise unsupported(node, f"repeat={repeat}", ["repeat >= 1"])
    axis = A.opt_int(node, "axis")
    return Lowered(arange_like, {"start": A.num(node, "start", 0.0), "step": A.num(node, "step", 1.0),
                                 "repeat": repeat, "axis": axis})


# ---- SequenceMask / SequenceLast / SequenceReverse --------------------------------------------------------


def _lengths(seqlen: Tensor) -> Tensor:
    """MXNet reads the lengths as their integer part (float lengths are usual)."""
    return seqlen.to(torch.int64) if seqlen.is_floating_point() else seqlen.long()


def _valid(data: Tensor, seqlen: Tensor, axis: int) -> Tensor:
    """A bool mask broadcastable to ``data``: step < length of its sample (batch is the other of axes 0/1)."""
    steps = torch.arange(data.shape[axis], device=data.device)
    lens = _lengths(seqlen)
    m = steps[:, None] < lens[None, :] if axis == 0 else lens[:, None] > steps[None, :]
    return m.reshape(m.shape + (1,) * (data.dim() - 2))


def sequence_mask(data: Tensor, *rest: Tensor, value: float, axis: int) -> Tensor:
    """Steps past each sample's length set to ``value`` (no lengths: unchanged)."""
    if not rest:
        return data
    return torch.where(_valid(data, rest[0], axis), data, torch.full_like(data, value))


def sequence_last(data: Tensor, *rest: Tensor, axis: int) -> Tensor:
    """Each sample's last valid step (step ``length - 1``; no lengths: the last step); ``axis`` removed."""
    if not rest:
        return data.select(axis, data.shape[axis] - 1)
    idx = (_lengths(rest[0]) - 1).clamp(min=0)
    x = data if axis == 0 else data.transpose(0, 1)  # (T, N, ...)
    n = x.shape[1]
    return x[idx, torch.arange(n, device=x.device)]


def sequence_reverse(data: Tensor, *rest: Tensor, axis: int) -> Tensor:
    """Each sample's first ``length`` steps reversed, the rest left in place (no lengths: all reversed)."""
    if not rest:
        return data.flip(axis)
    t = data.shape[0]
    steps = torch.arange(t, device=data.device)[:, None]
    lens = _lengths(rest[0])[None, :]
    src = torch.where(steps < lens, lens - 1 - steps, steps)  # (T, N)
    idx = src.reshape(src.shape + (1,) * (data.dim() - 2)).expand(data.shape)
    return torch.gather(data, 0, idx)


def _seq_axis(node: Node, allowed: tuple[int, ...]) -> int:
    axis = A.req_int(node, "axis", 0)
    if axis not in allowed:
        raise unsupported(node, f"axis={axis}", [f"axis in {allowed}"])
    return axis


def _seq_inputs(node: Node) -> tuple[int, ...]:
    return (0, 1) if A.flag(node, "use_sequence_length") else (0,)


@register("SequenceMask")
def _sequence_mask(node: Node) -> Lowered:
    return Lowered(sequence_mask, {"value": A.num(node, "value", 0.0), "axis": _seq_axis(node, (0, 1))},
                   inputs=_seq_inputs(node))


@register("SequenceLast")
def _sequence_last(node: Node) -> Lowered:
    return Lowered(sequence_last, {"axis": _seq_axis(node, (0, 1))}, inputs=_seq_inputs(node))


@register("SequenceReverse")
def _sequence_reverse(node: Node) -> Lowered:
    return Lowered(sequence_reverse, {"axis": _seq_axis(node, (0,))}, inputs=_seq_inputs(node))
