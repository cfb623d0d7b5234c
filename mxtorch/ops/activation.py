"""Activation and LeakyReLU (SYMBOL.md §4.3)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from . import _attrs as A
from ._registry import Lowered, Node, register


def softsign(x: Tensor) -> Tensor:
    """``x / (1 + |x|)``."""
    return x / (1 + x.abs())


def mish(x: Tensor) -> Tensor:
    """``x * tanh(softplus(x))`` (MXNet 2.x)."""
    return x * torch.tanh(F.softplus(x))


def log_sigmoid(x: Tensor) -> Tensor:
    """``log(sigmoid(x))`` (MXNet 2.x)."""
    return F.logsigmoid(x)


def softrelu(x: Tensor) -> Tensor:
    """``log(1 + exp(x))``, ``x`` itself above 20 (F.softplus's own threshold)."""
    return F.softplus(x)


_ACT = {"relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "softrelu": softrelu,
        "softsign": softsign, "log_sigmoid": log_sigmoid, "mish": mish}


@register("Activation")
def _activation(node: Node) -> Lowered:
    return Lowered(_ACT[A.choice(node, "act_type", tuple(_ACT))])


def leaky_relu(x: Tensor, *, slope: float) -> Tensor:
    """``x > 0 ? x : slope * x``."""
    return F.leaky_relu(x, slope)


def prelu(x: Tensor, gamma: Tensor) -> Tensor:
    """Leaky with a learnt slope ``gamma`` (``(C,)`` or ``(1,)``) broadcast on axis 1."""
    if x.dim() == 1:
        return torch.where(x > 0, x, x * gamma)
    return F.prelu(x, gamma.reshape(-1))


def elu(x: Tensor, *, slope: float) -> Tensor:
    """``x > 0 ? x : slope * expm1(x)``: MXNet's ELU alpha is ``slope`` (0.25 by default)."""
    return F.elu(x, alpha=slope)


def selu(x: Tensor) -> Tensor:
    """SELU with the usual constants."""
    return F.selu(x)


def gelu(x: Tensor, *, approximate: str = "none") -> Tensor:
    """GELU, the erf form (``gelu``, ``gelu_erf``) or the tanh form (``gelu_tanh``)."""
    return F.gelu(x, approximate=approximate)


_LEAKY_TYPES = ("leaky", "prelu", "elu", "selu", "gelu", "gelu_erf", "gelu_tanh", "rrelu")


@register("LeakyReLU")
def _leaky_relu(node: Node) -> Lowered:
    act = A.choice(node, "act_type", _LEAKY_TYPES, "leaky")
    slope = A.num(node, "slope", 0.25)
    if act == "leaky":
        return Lowered(leaky_relu, {"slope": slope}, inputs=(0,))
    if act == "prelu":
        return Lowered(prelu, inputs=(0, 1))
    if act == "elu":
        return Lowered(elu, {"slope": slope}, inputs=(0,))
    if act == "selu":
        return Lowered(selu, inputs=(0,))
    if act in ("gelu", "gelu_erf", "gelu_tanh"):
        return Lowered(gelu, {"approximate": "tanh" if act == "gelu_tanh" else "none"}, inputs=(0,))
    # rrelu at inference: leaky with the mean slope; its `mask` output is not written by MXNet at
    # inference, so only output 0 is visible here (a graph reading the mask is refused at load time)
    lower, upper = A.num(node, "lower_bound", 0.125), A.num(node, "upper_bound", 0.334)
    return Lowered(leaky_relu, {"slope": (lower + upper) / 2}, inputs=(0,))


# ---- hard_sigmoid (issue 17) ----------------------------------------------------------------------------------
def hard_sigmoid(x: Tensor, *, alpha: float, beta: float) -> Tensor:
    """``hard_sigmoid``: ``clip(alpha * x + beta, 0, 1)``."""
    return torch.clamp(x * alpha + beta, 0.0, 1.0)


@register("hard_sigmoid")
def _hard_sigmoid(node: Node) -> Lowered:
    return Lowered(hard_sigmoid, {"alpha": A.num(node, "alpha", 0.2), "beta": A.num(node, "beta", 0.5)})
