"""What several op families share, in one place (no family imports another for a helper).

- dtypes: `DTYPES` (MXNet dtype name -> torch dtype) and `dtype_of` (a validated ``dtype`` attribute);
- layouts: `NC_LAYOUTS`, the channels-on-axis-1 layout of a 1/2/3-D kernel (what the CPU build runs);
- `f32`: a Python float rounded to float32, as MXNet stores a C++ ``float`` parameter;
- the elementwise computations `arith` (legacy names) and `npx` (2.x ``_npi_*`` names) both run:
  `binary`, `scalar_op`, `unary` with their tables `BINARY` and `UNARY`;
- the reshape walker `shape` (legacy ``Reshape``) and `npx` (``_npx_reshape``) both run: `walk_reshape`
  with the code tables `LEGACY_CODES`/`NPX_CODES`, and `reshape_to`;
- the greedy non-maximum suppression `boxes` (box_nms) and `proposal` (MultiBoxDetection, (Multi)Proposal)
  share: `greedy_keep` with a `Suppression` rule, `stable_order`, `stable_top`, `order_kept_first`, `tracing`.

Converters read attributes with `mxtorch.ops._attrs`; this module holds values and run-time functions.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor
from torch._higher_order_ops.while_loop import while_loop

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


# ---- greedy non-maximum suppression (box_nms, MultiBoxDetection, Proposal, MultiProposal) --------------------
# MXNet's CPU kernels visit candidates in score order; a kept box removes every later box it overlaps enough,
# a removed box removes nothing. Two exact implementations of that rule:
# - eager (plain PyTorch calls): per image (and per class, when there are classes and many candidates), the
#   candidates in blocks of `_NMS_BLOCK`; a block is compared with the boxes kept so far, a chunk at a time
#   (only those, and a removed box leaves the comparison: data-dependent sizes are fine here), the survivors
#   with each other, and the block's greedy answer is the fixed point of ``keep = ~any(keep[j] & sup[j, i])``;
#   it stops once ``limit`` boxes are kept. The work is about MXNet's (alive candidates x kept boxes), with
#   no per-box Python step.
# - traced (torch.export / torch.compile): shapes may not depend on the data, so each block is compared with
#   every earlier candidate (masked by its keep flag) and the fixed point is a ``while_loop``.
_NMS_BLOCK = 256          # eager: candidates resolved together
_NMS_BLOCK_TRACED = 128
_NMS_PAIRS = 1 << 17      # eager: pairs compared at a time (temporaries that stay in cache)
_NMS_SPLIT = 512          # eager: with classes and more candidates than this, one NMS per class ...
_NMS_SPLIT_CLASSES = 64   # ... unless there are more classes than this ...
_NMS_SPLIT_PER_CLASS = 128  # ... or fewer candidates per class than this on average (small runs cost more)


def tracing() -> bool:
    """True under torch.export / torch.compile (no data-dependent shapes or Python branches on values)."""
    return bool(torch.compiler.is_exporting() or torch.compiler.is_compiling())


@dataclass(frozen=True)
class Suppression:
    """An NMS overlap rule: kept box a removes box b when ``metric(a, b)`` > ``thresh`` (>= when
    ``inclusive``), and, with ``by_class``, their classes are equal.

    ``prep(boxes (B, K, 4), aux (B, K) or None)`` -> per-box features (B, C, K): what the rule needs,
    computed once per box (corners, area), the class in the last row when ``by_class``; ``metric(fa
    (..., C, m), fb (..., C, n), ws=None)`` -> (..., m, n) float, the geometry only (IoU). Both compute
    each value with the same float operations as MXNet's kernel (per-box values once, per-pair values per
    pair), so the decisions are MXNet's bit for bit.
    """

    prep: Callable[[Tensor, Tensor | None], Tensor]
    metric: Callable[..., Tensor]  # (fa, fb, ws: Workspace | None = None) -> Tensor
    thresh: float
    inclusive: bool = False
    by_class: bool = False

    def passes(self, x: Tensor) -> Tensor:
        """The metric's test (NaN never passes)."""
        return x >= self.thresh if self.inclusive else x > self.thresh

    def sup(self, fa: Tensor, fb: Tensor, ws: Workspace | None = None, classes: bool = True) -> Tensor:
        """(..., m, n) bool: box m removes box n (the class test too when ``by_class`` and ``classes``)."""
        out = self.passes(self.metric(fa, fb, ws))
        if self.by_class and classes:
            out &= fa[..., -1, :].unsqueeze(-1) == fb[..., -1, :].unsqueeze(-2)
        return out

    def any_removes(self, fa: Tensor, fb: Tensor, ws: Workspace | None) -> Tensor:
        """(n,) bool: some box of ``fa`` (C, m) removes box n of ``fb`` (C, n), classes not tested (eager).
        One float reduction then one test per box: ``max over m > t`` is ``any(> t)`` once NaN (which never
        passes) is made -inf."""
        x = self.metric(fa, fb, ws).nan_to_num_(nan=-math.inf, posinf=math.inf, neginf=-math.inf)
        return self.passes(x.amax(0))


class Workspace:
    """Reusable scratch buffers for `Suppression.sup` in eager mode: ``out=`` targets, so the pairwise
    temporaries are not allocated (and their pages not touched afresh) per block. ``take(k, shape, like,
    dtype)`` is a view of buffer ``k``; the traced path passes no workspace (`ws_take` then gives None and
    each op allocates, as export needs)."""

    def __init__(self) -> None:
        self._bufs: dict[tuple[int, torch.dtype], Tensor] = {}

    def take(self, k: int, shape: Sequence[int], like: Tensor, dtype: torch.dtype | None = None) -> Tensor:
        dt = like.dtype if dtype is None else dtype
        n = math.prod(shape)
        buf = self._bufs.get((k, dt))
        if buf is None or buf.numel() < n:
            buf = torch.empty(n, dtype=dt, device=like.device)
            self._bufs[(k, dt)] = buf
        return buf[:n].view(tuple(shape))


def ws_take(ws: Workspace | None, k: int, a: Tensor, b: Tensor, dtype: torch.dtype | None = None) -> Tensor | None:
    """Buffer ``k`` of ``ws`` shaped as the pairs of ``a`` (..., m, 1) and ``b`` (..., 1, n), or None."""
    if ws is None:
        return None
    return ws.take(k, torch.broadcast_shapes(a.shape, b.shape), a, dtype)


def stable_order(x: Tensor, *, descending: bool = True) -> Tensor:
    """Indices that sort ``x`` (B, N) along dim 1 stably (equal values keep their order), as MXNet's CPU
    sorts do. Traced for export, it sorts unique integer keys (value rank, then position) instead,
    since ONNX has no stable sort: any sort of unique keys is the stable order."""
    if not tracing():
        return torch.sort(x, dim=1, descending=descending, stable=True).indices
    n = x.shape[1]
    vals, perm = torch.sort(x, dim=1)
    new_run = torch.cat((torch.ones_like(vals[:, :1], dtype=torch.bool), vals[:, 1:] != vals[:, :-1]), 1)
    run = new_run.to(torch.int64).cumsum(1)  # dense rank of each sorted value, ascending from 1
    rank = torch.empty_like(run).scatter(1, perm, run)
    if not descending:
        rank = n + 1 - rank
    pos = torch.arange(n, device=x.device).expand_as(rank)
    return torch.sort(rank * n + (n - 1 - pos), dim=1, descending=True).indices


def stable_top(x: Tensor, k: int) -> Tensor:
    """``stable_order(x)[:, :k]``: the indices of the ``k`` largest values of each row of ``x`` (B, N), in
    stable descending order. Eager, when ``k`` is well below N and no value is NaN, it picks them with
    ``topk`` (the k-th largest value, then the first of its equals in input order) and sorts only those."""
    n = x.shape[1]
    if tracing() or k >= n // 2 or k < 1 or bool(torch.isnan(x).any()):
        return stable_order(x)[:, :k]
    thr = torch.topk(x, k, dim=1, sorted=False).values.amin(1, keepdim=True)
    above = x > thr
    tie = x == thr
    need = k - above.sum(1, keepdim=True)
    pick = above | (tie & (tie.to(torch.int64).cumsum(1) <= need))
    pos = pick.nonzero()[:, 1].reshape(x.shape[0], k)  # row-major: each row's k positions, ascending
    return pos.gather(1, torch.sort(x.gather(1, pos), dim=1, descending=True, stable=True).indices)


def order_kept_first(keep: Tensor) -> Tensor:
    """For each row of ``keep`` (B, K): the positions of kept entries in order, then the others in order."""
    k = keep.to(torch.int64)
    nk = k.sum(1, keepdim=True)
    dest = torch.where(keep, k.cumsum(1) - 1, nk + (1 - k).cumsum(1) - 1)
    ar = torch.arange(keep.shape[1], device=keep.device).expand_as(dest)
    return torch.empty_like(dest).scatter(1, dest, ar)


def greedy_keep(boxes: Tensor, cand: Tensor, rule: Suppression, aux: Tensor | None = None,
                limit: int | None = None) -> Tensor:
    """Greedy NMS over candidates already in processing order: ``boxes`` (B, K, 4), ``cand`` (B, K) bool
    (False: takes no part), ``aux`` (B, K) per-box data for the rule (class ids). Returns the keep mask
    (B, K).

    With ``limit``, only the first ``limit`` kept boxes are needed: the mask holds them exactly, and may
    differ from the full greedy answer after them.
    """
    feats = rule.prep(boxes, aux)
    if tracing():
        return _greedy_traced(feats, cand, rule, limit)
    return torch.stack([_greedy_eager(feats[b], cand[b], rule, limit) for b in range(cand.shape[0])])


def _fixed_point(sup: Tensor) -> Tensor:
    """Greedy keep among boxes that are all candidates: ``sup`` (n, n) upper triangular, j removes i."""
    n = sup.shape[0]
    keep = torch.ones(n, dtype=torch.bool, device=sup.device)
    if not bool(sup.any()):
        return keep
    supf = sup.to(torch.float32)
    while True:
        nxt = (keep.to(torch.float32) @ supf) == 0
        if torch.equal(nxt, keep):
            return keep
        keep = nxt


_UPPER: dict[torch.device, Tensor] = {}


def _upper(device: torch.device) -> Tensor:
    """The (`_NMS_BLOCK`, `_NMS_BLOCK`) strictly upper triangular mask (j < i), made once per device."""
    if device not in _UPPER:
        _UPPER[device] = torch.ones(_NMS_BLOCK, _NMS_BLOCK, dtype=torch.bool, device=device).triu(1)
    return _UPPER[device]


def _greedy_eager(feats: Tensor, cand: Tensor, rule: Suppression, limit: int | None) -> Tensor:
    """One image of `greedy_keep` in eager mode: ``feats`` (C, K), ``cand`` (K,).

    With classes and many candidates, each class is its own NMS (boxes of different classes never
    interact; a NaN class equals none, so such a box is kept and removes nothing); the limit is then not
    used (the full answer is returned), which only the class-free Proposal needs anyway."""
    pos = cand.nonzero().squeeze(1)
    f = feats.index_select(1, pos)  # the candidates' features, contiguous (C, M)
    ws = Workspace()
    out = torch.zeros_like(cand)
    if rule.by_class and f.shape[1] > _NMS_SPLIT:
        cls = f[-1]
        nan = torch.isnan(cls)
        vals = torch.unique(cls[~nan])
        if vals.shape[0] <= _NMS_SPLIT_CLASSES and f.shape[1] >= _NMS_SPLIT_PER_CLASS * vals.shape[0]:
            out[pos[nan]] = True
            for v in vals:
                at = (cls == v).nonzero().squeeze(1)
                out[pos[at[_kept(f.index_select(1, at), rule, False, None, ws)]]] = True
            return out
    out[pos[_kept(f, rule, rule.by_class, limit, ws)]] = True
    return out


def _kept(f: Tensor, rule: Suppression, classes: bool, limit: int | None, ws: Workspace) -> Tensor:
    """The columns of ``f`` (C, M; all candidates, in order) that greedy NMS keeps (the class test only
    when ``classes``); with ``limit``, it may stop once that many are kept."""
    kept_f = torch.empty_like(f)
    kept_at: list[Tensor] = []
    nk = 0
    tri = _upper(f.device)
    for s in range(0, f.shape[1], _NMS_BLOCK):
        fs = f[:, s:s + _NMS_BLOCK]
        sel: Tensor | None = None  # positions in the block of the boxes still alive (None: all)
        c = 0
        while c < nk:  # the kept boxes in order, a chunk at a time; removed boxes leave the comparison
            e = min(nk, c + max(1, _NMS_PAIRS // fs.shape[1]))
            if classes:
                hit = rule.sup(kept_f[:, c:e], fs, ws).any(0)
            else:
                hit = rule.any_removes(kept_f[:, c:e], fs, ws)
            c = e
            if bool(hit.any()):
                left = (~hit).nonzero().squeeze(1)
                sel = left if sel is None else sel[left]
                if sel.shape[0] == 0:
                    break
                fs = fs.index_select(1, left)
        if sel is not None and sel.shape[0] == 0:
            continue
        r = fs.shape[1]
        if r > 1:
            keep = _fixed_point(rule.sup(fs, fs, ws, classes) & tri[:r, :r])
        else:
            keep = torch.ones(1, dtype=torch.bool, device=f.device)
        new = (keep.nonzero().squeeze(1) if sel is None else sel[keep]) + s
        kept_f[:, nk:nk + new.shape[0]] = f.index_select(1, new)
        nk += new.shape[0]
        kept_at.append(new)
        if limit is not None and nk >= limit:
            break
    if not kept_at:
        return torch.zeros(0, dtype=torch.int64, device=f.device)
    return torch.cat(kept_at)


def _greedy_traced(feats: Tensor, cand: Tensor, rule: Suppression, limit: int | None) -> Tensor:
    """`greedy_keep` with shapes fixed by the input: blocks of `_NMS_BLOCK_TRACED` (a Python loop over a
    count fixed by the shape), each cleared against the earlier kept boxes (all earlier candidates, masked;
    with ``limit``, the first ``limit`` kept), then resolved inside by a ``while_loop`` to the fixed point."""
    k = cand.shape[1]
    blocks: list[Tensor] = []
    tri_cache: dict[int, Tensor] = {}
    for s in range(0, k, _NMS_BLOCK_TRACED):
        e = min(k, s + _NMS_BLOCK_TRACED)
        fb = feats[:, :, s:e]
        c = cand[:, s:e]
        if s:
            prev = torch.cat(blocks, 1) if len(blocks) > 1 else blocks[0]
            pf, pk = feats[:, :, :s], prev
            if limit is not None and limit < s:
                idx = order_kept_first(prev)[:, :limit]
                pf = pf.gather(2, idx.unsqueeze(1).expand(-1, pf.shape[1], -1))
                pk = prev.gather(1, idx)
            hit = (rule.sup(pf, fb) & pk.unsqueeze(2)).any(1)
            c = c & ~hit
        n = e - s
        if n not in tri_cache:
            tri_cache[n] = torch.ones(n, n, dtype=torch.bool, device=cand.device).triu(1)
        blocks.append(_resolve_block_traced(c, rule.sup(fb, fb) & tri_cache[n]))
    return torch.cat(blocks, 1) if len(blocks) > 1 else blocks[0]


def _resolve_block_traced(cand: Tensor, sup: Tensor) -> Tensor:
    """Greedy keep inside one block: ``sup[b, j, i]`` (j < i) says kept j removes i; ``cand`` (B, n); the
    answer is the unique fixed point of ``keep = cand & ~any(keep[j] & sup[j, i])`` (a ``while_loop``)."""
    supf = sup.to(torch.float32)

    def cond_fn(keep: Tensor, same: Tensor) -> Tensor:
        return ~same

    def body_fn(keep: Tensor, same: Tensor) -> tuple[Tensor, Tensor]:
        hit = torch.bmm(keep.to(torch.float32).unsqueeze(1), supf).squeeze(1) > 0
        nxt = cand & ~hit
        return nxt, (nxt == keep).all()

    state = (cand.clone(memory_format=torch.contiguous_format),
             torch.zeros((), dtype=torch.bool, device=cand.device))
    return while_loop(cond_fn, body_fn, state)[0]
