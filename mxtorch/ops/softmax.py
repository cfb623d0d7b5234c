"""Softmax family (SYMBOL.md §4.6) and the inference roles of loss heads, Dropout and identities (§5).

Loss heads take ``(data, label)``; the label is unused at inference, so their converters pass input
slot 0 only and the label variable never becomes an input of the model.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from . import _attrs as A
from ._common import DTYPES
from ._registry import Lowered, Node, register, unsupported


def softmax_output(x: Tensor, *, mode: str) -> Tensor:
    """SoftmaxOutput probabilities. ``mode``: ``channel`` (multi_output: axis 1), ``last``
    (preserve_shape), ``joint`` (all non-batch axes jointly; but a 4-D input uses the last axis, as the
    CPU build of MXNet 1.9.1 computes it, see SYMBOL.md §4.6)."""
    if mode == "channel":
        return F.softmax(x, dim=1)
    if mode == "last" or x.dim() == 4 or x.dim() <= 2:
        return F.softmax(x, dim=-1)
    return F.softmax(x.reshape(x.shape[0], -1), dim=1).reshape(x.shape)


@register("SoftmaxOutput")
def _softmax_output(node: Node) -> Lowered:
    if A.flag(node, "multi_output", False):
        mode = "channel"
    elif A.flag(node, "preserve_shape", False):
        mode = "last"
    else:
        mode = "joint"
    return Lowered(softmax_output, {"mode": mode}, inputs=(0,))


def softmax_activation(x: Tensor, *, channel: bool) -> Tensor:
    """SoftmaxActivation: ``instance`` = the last axis (also for 4-D), ``channel`` = axis 1."""
    return F.softmax(x, dim=1 if channel else -1)


@register("SoftmaxActivation")
def _softmax_activation(node: Node) -> Lowered:
    mode = A.choice(node, "mode", ("instance", "channel"), "instance")
    return Lowered(softmax_activation, {"channel": mode == "channel"})


_FLOAT_DTYPES = ("float16", "float32", "float64", "bfloat16")


def softmax(x: Tensor, *, axis: int, temperature: float | None, log: bool = False, negate: bool = False,
            dtype: str | None = None) -> Tensor:
    """softmax / log_softmax / softmin of ``x / temperature`` along ``axis``; ``dtype`` casts the result."""
    if negate:
        x = -x
    if temperature is not None and temperature != 1.0:
        x = x / temperature
    y = F.log_softmax(x, dim=axis) if log else F.softmax(x, dim=axis)
    return y if dtype is None else y.to(DTYPES[dtype])


def _softmax_kw(node: Node, length_ok: bool = False) -> dict:
    if A.flag(node, "use_length", False) and not length_ok:
        raise unsupported(node, "use_length=True", ["use_length=False"])
    dtype = A.text(node, "dtype")
    if dtype is not None and dtype not in _FLOAT_DTYPES:
        raise unsupported(node, f"dtype={dtype!r}", ["dtype=None", *map(repr, _FLOAT_DTYPES)])
    t = A.text(node, "temperature")
    return dict(axis=A.req_int(node, "axis", -1), temperature=None if t is None else A.num(node, "temperature"),
                dtype=dtype)


def softmax_length(x: Tensor, length: Tensor, *, axis: int, temperature: float | None,
                   dtype: str | None = None) -> Tensor:
    """softmax with ``use_length``: along ``axis`` only the first ``length`` entries take part (``length``
    has ``x``'s shape without ``axis``); the entries past it are 0 (all 0 for length 0)."""
    ax = axis % x.dim()
    steps = torch.arange(x.shape[ax], device=x.device)
    valid = steps < length.to(torch.int64).unsqueeze(-1)  # (..., n) with the axis last
    valid = valid.movedim(-1, ax)
    if temperature is not None and temperature != 1.0:
        x = x / temperature
    y = F.softmax(x.masked_fill(~valid, float("-inf")), dim=ax)
    y = torch.where(valid, y, torch.zeros_like(y))
    return y if dtype is None else y.to(DTYPES[dtype])


@register("softmax")
def _softmax(node: Node) -> Lowered:
    if A.flag(node, "use_length", False):  # GluonNLP's masked attention (issue 19)
        kw = _softmax_kw(node, length_ok=True)
        return Lowered(softmax_length, kw, inputs=(0, 1))
    return Lowered(softmax, _softmax_kw(node), inputs=(0,))


@register("log_softmax")
def _log_softmax(node: Node) -> Lowered:
    return Lowered(softmax, {**_softmax_kw(node), "log": True}, inputs=(0,))


@register("softmin")
def _softmin(node: Node) -> Lowered:
    return Lowered(softmax, {**_softmax_kw(node), "negate": True}, inputs=(0,))


def identity(x: Tensor) -> Tensor:
    """The inference role of Dropout, BlockGrad, _copy, MakeLoss and regression/SVM loss heads."""
    return x


def sigmoid(x: Tensor) -> Tensor:
    """LogisticRegressionOutput at inference."""
    return torch.sigmoid(x)


@register("LinearRegressionOutput")
@register("MAERegressionOutput")
@register("SVMOutput")
def _regression_output(node: Node) -> Lowered:
    return Lowered(identity, inputs=(0,))


@register("LogisticRegressionOutput")
def _logistic_output(node: Node) -> Lowered:
    return Lowered(sigmoid, inputs=(0,))


@register("BlockGrad")
@register("_copy")
@register("MakeLoss")
@register("make_loss")
def _identity(node: Node) -> Lowered:
    return Lowered(identity, inputs=(0,))


def dropout_always(x: Tensor, *, p: float, axes: tuple[int, ...]) -> Tensor:
    """Dropout with ``mode='always'``: random even at inference, as in MXNet (zeros with probability p,
    the rest scaled by 1/(1-p)); ``axes`` share one mask value along those axes."""
    if p <= 0.0:
        return x
    shape = list(x.shape)
    for a in axes:
        shape[a] = 1
    keep = torch.rand(shape, dtype=x.dtype, device=x.device) >= p
    return x * keep.to(x.dtype) / (1.0 - p)


@register("Dropout")
def _dropout(node: Node) -> Lowered:
    mode = A.choice(node, "mode", ("training", "always"), "training")
    if mode == "training":
        return Lowered(identity, inputs=(0,))
    axes = A.ints(node, "axes", ()) or ()
    p = A.num(node, "p", 0.5)
    if not 0.0 <= p <= 1.0:  # MXNet's bound (NaN fails it too)
        raise unsupported(node, f"p={p}", ["0 <= p <= 1"])
    return Lowered(dropout_always, {"p": p, "axes": axes}, inputs=(0,))
