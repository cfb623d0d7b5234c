"""What a graph may allocate, checked before it allocates: a graph's attributes are input, not trusted sizes.

Before a forward (the first one for each set of input shapes and dtypes), the lowered plan runs on
torch's ``meta`` device: every op computes its output shape and dtype without touching memory. The
bytes each op's outputs would take, and the total of the values alive at each step, are compared with
a budget (default: half of the machine's memory, or of the container's limit when lower; set it with
``mxtorch.load(..., max_memory=...)`` or ``--max-memory``). Over budget raises `MemoryBudgetError` (an
`ndparse.NDFormatError`) naming the node and the bytes it would need. Ops whose inputs are all known at
load (graph constants: ``_zeros``, ``_full``, ``_arange``, ... and what is computed from them and the
weights alone) are checked at load.

The same pass checks each input before anything runs (`InputGuard`): a numeric input whose dtype is not
the graph's input dtype (float32 unless the variable says ``__dtype__``) is cast to it with one warning,
a non-numeric one is refused naming the dtype; an input whose rank is not the one its first
shape-fixing consumer needs (Convolution, Pooling, FullyConnected, ...) is refused naming that rank.

Work this pass cannot see: memory an op uses internally (a convolution's workspace), and ops whose
output shape depends on values (the meta run stops there; what follows is not checked).
"""

from __future__ import annotations

import copy
import math
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from ndparse.errors import NDFormatError

__all__ = ["DEFAULT_FRACTION", "InputGuard", "InputRankError", "MemoryBudgetError", "default_budget",
           "format_bytes", "parse_size"]

DEFAULT_FRACTION = 0.5  # of the machine's (or the container's) memory
_CACHE = 16             # input signatures remembered per model

# MXNet's dtype codes (mshadow type flags) as a variable's __dtype__ attribute writes them
_MX_DTYPES = {0: torch.float32, 1: torch.float64, 2: torch.float16, 3: torch.uint8, 4: torch.int32,
              5: torch.int8, 6: torch.int64, 7: torch.bool, 8: torch.int16, 12: torch.bfloat16}


class MemoryBudgetError(NDFormatError):
    """The graph would allocate more than the memory budget for the given input shapes (or for its
    constants). ``node``/``op``: the MXNet node; ``nbytes``: what it would need; ``budget``."""

    def __init__(self, message: str, *, op: str, node: str, nbytes: int, budget: int) -> None:
        self.op = op
        self.node = node
        self.nbytes = nbytes
        self.budget = budget
        super().__init__(message, hint="a hostile or broken graph, or inputs too large: pass a larger "
                                       "max_memory (--max-memory) if this is meant")


class InputRankError(ValueError):
    """An input's number of dimensions is not what the graph's first consumer of it needs."""


def format_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} bytes" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} EiB"  # pragma: no cover


_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kmgtp]?)(i?b?)\s*$", re.IGNORECASE)


def parse_size(value: int | float | str) -> int:
    """A byte count from an int or a string such as ``2G``, ``512MiB``, ``1e9`` (K/M/G/T/P are powers of
    1024). Raises ValueError for anything else or a size that is not positive."""
    if isinstance(value, bool):
        raise ValueError(f"max_memory must be a size in bytes, not {value!r}")
    if isinstance(value, (int, float)):
        n = value
    else:
        m = _SIZE.match(str(value))
        if not m:
            raise ValueError(f"max_memory {value!r}: expected a size like 4G, 512M or 1000000000")
        n = float(m.group(1)) * 1024 ** "_kmgtp".index(m.group(2).lower() or "_")
    if not (isinstance(n, int) or math.isfinite(n)) or n <= 0:
        raise ValueError(f"max_memory {value!r}: expected a positive size")
    return int(n)


def _memory_total() -> int:
    total = 0
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    total = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if not total:
        try:
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            total = 8 << 30
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path, encoding="ascii") as f:
                text = f.read().strip()
            if text.isdigit() and 0 < int(text) < total:
                total = int(text)
        except OSError:
            pass
    return total


def default_budget() -> int:
    """Half of the machine's memory (or of the container's limit, when lower), in bytes."""
    return int(_memory_total() * DEFAULT_FRACTION)


def resolve(max_memory: int | float | str | None) -> int:
    """The budget in bytes: ``max_memory`` parsed, or `default_budget` for None."""
    return default_budget() if max_memory is None else parse_size(max_memory)


# ---- the meta run -------------------------------------------------------------------------------------


def _nbytes(value: Any) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, (tuple, list)):
        return sum(_nbytes(v) for v in value)
    return 0


class _Unverifiable(Exception):
    """The meta run cannot follow an op (no meta kernel, or its output shape depends on values)."""


def _meta_step(st: Any, args: list[Any]) -> Any:
    try:
        with torch.device("meta"):
            return st.fn(*args, **st.kwargs)
    except NotImplementedError as exc:
        raise _Unverifiable(str(exc)) from None
    except (RuntimeError, ValueError, IndexError, TypeError) as exc:
        text = str(exc).lower()
        if "meta" in text or "data-dependent" in text or "data dependent" in text:
            raise _Unverifiable(str(exc)) from None
        if "overflow" in text or not st.args:  # sizes past int64, or a graph constant that cannot be made
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise NDFormatError(f"{st.op} node {st.name!r}: its attributes give no valid size "
                                f"({type(exc).__name__}: {first})") from None
        from .graph import _name_node
        _name_node(exc, st)
        raise
    except (OverflowError, ZeroDivisionError, MemoryError) as exc:
        raise NDFormatError(f"{st.op} node {st.name!r}: its attributes give no valid size for these "
                            f"inputs ({type(exc).__name__}: {exc})") from None


def meta_run(plan: Any, values: Sequence[Any], budget: int, *, constants_only: bool = False,
             unchecked: set[int] | None = None) -> int:
    """Run ``plan`` on meta tensors (``values``: the inputs then the state, ``None`` for an unknown input
    when ``constants_only``) and check every step against ``budget``; returns the peak bytes of the
    values the forward keeps alive at once. Raises MemoryBudgetError, or the shape error of the first
    op that rejects its inputs (naming the node). An op it cannot follow (no meta kernel, an output
    shape that depends on values) leaves its outputs unknown; the ops that do not depend on them are
    still checked."""
    n_given = len(values)
    slots: list[Any] = list(values) + [None] * (plan.n_slots - n_given)
    known = [v is not None for v in values] + [False] * (plan.n_slots - n_given)
    sizes = [0] * plan.n_slots
    live = peak = 0
    for k, st in enumerate(plan.steps):
        if not all(known[s] for s, _ in st.args):
            if unchecked is not None:
                unchecked.add(k)
            continue  # depends on an unknown value: checked when it runs (StepCheck)
        args = [slots[s] if i is None else slots[s][i] for s, i in st.args]
        try:
            out = _meta_step(st, args)
        except _Unverifiable:
            if unchecked is not None:
                unchecked.add(k)
            continue  # its outputs stay unknown: what depends on them is checked when it runs
        need = _nbytes(out)
        if need > budget or live + need > budget:
            what = "" if need > budget else f" ({format_bytes(live)} of earlier values still alive)"
            raise MemoryBudgetError(
                f"{st.op} node {st.name!r} would allocate {format_bytes(need)} ({need:,} bytes){what}, "
                f"over the memory budget of {format_bytes(budget)}", op=st.op, node=st.name,
                nbytes=need + (0 if need > budget else live), budget=budget)
        slots[st.out], known[st.out], sizes[st.out] = out, True, need
        live += need
        peak = max(peak, live)
        for f in st.free:
            live -= sizes[f]
            sizes[f] = 0
            slots[f] = None
    return peak


def _to_meta(v: Any) -> Any:
    if isinstance(v, torch.Tensor):
        return torch.empty(v.shape, dtype=v.dtype, device="meta")
    if isinstance(v, (tuple, list)):
        return type(v)(_to_meta(x) for x in v)
    return v


class StepCheck:
    """The check of one step the meta run could not follow, made just before it runs, from the shapes
    of its actual arguments: its outputs on the meta device against the budget."""

    __slots__ = ("budget",)

    def __init__(self, budget: int) -> None:
        self.budget = budget

    def __call__(self, st: Any, args: list) -> None:
        try:
            out = _meta_step(st, [_to_meta(a) for a in args])
        except _Unverifiable:
            return  # its output shape depends on the values: it cannot be known before it runs
        need = _nbytes(out)
        if need > self.budget:
            raise MemoryBudgetError(
                f"{st.op} node {st.name!r} would allocate {format_bytes(need)} ({need:,} bytes), over the "
                f"memory budget of {format_bytes(self.budget)}", op=st.op, node=st.name, nbytes=need,
                budget=self.budget)


# ---- the input guard ----------------------------------------------------------------------------------

# ops whose data input rank is fixed by their attributes, and ops that keep their input's rank
_KERNEL_OPS = frozenset({"Convolution", "Deconvolution", "Pooling"})
_RANK_KEEPING = frozenset({
    "BatchNorm", "Activation", "LeakyReLU", "Dropout", "_copy", "identity", "relu", "sigmoid", "tanh",
    "clip", "_mul_scalar", "_plus_scalar", "_minus_scalar", "_div_scalar", "_rminus_scalar",
    "_rdiv_scalar", "_MulScalar", "_PlusScalar", "_MinusScalar", "_DivScalar", "_RMinusScalar",
    "BlockGrad", "stop_gradient", "InstanceNorm", "cast", "Cast", "amp_cast", "abs", "square", "sqrt",
    "exp", "log", "negative"})


def _graph_dtype(node: Any) -> torch.dtype:
    code = node.extra.get("__dtype__") if node is not None else None
    try:
        return _MX_DTYPES.get(int(code), torch.float32) if code is not None else torch.float32
    except (TypeError, ValueError):
        return torch.float32


def _needed_rank(symbol: Any, var_index: int) -> tuple[int, Any] | None:
    """The rank the first shape-fixing consumer of variable ``var_index`` needs, and that node
    (following rank-keeping ops such as BatchNorm or Activation), or None when nothing fixes it."""
    consumers: dict[int, list[Any]] = {}
    for node in symbol.nodes:
        for src, _ in node.inputs[:1]:  # the data slot
            consumers.setdefault(src, []).append(node)
    frontier, seen = [var_index], set()
    for _ in range(8):
        nxt = []
        for idx in frontier:
            for node in consumers.get(idx, ()):
                if node.index in seen:
                    continue
                seen.add(node.index)
                if node.op in _KERNEL_OPS:
                    kernel = node.attrs.get("kernel")
                    if isinstance(kernel, (tuple, list)) and 1 <= len(kernel) <= 3:
                        if node.op == "Pooling" and node.attrs.get("global_pool") in (True, "True", "1"):
                            continue
                        return len(kernel) + 2, node
                elif node.op == "FullyConnected":
                    flat = node.attrs.get("flatten", True)
                    if flat in (True, "True", "true", "1", 1):
                        return 2, node  # at least 2: (batch, features...)
                elif node.op in _RANK_KEEPING:
                    nxt.append(node.index)
        frontier = nxt
        if not frontier:
            break
    return None


_LAYOUT = {3: "(N, C, W)", 4: "(N, C, H, W)", 5: "(N, C, D, H, W)", 2: "(N, features...)"}


class InputGuard:
    """The checks of a model's inputs and sizes before a forward (see the module docstring).

    Built once per model at load: ``symbol`` (ndparse Symbol), ``plan`` (`mxtorch.graph.Plan`),
    ``state`` (the state tensors in slot order, or meta tensors of their shapes), ``max_memory``.
    Raises MemoryBudgetError at construction for constants over the budget.
    """

    def __init__(self, symbol: Any, plan: Any, state: Sequence[torch.Tensor],
                 max_memory: int | float | str | None = None) -> None:
        self.budget = resolve(max_memory)
        self.plan = plan
        by_name = {n.name: n for n in symbol.nodes if n.is_variable}
        # the dtype each input must have: the variable's __dtype__, else the weights' (None: as they are)
        self.dtypes = tuple(_graph_dtype(by_name.get(name)) if "__dtype__" in getattr(by_name.get(name), "extra", {})
                            else None for name in plan.input_names)
        self.ranks: tuple[tuple[int, Any] | None, ...] = tuple(
            _needed_rank(symbol, by_name[name].index) if name in by_name else None
            for name in plan.input_names)
        self._state_meta = [torch.empty(t.shape, dtype=t.dtype, device="meta") for t in state]
        self._seen: dict[tuple, dict[int, StepCheck] | None] = {}
        self.pending: dict[int, StepCheck] | None = None  # the last prepared forward's run-time checks
        self._warned = False
        meta_run(plan, [None] * len(plan.input_names) + self._state_meta, self.budget, constants_only=True)

    def for_plan(self, plan: Any) -> "InputGuard":
        """The same checks for a rewritten plan of the same graph (`mxtorch.optimize`): same inputs,
        dtypes, ranks and budget; the memory of each input signature measured anew on ``plan``."""
        new = copy.copy(self)
        new.plan = plan
        new._seen = {}
        return new

    def cast(self, name: str, x: torch.Tensor, want: torch.dtype) -> tuple[torch.Tensor, str | None]:
        """``x`` in the graph's dtype ``want`` and a note when it was cast; InputRankError-free, raises
        TypeError for a dtype that is not a number."""
        if x.dtype == want:
            return x, None
        if x.dtype == torch.bool or x.dtype.is_complex:
            raise TypeError(f"input {name!r} has dtype {str(x.dtype).removeprefix('torch.')}; the graph "
                            f"takes {str(want).removeprefix('torch.')} (a real number type)")
        return x.to(want), (f"input {name!r} is {str(x.dtype).removeprefix('torch.')}: cast to "
                            f"{str(want).removeprefix('torch.')}, the graph's input dtype")

    def check_rank(self, name: str, shape: Sequence[int], k: int) -> None:
        """InputRankError when input ``k`` has a rank its first shape-fixing consumer refuses."""
        need = self.ranks[k]
        if need is None:
            return
        rank, node = need
        ok = len(shape) >= rank if node.op == "FullyConnected" else len(shape) == rank
        if ok:
            return
        layout = _LAYOUT.get(rank, "")
        hint = ""
        if len(shape) == rank - 1:
            hint = f" (the batch dimension is missing? e.g. {','.join(map(str, (1, *shape)))})"
        needs = f"at least {rank}" if node.op == "FullyConnected" else f"{rank} {layout}".rstrip()
        raise InputRankError(f"input {name!r} has shape {tuple(shape)} ({len(shape)} dimensions), but its "
                             f"first consumer, {node.op} node {node.name!r}, needs {needs}{hint}")

    def prepare(self, inputs: Sequence[Any], state: Sequence[torch.Tensor]) -> tuple[Any, ...]:
        """The inputs cast to the graph's dtypes (the weights' floating dtype for a variable without
        ``__dtype__``), after the rank and memory checks (each input signature is meta-run once).
        ``state``: the model's state tensors now. Tracing (torch.export / compile) passes inputs through."""
        self.pending = None
        if torch.compiler.is_compiling() or any(type(x) not in (torch.Tensor, torch.nn.Parameter)
                                                for x in inputs):
            return tuple(inputs)
        default = next((t.dtype for t in state if t.is_floating_point()), torch.float32)
        out = []
        notes = []
        for k, (name, x) in enumerate(zip(self.plan.input_names, inputs)):
            if x.device.type == "meta":
                return tuple(inputs)
            x, note = self.cast(name, x, self.dtypes[k] or default)
            if note:
                notes.append(note)
            self.check_rank(name, x.shape, k)
            out.append(x)
        if notes and not self._warned:
            self._warned = True
            warnings.warn("; ".join(notes), UserWarning, stacklevel=3)
        key = (default, *((tuple(x.shape), x.dtype) for x in out))
        if key not in self._seen:
            metas = [torch.empty(x.shape, dtype=x.dtype, device="meta") for x in out]
            state_meta = [torch.empty(t.shape, dtype=t.dtype, device="meta") for t in state]
            unchecked: set[int] = set()
            meta_run(self.plan, metas + state_meta, self.budget, unchecked=unchecked)
            if len(self._seen) >= _CACHE:
                self._seen.pop(next(iter(self._seen)))
            check = StepCheck(self.budget)
            self._seen[key] = {k: check for k in unchecked} or None
        self.pending = self._seen[key]
        return tuple(out)

    def input_dtype(self, k: int, state: Sequence[torch.Tensor]) -> torch.dtype:
        """The dtype input ``k`` is cast to: its ``__dtype__``, else the weights' floating dtype."""
        return self.dtypes[k] or next((t.dtype for t in state if t.is_floating_point()), torch.float32)


def check_shapes(symbol: Any, plan: Any, state: Sequence[torch.Tensor], shapes: Mapping[str, Sequence[int]],
                 max_memory: int | float | str | None = None) -> int:
    """The peak bytes a forward on inputs of ``shapes`` keeps alive (inputs in the graph's dtypes),
    checked against the budget; raises as `InputGuard` does. Used by ``mxtorch check``."""
    guard = InputGuard(symbol, plan, state, max_memory)
    metas = []
    for k, name in enumerate(plan.input_names):
        shape = tuple(shapes[name])
        guard.check_rank(name, shape, k)
        metas.append(torch.empty(shape, dtype=guard.dtypes[k] or torch.float32, device="meta"))
    return meta_run(plan, metas + guard._state_meta, guard.budget)
