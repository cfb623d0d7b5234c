"""Elementwise arithmetic (docs/SYMBOL.md §4.7): same-shape ``elemwise_*``/``_power``/..., NumPy-broadcasting
``broadcast_*`` and comparisons, every scalar op, ``add_n``, the standalone unary math ops, ``clip``,
``Cast``/``amp_cast``, ``zeros_like``/``ones_like``, ``where``.

MXNet rules kept exactly: ``mod`` follows Python's sign rule computed from ``fmod`` and gives 0 for a zero
divisor; comparisons and logical ops return 0/1 in the input dtype (legacy ops); ``round`` rounds halves away
from zero while ``rint`` rounds them down; ``clip`` tests ``> a_max`` first. The 2.x ``_npi_*`` names of the
same computations are registered in `mxtorch.ops.npx`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from . import _attrs as A
from ._common import (  # noqa: F401  (BINARY, UNARY, DTYPES, mx_*: the computations, named here too)
    BINARY, DTYPES, UNARY, binary, dtype_of, mx_mod, mx_rint, mx_round, scalar_op, unary)
from ._registry import Lowered, Node, register


# ---- binary ops -----------------------------------------------------------------------------------------------
def _binary(op: str) -> Callable[[Node], Lowered]:
    def conv(node: Node) -> Lowered:
        return Lowered(binary, {"op": op})

    return conv


# op name -> computation (`BINARY`). Aliases (`_plus`, `_Plus`, `broadcast_plus`, ...) come from ndparse's op
# table. elemwise ops require equal shapes: MXNet checks that when binding, so broadcasting never changes the
# result of a valid graph. Comparisons and logical ops give 0/1 in the input dtype.
_BINARY_OPS = {
    "elemwise_add": "add", "broadcast_add": "add",
    "elemwise_sub": "sub", "broadcast_sub": "sub",
    "elemwise_mul": "mul", "broadcast_mul": "mul",
    "elemwise_div": "mx_div", "broadcast_div": "mx_div",  # integer data: truncating division
    "_power": "power", "broadcast_power": "power",
    "_maximum": "maximum", "broadcast_maximum": "maximum",
    "_minimum": "minimum", "broadcast_minimum": "minimum",
    "_mod": "mod", "broadcast_mod": "mod",
    "_hypot": "hypot", "broadcast_hypot": "hypot",
    "_equal": "equal", "broadcast_equal": "equal",
    "_not_equal": "not_equal", "broadcast_not_equal": "not_equal",
    "_greater": "greater", "broadcast_greater": "greater",
    "_greater_equal": "greater_equal", "broadcast_greater_equal": "greater_equal",
    "_lesser": "lesser", "broadcast_lesser": "lesser",
    "_lesser_equal": "lesser_equal", "broadcast_lesser_equal": "lesser_equal",
    "_logical_and": "logical_and", "broadcast_logical_and": "logical_and",
    "_logical_or": "logical_or", "broadcast_logical_or": "logical_or",
    "_logical_xor": "logical_xor", "broadcast_logical_xor": "logical_xor",
}
for _name, _op in _BINARY_OPS.items():
    register(_name)(_binary(_op))


# ---- scalar ops -----------------------------------------------------------------------------------------------
def _scalar(op: str, reverse: bool) -> Callable[[Node], Lowered]:
    def conv(node: Node) -> Lowered:
        return Lowered(scalar_op, {"op": op, "scalar": A.num(node, "scalar", 1.0), "reverse": reverse})

    return conv


# op name -> (computation, scalar on the left); CamelCase aliases (`_PlusScalar`, ...) from ndparse's op table
_SCALAR_OPS = {
    "_plus_scalar": ("add", False), "_minus_scalar": ("sub", False), "_rminus_scalar": ("sub", True),
    "_mul_scalar": ("mul", False), "_div_scalar": ("mx_div", False), "_rdiv_scalar": ("mx_div", True),
    "_power_scalar": ("power", False), "_rpower_scalar": ("power", True),
    "_mod_scalar": ("mod", False), "_rmod_scalar": ("mod", True),
    "_maximum_scalar": ("maximum", False), "_minimum_scalar": ("minimum", False), "_hypot_scalar": ("hypot", False),
    "_equal_scalar": ("equal", False), "_not_equal_scalar": ("not_equal", False),
    "_greater_scalar": ("greater", False), "_greater_equal_scalar": ("greater_equal", False),
    "_lesser_scalar": ("lesser", False), "_lesser_equal_scalar": ("lesser_equal", False),
    "_logical_and_scalar": ("logical_and", False), "_logical_or_scalar": ("logical_or", False),
    "_logical_xor_scalar": ("logical_xor", False),
}
for _name, (_op, _rev) in _SCALAR_OPS.items():
    register(_name)(_scalar(_op, _rev))


# ---- n-ary ----------------------------------------------------------------------------------------------------
def add_n(*xs: Tensor) -> Tensor:
    out = xs[0]
    for x in xs[1:]:
        out = out + x
    return out


@register("add_n")
def _add_n(node: Node) -> Lowered:
    return Lowered(add_n)


# ---- unary math -----------------------------------------------------------------------------------------------
def _unary(op: str) -> Callable[[Node], Lowered]:
    def conv(node: Node) -> Lowered:
        return Lowered(unary, {"op": op})

    return conv


# op names whose computation (`UNARY`) has the op's own name; `_sparse_*` aliases from ndparse's op table.
# MXNet's rules kept: `round` rounds halves away from zero, `rint` rounds them down, `fix` truncates.
_UNARY_OPS = (
    "relu", "sigmoid", "tanh", "softsign", "exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "rsqrt",
    "cbrt", "rcbrt", "abs", "negative", "square", "reciprocal", "sign", "floor", "ceil", "round", "rint", "fix",
    "trunc", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh",
    "degrees", "radians", "erf", "erfinv", "gamma", "gammaln", "logical_not",
)
for _name in _UNARY_OPS:
    register(_name)(_unary(_name))


# ---- clip, cast, like, where ----------------------------------------------------------------------------------
def clip(x: Tensor, *, a_min: float, a_max: float) -> Tensor:
    """MXNet ``clip``: ``x > a_max`` first, then ``x < a_min``; NaN passes (unlike clamp when a_min > a_max)."""
    hi = torch.full((), a_max, dtype=x.dtype)
    lo = torch.full((), a_min, dtype=x.dtype)
    return torch.where(x > hi, hi, torch.where(x < lo, lo, x))


@register("clip")
def _clip(node: Node) -> Lowered:
    return Lowered(clip, {"a_min": A.num(node, "a_min"), "a_max": A.num(node, "a_max")})


def cast(x: Tensor, *, dtype: str) -> Tensor:
    """``Cast``: float -> int truncates toward 0 (as torch's ``to``)."""
    return x.to(DTYPES[dtype])


@register("Cast")
@register("amp_cast")
def _cast(node: Node) -> Lowered:
    return Lowered(cast, {"dtype": dtype_of(node)})


def full_like(x: Tensor, *, value: float) -> Tensor:
    return torch.full_like(x, value)


@register("zeros_like")
def _zeros_like(node: Node) -> Lowered:
    return Lowered(full_like, {"value": 0.0})


@register("ones_like")
def _ones_like(node: Node) -> Lowered:
    return Lowered(full_like, {"value": 1.0})


def where(cond: Tensor, x: Tensor, y: Tensor) -> Tensor:
    """``where``: a 1-D condition picks whole rows (first axis) when x is N-D."""
    if cond.dim() == 1 and x.dim() > 1:
        cond = cond.reshape([cond.shape[0]] + [1] * (x.dim() - 1))
    return torch.where(cond != 0, x, y)


@register("where")
def _where(node: Node) -> Lowered:
    return Lowered(where)
