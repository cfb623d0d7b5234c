"""Shape, indexing and resampling ops (docs/SYMBOL.md §4.5): Reshape, Flatten, Concat, SliceChannel,
transpose, expand_dims, squeeze, slice, slice_axis, Crop, UpSampling, stack, tile, repeat, Pad,
broadcast_to/axis/like, SwapAxis.

Run-time functions compute output shapes as plain Python on ``x.shape`` (so a symbolic batch dimension
flows through ``torch.export``); attribute checks happen in the converters, at load time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from . import _attrs as A
from ._common import LEGACY_CODES, reshape_to, walk_reshape
from ._registry import Lowered, Node, register, unsupported


# ---- Reshape ---------------------------------------------------------------------------------------------
def reshape_shape(dshape: Sequence, spec: Sequence[int], reverse: bool = False) -> list:
    """Output shape of legacy ``Reshape(shape=spec, reverse=reverse)`` (the inferred entry as -1)."""
    return walk_reshape(dshape, spec, reverse, LEGACY_CODES)[0]


def reshape_legacy_target(dshape: Sequence, target: Sequence[int], keep_highest: bool) -> tuple[list, int]:
    """Output shape of the legacy ``Reshape(target_shape=..., keep_highest=...)`` form: ``keep_highest``
    keeps dim 0, a single 0 among the other entries is inferred. Returns (shape, inferred index or -1)."""
    out = list(target)
    start = 1 if keep_highest else 0
    if keep_highest:
        out[0] = dshape[0]
    zeros = [i for i in range(start, len(out)) if out[i] == 0]
    if len(zeros) != 1:
        return out, -1
    out[zeros[0]] = -1
    return out, zeros[0]


def reshape(x: Tensor, *, shape: tuple, reverse: bool) -> Tensor:
    """Legacy ``Reshape`` with the special codes."""
    return reshape_to(x, *walk_reshape(x.shape, shape, reverse, LEGACY_CODES))


def reshape_target(x: Tensor, *, target_shape: tuple, keep_highest: bool) -> Tensor:
    """Legacy ``Reshape`` given by ``target_shape`` (``shape`` empty)."""
    return reshape_to(x, *reshape_legacy_target(x.shape, target_shape, keep_highest))


@register("Reshape")
def _reshape(node: Node) -> Lowered:
    shape = A.ints(node, "shape", ())
    target = A.ints(node, "target_shape", (), min=0)
    if not shape and target:
        return Lowered(reshape_target, {"target_shape": target, "keep_highest": A.flag(node, "keep_highest")})
    spec = list(shape)
    if sum(1 for k in spec if k == -1) > 1 or any(k < -4 for k in spec):
        raise unsupported(node, f"shape={shape}", ["codes k>0, 0, -1 (once), -2, -3, -4"])
    return Lowered(reshape, {"shape": shape, "reverse": A.flag(node, "reverse")})


@register("Flatten")
def _flatten(node: Node) -> Lowered:
    return Lowered(flatten)


def flatten(x: Tensor) -> Tensor:
    """``(N, prod(rest))``; a 1-D ``(n,)`` becomes ``(n, 1)``."""
    return x.reshape(x.shape[0], -1) if x.dim() != 1 else x.reshape(-1, 1)


# ---- concat / split / stack --------------------------------------------------------------------------------
def concat(*xs: Tensor, dim: int) -> Tensor:
    return torch.cat(xs, dim)


@register("Concat")
@register("_npi_concatenate")
def _concat(node: Node) -> Lowered:
    # 2.0.0b1's np.concatenate is Concat under another name (exports write ``Concat`` with ``dim``); ndparse
    # reads its ``axis`` spelling as ``dim``.
    return Lowered(concat, {"dim": A.req_int(node, "dim", 1)})


def split(x: Tensor, *, num_outputs: int, axis: int, squeeze_axis: bool) -> Tensor | tuple[Tensor, ...]:
    """``SliceChannel``: ``num_outputs`` equal parts along ``axis``, optionally without that axis.

    Raises ValueError where MXNet refuses the shape: ``num_outputs`` not dividing the axis, or
    ``squeeze_axis`` on an axis whose length is not ``num_outputs`` (torch would split into more parts or
    leave the axis in place). A symbolic (exported dynamic) length is not checked.
    """
    size = x.shape[axis]
    if isinstance(size, int):
        if size % num_outputs:
            raise ValueError(f"cannot split axis {axis} of a {tuple(x.shape)} input into num_outputs="
                             f"{num_outputs} equal parts ({num_outputs} does not divide {size})")
        if squeeze_axis and size != num_outputs:
            raise ValueError(f"squeeze_axis needs axis {axis} of the input to have num_outputs={num_outputs} "
                             f"entries, the input is {tuple(x.shape)}")
    parts = torch.split(x, size // num_outputs, dim=axis)
    if squeeze_axis:
        parts = tuple(p.squeeze(axis) for p in parts)
    return parts[0] if num_outputs == 1 else tuple(parts)


@register("SliceChannel")
def _split(node: Node) -> Lowered:
    n = A.req_int(node, "num_outputs")
    if n < 1:
        raise unsupported(node, f"num_outputs={n}", ["num_outputs >= 1"])
    kw = {"num_outputs": n, "axis": A.req_int(node, "axis", 1), "squeeze_axis": A.flag(node, "squeeze_axis")}
    return Lowered(split, kw, num_outputs=n)


def stack(*xs: Tensor, axis: int) -> Tensor:
    return torch.stack(xs, axis)


@register("stack")
def _stack(node: Node) -> Lowered:
    return Lowered(stack, {"axis": A.req_int(node, "axis", 0)})


# ---- axes ----------------------------------------------------------------------------------------------------
def transpose(x: Tensor, *, axes: tuple) -> Tensor:
    """``axes=()`` reverses the axes."""
    return x.permute(axes if axes else tuple(range(x.dim() - 1, -1, -1)))


@register("transpose")
@register("_npi_transpose")
def _transpose(node: Node) -> Lowered:
    return Lowered(transpose, {"axes": A.ints(node, "axes", ()) or ()})


def swapaxis(x: Tensor, *, dim1: int, dim2: int) -> Tensor:
    return x.transpose(dim1, dim2)


@register("SwapAxis")
def _swapaxis(node: Node) -> Lowered:
    return Lowered(swapaxis, {"dim1": A.req_int(node, "dim1", 0), "dim2": A.req_int(node, "dim2", 0)})


def expand_dims(x: Tensor, *, axis: int) -> Tensor:
    return x.unsqueeze(axis)


@register("expand_dims")
def _expand_dims(node: Node) -> Lowered:
    return Lowered(expand_dims, {"axis": A.req_int(node, "axis")})


def squeeze(x: Tensor, *, axis: tuple | None, numpy: bool) -> Tensor:
    """Drop size-1 axes (all of them when ``axis`` is None). Legacy ``squeeze`` gives ``(1,)`` where
    everything goes, the 2.x ``_npi_squeeze`` a 0-d tensor."""
    nd = x.dim()
    drop = {a % nd for a in axis} if axis is not None else {i for i, s in enumerate(x.shape) if s == 1}
    keep = [s for i, s in enumerate(x.shape) if i not in drop]
    if not keep and not numpy:
        keep = [1]
    return x.reshape(keep)


@register("squeeze")
def _squeeze(node: Node) -> Lowered:
    return Lowered(squeeze, {"axis": A.ints(node, "axis", None), "numpy": False})


@register("_npi_squeeze")
def _np_squeeze(node: Node) -> Lowered:
    return Lowered(squeeze, {"axis": A.ints(node, "axis", None), "numpy": True})


# ---- slicing ---------------------------------------------------------------------------------------------------
def _neg_step_slice(x: Tensor, axis: int, b: int | None, e: int | None, s: int) -> Tensor:
    """x[b:e:s] along ``axis`` for s < 0, as a flip plus a positive-step slice (torch has no negative steps)."""
    n = int(x.shape[axis])
    start, stop, step = slice(b, e, s).indices(n)
    count = max(0, (start - stop + (-step) - 1) // (-step))
    if count == 0:
        return x.narrow(axis, 0, 0)
    flipped = x.flip(axis)
    first = n - 1 - start
    idx = [slice(None)] * x.dim()
    idx[axis] = slice(first, first + (count - 1) * (-step) + 1, -step)
    return flipped[tuple(idx)]


def slice_(x: Tensor, *, begin: tuple, end: tuple, step: tuple) -> Tensor:
    """``slice``: Python slice semantics per leading axis (None, negative indices and steps); trailing axes kept."""
    for ax in range(len(begin)):
        s = step[ax] if ax < len(step) and step[ax] is not None else 1
        b, e = begin[ax], end[ax]
        if s > 0:
            idx = [slice(None)] * x.dim()
            idx[ax] = slice(b, e, s)
            x = x[tuple(idx)]
        elif b is None and e is None:  # the whole axis backwards: no need to know its length
            x = x.flip(ax)
            if s != -1:
                idx = [slice(None)] * x.dim()
                idx[ax] = slice(None, None, -s)
                x = x[tuple(idx)]
        else:
            x = _neg_step_slice(x, ax, b, e, s)
    return x


@register("slice")
def _slice(node: Node) -> Lowered:
    begin = A.ints(node, "begin", None, allow_none=True)
    end = A.ints(node, "end", None, allow_none=True)
    step = A.ints(node, "step", (), allow_none=True) or ()
    if begin is None or end is None or len(begin) != len(end) or (step and len(step) != len(begin)):
        raise unsupported(node, f"begin={begin}, end={end}, step={step}", ["begin and end of one length"])
    if any(s == 0 for s in step):
        raise unsupported(node, f"step={step}", ["non-zero steps"])
    return Lowered(slice_, {"begin": begin, "end": end, "step": step})


def slice_axis(x: Tensor, *, axis: int, begin: int, end: int | None) -> Tensor:
    idx = [slice(None)] * x.dim()
    idx[axis] = slice(begin, end)
    return x[tuple(idx)]


@register("slice_axis")
def _slice_axis(node: Node) -> Lowered:
    return Lowered(slice_axis, {"axis": A.req_int(node, "axis"), "begin": A.req_int(node, "begin"),
                                "end": A.opt_int(node, "end")})


def crop(x: Tensor, *like: Tensor, offset: tuple, h_w: tuple, center_crop: bool) -> Tensor:
    """``Crop`` (4-D): to ``h_w`` or the H x W of ``like``, at ``offset`` or centred."""
    h, w = (like[0].shape[2], like[0].shape[3]) if like else h_w
    if center_crop:
        top, left = (x.shape[2] - h) // 2, (x.shape[3] - w) // 2
    else:
        top, left = offset
    return x[:, :, top:top + h, left:left + w]


@register("Crop")
def _crop(node: Node) -> Lowered:
    num_args = A.req_int(node, "num_args", len(node.inputs))
    if num_args not in (1, 2):
        raise unsupported(node, f"num_args={num_args}", ["num_args=1", "num_args=2"])
    offset = A.ints(node, "offset", (0, 0), min=0, max=A.INT_MAX)
    h_w = A.ints(node, "h_w", (0, 0), min=0, max=A.INT_MAX)
    if len(offset) != 2 or len(h_w) != 2:
        raise unsupported(node, f"offset={offset}, h_w={h_w}", ["2-element offset and h_w"])
    return Lowered(crop, {"offset": offset, "h_w": h_w, "center_crop": A.flag(node, "center_crop")},
                   inputs=tuple(range(num_args)))


# ---- resampling ------------------------------------------------------------------------------------------------
def upsampling_nearest(*xs: Tensor, scale: int, sum_mode: bool) -> Tensor:
    """Nearest ``UpSampling``: every input repeated to arg0's size x ``scale``, then concatenated or summed."""
    ho, wo = xs[0].shape[2] * scale, xs[0].shape[3] * scale
    ups = [x.repeat_interleave(ho // x.shape[2], dim=2).repeat_interleave(wo // x.shape[3], dim=3) for x in xs]
    if sum_mode:
        out = ups[0]
        for u in ups[1:]:
            out = out + u
        return out
    return ups[0] if len(ups) == 1 else torch.cat(ups, 1)


def upsampling_bilinear(x: Tensor, weight: Tensor, *, scale: int) -> Tensor:
    """Bilinear ``UpSampling``: a depthwise transposed convolution with the stored ``(C, 1, K, K)`` kernel."""
    pad = math.ceil((scale - 1) / 2)
    return F.conv_transpose2d(x, weight, stride=scale, padding=pad, groups=weight.shape[0])


@register("UpSampling")
def _upsampling(node: Node) -> Lowered:
    scale = A.req_int(node, "scale", min=1, max=A.INT_MAX)
    kind = A.text(node, "sample_type")
    if kind == "nearest":
        mode = A.text(node, "multi_input_mode", "concat")
        if mode not in ("concat", "sum"):
            raise unsupported(node, f"multi_input_mode={mode!r}", ["concat", "sum"])
        n = A.req_int(node, "num_args", len(node.inputs), min=1)
        return Lowered(upsampling_nearest, {"scale": scale, "sum_mode": mode == "sum"}, inputs=tuple(range(n)))
    if kind == "bilinear":
        return Lowered(upsampling_bilinear, {"scale": scale}, inputs=(0, 1))
    raise unsupported(node, f"sample_type={kind!r}", ["nearest", "bilinear"])


# ---- repetition and padding -----------------------------------------------------------------------------------
def tile(x: Tensor, *, reps: tuple) -> Tensor:
    return x.tile(reps) if reps else x


@register("tile")
def _tile(node: Node) -> Lowered:
    reps = A.ints(node, "reps", (), min=0)  # MXNet refuses a negative count
    return Lowered(tile, {"reps": reps})


def repeat(x: Tensor, *, repeats: int, axis: int | None) -> Tensor:
    """``repeat``: each element ``repeats`` times along ``axis`` (the flattened input when None)."""
    return torch.repeat_interleave(x.reshape(-1) if axis is None else x, repeats, dim=0 if axis is None else axis)


@register("repeat")
def _repeat(node: Node) -> Lowered:
    repeats = A.req_int(node, "repeats", min=0, max=A.INT_MAX)  # MXNet refuses a negative count
    return Lowered(repeat, {"repeats": repeats, "axis": A.opt_int(node, "axis")})


_PAD_MODES = {"constant": "constant", "edge": "replicate", "reflect": "reflect"}


def pad(x: Tensor, *, mode: str, pad_width: tuple, value: float) -> Tensor:
    """``Pad`` on a 4-D/5-D input; ``pad_width`` is (before, after) per axis, the first two axes unpadded."""
    pairs = [(pad_width[2 * i], pad_width[2 * i + 1]) for i in range(2, x.dim())]
    flat = [p for before_after in reversed(pairs) for p in before_after]
    if mode == "constant":
        return F.pad(x, flat, mode="constant", value=value)
    return F.pad(x, flat, mode=_PAD_MODES[mode])


@register("Pad")
def _pad(node: Node) -> Lowered:
    mode = A.text(node, "mode", "constant")
    width = A.ints(node, "pad_width", ())
    if mode not in _PAD_MODES:
        raise unsupported(node, f"mode={mode!r}", list(_PAD_MODES))
    if len(width) not in (8, 10) or any(width[:4]) or any(not 0 <= w <= A.INT_MAX for w in width):
        raise unsupported(node, f"pad_width={width}", ["8 or 10 entries from 0 to 2147483647, the first 4 zero (4-D/5-D input)"])
    return Lowered(pad, {"mode": mode, "pad_width": width, "value": A.num(node, "constant_value", 0.0)})


# ---- broadcasting to a shape -----------------------------------------------------------------------------------
def broadcast_to(x: Tensor, *, shape: tuple) -> Tensor:
    """``broadcast_to``: a 0 in ``shape`` keeps the input dim."""
    lead = len(shape) - x.dim()
    return x.expand([x.shape[i - lead] if (s == 0 and i >= lead) else s for i, s in enumerate(shape)])


@register("broadcast_to")
def _broadcast_to(node: Node) -> Lowered:
    # 0 keeps the input's dim; MXNet refuses a negative one
    return Lowered(broadcast_to, {"shape": A.ints(node, "shape", (), min=0)})


def broadcast_axis(x: Tensor, *, axis: tuple, size: tuple) -> Tensor:
    target = [-1] * x.dim()
    for a, s in zip(axis, size):
        target[a] = s
    return x.expand(target)


@register("broadcast_axis")
def _broadcast_axis(node: Node) -> Lowered:
    axis = A.ints(node, "axis", ())
    size = A.ints(node, "size", (), min=0)
    if len(axis) != len(size):
        raise unsupported(node, f"axis={axis}, size={size}", ["axis and size of one length"])
    return Lowered(broadcast_axis, {"axis": axis, "size": size})


def broadcast_like(x: Tensor, like: Tensor, *, lhs_axes: tuple | None, rhs_axes: tuple | None) -> Tensor:
    if lhs_axes is None:
        return x.expand(like.shape)
    target = [-1] * x.dim()
    for la, ra in zip(lhs_axes, rhs_axes):
        target[la] = like.shape[ra]
    return x.expand(target)


@register("broadcast_like")
def _broadcast_like(node: Node) -> Lowered:
    lhs = A.ints(node, "lhs_axes", None)
    rhs = A.ints(node, "rhs_axes", None)
    if (lhs is None) != (rhs is None) or (lhs is not None and len(lhs) != len(rhs)):
        raise unsupported(node, f"lhs_axes={lhs}, rhs_axes={rhs}", ["both None, or of one length"])
    return Lowered(broadcast_like, {"lhs_axes": lhs, "rhs_axes": rhs})
