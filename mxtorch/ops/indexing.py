"""Shape, index and ordering ops (issue 17): topk, argsort, sort, gather_nd, scatter_nd, pick, slice_like,
reshape_like, shape_array, size_array, reverse, depth_to_space, space_to_depth, _split_v2.

MXNet's rules that matter here:

* topk/sort/argsort order ties by position (lower index first, in both directions), which is what MXNet's
  CPU sort gives on an axis of up to 16 elements (and what its stable ``SortByKey`` always gives); on longer
  axes MXNet's ``std::sort``/``std::partial_sort`` leave the order of equal values unspecified.
  Indices come back in the ``dtype`` attribute (float32 by default), a ``mask`` in the data's dtype.
  ``axis=None`` works on the flattened input; ``k <= 0`` means the whole axis.
* gather_nd wraps negative indices (``-1`` is the last entry); pick truncates its (float) index toward zero
  and then clips to ``[0, n-1]`` or wraps modulo ``n``.
* shape_array/size_array return int64.

Run-time functions read sizes from ``x.shape`` so a symbolic (exported dynamic) dimension stays symbolic.
"""

from __future__ import annotations

import torch
from torch import Tensor

from . import _attrs as A
from ._registry import Lowered, Node, register, unsupported

_DTYPES = {"float16": torch.float16, "float32": torch.float32, "float64": torch.float64, "int32": torch.int32,
           "int64": torch.int64, "uint8": torch.uint8}


# ---- topk / sort / argsort ---------------------------------------------------------------------------------
def _ordered(x: Tensor, axis: int | None, is_ascend: bool) -> tuple[Tensor, Tensor, int]:
    """(sorted values, their int64 positions, axis) along ``axis`` (the flattened input when None), equal
    values kept in position order."""
    if axis is None:
        x, axis = x.reshape(-1), 0
    values, idx = torch.sort(x, dim=axis, descending=not is_ascend)
    # Put equal values in position order without a stable sort (which ONNX lacks): number the runs of
    # equal sorted values, then sort the unique keys run * n + position (any sort orders unique keys).
    n = x.shape[axis]
    if n > 1:
        changed = (values.narrow(axis, 1, n - 1) != values.narrow(axis, 0, n - 1)).to(torch.int64)
        run = torch.cat([torch.zeros_like(changed.narrow(axis, 0, 1)), changed.cumsum(axis)], axis)
        idx = torch.remainder(torch.sort(run * n + idx, dim=axis)[0], n)
    return values, idx, axis


def topk(x: Tensor, *, axis: int | None, k: int, ret_typ: str, is_ascend: bool,
         dtype: str) -> Tensor | tuple[Tensor, Tensor]:
    """``topk``: the ``k`` largest (smallest with ``is_ascend``) entries along ``axis`` as values, indices
    (in ``dtype``), a 0/1 mask of x's shape, or both (values, indices)."""
    values, idx, ax = _ordered(x, axis, is_ascend)
    if k > 0:
        values, idx = values.narrow(ax, 0, k), idx.narrow(ax, 0, k)
    if ret_typ == "value":
        return values
    if ret_typ == "mask":
        flat = x.reshape(-1) if axis is None else x
        mask = torch.zeros_like(flat).scatter(ax, idx, torch.ones_like(values))
        return mask.reshape(x.shape)
    indices = idx.to(_DTYPES[dtype])
    return indices if ret_typ == "indices" else (values, indices)


def sort(x: Tensor, *, axis: int | None, is_ascend: bool) -> Tensor:
    """``sort``: the values along ``axis`` in order (the flattened input when None)."""
    return _ordered(x, axis, is_ascend)[0]


def argsort(x: Tensor, *, axis: int | None, is_ascend: bool, dtype: str) -> Tensor:
    """``argsort``: the positions that sort ``axis``, in ``dtype``."""
    return _ordered(x, axis, is_ascend)[1].to(_DTYPES[dtype])


@register("topk")
def _topk(node: Node) -> Lowered:
    ret = A.choice(node, "ret_typ", ("value", "indices", "mask", "both"), "indices")
    dtype = A.choice(node, "dtype", tuple(_DTYPES), "float32")
    kw = {"axis": A.opt_int(node, "axis"), "k": A.req_int(node, "k", 1), "ret_typ": ret,
          "is_ascend": A.flag(node, "is_ascend", False), "dtype": dtype}
    return Lowered(topk, kw, num_outputs=2 if ret == "both" else 1)


@register("sort")
def _sort(node: Node) -> Lowered:
    return Lowered(sort, {"axis": A.opt_int(node, "axis"), "is_ascend": A.flag(node, "is_ascend", True)})


@register("argsort")
def _argsort(node: Node) -> Lowered:
    dtype = A.choice(node, "dtype", tuple(_DTYPES), "float32")
    return Lowered(argsort, {"axis": A.opt_int(node, "axis"), "is_ascend": A.flag(node, "is_ascend", True),
                             "dtype": dtype})


# ---- gather / scatter / pick --------------------------------------------------------------------------------
def gather_nd(data: Tensor, indices: Tensor) -> Tensor:
    """``gather_nd``: ``out[y...] = data[indices[0, y...], ..., indices[M-1, y...], ...]`` (M =
    ``indices.shape[0]``); negative indices count from the end."""
    idx = indices.to(torch.int64)
    return data[tuple(idx[i] for i in range(idx.shape[0]))]


@register("gather_nd")
def _gather_nd(node: Node) -> Lowered:
    return Lowered(gather_nd)


def scatter_nd(data: Tensor, indices: Tensor, *, shape: tuple) -> Tensor:
    """``scatter_nd``: zeros of ``shape`` with ``data[y...]`` written at ``indices[:, y...]`` (the inverse
    of gather_nd; MXNet leaves the winner of a repeated index unspecified)."""
    idx = indices.to(torch.int64)
    out = data.new_zeros(shape)
    return out.index_put(tuple(idx[i] for i in range(idx.shape[0])), data)


@register("scatter_nd")
def _scatter_nd(node: Node) -> Lowered:
    shape = A.ints(node, "shape", ())
    if not shape or any(s < 0 for s in shape):
        raise unsupported(node, f"shape={shape}", ["a non-empty shape of sizes >= 0"])
    return Lowered(scatter_nd, {"shape": shape})


def pick(data: Tensor, index: Tensor, *, axis: int, keepdims: bool, wrap: bool) -> Tensor:
    """``pick``: one entry per position along ``axis`` chosen by ``index`` (truncated toward zero, then
    wrapped modulo the axis length or clipped into it); ``index`` has the reduced shape, with or without
    the axis kept as 1."""
    ax = axis % data.dim()
    n = data.shape[ax]
    idx = index.to(torch.int64)
    idx = torch.remainder(idx, n) if wrap else idx.clamp(0, n - 1)
    if idx.dim() != data.dim():
        idx = idx.unsqueeze(ax)
    out = torch.gather(data, ax, idx)
    return out if keepdims else out.squeeze(ax)


@register("pick")
def _pick(node: Node) -> Lowered:
    axis = A.opt_int(node, "axis", None)
    if axis is None:
        raise unsupported(node, "axis=None", ["an int axis (MXNet refuses axis=None)"])
    mode = A.choice(node, "mode", ("clip", "wrap"), "clip")
    return Lowered(pick, {"axis": axis, "keepdims": A.flag(node, "keepdims"), "wrap": mode == "wrap"})


# ---- shapes taken from another tensor -------------------------------------------------------------------------
def slice_like(x: Tensor, like: Tensor, *, axes: tuple) -> Tensor:
    """``slice_like``: x cut to ``like``'s size (from 0) on ``axes`` (every axis of x when empty)."""
    nd = x.dim()
    which = range(nd) if not axes else sorted({a % nd for a in axes})
    idx = [slice(None)] * nd
    for a in which:
        idx[a] = slice(0, like.shape[a])
    return x[tuple(idx)]


@register("slice_like")
def _slice_like(node: Node) -> Lowered:
    return Lowered(slice_like, {"axes": A.ints(node, "axes", ()) or ()})


def _span(nd: int, begin: int | None, end: int | None) -> tuple[int, int]:
    b = 0 if begin is None else (begin + nd if begin < 0 else begin)
    e = nd if end is None else (end + nd if end < 0 else end)
    if not (0 <= b < e <= nd):
        raise ValueError(f"reshape_like: begin={begin}, end={end} is not a non-empty range of {nd} axes")
    return b, e


def reshape_like(lhs: Tensor, rhs: Tensor, *, lhs_begin: int | None, lhs_end: int | None,
                 rhs_begin: int | None, rhs_end: int | None) -> Tensor:
    """``reshape_like``: lhs's axes ``[lhs_begin, lhs_end)`` replaced by rhs's axes ``[rhs_begin,
    rhs_end)`` (None: from the start / to the end; negative counts from the end)."""
    lb, le = _span(lhs.dim(), lhs_begin, lhs_end)
    rb, re = _span(rhs.dim(), rhs_begin, rhs_end)
    shape = [*lhs.shape[:lb], *rhs.shape[rb:re], *lhs.shape[le:]]
    return lhs.reshape(shape)


@register("reshape_like")
def _reshape_like(node: Node) -> Lowered:
    kw = {k: A.opt_int(node, k) for k in ("lhs_begin", "lhs_end", "rhs_begin", "rhs_end")}
    return Lowered(reshape_like, kw)


def shape_array(x: Tensor) -> Tensor:
    """``shape_array``: x's shape as a 1-D int64 tensor (an ONNX Shape when exported)."""
    if x.dim() == 0:
        return torch.zeros(0, dtype=torch.int64, device=x.device)
    return torch.cat([torch.full((1,), d, dtype=torch.int64, device=x.device) for d in x.shape])


@register("shape_array")
def _shape_array(node: Node) -> Lowered:
    return Lowered(shape_array)


def size_array(x: Tensor) -> Tensor:
    """``size_array``: x's element count as a ``(1,)`` int64 tensor."""
    if x.dim() == 0:
        return torch.zeros(0, dtype=torch.int64, device=x.device)
    return torch.cat([torch.full((1,), d, dtype=torch.int64, device=x.device) for d in x.shape]).prod().reshape(1)


@register("size_array")
def _size_array(node: Node) -> Lowered:
    return Lowered(size_array)


# ---- reordering ------------------------------------------------------------------------------------------------
def reverse(x: Tensor, *, axis: tuple) -> Tensor:
    """``reverse``/``flip``: x with the order along each of ``axis`` reversed."""
    return x.flip(axis)


@register("reverse")
def _reverse(node: Node) -> Lowered:
    axis = A.ints(node, "axis", ())
    if any(a < 0 for a in axis) or len(set(axis)) != len(axis):
        raise unsupported(node, f"axis={axis}", ["distinct axes >= 0 (MXNet refuses negative axes here)"])
    return Lowered(reverse, {"axis": axis})


def depth_to_space(x: Tensor, *, block_size: int) -> Tensor:
    """``depth_to_space`` (NCHW, depth-column-row order as ONNX's DCR): ``(N, C, H, W)`` ->
    ``(N, C/b^2, H*b, W*b)``, channel ``(i*b + j)*C/b^2 + c`` going to ``(c, h*b + i, w*b + j)``."""
    n, c, h, w = x.shape
    b = block_size
    y = x.reshape(n, b, b, c // (b * b), h, w).permute(0, 3, 4, 1, 5, 2)
    return y.reshape(n, c // (b * b), h * b, w * b)


def space_to_depth(x: Tensor, *, block_size: int) -> Tensor:
    """``space_to_depth``: the inverse of depth_to_space, ``(N, C, H, W)`` -> ``(N, C*b^2, H/b, W/b)``."""
    n, c, h, w = x.shape
    b = block_size
    y = x.reshape(n, c, h // b, b, w // b, b).permute(0, 3, 5, 1, 2, 4)
    return y.reshape(n, c * b * b, h // b, w // b)


def _block(node: Node) -> int:
    b = A.req_int(node, "block_size")
    if b < 1:
        raise unsupported(node, f"block_size={b}", ["block_size >= 1"])
    return b


@register("depth_to_space")
def _depth_to_space(node: Node) -> Lowered:
    return Lowered(depth_to_space, {"block_size": _block(node)})


@register("space_to_depth")
def _space_to_depth(node: Node) -> Lowered:
    return Lowered(space_to_depth, {"block_size": _block(node)})


# ---- _split_v2 --------------------------------------------------------------------------------------------------
def split_v2(x: Tensor, *, indices: tuple, axis: int, squeeze_axis: bool,
             sections: int) -> Tensor | tuple[Tensor, ...]:
    """``_split_v2`` (``split_v2``): ``sections`` equal parts of ``axis``, or the parts starting at each of
    ``indices`` (MXNet's Python front end writes a leading 0), the last running to the end; with
    ``squeeze_axis`` each part loses the axis (its length must then be 1)."""
    n = x.shape[axis]
    if sections > 0:
        if isinstance(n, int) and n % sections:
            raise ValueError(f"_split_v2: sections={sections} does not divide axis {axis} of length {n}")
        step = n // sections
        bounds = [(i * step, step) for i in range(sections)]
    else:
        bounds = [(b, (indices[i + 1] if i + 1 < len(indices) else n) - b) for i, b in enumerate(indices)]
    parts = tuple(x.narrow(axis, b, ln) for b, ln in bounds)
    if squeeze_axis:
        parts = tuple(p.squeeze(axis) for p in parts)
    return parts[0] if len(parts) == 1 else parts


@register("_split_v2")
def _split_v2(node: Node) -> Lowered:
    indices = A.ints(node, "indices", ())
    sections = A.req_int(node, "sections", 0)
    if sections < 0 or (sections == 0 and not indices):
        raise unsupported(node, f"indices={indices}, sections={sections}", ["sections > 0, or indices"])
    if sections == 0 and (any(i < 0 for i in indices) or list(indices) != sorted(indices)):
        raise unsupported(node, f"indices={indices}", ["non-negative, non-decreasing indices"])
    kw = {"indices": indices if sections == 0 else (), "axis": A.req_int(node, "axis", 1),
          "squeeze_axis": A.flag(node, "squeeze_axis"), "sections": sections}
    return Lowered(split_v2, kw, num_outputs=sections if sections > 0 else len(indices))
