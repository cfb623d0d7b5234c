"""MXNet's samplers (issue 17): _random_uniform, _random_normal, _random_uniform_like, _random_normal_like,
_sample_multinomial.

Values cannot equal MXNet's generator; shapes, dtypes and distributions do (tests check their statistics):

* uniform on ``[low, high)``, normal with mean ``loc`` and standard deviation ``scale``; the ``_like`` forms
  take the input's shape and dtype, the others ``shape`` and ``dtype`` (float32 when None);
* _sample_multinomial draws ``shape`` indices per distribution of ``data`` (the last axis): the first index
  whose running sum reaches a uniform draw, which is ``k`` (one past the end) when the row sums to less
  than the draw, as in MXNet; with ``get_prob`` also ``log(data[index])`` in the data's dtype. Samples come
  back in ``dtype`` (int32 by default).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from . import _attrs as A
from ._registry import Lowered, Node, register, unsupported

_FLOATS = {"float16": torch.float16, "float32": torch.float32, "float64": torch.float64}
_SAMPLE_DTYPES = {**_FLOATS, "int32": torch.int32, "uint8": torch.uint8}


def random_uniform(*, low: float, high: float, shape: tuple, dtype: str) -> Tensor:
    """``_random_uniform``: ``shape`` draws from U[low, high)."""
    return torch.rand(shape, dtype=torch.float32).mul(high - low).add(low).to(_FLOATS[dtype])


def random_normal(*, loc: float, scale: float, shape: tuple, dtype: str) -> Tensor:
    """``_random_normal``: ``shape`` draws from N(loc, scale^2)."""
    return torch.randn(shape, dtype=torch.float32).mul(scale).add(loc).to(_FLOATS[dtype])


def random_uniform_like(x: Tensor, *, low: float, high: float) -> Tensor:
    """``_random_uniform_like``: draws from U[low, high) of x's shape and dtype."""
    return torch.rand(x.shape, dtype=torch.float32, device=x.device).mul(high - low).add(low).to(x.dtype)


def random_normal_like(x: Tensor, *, loc: float, scale: float) -> Tensor:
    """``_random_normal_like``: draws from N(loc, scale^2) of x's shape and dtype."""
    return torch.randn(x.shape, dtype=torch.float32, device=x.device).mul(scale).add(loc).to(x.dtype)


def _shape_dtype(node: Node) -> tuple[tuple, str]:
    shape = A.ints(node, "shape", None)
    if not shape or any(s < 0 for s in shape):
        raise unsupported(node, f"shape={shape}", ["a non-empty shape of sizes >= 0 (MXNet cannot infer it otherwise)"])
    dtype = A.text(node, "dtype") or "float32"
    if dtype not in _FLOATS:
        raise unsupported(node, f"dtype={dtype!r}", list(_FLOATS))
    return shape, dtype


def _finite(node: Node, *keys: str) -> list[float]:
    vals = [A.num(node, k) for k in keys]
    if not all(math.isfinite(v) for v in vals):
        raise unsupported(node, ", ".join(f"{k}={v}" for k, v in zip(keys, vals)), ["finite values"])
    return vals


@register("_random_uniform")
def _random_uniform(node: Node) -> Lowered:
    shape, dtype = _shape_dtype(node)
    low, high = _finite(node, "low", "high")
    if low > high:
        raise unsupported(node, f"low={low}, high={high}", ["low <= high"])
    return Lowered(random_uniform, {"low": low, "high": high, "shape": shape, "dtype": dtype}, inputs=())


@register("_random_normal")
def _random_normal(node: Node) -> Lowered:
    shape, dtype = _shape_dtype(node)
    loc, scale = _finite(node, "loc", "scale")
    if scale < 0:
        raise unsupported(node, f"scale={scale}", ["scale >= 0"])
    return Lowered(random_normal, {"loc": loc, "scale": scale, "shape": shape, "dtype": dtype}, inputs=())


@register("_random_uniform_like")
def _random_uniform_like(node: Node) -> Lowered:
    low, high = _finite(node, "low", "high")
    if low > high:
        raise unsupported(node, f"low={low}, high={high}", ["low <= high"])
    return Lowered(random_uniform_like, {"low": low, "high": high})


@register("_random_normal_like")
def _random_normal_like(node: Node) -> Lowered:
    loc, scale = _finite(node, "loc", "scale")
    if scale < 0:
        raise unsupported(node, f"scale={scale}", ["scale >= 0"])
    return Lowered(random_normal_like, {"loc": loc, "scale": scale})


def sample_multinomial(data: Tensor, *, shape: tuple, get_prob: bool, dtype: str) -> Tensor | tuple[Tensor, Tensor]:
    """``_sample_multinomial``: ``prod(shape)`` indices per row of ``data`` (probabilities on the last axis),
    output shape ``data.shape[:-1] + shape``."""
    k = data.shape[-1]
    lead = data.shape[:-1]
    draws = 1
    for s in shape:
        draws *= s
    cdf = data.to(torch.float64).cumsum(-1).to(torch.float32).reshape(-1, 1, k)
    u = torch.rand((cdf.shape[0], draws, 1), dtype=torch.float32, device=data.device)
    idx = (cdf < u).sum(-1)  # the first index whose running sum reaches u
    out_shape = (*lead, *shape)
    samples = idx.reshape(out_shape).to(_SAMPLE_DTYPES[dtype])
    if not get_prob:
        return samples
    picked = torch.gather(data.reshape(-1, k), 1, idx.clamp(max=k - 1))
    return samples, torch.log(picked).reshape(out_shape)


@register("_sample_multinomial")
def _sample_multinomial(node: Node) -> Lowered:
    shape = A.ints(node, "shape", ()) or ()
    if any(s < 0 for s in shape):
        raise unsupported(node, f"shape={shape}", ["sizes >= 0"])
    dtype = A.choice(node, "dtype", tuple(_SAMPLE_DTYPES), "int32")
    get_prob = A.flag(node, "get_prob")
    return Lowered(sample_multinomial, {"shape": shape, "get_prob": get_prob, "dtype": dtype},
                   num_outputs=2 if get_prob else 1)
