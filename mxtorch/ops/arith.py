"""Elementwise arithmetic (docs/SYMBOL.md §4.7): same-shape ``elemwise_*``/``_power``/..., NumPy-broadcasting
``broadcast_*`` and comparisons, every scalar op, ``add_n``, the standalone unary math ops, ``clip``,
``Cast``/``amp_cast``, ``zeros_like``/``ones_like``, ``where``.

MXNet rules kept exactly: ``mod`` follows Python's sign rule computed from ``fmod`` and gives 0 for a zero
divisor; comparisons and logical ops return 0/1 in the input dtype (legacy ops); ``round`` rounds halves away
from zero while ``rint`` rounds them down; ``clip`` tests ``> a_max`` first. The 2.x ``_npi_*`` names of the
same computations are registered in `mxtorch.ops.npx`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from . import _attrs as A
from ._registry import Lowered, Node, unsupported
from ._registry import register


def mx_mod(a: Tensor, b: Tensor) -> Tensor:
    """MXNet ``mod``: ``fmod`` moved to the divisor's sign (Python's rule), and 0 where ``b == 0``."""
    r = torch.fmod(a, b)
    r = torch.where((r != 0) & ((r < 0) != (b < 0)), r + b, r)
    return torch.where(b == 0, torch.zeros_like(r), r)


def _logical(fn: Callable[[Tensor, Tensor], Tensor]) -> Callable[[Tensor, Tensor], Tensor]:
    return lambda a, b: fn(a != 0, b != 0)


# op name -> f(lhs, rhs) on tensors; comparison/logical results are bool here, cast by the caller.
BINARY: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.true_divide, "power": torch.pow,
    "maximum": torch.maximum, "minimum": torch.minimum, "mod": mx_mod, "hypot": torch.hypot,
    "equal": torch.eq, "not_equal": torch.ne, "greater": torch.gt, "greater_equal": torch.ge,
    "lesser": torch.lt, "lesser_equal": torch.le,
    "logical_and": _logical(torch.logical_and), "logical_or": _logical(torch.logical_or),
    "logical_xor": _logical(torch.logical_xor),
}
_BOOL_RESULT = {"equal", "not_equal", "greater", "greater_equal", "lesser", "lesser_equal", "logical_and",
                "logical_or", "logical_xor"}


def binary(lhs: Tensor, rhs: Tensor, *, op: str, bool_out: bool = False) -> Tensor:
    """``BINARY[op](lhs, rhs)`` with NumPy broadcasting; a comparison gives 0/1 in lhs's dtype unless ``bool_out``."""
    y = BINARY[op](lhs, rhs)
    if op in _BOOL_RESULT and not bool_out:
        y = y.to(lhs.dtype)
    return y


def _bin(op: str) -> Callable[[Node], Lowered]:
    def conv(node: Node) -> Lowered:
        return Lowered(binary, {"op": op})

    return conv


# Canonical MXNet names per computation (their aliases, `_plus`, `_Plus`, `broadcast_plus`, ..., come from
# ndparse's op table). elemwise ops require equal shapes: MXNet checks that when binding, so broadcasting
# never changes the result of a valid graph.
_LEGACY_BINARY = {
    "add": ("elemwise_add", "broadcast_add"), "sub": ("elemwise_sub", "broadcast_sub"),
    "mul": ("elemwise_mul", "broadcast_mul"), "div": ("elemwise_div", "broadcast_div"),
    **{op: (f"_{op}", f"broadcast_{op}") for op in (
        "power", "maximum", "minimum", "mod", "hypot", "equal", "not_equal", "greater", "greater_equal", "lesser",
        "lesser_equal", "logical_and", "logical_or", "logical_xor")},
}
for _op, _names in _LEGACY_BINARY.items():
    for _name in _names:
        register(_name)(_bin(_op))


# ---- scalar ops ---------------------------------------------------------------------------------------------
def scalar_op(x: Tensor, *, op: str, scalar: float, reverse: bool, numpy: bool = False) -> Tensor:
    """``x op s`` (``s op x`` when ``reverse``). Legacy ops cast ``s`` to the data type (truncating for integer
    data); 2.x ops promote integer data to float32 for a non-integer scalar."""
    if x.dtype.is_floating_point or x.dtype.is_complex:
        s: float | int = scalar
    elif numpy and scalar != int(scalar):
        x = x.to(torch.float32)
        s = scalar
    else:
        s = int(scalar) if math.isfinite(scalar) else scalar
    st = torch.full((), s, dtype=x.dtype)
    a, b = (st, x) if reverse else (x, st)
    y = BINARY[op](a, b)
    if op in _BOOL_RESULT and not numpy:
        y = y.to(x.dtype)
    return y


# (computation, reversed) -> canonical MXNet name (CamelCase aliases from ndparse's op table)
_SCALAR = {
    ("add", False): "_plus_scalar", ("sub", False): "_minus_scalar", ("sub", True): "_rminus_scalar",
    ("mul", False): "_mul_scalar", ("div", False): "_div_scalar", ("div", True): "_rdiv_scalar",
    ("power", False): "_power_scalar", ("power", True): "_rpower_scalar", ("mod", False): "_mod_scalar",
    ("mod", True): "_rmod_scalar",
    **{(op, False): f"_{op}_scalar" for op in (
        "maximum", "minimum", "hypot", "equal", "not_equal", "greater", "greater_equal", "lesser", "lesser_equal",
        "logical_and", "logical_or", "logical_xor")},
}


def scalar_converter(op: str, reverse: bool, numpy: bool = False) -> Callable[[Node], Lowered]:
    """A converter for a scalar op (``scalar`` attribute, default 1)."""

    def conv(node: Node) -> Lowered:
        return Lowered(scalar_op, {"op": op, "scalar": A.num(node, "scalar", 1.0), "reverse": reverse, "numpy": numpy})

    return conv


for (_op, _rev), _name in _SCALAR.items():
    register(_name)(scalar_converter(_op, _rev))


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
def mx_round(x: Tensor) -> Tensor:
    """C ``round``: halves away from zero (torch.round goes to even)."""
    t = torch.trunc(x)
    return torch.where((x - t).abs() >= 0.5, t + torch.sign(x), t)


def mx_rint(x: Tensor) -> Tensor:
    """MXNet ``rint``: ``floor`` when ``x - floor(x) <= ceil(x) - x`` (halves go down: 2.5 -> 2, -2.5 -> -3)."""
    lo, hi = torch.floor(x), torch.ceil(x)
    return torch.where(x - lo <= hi - x, lo, hi)


def _cbrt(x: Tensor) -> Tensor:
    return torch.sign(x) * x.abs().pow(1.0 / 3.0)


def _gamma(x: Tensor) -> Tensor:
    neg_odd = (x < 0) & (torch.remainder(torch.ceil(-x), 2) == 1)
    g = torch.lgamma(x).exp()
    return torch.where(neg_odd, -g, g)


UNARY: dict[str, Callable[[Tensor], Tensor]] = {
    "relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "exp": torch.exp, "expm1": torch.expm1,
    "log": torch.log, "log1p": torch.log1p, "log2": torch.log2, "log10": torch.log10, "sqrt": torch.sqrt,
    "rsqrt": torch.rsqrt, "cbrt": _cbrt, "rcbrt": lambda x: 1.0 / _cbrt(x), "abs": torch.abs,
    "negative": torch.neg, "square": torch.square, "reciprocal": torch.reciprocal, "sign": torch.sign,
    "floor": torch.floor, "ceil": torch.ceil, "round": mx_round, "rint": mx_rint, "fix": torch.trunc,
    "trunc": torch.trunc, "sin": torch.sin, "cos": torch.cos, "tan": torch.tan, "arcsin": torch.asin,
    "arccos": torch.acos, "arctan": torch.atan, "sinh": torch.sinh, "cosh": torch.cosh, "arcsinh": torch.asinh,
    "arccosh": torch.acosh, "arctanh": torch.atanh, "degrees": torch.rad2deg, "radians": torch.deg2rad,
    "erf": torch.erf, "erfinv": torch.erfinv, "gamma": _gamma, "gammaln": torch.lgamma,
    "softsign": F.softsign, "logical_not": lambda x: (x == 0).to(x.dtype),
}


def unary(x: Tensor, *, op: str) -> Tensor:
    """``UNARY[op](x)``."""
    return UNARY[op](x)


def _un(op: str) -> Callable[[Node], Lowered]:
    def conv(node: Node) -> Lowered:
        return Lowered(unary, {"op": op})

    return conv


for _op in UNARY:
    register(_op)(_un(_op))


# ---- clip, cast, like, where ----------------------------------------------------------------------------------
def clip(x: Tensor, *, a_min: float, a_max: float) -> Tensor:
    """MXNet ``clip``: ``x > a_max`` first, then ``x < a_min``; NaN passes (unlike clamp when a_min > a_max)."""
    hi = torch.full((), a_max, dtype=x.dtype)
    lo = torch.full((), a_min, dtype=x.dtype)
    return torch.where(x > hi, hi, torch.where(x < lo, lo, x))


@register("clip", "_npi_clip")
def _clip(node: Node) -> Lowered:
    return Lowered(clip, {"a_min": A.num(node, "a_min"), "a_max": A.num(node, "a_max")})


DTYPES: dict[str, torch.dtype] = {
    "float16": torch.float16, "float32": torch.float32, "float64": torch.float64, "bfloat16": torch.bfloat16,
    "uint8": torch.uint8, "int8": torch.int8, "int16": torch.int16, "int32": torch.int32, "int64": torch.int64,
    "bool": torch.bool,
}


def dtype_of(node: Node, key: str = "dtype", default: str | None = None) -> str:
    """The name of a ``dtype`` attribute, validated against `DTYPES` (load time)."""
    name = A.text(node, key, default)
    if name not in DTYPES:
        raise unsupported(node, f"{key}={name!r}", list(DTYPES))
    return name


def cast(x: Tensor, *, dtype: str) -> Tensor:
    """``Cast``: float -> int truncates toward 0 (as torch's ``to``)."""
    return x.to(DTYPES[dtype])


@register("Cast", "cast")
def _cast(node: Node) -> Lowered:
    return Lowered(cast, {"dtype": dtype_of(node)})


register("amp_cast")(_cast)


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
