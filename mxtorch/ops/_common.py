"""What several op families share, in one place (no family imports another for a helper).

- dtypes: `DTYPES` (MXNet dtype name -> torch dtype) and `dtype_of` (a validated ``dtype`` attribute);
- layouts: `NC_LAYOUTS`, the channels-on-axis-1 layout of a 1/2/3-D kernel (what the CPU build runs);
- `f32`: a Python float rounded to float32, as MXNet stores a C++ ``float`` parameter;
- the elementwise computations `arith` (legacy names) and `npx` (2.x ``_npi_*`` names) both run:
  `binary`, `scalar_op`, `unary` with their tables `BINARY` and `UNARY`;
- the reshape walker `shape` (legacy ``Reshape``) and `npx` (``_npx_reshape``) both run: `walk_reshape`
  with the code tables `LEGACY_CODES`/`NPX_CODES`, and `reshape_to`.

Converters read attributes with `mxtorch.ops._attrs`; this module holds values and run-time functions.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from . import _attrs as A
from ._registry import Node, unsupported

# ---- dtypes, layouts, float32 ---------------------------------------------------------------------------------
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


# layouts with channels on axis 1, by number of spatial dimensions; anything else is refused at load time
NC_LAYOUTS = {1: "NCW", 2: "NCHW", 3: "NCDHW"}


def f32(value: float) -> float:
    """``value`` rounded to float32: MXNet keeps e.g. BatchNorm's eps in a C++ float (1e-3 -> 0.0010000000474974513)."""
    return struct.unpack("f", struct.pack("f", value))[0]


# ---- elementwise computations (arith, npx) ---------------------------------------------------------------------
def mx_mod(a: Tensor, b: Tensor) -> Tensor:
    """MXNet ``mod``: ``fmod`` moved to the divisor's sign (Python's rule), and 0 where ``b == 0``."""
    r = torch.fmod(a, b)
    r = torch.where((r != 0) & ((r < 0) != (b < 0)), r + b, r)
    return torch.where(b == 0, torch.zeros_like(r), r)


def mx_div(a: Tensor, b: Tensor) -> Tensor:
    """Legacy MXNet division: integer operands divide as C++ does (truncation, integer result); 2.x's
    ``true_divide`` uses ``div`` instead."""
    if a.dtype.is_floating_point or a.dtype.is_complex or b.dtype.is_floating_point or b.dtype.is_complex:
        return torch.true_divide(a, b)
    return torch.div(a, b, rounding_mode="trunc")


def _logical(fn: Callable[[Tensor, Tensor], Tensor]) -> Callable[[Tensor, Tensor], Tensor]:
    return lambda a, b: fn(a != 0, b != 0)


# computation -> f(lhs, rhs) on tensors; comparison/logical results are bool here, cast by the caller.
BINARY: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.true_divide, "mx_div": mx_div, "power": torch.pow,
    "maximum": torch.maximum, "minimum": torch.minimum, "mod": mx_mod, "hypot": torch.hypot,
    "equal": torch.eq, "not_equal": torch.ne, "greater": torch.gt, "greater_equal": torch.ge,
    "lesser": torch.lt, "lesser_equal": torch.le,
    "logical_and": _logical(torch.logical_and), "logical_or": _logical(torch.logical_or),
    "logical_xor": _logical(torch.logical_xor),
}
BOOL_RESULT = {"equal", "not_equal", "greater", "greater_equal", "lesser", "lesser_equal", "logical_and",
               "logical_or", "logical_xor"}


def binary(lhs: Tensor, rhs: Tensor, *, op: str, bool_out: bool = False) -> Tensor:
    """``BINARY[op](lhs, rhs)`` with NumPy broadcasting; a comparison gives 0/1 in lhs's dtype unless ``bool_out``."""
    y = BINARY[op](lhs, rhs)
    if op in BOOL_RESULT and not bool_out:
        y = y.to(lhs.dtype)
    return y


def scalar_op(x: Tensor, *, op: str, scalar: float, reverse: bool, numpy: bool = False) -> Tensor:
    """``x op s`` (``s op x`` when ``reverse``). Legacy ops cast ``s`` to the data type (truncating for integer
    data); 2.x ops promote integer data to float32 for a non-integer scalar and give bool comparisons."""
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
    if op in BOOL_RESULT and not numpy:
        y = y.to(x.dtype)
    return y


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


# computation -> f(x)
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


# ---- the reshape walker (shape, npx) ----------------------------------------------------------------------------
# What each special code does, per dialect (SYMBOL.md §4.5 legacy Reshape, §4.8 _npx_reshape). A value not
# listed is a literal dim (k > 0 legacy, k >= 0 _npx_reshape) and consumes one input dim.
COPY, INFER, REST, MERGE2, SPLIT, SKIP1 = "copy", "infer", "rest", "merge2", "split", "skip1"
LEGACY_CODES = {0: COPY, -1: INFER, -2: REST, -3: MERGE2, -4: SPLIT}
NPX_CODES = {-1: INFER, -2: COPY, -3: SKIP1, -4: REST, -5: MERGE2, -6: SPLIT}


def walk_reshape(dshape: Sequence, spec: Sequence[int], reverse: bool, codes: dict[int, str]) -> tuple[list, int]:
    """Output shape of a reshape ``spec`` in the dialect ``codes`` on an input of shape ``dshape``, and the
    index of the inferred entry (-1 if none; that entry is returned as -1).

    copy: one input dim; infer: inferred from the total (once), consuming one input dim; rest: all remaining
    input dims; merge2: the product of the next two; split ``a b``: one dim into a x b (one may be -1);
    skip1: drop an input dim that must be 1. ``reverse`` applies the rules right to left.
    Raises ValueError if ``spec`` does not fit ``dshape``.
    """
    dshape, spec = list(dshape), list(spec)
    if reverse:
        dshape.reverse()
        spec.reverse()
    out: list = []
    src, i, inferred = 0, 0, -1
    try:
        while i < len(spec):
            p = spec[i]
            action = codes.get(p)
            if action is None:
                if p < 0:
                    raise ValueError(f"code {p}")
                out.append(p)
                src += 1
            elif action == COPY:
                out.append(dshape[src])
                src += 1
            elif action == INFER:
                if inferred >= 0:
                    raise ValueError("more than one -1")
                inferred = len(out)
                out.append(-1)
                src += 1
            elif action == REST:
                out.extend(dshape[src:])
                src = len(dshape)
            elif action == MERGE2:
                out.append(dshape[src] * dshape[src + 1])
                src += 2
            elif action == SKIP1:
                if dshape[src] != 1:
                    raise ValueError(f"{p} on a dim of size {dshape[src]}")
                src += 1
            else:  # SPLIT
                d0, a, b = dshape[src], spec[i + 1], spec[i + 2]
                i += 2
                src += 1
                if a == -1 and b == -1:
                    raise ValueError(f"{p} with two -1")
                out.extend([d0 // b if a == -1 else a, d0 // a if b == -1 else b])
            i += 1
    except IndexError:
        raise ValueError("the shape consumes more dims than the input has") from None
    if reverse:
        out.reverse()
        inferred = len(out) - 1 - inferred if inferred >= 0 else -1
    return out, inferred


def reshape_to(x: Tensor, out: list, inferred: int) -> Tensor:
    """``x`` reshaped to ``out``, the entry at ``inferred`` (if >= 0) computed from ``x.numel()``.

    Computed explicitly and reshaped through 1-D so a symbolic batch size stays an expression like ``2*b``
    rather than a divisibility guard torch.export cannot prove.
    """
    if inferred >= 0:
        known = 1
        for j, d in enumerate(out):
            if j != inferred:
                known = known * d
        out = [*out[:inferred], x.numel() // known, *out[inferred + 1:]]
    return x.reshape(-1).reshape(out)
