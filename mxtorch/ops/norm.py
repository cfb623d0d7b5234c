"""BatchNorm (and its legacy/contrib forms), InstanceNorm, LayerNorm, L2Normalization (SYMBOL.md §4.2)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from . import _attrs as A
from ._common import f32
from ._registry import Lowered, Node, register, unsupported

_F32_MAX = 3.4028234663852886e38


def batch_norm(x: Tensor, gamma: Tensor, beta: Tensor, mean: Tensor, var: Tensor, *, eps: float,
               fix_gamma: bool, axis: int, output_mean_var: bool, relu: bool = False
               ) -> Tensor | tuple[Tensor, Tensor, Tensor]:
    """Inference BatchNorm: ``(x - mean) / sqrt(var + eps) * g + beta`` with ``g = 1`` under ``fix_gamma``
    (the stored gamma is ignored, as MXNet does); ``output_mean_var`` adds moving_mean and the inverse std."""
    ax = axis % x.dim()
    if ax != 1:
        x = x.movedim(ax, 1)
    y = F.batch_norm(x, mean, var, None if fix_gamma else gamma, beta, False, 0.0, eps)
    if relu:
        y = F.relu(y)
    if ax != 1:
        y = y.movedim(1, ax)
    if output_mean_var:
        return y, mean, torch.rsqrt(var + eps)
    return y


def _bn(node: Node, *, relu: bool = False, has_axis: bool = True) -> Lowered:
    """BatchNorm's eps is a C++ float in MXNet: rounded to float32 (1e-3 -> 0.0010000000474974513)."""
    out3 = A.flag(node, "output_mean_var", False)
    eps = A.num(node, "eps", 1e-3, finite=True)
    if abs(eps) > _F32_MAX:
        raise unsupported(node, f"eps={eps}", ["an eps within float32's range"])
    kw = dict(eps=f32(eps), fix_gamma=A.flag(node, "fix_gamma", True),
              axis=A.req_int(node, "axis", 1) if has_axis else 1, output_mean_var=out3, relu=relu)
    return Lowered(batch_norm, kw, num_outputs=3 if out3 else 1)


@register("BatchNorm")
def _batch_norm(node: Node) -> Lowered:
    return _bn(node)


@register("BatchNorm_v1")
def _batch_norm_v1(node: Node) -> Lowered:
    return _bn(node, has_axis=False)


@register("_contrib_SyncBatchNorm")
def _sync_batch_norm(node: Node) -> Lowered:
    return _bn(node, has_axis=False)


@register("_contrib_BatchNormWithReLU")
def _batch_norm_relu(node: Node) -> Lowered:
    return _bn(node, relu=True)


def instance_norm(x: Tensor, gamma: Tensor, beta: Tensor, *, eps: float) -> Tensor:
    """Per (n, c) mean and biased variance over the spatial axes."""
    return F.instance_norm(x, weight=gamma, bias=beta, eps=eps)


@register("InstanceNorm")
def _instance_norm(node: Node) -> Lowered:
    return Lowered(instance_norm, {"eps": A.num(node, "eps", 1e-3, finite=True)})


def layer_norm(x: Tensor, gamma: Tensor, beta: Tensor, *, axis: int, eps: float, output_mean_var: bool
               ) -> Tensor | tuple[Tensor, Tensor, Tensor]:
    """LayerNorm over one axis; ``output_mean_var`` adds the mean and ``sqrt(var + eps)`` (keepdims)."""
    ax = axis % x.dim()
    xm = x.movedim(ax, -1) if ax != x.dim() - 1 else x
    y = F.layer_norm(xm, (xm.shape[-1],), gamma, beta, eps)
    if ax != x.dim() - 1:
        y = y.movedim(-1, ax)
    if output_mean_var:
        var, mean = torch.var_mean(x, dim=ax, keepdim=True, correction=0)
        return y, mean, torch.sqrt(var + eps)
    return y


@register("LayerNorm")
def _layer_norm(node: Node) -> Lowered:
    out3 = A.flag(node, "output_mean_var", False)
    return Lowered(layer_norm, dict(axis=A.req_int(node, "axis", -1), eps=A.num(node, "eps", 1e-5, finite=True),
                                    output_mean_var=out3), num_outputs=3 if out3 else 1)


def l2_normalization(x: Tensor, *, eps: float, mode: str) -> Tensor:
    """``x / sqrt(sum(x^2) + eps)`` (eps inside the root) over all axes but 0 (instance), axis 1
    (channel) or axes >= 2 (spatial)."""
    if mode == "instance":
        dims = tuple(range(1, x.dim()))
    elif mode == "channel":
        dims = (1,)
    else:
        dims = tuple(range(2, x.dim()))
    return x / torch.sqrt(x.square().sum(dim=dims, keepdim=True) + eps)


@register("L2Normalization")
def _l2_normalization(node: Node) -> Lowered:
    mode = A.choice(node, "mode", ("instance", "channel", "spatial"), "instance")
    return Lowered(l2_normalization, {"eps": A.num(node, "eps", 1e-10, finite=True), "mode": mode})
