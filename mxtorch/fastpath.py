"""The default model's fast inference path on CPU: the same plan run with oneDNN convolutions on cached,
pre-packed weights, in channels_last memory order, with what follows a convolution fused into its call.

Why: torch's ``F.conv2d`` on a CPU float32 tensor hands oneDNN the weight in its plain (OIHW) layout and the
activations in NCHW, and oneDNN reorders both into its blocked layouts on every call, then the output back;
an inference BatchNorm and a ReLU after it are two more passes over memory. MXNet 1.9.1 keeps the reordered
weights between calls. This module does the same for the default `MXNetModel`, without changing what the
model is: its parameters, names, ``state_dict`` and graph (``graph_module``, export) stay as they are; the
derived tensors live in a cache beside the plan.

`FastRunner` is derived from the model's `Plan` (no tensors at that point) and, per call, runs a private
plan in which each 2-D Convolution whose weights are model state becomes one `FusedConv` step:

- the BatchNorm that is the only reader of the convolution's output (axis 1, statistics held as state)
  is folded into the weight and bias: ``w * g / sqrt(var + eps)``, ``(b - mean) * g / sqrt(var + eps) +
  beta`` in float64, stored as float32 (the parameters themselves are untouched);
- a ReLU, clip to [0, 6], or residual add (then ReLU) that is the only reader of the result is fused into the
  oneDNN call as a post-op;
- the (folded) weight is packed into oneDNN's layout for the input's shape once, and kept.

The cache can never be stale: it is keyed by each source tensor's identity, ``_version`` (every in-place
change through torch bumps it: ``copy_``, ``load_state_dict``, an optimizer step), ``data_ptr``, shape and
dtype, and it holds the source tensors, so their memory cannot be reused by another tensor while cached.
Writing a parameter's memory behind torch's back (through a numpy array sharing it) is not seen. A state
tensor made under ``torch.inference_mode`` has no version counter: its steps run the plain ops (the model
makes its own state outside inference mode, so this is only a tensor a user put there).

4-D float inputs enter in channels_last order (oneDNN's direct NHWC kernels need no reorder), heads leave
in the ordinary row-major order. Ops not known to be indifferent to memory order get row-major inputs.

The model uses the fast path only when it cannot differ in kind from the plain one: CPU float32 tensors,
no autograd (no tensor requiring grad while grad mode is on), not under torch.export / fx or jit tracing /
torch.compile, and oneDNN available. The memory budget's run-time checks of value-dependent steps (a
detector's NMS, `mxtorch.budget`) run before the same steps of the fused plan (never fused themselves; the
plain plan runs if one was). Any step whose
tensors are not CPU float32 at run time runs the original ops. Outputs differ from the plain path by
float32 rounding only (the folded BatchNorm and oneDNN's summation order: about 1e-6 relative).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence, Mapping
from dataclasses import replace
from typing import Any

import torch
import torch.nn.functional as F

from .graph import Plan, Ref, Step, run
from .ops import _common
from .ops import arith as _arith
from .ops import conv as _conv
from .ops import norm as _norm
from .ops import pooling as _pooling
from .ops import shape as _shape
from .ops import softmax as _softmax

__all__ = ["FastRunner", "FusedBN", "FusedConv", "fast_path_allowed"]

_PACKED_SHAPES = 4  # input shapes whose packed weight a convolution keeps (batch 1 and 8 alternating, ...)


def _layout_free() -> frozenset[Callable[..., Any]]:
    """Step functions whose result does not depend on their inputs' memory order (they index logically
    and return a valid tensor for any strides)."""
    return frozenset({
        _norm.batch_norm, F.relu, _arith.clip, _common.binary, _shape.concat, _shape.flatten,
        _pooling.pooling, _conv.fully_connected, _softmax.identity, torch.sigmoid, torch.tanh,
    })


def fast_path_allowed(inputs: Sequence[Any], state: Sequence[torch.Tensor], *, mkldnn: bool = True) -> bool:
    """Whether a forward on ``inputs`` may take the fast path (see the module docstring); with
    ``mkldnn=False``, whether it may run CPU code compiled for the model (the same, oneDNN aside)."""
    if torch.compiler.is_compiling() or torch.compiler.is_exporting() or \
            torch.fx._symbolic_trace.is_fx_symbolic_tracing() or torch.jit.is_tracing():
        return False
    if mkldnn and not torch.backends.mkldnn.is_available():
        return False
    for x in inputs:
        if type(x) is not torch.Tensor or x.device.type != "cpu":
            return False
    if torch.is_grad_enabled() and (any(x.requires_grad for x in inputs) or any(t.requires_grad for t in state)):
        return False
    return True


def _unary(y: torch.Tensor, unary: str, scalars: tuple[float, ...]) -> torch.Tensor:
    if unary == "relu":
        return F.relu(y)
    if unary == "hardtanh":
        return F.hardtanh(y, scalars[0], scalars[1])
    return y


class _Cached:
    """What `FusedConv` and `FusedBN` share: a lock and a cache of weights derived from the source tensors
    (``_src`` under ``_key``), packed per input shape; deepcopy / pickle keep the configuration, never the
    cache."""

    def _clear(self) -> None:
        self._finite = True
        self._src: tuple[torch.Tensor, ...] = ()
        self._key: tuple = ()
        self._bias: torch.Tensor | None = None
        self._weight: torch.Tensor | None = None
        self._packed: dict[tuple[int, ...], Any] = {}

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        for k in ("_lock", "_finite", "_src", "_key", "_bias", "_weight", "_packed"):
            state.pop(k)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._clear()


class FusedConv(_Cached):
    """One 2-D Convolution (+ folded BatchNorm) (+ ReLU / clip(0, 6) / residual add (+ ReLU)) on oneDNN
    with cached derived weights. Called with ``(x, [other], weight, [bias], [gamma, beta, mean, var])``.

    ``steps``: the plan steps it replaces, in order, with the position of each one's extra argument, so
    that a call whose tensors are not CPU float32 runs exactly those ops instead."""

    def __init__(self, conv: Step, bn: Step | None, unary: tuple[str, tuple[float, ...]] | None,
                 unary_step: Step | None, add_step: Step | None, after_add: Step | None,
                 add_unary: tuple[str, tuple[float, ...]] | None) -> None:
        self.conv, self.bn, self.unary_step = conv, bn, unary_step
        self.add_step, self.after_add = add_step, after_add
        kw = conv.kwargs
        self.stride, self.pad = list(kw["stride"]), list(kw["pad"])
        self.dilate, self.groups = list(kw["dilate"]), kw["groups"]
        self.has_bias = len(conv.args) > 2
        self.n_params = len(conv.args) - 1 + (4 if bn is not None else 0)
        self.unary, self.scalars = ("none", ()) if unary is None else unary
        self.add_unary = add_unary
        self._lock = threading.Lock()
        self._clear()

    # -- the plain ops, for tensors the fast call does not take ---------------------------------------------

    def plain(self, x: torch.Tensor, other: torch.Tensor | None, params: Sequence[torch.Tensor]) -> torch.Tensor:
        n_conv = len(self.conv.args) - 1
        y = self.conv.fn(x, *params[:n_conv], **self.conv.kwargs)
        if self.bn is not None:
            y = self.bn.fn(y, *params[n_conv:], **self.bn.kwargs)
        if self.unary_step is not None:
            y = self.unary_step.fn(y, **self.unary_step.kwargs)
        if self.add_step is not None:
            first = self.add_step.args[0][0] == -1  # the convolution's value is the add's first operand
            y = self.add_step.fn(y, other, **self.add_step.kwargs) if first else \
                self.add_step.fn(other, y, **self.add_step.kwargs)
            if self.after_add is not None:
                y = self.after_add.fn(y, **self.after_add.kwargs)
        return y

    # -- the fast call -------------------------------------------------------------------------------------

    def __call__(self, x: torch.Tensor, *rest: torch.Tensor) -> torch.Tensor:
        other = rest[0] if self.add_step is not None else None
        params = rest[1:] if self.add_step is not None else rest
        if not self._fast_ok(x, other, params):
            return self.plain(x, other, params)
        packed, bias = self._derived(x, params)
        if not self._finite:  # NaN/inf weights (a negative moving_var): oneDNN's fused ReLU would zero the
            return self.plain(x, other, params)  # NaNs torch and MXNet propagate, so the plain ops run
        if other is None:
            return torch.ops.mkldnn._convolution_pointwise(x, packed, bias, self.pad, self.stride, self.dilate,
                                                           self.groups, self.unary, list(self.scalars), "")
        if not other.is_contiguous(memory_format=torch.channels_last) and \
                x.is_contiguous(memory_format=torch.channels_last):
            other = other.contiguous(memory_format=torch.channels_last)
        unary, scalars = (None, []) if self.add_unary is None else (self.add_unary[0], list(self.add_unary[1]))
        return torch.ops.mkldnn._convolution_pointwise.binary(
            x, other, packed, bias, self.pad, self.stride, self.dilate, self.groups, "add", 1.0,
            unary, scalars, "")

    def _fast_ok(self, x: torch.Tensor, other: torch.Tensor | None, params: Sequence[torch.Tensor]) -> bool:
        if type(x) is not torch.Tensor or x.dtype != torch.float32 or x.device.type != "cpu" or x.dim() != 4:
            return False
        if x.shape[0] == 0 or x.shape[1] != params[0].shape[1] * self.groups:
            return False  # an empty batch, or channels the weight refuses: the plain op's result or message
        for t in params:
            if type(t) not in (torch.Tensor, torch.nn.Parameter) or t.dtype != torch.float32 or \
                    t.device.type != "cpu" or t.is_inference():  # an inference tensor has no _version
                return False
        w = params[0]
        if w.dim() != 4:
            return False
        c = w.shape[0]
        if self.has_bias and tuple(params[1].shape) != (c,):
            return False
        if self.bn is not None and not all(t.dim() == 1 and t.shape[0] == c for t in params[-4:]):
            return False
        if other is not None:
            if type(other) is not torch.Tensor or other.dtype != torch.float32 or other.device.type != "cpu" or \
                    tuple(other.shape) != self._out_shape(x, w):
                return False  # broadcasting or another dtype: the plain add
        return True

    def _out_shape(self, x: torch.Tensor, w: torch.Tensor) -> tuple[int, ...]:
        hw = [(x.shape[2 + i] + 2 * self.pad[i] - self.dilate[i] * (w.shape[2 + i] - 1) - 1) // self.stride[i] + 1
              for i in range(2)]
        return (x.shape[0], w.shape[0], *hw)

    def _derived(self, x: torch.Tensor, params: Sequence[torch.Tensor]) -> tuple[Any, torch.Tensor | None]:
        """The packed weight for ``x``'s shape and the bias, (re)made when a source tensor changed."""
        key = tuple((id(t), t._version, t.data_ptr(), tuple(t.shape), t.dtype) for t in params)
        with self._lock:
            if key != self._key or len(self._src) != len(params) or \
                    any(a is not b for a, b in zip(self._src, params)):
                self._clear()
                self._weight, self._bias = self._fold(params)
                self._finite = bool(torch.isfinite(self._weight).all()) and \
                    (self._bias is None or bool(torch.isfinite(self._bias).all()))
                self._src, self._key = tuple(params), key
            shape = tuple(x.shape)
            packed = self._packed.get(shape)
            if packed is None:
                if len(self._packed) >= _PACKED_SHAPES:
                    self._packed.pop(next(iter(self._packed)))
                with torch.inference_mode():
                    packed = torch._C._nn.mkldnn_reorder_conv2d_weight(
                        self._weight.to_mkldnn(), self.pad, self.stride, self.dilate, self.groups, list(shape))
                self._packed[shape] = packed
            return packed, self._bias

    def _fold(self, params: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The convolution's weight and bias with the BatchNorm folded in (computed in float64)."""
        with torch.inference_mode():
            w = params[0].detach()
            b = params[1].detach() if self.has_bias else None
            if self.bn is None:
                return w.contiguous().clone(), None if b is None else b.contiguous().clone()
            gamma, beta, mean, var = (t.detach() for t in params[-4:])
            f64 = torch.float64
            g = torch.ones_like(gamma, dtype=f64) if self.bn.kwargs["fix_gamma"] else gamma.to(f64)
            scale = g / torch.sqrt(var.to(f64) + self.bn.kwargs["eps"])
            w2 = (w.to(f64) * scale.reshape(-1, 1, 1, 1)).to(torch.float32).contiguous()
            b0 = torch.zeros_like(mean, dtype=f64) if b is None else b.to(f64)
            b2 = ((b0 - mean.to(f64)) * scale + beta.to(f64)).to(torch.float32)
            return w2, b2


class FusedBN(_Cached):
    """An inference BatchNorm on axis 1 (then the ReLU that is its only reader) that no convolution before it
    absorbs (a pre-activation block: BatchNorm -> ReLU -> Convolution), run as one oneDNN depthwise 1x1
    convolution with weight ``g / sqrt(var + eps)``, bias ``beta - mean * g / sqrt(var + eps)`` (float64,
    stored as float32, cached like `FusedConv`'s) and the ReLU as its post-op: one pass over memory instead
    of two. Called with ``(x, gamma, beta, mean, var)``."""

    def __init__(self, bn: Step, relu_step: Step | None) -> None:
        self.bn, self.relu_step = bn, relu_step
        self.unary = "relu" if relu_step is not None or bn.kwargs.get("relu") else "none"
        self._lock = threading.Lock()
        self._clear()

    def plain(self, x: torch.Tensor, params: Sequence[torch.Tensor]) -> torch.Tensor:
        y = self.bn.fn(x, *params, **self.bn.kwargs)
        if self.relu_step is not None:
            y = self.relu_step.fn(y, **self.relu_step.kwargs)
        return y

    def __call__(self, x: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
        if type(x) is not torch.Tensor or x.dtype != torch.float32 or x.device.type != "cpu" or x.dim() != 4 or \
                x.shape[0] == 0 or x.numel() == 0:
            return self.plain(x, params)
        c = x.shape[1]
        for t in params:
            if type(t) not in (torch.Tensor, torch.nn.Parameter) or t.dtype != torch.float32 or \
                    t.device.type != "cpu" or t.dim() != 1 or t.shape[0] != c or t.is_inference():
                return self.plain(x, params)
        key = tuple((id(t), t._version, t.data_ptr()) for t in params)
        shape = tuple(x.shape)
        with self._lock:
            if key != self._key or any(a is not b for a, b in zip(self._src, params)):
                self._clear()
                self._src, self._key = tuple(params), key
                with torch.inference_mode():  # NaN/inf scale (a negative moving_var): the plain ops, as in FusedConv
                    self._finite = bool(torch.isfinite(params[3].detach().to(torch.float64) +
                                                       self.bn.kwargs["eps"]).all()) and \
                        bool((params[3].detach().to(torch.float64) + self.bn.kwargs["eps"] > 0).all()) and \
                        all(bool(torch.isfinite(t).all()) for t in params)
            if not self._finite:
                return self.plain(x, params)
            packed = self._packed.get(shape)
            if packed is None:
                if len(self._packed) >= _PACKED_SHAPES:
                    self._packed.pop(next(iter(self._packed)))
                with torch.inference_mode():
                    gamma, beta, mean, var = (t.detach().to(torch.float64) for t in params)
                    g = torch.ones_like(gamma) if self.bn.kwargs["fix_gamma"] else gamma
                    scale = g / torch.sqrt(var + self.bn.kwargs["eps"])
                    self._bias = (beta - mean * scale).to(torch.float32)
                    w = scale.to(torch.float32).reshape(c, 1, 1, 1).contiguous()
                    packed = torch._C._nn.mkldnn_reorder_conv2d_weight(
                        w.to_mkldnn(), [0, 0], [1, 1], [1, 1], c, list(shape))
                self._packed[shape] = packed
            bias = self._bias
        return torch.ops.mkldnn._convolution_pointwise(x, packed, bias, [0, 0], [1, 1], [1, 1], c, self.unary,
                                                       [], "")


def _to_channels_last(x: Any) -> Any:
    if type(x) is torch.Tensor and x.dim() == 4 and x.dtype == torch.float32:
        return x.contiguous(memory_format=torch.channels_last)
    return x


def _row_major(x: Any) -> Any:
    return x.contiguous() if isinstance(x, torch.Tensor) else x


class _RowMajorArgs:
    """A step function called with row-major tensor arguments (for ops that may rely on the order)."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*[_row_major(a) for a in args], **kwargs)


def _post_op(st: Step) -> tuple[str, tuple[float, ...]] | None:
    """The oneDNN eltwise post-op a step computes, if it is one: ReLU, or clip to [0, 6] (ReLU6)."""
    if st.fn is F.relu and len(st.args) == 1 and not st.kwargs:
        return "relu", ()
    if st.fn is _arith.clip and len(st.args) == 1 and st.kwargs.get("a_min") == 0 and st.kwargs.get("a_max") == 6:
        return "hardtanh", (0.0, 6.0)
    return None


def _is_add(st: Step) -> bool:
    return st.fn is _common.binary and st.kwargs.get("op") == "add" and len(st.args) == 2 and \
        not st.kwargs.get("bool_out")


def fuse_plan(plan: Plan) -> tuple[Plan, int]:
    """The plan with each 2-D Convolution on state weights as a `FusedConv` step (absorbing its only-reader
    BatchNorm, ReLU/ReLU6 or residual add (+ ReLU)), 4-D inputs to channels_last first, row-major heads last,
    and row-major arguments for ops not known to be indifferent to memory order. Returns it and the number
    of fused convolutions."""
    n_in = len(plan.input_names)
    first_op = n_in + len(plan.state_names)
    readers: dict[int, list[int]] = {}
    for k, st in enumerate(plan.steps):
        for s, _ in st.args:
            readers.setdefault(s, []).append(k)
    heads = {s for s, _ in plan.outputs}
    is_state = lambda r: n_in <= r[0] < first_op and r[1] is None  # noqa: E731
    steps: list[Step | None] = list(plan.steps)
    taken: set[int] = set()
    fused = 0

    def only_reader(slot: int) -> int | None:
        r = readers.get(slot, [])
        return r[0] if len(r) == 1 and slot not in heads and r[0] not in taken else None

    for k, st in enumerate(plan.steps):
        if k in taken or st.fn is not _conv.convolution or len(st.kwargs["stride"]) != 2:
            continue
        if st.args[0][1] is not None or not all(is_state(r) for r in st.args[1:]):
            continue
        absorbed = [k]
        params = list(st.args[1:])
        out, name = st.out, st.name
        bn = unary_step = add_step = after_add = None
        unary = add_unary = None
        nxt = only_reader(out)
        if nxt is not None:
            cand = plan.steps[nxt]
            if cand.fn is _norm.batch_norm and cand.args[0] == (out, None) and len(cand.args) == 5 and \
                    all(is_state(r) for r in cand.args[1:]) and cand.kwargs.get("axis") in (1, -3) and \
                    not cand.kwargs.get("output_mean_var"):
                bn = cand
                absorbed.append(nxt)
                params += list(cand.args[1:])
                out, name = cand.out, f"{name}+{cand.name}"
                if cand.kwargs.get("relu"):
                    unary = ("relu", ())
                nxt = only_reader(out)
        if nxt is not None and unary is None:
            cand = plan.steps[nxt]
            if _post_op(cand) is not None:
                unary, unary_step = _post_op(cand), cand
                absorbed.append(nxt)
                out, name = cand.out, f"{name}+{cand.name}"
                nxt = None
            elif _is_add(cand) and (cand.args[0] == (out, None)) != (cand.args[1] == (out, None)):
                add_step = cand
                other = cand.args[1] if cand.args[0] == (out, None) else cand.args[0]
                absorbed.append(nxt)
                out, name = cand.out, f"{name}+{cand.name}"
                after = only_reader(out)
                if after is not None and _post_op(plan.steps[after]) is not None:
                    after_add = plan.steps[after]
                    add_unary = _post_op(after_add)
                    absorbed.append(after)
                    out, name = after_add.out, f"{name}+{after_add.name}"
        if add_step is not None:
            # mark which operand is the convolution's value, for the plain fallback
            conv_first = add_step.args[0] != other
            add_marker = replace(add_step, args=(((-1, None), other) if conv_first else (other, (-1, None))))
            fn = FusedConv(st, bn, unary, unary_step, add_marker, after_add, add_unary)
            args: tuple[Ref, ...] = (st.args[0], other, *params)
        else:
            fn = FusedConv(st, bn, unary, unary_step, None, None, None)
            args = (st.args[0], *params)
        at = max(absorbed)  # where the last absorbed step ran: every argument (``other`` too) is ready
        for j in absorbed:
            steps[j] = None
        steps[at] = Step(fn, args, {}, out, (), "Convolution(fused)", name)
        taken.update(absorbed)
        fused += 1
    for k, st in enumerate(plan.steps):  # the BatchNorms no convolution absorbed
        if k in taken or st.fn is not _norm.batch_norm or len(st.args) != 5 or st.args[0][1] is not None:
            continue
        if not all(is_state(r) for r in st.args[1:]) or st.kwargs.get("axis") not in (1, -3) or \
                st.kwargs.get("output_mean_var"):
            continue
        absorbed, out, name, relu_step = [k], st.out, st.name, None
        nxt = only_reader(out)
        if nxt is not None and not st.kwargs.get("relu") and _post_op(plan.steps[nxt]) == ("relu", ()):
            relu_step = plan.steps[nxt]
            absorbed.append(nxt)
            out, name = relu_step.out, f"{name}+{relu_step.name}"
        for j in absorbed:
            steps[j] = None
        steps[max(absorbed)] = Step(FusedBN(st, relu_step), st.args, {}, out, (), "BatchNorm(fused)", name)
        taken.update(absorbed)
    free_of = _layout_free()
    kept: list[Step] = []
    for st in steps:
        if st is None:
            continue
        if not isinstance(st.fn, (FusedConv, FusedBN)) and st.fn not in free_of:
            st = replace(st, fn=_RowMajorArgs(st.fn))
        kept.append(st)
    # inputs to channels_last: each 4-D float input through a step writing a new slot
    next_slot = plan.n_slots
    remap: dict[int, int] = {}
    first: list[Step] = []
    fast_readers = {s for st in kept if isinstance(st.fn, (FusedConv, FusedBN)) for s, _ in st.args}
    for k in range(n_in):
        if k not in fast_readers:  # only an input a oneDNN step reads is worth the copy
            continue
        remap[k] = next_slot
        first.append(Step(_to_channels_last, ((k, None),), {}, next_slot, (), "channels_last", plan.input_names[k]))
        next_slot += 1
    kept = first + [replace(st, args=tuple((remap.get(s, s), i) for s, i in st.args)) for st in kept]
    outputs = list(plan.outputs)  # op slots keep their numbers; a head that is an input stays that input
    tail: list[Step] = []
    new_outputs: list[Ref] = []
    for r in outputs:
        tail.append(Step(_row_major, (r,), {}, next_slot, (), "contiguous", "head"))
        new_outputs.append((next_slot, None))
        next_slot += 1
    kept += tail
    # frees: after each op slot's last reader (never an input or state slot)
    last: dict[int, int] = {}
    for j, st in enumerate(kept):
        for s, _ in st.args:
            if s >= first_op:
                last[s] = j
    frees: dict[int, list[int]] = {}
    for s, j in last.items():
        frees.setdefault(j, []).append(s)
    kept = [replace(st, free=tuple(sorted(frees.get(j, ())))) for j, st in enumerate(kept)]
    return replace(plan, steps=tuple(kept), outputs=tuple(new_outputs), n_slots=next_slot), fused


class FastRunner:
    """The fused plan of a model's plan (made on first use) and its caches (in the `FusedConv` steps)."""

    def __init__(self, plan: Plan) -> None:
        self.source = plan
        self.plan, self.fused = fuse_plan(plan)
        #: whether any step runs on oneDNN (else the plain plan is as fast, without the layout steps)
        self.useful = any(isinstance(st.fn, (FusedConv, FusedBN)) for st in self.plan.steps)

    def checks_for(self, pending: Mapping[int, Any] | None) -> dict[int, Any] | None | bool:
        """The budget's run-time checks (`mxtorch.budget`: source step index -> check) re-keyed to the fused
        plan's steps, or False when a checked step was fused away (then the plain plan must run)."""
        if not pending:
            return None
        at = {st.out: j for j, st in enumerate(self.plan.steps)}
        out: dict[int, Any] = {}
        for k, check in pending.items():
            src = self.source.steps[k]
            j = at.get(src.out)
            fn = self.plan.steps[j].fn if j is not None else None
            if fn is None or getattr(fn, "fn", fn) is not src.fn:  # _RowMajorArgs wraps the same op
                return False
            out[j] = check
        return out

    def __call__(self, values: list[Any], before: Mapping[int, Any] | None = None) -> Any:
        return run(self.plan, values, before)
