"""The MXNet 2.x numpy-namespace ops a Gluon export writes (docs/SYMBOL.md §4.8): ``_npi_*`` broadcasting
binaries and scalar ops, ``_npx_reshape`` (its own codes), elementwise unary ops and copies.

The 2.x reductions, transpose, squeeze and concatenate share their run-time functions with the legacy ops
(registered in `reduce` and `shape`, with the 0-d/NumPy differences passed as arguments).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import Tensor

from . import _attrs as A
from ._common import NPX_CODES, binary, reshape_to, scalar_op, unary, walk_reshape
from ._registry import Lowered, Node, register, unsupported


# ---- binaries and scalars ---------------------------------------------------------------------------------------
def _np_binary(op: str) -> Callable[[Node], Lowered]:
    def conv(node: Node) -> Lowered:
        return Lowered(binary, {"op": op, "bool_out": True})

    return conv


# op name -> computation (`_common.BINARY`); comparisons and logical ops give bool, as NumPy does
_NP_BINARY_OPS = {
    "_npi_add": "add", "_npi_subtract": "sub", "_npi_multiply": "mul", "_npi_true_divide": "div",
    "_npi_power": "power", "_npi_mod": "mod", "_npi_hypot": "hypot", "_npi_equal": "equal",
    "_npi_not_equal": "not_equal", "_npi_greater": "greater", "_npi_greater_equal": "greater_equal",
    "_npi_less": "lesser", "_npi_less_equal": "lesser_equal", "_npi_logical_and": "logical_and",
    "_npi_logical_or": "logical_or", "_npi_logical_xor": "logical_xor",
}
for _name, _op in _NP_BINARY_OPS.items():
    register(_name)(_np_binary(_op))


def _np_scalar(op: str, reverse: bool) -> Callable[[Node], Lowered]:
    def conv(node: Node) -> Lowered:
        kw = {"op": op, "scalar": A.num(node, "scalar", 1.0), "reverse": reverse, "numpy": True}
        return Lowered(scalar_op, kw)

    return conv


# op name -> (computation, scalar on the left); integer data with a fractional scalar promotes to float32
_NP_SCALAR_OPS = {
    "_npi_add_scalar": ("add", False), "_npi_subtract_scalar": ("sub", False),
    "_npi_rsubtract_scalar": ("sub", True), "_npi_multiply_scalar": ("mul", False),
    "_npi_true_divide_scalar": ("div", False), "_npi_rtrue_divide_scalar": ("div", True),
    "_npi_power_scalar": ("power", False), "_npi_rpower_scalar": ("power", True),
    "_npi_mod_scalar": ("mod", False), "_npi_rmod_scalar": ("mod", True),
    "_npi_equal_scalar": ("equal", False), "_npi_not_equal_scalar": ("not_equal", False),
    "_npi_greater_scalar": ("greater", False), "_npi_greater_equal_scalar": ("greater_equal", False),
    "_npi_less_scalar": ("lesser", False), "_npi_less_equal_scalar": ("lesser_equal", False),
}
for _name, (_op, _rev) in _NP_SCALAR_OPS.items():
    register(_name)(_np_scalar(_op, _rev))


# ---- unary ------------------------------------------------------------------------------------------------------
def _np_unary(op: str) -> Callable[[Node], Lowered]:
    def conv(node: Node) -> Lowered:
        return Lowered(unary, {"op": op})

    return conv


# op name -> computation (`_common.UNARY`)
_NP_UNARY_OPS = {
    "_npx_relu": "relu", "_npx_sigmoid": "sigmoid", "_npi_exp": "exp", "_npi_expm1": "expm1",
    "_npi_log": "log", "_npi_log1p": "log1p", "_npi_log2": "log2", "_npi_log10": "log10",
    "_npi_sqrt": "sqrt", "_npi_cbrt": "cbrt", "_npi_absolute": "abs", "_npi_negative": "negative",
    "_npi_square": "square", "_npi_reciprocal": "reciprocal", "_npi_sign": "sign", "_npi_floor": "floor",
    "_npi_ceil": "ceil", "_npi_rint": "rint", "_npi_trunc": "trunc", "_npi_fix": "fix", "_npi_sin": "sin",
    "_npi_cos": "cos", "_npi_tan": "tan", "_npi_arcsin": "arcsin", "_npi_arccos": "arccos",
    "_npi_arctan": "arctan", "_npi_sinh": "sinh", "_npi_cosh": "cosh", "_npi_tanh": "tanh",
    "_npi_arcsinh": "arcsinh", "_npi_arccosh": "arccosh", "_npi_arctanh": "arctanh",
    "_npi_degrees": "degrees", "_npi_radians": "radians",
}
for _name, _op in _NP_UNARY_OPS.items():
    register(_name)(_np_unary(_op))


def copy(x: Tensor) -> Tensor:
    """``_npi_copy``: the same values (a graph output never aliases a graph input)."""
    return x.clone()


@register("_npi_copy")
@register("_np_copy")
def _copy(node: Node) -> Lowered:
    return Lowered(copy)


# ---- _npx_reshape -------------------------------------------------------------------------------------------------
def npx_reshape_shape(dshape: Sequence, spec: Sequence[int], reverse: bool = False) -> list:
    """Output shape of ``_npx_reshape(newshape=spec, reverse=reverse)`` on ``dshape`` (SYMBOL.md §4.8; the
    inferred entry as -1): k>=0 literal, -1 infer, -2 copy, -3 drop a 1, -4 rest, -5 merge two, -6 split."""
    return walk_reshape(dshape, spec, reverse, NPX_CODES)[0]


def npx_reshape(x: Tensor, *, newshape: tuple, reverse: bool) -> Tensor:
    return reshape_to(x, *walk_reshape(x.shape, newshape, reverse, NPX_CODES))


@register("_npx_reshape")
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
