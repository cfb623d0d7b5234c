"""Shape, index and ordering ops (issue 17): topk, argsort, sort, gather_nd, scatter_nd, pick, slice_like,
reshape_like, shape_array, size_array, reverse, depth_to_space, space_to_depth, _split_v2.

MXNet's rules that matter here:

* topk/sort/argsort: MXNet's CPU kernel sorts the positions 0..n-1 of each row with libstdc++'s
  ``std::partial_sort`` when ``k * 8 <= n`` and ``std::sort`` otherwise (sort/argsort: k = n), comparing values
  only; neither is stable, so equal values come out in the order those algorithms leave them (position order
  only on an axis of up to 16, where std::sort is an insertion sort). The eager model reproduces that order
  exactly: rows whose top ``k + 1`` values hold a tie, or that hold a NaN, are re-ordered by a
  step-for-step replay of the two libstdc++ algorithms (`stl_order`); other rows need no replay, since any
  correct sort of distinct values agrees. Under torch.export/compile (.pt2, .onnx) ties stay in position order.
  Indices come back in the ``dtype`` attribute (float32 by default), a ``mask`` in the data's dtype.
  ``axis=None`` works on the flattened input; ``k <= 0`` means the whole axis.
* gather_nd wraps negative indices (``-1`` is the last entry); pick truncates its (float) index toward zero
  and then clips to ``[0, n-1]`` or wraps modulo ``n``.
* shape_array/size_array return int64.

Run-time functions read sizes from ``x.shape`` so a symbolic (exported dynamic) dimension stays symbolic.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

import torch
from torch import Tensor

from . import _attrs as A
from ._registry import Lowered, Node, register, unsupported

_DTYPES = {"float16": torch.float16, "float32": torch.float32, "float64": torch.float64, "int32": torch.int32,
           "int64": torch.int64, "uint8": torch.uint8}


# ---- topk / sort / argsort ---------------------------------------------------------------------------------
def _ordered(x: Tensor, axis: int | None, is_ascend: bool, k: int = 0) -> tuple[Tensor, Tensor, int]:
    """(sorted values, their int64 positions, axis) along ``axis`` (the flattened input when None), equal
    values in MXNet's order for the first ``k`` (all when ``k <= 0``) in the eager model, else in position order."""
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
        if n > 16 and _eager(x):
            values, idx = _mxnet_ties(x, values, idx, axis, is_ascend, k if 0 < k < n else n)
    return values, idx, axis


_POSITION_TIES = contextvars.ContextVar("mxtorch_position_ties", default=False)


@contextlib.contextmanager
def position_order_ties() -> Iterator[None]:
    """Within it, the eager model orders ties as exported programs do (position order), not as MXNet's CPU
    kernel does: `mxtorch.export`'s verification compares an artifact with what it was traced to compute."""
    token = _POSITION_TIES.set(True)
    try:
        yield
    finally:
        _POSITION_TIES.reset(token)


def _eager(x: Tensor) -> bool:
    """True for a plain tensor with data, outside torch.export/compile (the tie replay reads values)."""
    return (type(x) in (Tensor, torch.nn.Parameter) and not x.is_meta and not _POSITION_TIES.get()
            and not (torch.compiler.is_exporting() or torch.compiler.is_compiling()))


def _mxnet_ties(x: Tensor, values: Tensor, idx: Tensor, axis: int, is_ascend: bool,
                k: int) -> tuple[Tensor, Tensor]:
    """Rows (along ``axis``) whose first ``k + 1`` sorted values hold a tie get MXNet's order (`stl_order`)."""
    n = x.shape[axis]
    full = k * 8 > n  # MXNet: std::sort, else std::partial_sort
    m = min(k + 1, n)
    rowvals = values.movedim(axis, -1).reshape(-1, n)
    head = rowvals[:, :m]
    nan = torch.isnan(rowvals).any(1)  # anywhere: a NaN compares false with everything
    tie = (head[:, 1:] == head[:, :-1]).any(1)
    rows = tie | nan  # a NaN compares false with everything: its place also depends on the algorithm
    if not bool(rows.any()):
        return values, idx
    xs = x.movedim(axis, -1).reshape(-1, n)
    order = idx.movedim(axis, -1).reshape(-1, n).clone()
    for r in torch.nonzero(rows).flatten().tolist():
        pos = stl_order(xs[r].tolist(), k, is_ascend)
        order[r, :len(pos)] = torch.tensor(pos, dtype=order.dtype)
    shape = list(x.movedim(axis, -1).shape)
    idx = order.reshape(shape).movedim(-1, axis)
    return torch.gather(x, axis, idx), idx


# ---- libstdc++'s std::partial_sort and std::sort, replayed on positions (MXNet's CPU topk/sort) ----------------
def stl_order(vals: list, k: int, is_ascend: bool) -> list[int]:
    """The positions of ``vals`` as MXNet's CPU kernel leaves them: its comparator (``<`` ascending, ``>``
    descending) given to libstdc++'s ``std::partial_sort(first, first + k, last)`` when ``k * 8 <= n``, else to
    ``std::sort`` over all n. Returns the first ``k`` positions (partial) or all n (full sort)."""
    n = len(vals)
    if is_ascend:
        def less(i: int, j: int) -> bool:
            return vals[i] < vals[j]
    else:
        def less(i: int, j: int) -> bool:
            return vals[i] > vals[j]
    a = list(range(n))
    if k * 8 > n:
        _introsort(a, 0, n, 2 * (n.bit_length() - 1), less)
        if n > 16:
            _insertion_sort(a, 0, 16, less)
            for i in range(16, n):
                _linear_insert(a, i, less)
        else:
            _insertion_sort(a, 0, n, less)
        return a
    _heap_select_sort(a, 0, k, n, less)
    return a[:k]


def _adjust_heap(a: list, base: int, hole: int, size: int, value: int, less) -> None:
    """libstdc++ ``__adjust_heap`` on the heap ``a[base:base + size]``: sift the hole down to a leaf, then
    push ``value`` up from there."""
    top = hole
    child = hole
    while child < (size - 1) // 2:
        child = 2 * (child + 1)
        if less(a[base + child], a[base + child - 1]):
            child -= 1
        a[base + hole] = a[base + child]
        hole = child
    if size % 2 == 0 and child == (size - 2) // 2:
        child = 2 * (child + 1)
        a[base + hole] = a[base + child - 1]
        hole = child - 1
    parent = (hole - 1) // 2
    while hole > top and less(a[base + parent], value):
        a[base + hole] = a[base + parent]
        hole = parent
        parent = (hole - 1) // 2
    a[base + hole] = value


def _heap_select_sort(a: list, lo: int, mid: int, hi: int, less) -> None:
    """libstdc++ ``__partial_sort(lo, mid, hi)``: make_heap on [lo, mid), swap in each later element that
    compares before the heap's top, then sort_heap."""
    size = mid - lo
    if size > 1:
        parent = (size - 2) // 2
        while True:
            _adjust_heap(a, lo, parent, size, a[lo + parent], less)
            if parent == 0:
                break
            parent -= 1
    for i in range(mid, hi):
        if less(a[i], a[lo]):
            v = a[i]
            a[i] = a[lo]
            _adjust_heap(a, lo, 0, size, v, less)
    while size > 1:
        size -= 1
        v = a[lo + size]
        a[lo + size] = a[lo]
        _adjust_heap(a, lo, 0, size, v, less)


def _introsort(a: list, lo: int, hi: int, depth: int, less) -> None:
    """libstdc++ ``__introsort_loop``: median-of-three into ``lo``, unguarded partition, recurse on the right
    part and loop on the left, heap sort past the depth limit, stop at 16 elements."""
    while hi - lo > 16:
        if depth == 0:
            _heap_select_sort(a, lo, hi, hi, less)
            return
        depth -= 1
        x, y, z = lo + 1, lo + (hi - lo) // 2, hi - 1
        if less(a[x], a[y]):
            med = y if less(a[y], a[z]) else (z if less(a[x], a[z]) else x)
        else:
            med = x if less(a[x], a[z]) else (z if less(a[y], a[z]) else y)
        a[lo], a[med] = a[med], a[lo]
        first, last, pivot = lo + 1, hi, a[lo]
        while True:
            while first < hi - 1 and less(a[first], pivot):  # the bounds never bind under a strict weak
                first += 1                                     # order (NaN can break one; C++ would overrun)
            last -= 1
            while last > lo and less(pivot, a[last]):
                last -= 1
            if not first < last:
                break
            a[first], a[last] = a[last], a[first]
            first += 1
        _introsort(a, first, hi, depth, less)
        hi = first


def _insertion_sort(a: list, lo: int, hi: int, less) -> None:
    """libstdc++ ``__insertion_sort`` on [lo, hi)."""
    for i in range(lo + 1, hi):
        v = a[i]
        if less(v, a[lo]):
            a[lo + 1:i + 1] = a[lo:i]
            a[lo] = v
        else:
            _linear_insert(a, i, less)


def _linear_insert(a: list, i: int, less) -> None:
    """libstdc++ ``__unguarded_linear_insert``: move ``a[i]`` left past the entries it compares before."""
    v = a[i]
    j = i - 1
    while j >= 0 and less(v, a[j]):  # j >= 0 always holds under a strict weak order
        a[j + 1] = a[j]
        j -= 1
    a[j + 1] = v


def topk(x: Tensor, *, axis: int | None, k: int, ret_typ: str, is_ascend: bool,
         dtype: str) -> Tensor | tuple[Tensor, Tensor]:
    """``topk``: the ``k`` largest (smallest with ``is_ascend``) entries along ``axis`` as values, indices
    (in ``dtype``), a 0/1 mask of x's shape, or both (values, indices)."""
    values, idx, ax = _ordered(x, axis, is_ascend, k)
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
