"""The MXNet 2.x numpy-namespace ops a Gluon export writes (docs/SYMBOL.md §4.8): ``_npi_*`` broadcasting
binaries and scalar ops, ``_npx_reshape`` (its own codes), elementwise unary ops and copies.

The 2.x reductions, transpose, squeeze and concatenate share their run-time functions with the legacy ops
(registered in `reduce` and `shape`, with the 0-d/NumPy differences passed as arguments).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

from . import _attrs as A
from .arith import BINARY, UNARY, binary, scalar_converter, unary
from .shape import NPX_CODES, reshape_to, walk_reshape
from ._registry import Lowered, Node, unsupported
from ._registry import register


# ---- binaries and scalars ---------------------------------------------------------------------------------------
def _np_bin(op: str):
    def conv(node: Node) -> Lowered:
        return Lowered(binary, {"op": op, "bool_out": True})

    return conv


_NP_BINARY = {"add": "add", "subtract": "sub", "multiply": "mul", "true_divide": "div", "power": "power",
              "mod": "mod", "hypot": "hypot", "equal": "equal", "not_equal": "not_equal", "greater": "greater",
              "greater_equal": "greater_equal", "less": "lesser", "less_equal": "lesser_equal",
              "logical_and": "logical_and", "logical_or": "logical_or", "logical_xor": "logical_xor"}
for _np, _op in _NP_BINARY.items():
    register(f"_npi_{_np}")(_np_bin(_op))

# name -> (op, reverse)
_NP_SCALAR = {"add": ("add", False), "subtract": ("sub", False), "rsubtract": ("sub", True),
              "multiply": ("mul", False), "true_divide": ("div", False), "rtrue_divide": ("div", True),
              "power": ("power", False), "rpower": ("power", True), "mod": ("mod", False), "rmod": ("mod", True),
              "equal": ("equal", False), "not_equal": ("not_equal", False),
              "greater": ("greater", False), "greater_equal": ("greater_equal", False), "less": ("lesser", False),
              "less_equal": ("lesser_equal", False)}
for _np, (_op, _rev) in _NP_SCALAR.items():
    register(f"_npi_{_np}_scalar")(scalar_converter(_op, _rev, numpy=True))

assert set(_NP_BINARY.values()) <= set(BINARY)


# ---- unary ------------------------------------------------------------------------------------------------------
_NP_UNARY = {"_npx_relu": "relu", "_npx_sigmoid": "sigmoid", "_npi_exp": "exp", "_npi_expm1": "expm1",
             "_npi_log": "log", "_npi_log1p": "log1p", "_npi_log2": "log2", "_npi_log10": "log10",
             "_npi_sqrt": "sqrt", "_npi_cbrt": "cbrt", "_npi_absolute": "abs", "_npi_negative": "negative",
             "_npi_square": "square", "_npi_reciprocal": "reciprocal", "_npi_sign": "sign", "_npi_floor": "floor",
             "_npi_ceil": "ceil", "_npi_rint": "rint", "_npi_trunc": "trunc", "_npi_fix": "fix", "_npi_sin": "sin",
             "_npi_cos": "cos", "_npi_tan": "tan", "_npi_arcsin": "arcsin", "_npi_arccos": "arccos",
             "_npi_arctan": "arctan", "_npi_sinh": "sinh", "_npi_cosh": "cosh", "_npi_tanh": "tanh",
             "_npi_arcsinh": "arcsinh", "_npi_arccosh": "arccosh", "_npi_arctanh": "arctanh",
             "_npi_degrees": "degrees", "_npi_radians": "radians"}


def _np_un(op: str):
    def conv(node: Node) -> Lowered:
        return Lowered(unary, {"op": op})

    return conv


for _name, _op in _NP_UNARY.items():
    assert _op in UNARY, _op
    register(_name)(_np_un(_op))


def copy(x: Tensor) -> Tensor:
    """``_npi_copy``: the same values (a graph output never aliases a graph input)."""
    return x.clone()


@register("_npi_copy", "_np_copy")
def _copy(node: Node) -> Lowered:
    return Lowered(copy)


# ---- _npx_reshape -------------------------------------------------------------------------------------------------
def npx_reshape_shape(dshape: Sequence, spec: Sequence[int], reverse: bool = False) -> list:
    """Output shape of ``_npx_reshape(newshape=spec, reverse=reverse)`` on ``dshape`` (SYMBOL.md §4.8; the
    inferred entry as -1): k>=0 literal, -1 infer, -2 copy, -3 drop a 1, -4 rest, -5 merge two, -6 split."""
    return walk_reshape(dshape, spec, reverse, NPX_CODES)[0]


def npx_reshape(x: Tensor, *, newshape: tuple, reverse: bool) -> Tensor:
    return reshape_to(x, *walk_reshape(x.shape, newshape, reverse, NPX_CODES))


@register("_npx_reshape", "_npi_reshape")
def _npx_reshape(node: Node) -> Lowered:
    spec = A.ints(node, "newshape", None)
    if spec is None:
        raise unsupported(node, "newshape=None", ["a newshape tuple"])
    order = A.text(node, "order", "C")
    if order != "C":
        raise unsupported(node, f"order={order!r}", ["order='C'"])
    if sum(1 for k in spec if k == -1) > 1 or any(k < -6 for k in spec):
        raise unsupported(node, f"newshape={spec}", ["codes k>=0, -1 (once), -2, -3, -4, -5, -6"])
    return Lowered(npx_reshape, {"newshape": spec, "reverse": A.flag(node, "reverse")})
