"""`optimize`: a faster `MXNetModel` with the same outputs (within 1e-5), by load-time rewrites of its plan
and, where a compiler is available, compiled execution.

Rewrites (each one keeps the graph's outputs; all are done once, here, not per call):

- constant folding: a step whose inputs are all parameters (or folded constants) runs once now and its
  result becomes a parameter (random samplers are never folded);
- BatchNorm folding: an inference BatchNorm on the channel axis whose input is the output of a
  Convolution or FullyConnected that nothing else reads, with its statistics and the layer's weights
  held as parameters, becomes part of that layer: ``w' = w * g / sqrt(var + eps)``,
  ``b' = (b - mean) * g / sqrt(var + eps) + beta`` (computed in float64, stored in the weight's dtype);
  a BatchNorm whose input is read elsewhere too, or that returns its mean/var, is left alone;
- channels_last: 4-D inputs and 4-D convolution weights in ``torch.channels_last`` memory order (the
  layout oneDNN's CPU kernels run best), the heads handed back contiguous;
- compile: ``torch.compile`` (inductor) with frozen weights (``freezing``: weights become constants that
  inductor folds into the kernels). With ``example_inputs`` the compilation happens here, and its cost is
  in ``model.optimize_report["compile_s"]``; otherwise on the first call.

The result is an ordinary `MXNetModel` (state_dict under MXNet names: folded weights keep the name of the
weight they replace), so it exports with `mxtorch.export.export` like the model it came from (the
export traces the rewritten plan, never the compiled code).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import torch

from .graph import Plan, Ref, Step, run
from .model import MXNetModel
from .ops import _common
from .ops import arith as _arith
from .ops import conv as _conv
from .ops import norm as _norm

__all__ = ["optimize", "to_channels_last", "contiguous_head"]


def to_channels_last(x: torch.Tensor) -> torch.Tensor:
    """A 4-D tensor in channels_last memory order (values unchanged); other ranks as they are."""
    return x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x


def contiguous_head(x: Any) -> Any:
    """A head in the ordinary (row-major) memory order, as the unoptimized model returns it."""
    return x.contiguous() if isinstance(x, torch.Tensor) else x


def optimize(model: MXNetModel, example_inputs: Sequence[torch.Tensor] | None = None, *, fold_bn: bool = True,
             fold_constants: bool = True, channels_last: bool = True, mkldnn: bool = True, compile: bool = False,
             freeze: bool = True) -> MXNetModel:
    """A new `MXNetModel` computing what ``model`` computes, faster (see the module docstring).

    ``example_inputs``: inputs to compile for (``compile=True``): compilation then happens now and is timed;
    shapes other than these compile again on first use. Without ``compile`` they let ``mkldnn`` (on CPUs
    with oneDNN) run each 2-D float32 Convolution with its weights pre-packed in oneDNN's blocked layout
    and the ReLU / clip(0, 6) / residual add that follows it fused into the same call; the exported
    graph is the plain rewritten plan. ``model`` itself is left unchanged.
    ``optimize_report`` on the result says what was done (folded BatchNorms, constants, compile seconds).
    """
    if not isinstance(model, MXNetModel):
        raise TypeError(f"optimize takes an MXNetModel (mxtorch.load), not {type(model).__name__}")
    t0 = time.perf_counter()
    plan: Plan = model._plan
    n_in = len(plan.input_names)
    consts: dict[int, torch.Tensor] = {}  # slot -> value, for every constant slot
    names: dict[int, str] = {}
    aux: set[int] = set()
    for k, (name, attr) in enumerate(zip(plan.state_names, model._state_attrs), start=n_in):
        t = getattr(model, attr)
        consts[k] = t.detach()
        names[k] = name
        if attr in dict(model.named_buffers()):
            aux.add(k)
    rw = _Rewriter(plan, consts, names)
    report: dict[str, Any] = {"constants_folded": 0, "bn_folded": 0, "bn_kept": 0}
    with torch.inference_mode():
        if fold_constants:
            report["constants_folded"] = rw.fold_constants()
        if fold_bn:
            report["bn_folded"], report["bn_kept"] = rw.fold_batch_norms()
    if channels_last:
        rw.channels_last()
    rw.contiguous_heads()  # oneDNN steps and channels_last may hand back other memory orders
    new_plan, state = rw.finish()
    aux_names = {names[k] for k in aux}
    out = MXNetModel.__new__(type(model))
    torch.nn.Module.__init__(out)
    with torch.inference_mode(False):  # fresh tensors (inference tensors cannot become parameters)
        out._init_plan(new_plan, {k: _fresh(v) for k, v in state.items() if k not in aux_names},
                       {k: _fresh(v) for k, v in state.items() if k in aux_names})
    object.__setattr__(out, "_guard", model._guard.for_plan(new_plan))  # same inputs, checks, budget
    report["channels_last"] = channels_last
    report["mkldnn_fused"] = 0
    if mkldnn and not compile and example_inputs is not None and torch.backends.mkldnn.is_available():
        fast = _mkldnn_plan(out, tuple(example_inputs))
        if fast is not None:
            object.__setattr__(out, "_compiled", _PlanRunner(out, fast[0]))
            report["mkldnn_fused"] = fast[1]
    report["rewrite_s"] = time.perf_counter() - t0
    report["compile_s"] = None
    if compile:
        options = {"freezing": True} if freeze else {}
        compiled = torch.compile(out, options=options, dynamic=False)
        object.__setattr__(out, "_compiled", compiled)
        if example_inputs is not None:
            t = time.perf_counter()
            with torch.inference_mode():
                compiled(*example_inputs)
            report["compile_s"] = time.perf_counter() - t
    object.__setattr__(out, "optimize_report", report)
    return out


class _PlanRunner:
    """Runs a private plan (oneDNN steps holding pre-packed weights) over the model's inputs and state."""

    def __init__(self, model: MXNetModel, plan: Plan) -> None:
        self.model, self.plan = model, plan

    def __call__(self, *args: torch.Tensor) -> Any:
        m = self.model
        return run(self.plan, [*args, *[getattr(m, a) for a in m._state_attrs]])


def _mkldnn_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, *, packed: Any,
                 stride: tuple[int, ...], pad: tuple[int, ...], dilate: tuple[int, ...], groups: int,
                 unary: str, scalars: tuple[float, ...]) -> torch.Tensor:
    """A 2-D Convolution on oneDNN with a pre-packed weight, then ``unary`` (none/relu/hardtanh) fused.
    Inputs or weights no longer float32 CPU (``model.double()``) take the plain path on the current weights."""
    if x.dtype != torch.float32 or weight.dtype != torch.float32 or x.device.type != "cpu" or x.dim() != 4:
        y = _conv.convolution(x, weight, bias, stride=stride, pad=pad, dilate=dilate, groups=groups)
        return _unary(y, unary, scalars)
    return torch.ops.mkldnn._convolution_pointwise(x, packed, bias, list(pad), list(stride), list(dilate), groups,
                                                   unary, list(scalars), "")


def _mkldnn_conv_add(x: torch.Tensor, other: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
                     *, packed: Any, stride: tuple[int, ...], pad: tuple[int, ...],
                     dilate: tuple[int, ...], groups: int, unary: str, scalars: tuple[float, ...]) -> torch.Tensor:
    """``unary(conv(x) + other)`` in one oneDNN call (a residual add; ``other`` of the output's shape)."""
    if x.dtype != torch.float32 or other.dtype != torch.float32 or weight.dtype != torch.float32 or \
            x.device.type != "cpu" or x.dim() != 4:
        y = _conv.convolution(x, weight, bias, stride=stride, pad=pad, dilate=dilate, groups=groups) + other
        return _unary(y, unary, scalars)
    return torch.ops.mkldnn._convolution_pointwise.binary(
        x, other, packed, bias, list(pad), list(stride), list(dilate), groups, "add", 1.0,
        None if unary == "none" else unary, list(scalars), "")


def _unary(y: torch.Tensor, unary: str, scalars: tuple[float, ...]) -> torch.Tensor:
    if unary == "relu":
        return torch.nn.functional.relu(y)
    if unary == "hardtanh":
        return torch.nn.functional.hardtanh(y, scalars[0], scalars[1])
    return y


def _post_op(st: Step) -> tuple[str, tuple[float, ...]] | None:
    """The oneDNN eltwise post-op a step computes, if it is one: ReLU, or clip to [0, 6] (ReLU6)."""
    if st.fn is torch.nn.functional.relu and len(st.args) == 1:
        return "relu", ()
    if st.fn is _arith.clip and st.kwargs.get("a_min") == 0 and st.kwargs.get("a_max") == 6:
        return "hardtanh", (0.0, 6.0)
    return None


def _is_add(st: Step) -> bool:
    return st.fn is _common.binary and st.kwargs.get("op") == "add" and len(st.args) == 2


def _mkldnn_plan(model: MXNetModel, example: tuple[torch.Tensor, ...]) -> tuple[Plan, int] | None:
    """The model's plan with each 2-D float32 Convolution (weights held as parameters) replaced by a
    oneDNN call on a pre-packed weight, fusing the ReLU/ReLU6 or the residual add (+ ReLU) that is the only
    reader of its output. Shapes for packing come from one run on ``example``. None if nothing applies."""
    plan: Plan = model._plan
    n_in = len(plan.input_names)
    state = [getattr(model, a) for a in model._state_attrs]
    shapes: dict[int, tuple[torch.Size, torch.dtype]] = {}
    slots: list[Any] = [*example, *state] + [None] * (plan.n_slots - n_in - len(state))
    with torch.inference_mode():  # one run, recording what each step reads and writes
        for st in plan.steps:
            slots[st.out] = st.fn(*[slots[s] if i is None else slots[s][i] for s, i in st.args], **st.kwargs)
            for s, i in (*st.args, (st.out, None)):
                v = slots[s] if i is None else slots[s][i]
                if i is None and isinstance(v, torch.Tensor):
                    shapes[s] = (v.shape, v.dtype)
    del slots
    readers: dict[int, list[int]] = {}
    for k, st in enumerate(plan.steps):
        for s, _ in st.args:
            readers.setdefault(s, []).append(k)
    heads = {s for s, _ in plan.outputs}
    consts = set(range(n_in, n_in + len(state)))
    steps = list(plan.steps)
    drop: set[int] = set()   # steps whose work a fused step now does
    taken: set[int] = set()  # steps absorbed by a fusion (dropped, or replaced by the fused step)
    fused = 0

    def only_reader(slot: int) -> int | None:
        r = readers.get(slot, [])
        return r[0] if len(r) == 1 and slot not in heads and r[0] not in taken else None

    for k, st in enumerate(plan.steps):
        if st.fn is not _conv.convolution or len(st.kwargs["stride"]) != 2 or k in taken:
            continue
        if not all(s in consts and i is None for s, i in st.args[1:]) or st.args[0][1] is not None:
            continue
        x_shape = shapes.get(st.args[0][0])
        w = state[st.args[1][0] - n_in]
        if x_shape is None or x_shape[1] != torch.float32 or w.dtype != torch.float32 or len(x_shape[0]) != 4:
            continue
        kw = st.kwargs
        try:
            packed = torch._C._nn.mkldnn_reorder_conv2d_weight(
                w.contiguous().to_mkldnn(), list(kw["pad"]), list(kw["stride"]), list(kw["dilate"]), kw["groups"],
                list(x_shape[0]))
        except RuntimeError:
            continue
        base = dict(packed=packed, stride=kw["stride"], pad=kw["pad"], dilate=kw["dilate"], groups=kw["groups"])
        unary, scalars, out, name, at = "none", (), st.out, st.name, k
        args: tuple = st.args
        fn: Any = _mkldnn_conv
        nxt = only_reader(st.out)
        if nxt is not None and _post_op(plan.steps[nxt]) is not None:
            unary, scalars = _post_op(plan.steps[nxt])
            out, name = plan.steps[nxt].out, f"{name}+{plan.steps[nxt].name}"
            drop.add(nxt)
        elif nxt is not None and _is_add(plan.steps[nxt]):
            add = plan.steps[nxt]
            other = add.args[1] if add.args[0] == (st.out, None) else add.args[0]
            if other[1] is None and other != (st.out, None) and shapes.get(other[0]) == shapes.get(add.out):
                fn, args, out, name = _mkldnn_conv_add, (st.args[0], other, *st.args[1:]), add.out, \
                    f"{name}+{add.name}"
                at = nxt  # in the add's place: ``other`` may be computed after the convolution
                drop.add(k)
                after = only_reader(add.out)
                if after is not None and _post_op(plan.steps[after]) is not None:
                    unary, scalars = _post_op(plan.steps[after])
                    out, name = plan.steps[after].out, f"{name}+{plan.steps[after].name}"
                    drop.add(after)
        taken.update(drop | {at})
        steps[at] = Step(functools.partial(fn, **base, unary=unary, scalars=scalars), args, {}, out, (),
                        "Convolution(oneDNN)", name)
        fused += 1
    if not fused:
        return None
    kept = [st for k, st in enumerate(steps) if k not in drop]
    # frees: after each slot's last reader
    last: dict[int, int] = {}
    keep = {s for s, _ in plan.outputs}
    first_op = n_in + len(state)
    for j, st in enumerate(kept):
        for s, _ in st.args:
            if s >= first_op and s not in keep:
                last[s] = j
    frees: dict[int, list[int]] = {}
    for s, j in last.items():
        frees.setdefault(j, []).append(s)
    kept = [replace(st, free=tuple(sorted(frees.get(j, ())))) for j, st in enumerate(kept)]
    return replace(plan, steps=tuple(kept)), fused


class _Rewriter:
    """The plan as mutable steps plus the constant slots; `finish` renumbers it into a new Plan."""

    def __init__(self, plan: Plan, consts: dict[int, torch.Tensor], names: dict[int, str]) -> None:
        self.plan = plan
        self.steps: list[Step] = list(plan.steps)
        self.outputs: list[Ref] = list(plan.outputs)
        self.consts = consts
        self.names = names
        self.next_slot = plan.n_slots

    def _new_const(self, value: torch.Tensor, name: str) -> int:
        k = self.next_slot
        self.next_slot += 1
        self.consts[k] = value
        self.names[k] = name
        return k

    def _readers(self) -> dict[int, int]:
        count: dict[int, int] = {}
        for st in self.steps:
            for s, _ in st.args:
                count[s] = count.get(s, 0) + 1
        for s, _ in self.outputs:
            count[s] = count.get(s, 0) + 2  # a head is never folded away
        return count

    # -- constant folding --------------------------------------------------------------------------------

    def fold_constants(self) -> int:
        remap: dict[Ref, Ref] = {}
        kept: list[Step] = []
        folded = 0
        for st in self.steps:
            args = tuple(remap.get(r, r) for r in st.args)
            st = replace(st, args=args) if args != st.args else st
            if _foldable(st) and all(s in self.consts for s, _ in args):
                vals = [self.consts[s] if i is None else self.consts[s][i] for s, i in args]
                try:
                    value = st.fn(*vals, **st.kwargs)
                except Exception:  # noqa: BLE001  (the op refuses these values: leave it to run time)
                    kept.append(st)
                    continue
                outs = value if isinstance(value, (tuple, list)) else None
                if outs is None and isinstance(value, torch.Tensor):
                    remap[(st.out, None)] = (self._new_const(value, st.name), None)
                elif outs is not None and all(isinstance(v, torch.Tensor) for v in outs):
                    for i, v in enumerate(outs):
                        remap[(st.out, i)] = (self._new_const(v, f"{st.name}_output{i}"), None)
                else:
                    kept.append(st)
                    continue
                folded += 1
                continue
            kept.append(st)
        self.steps = kept
        self.outputs = [remap.get(r, r) for r in self.outputs]
        return folded

    # -- BatchNorm folding -------------------------------------------------------------------------------

    def fold_batch_norms(self) -> tuple[int, int]:
        readers = self._readers()
        producer = {st.out: k for k, st in enumerate(self.steps)}
        drop: set[int] = set()
        folded = kept = 0
        for k, bn in enumerate(self.steps):
            if bn.fn is not _norm.batch_norm:
                continue
            layer_k = producer.get(bn.args[0][0])
            plan = self._bn_fold_plan(bn, None if layer_k is None else self.steps[layer_k], readers)
            if plan is None:
                kept += 1
                continue
            layer = self.steps[layer_k]
            w, b = plan
            wslot = self._new_const(w, self.names.get(layer.args[1][0], f"{layer.name}_weight"))
            bslot = self._new_const(b, self.names.get(layer.args[2][0]) if len(layer.args) > 2
                                    else f"{layer.name}_bias")
            if bn.kwargs.get("relu"):  # BatchNormWithReLU: the layer, then a ReLU in the BatchNorm's place
                self.steps[layer_k] = replace(layer, args=(layer.args[0], (wslot, None), (bslot, None)))
                self.steps[k] = replace(bn, fn=torch.nn.functional.relu, args=(bn.args[0],), kwargs={})
            else:  # the layer writes the BatchNorm's slot; the BatchNorm goes
                self.steps[layer_k] = replace(layer, args=(layer.args[0], (wslot, None), (bslot, None)),
                                              out=bn.out, name=f"{layer.name}+{bn.name}")
                drop.add(k)
            folded += 1
        self.steps = [st for k, st in enumerate(self.steps) if k not in drop]
        return folded, kept

    def _bn_fold_plan(self, bn: Step, layer: Step | None, readers: dict[int, int]
                      ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The folded weight and bias, or None when folding ``bn`` into ``layer`` is not legal."""
        if layer is None or bn.kwargs.get("output_mean_var") or bn.args[0][1] is not None:
            return None
        if layer.fn is _conv.convolution:
            if bn.kwargs.get("axis") != 1:
                return None
        elif layer.fn is _conv.fully_connected:
            if not layer.kwargs.get("flatten") or bn.kwargs.get("axis") not in (1, -1):
                return None
        else:
            return None
        if readers.get(bn.args[0][0], 0) != 1:  # the layer's output is read by something else too
            return None
        if len(bn.args) != 5 or not all(s in self.consts and i is None for s, i in bn.args[1:]):
            return None
        if not all(s in self.consts and i is None for s, i in layer.args[1:]):
            return None
        w = self.consts[layer.args[1][0]]
        bias = self.consts[layer.args[2][0]] if len(layer.args) > 2 else None
        gamma, beta, mean, var = (self.consts[s] for s, _ in bn.args[1:])
        if not w.is_floating_point() or w.dim() < 2:
            return None
        c = w.shape[0]
        if any(t.dim() != 1 or t.shape[0] != c for t in (gamma, beta, mean, var)) or \
                (bias is not None and tuple(bias.shape) != (c,)):
            return None
        f64 = torch.float64
        g = torch.ones(c, dtype=f64) if bn.kwargs.get("fix_gamma") else gamma.to(f64)
        scale = g / torch.sqrt(var.to(f64) + bn.kwargs["eps"])
        w2 = (w.to(f64) * scale.reshape(-1, *([1] * (w.dim() - 1)))).to(w.dtype)
        b0 = torch.zeros(c, dtype=f64) if bias is None else bias.to(f64)
        b2 = ((b0 - mean.to(f64)) * scale + beta.to(f64)).to(w.dtype)
        if not (torch.isfinite(w2).all() and torch.isfinite(b2).all()):
            return None
        return w2, b2

    # -- channels_last -----------------------------------------------------------------------------------

    def channels_last(self) -> None:
        n_in = len(self.plan.input_names)
        first: list[Step] = []
        remap: dict[int, int] = {}
        for k in range(n_in):
            s = self.next_slot
            self.next_slot += 1
            remap[k] = s
            first.append(Step(to_channels_last, ((k, None),), {}, s, (), "channels_last", self.plan.input_names[k]))
        self.steps = first + [replace(st, args=tuple((remap.get(s, s), i) for s, i in st.args)) for st in self.steps]
        self.outputs = [(remap.get(s, s), i) for s, i in self.outputs]
        for st in self.steps:
            if st.fn is _conv.convolution and st.args[1][0] in self.consts:
                w = self.consts[st.args[1][0]]
                if w.dim() == 4:
                    self.consts[st.args[1][0]] = w.contiguous(memory_format=torch.channels_last)

    def contiguous_heads(self) -> None:
        """Each head through `contiguous_head` (a no-op for a head already in row-major order)."""
        tail: list[Step] = []
        outs: list[Ref] = []
        for r in self.outputs:
            s = self.next_slot
            self.next_slot += 1
            tail.append(Step(contiguous_head, (r,), {}, s, (), "contiguous", "head"))
            outs.append((s, None))
        self.steps += tail
        self.outputs = outs

    # -- back to a Plan ----------------------------------------------------------------------------------

    def finish(self) -> tuple[Plan, dict[str, torch.Tensor]]:
        n_in = len(self.plan.input_names)
        used_consts = sorted({s for st in self.steps for s, _ in st.args if s in self.consts}
                             | {s for s, _ in self.outputs if s in self.consts})
        new: dict[int, int] = {k: k for k in range(n_in)}
        state: dict[str, torch.Tensor] = {}
        state_names: list[str] = []
        for s in used_consts:
            name = _unique(self.names[s], state)
            new[s] = n_in + len(state_names)
            state_names.append(name)
            state[name] = self.consts[s]
        base = n_in + len(state_names)  # op slots follow, in step order
        k = base
        for st in self.steps:
            new[st.out] = k
            k += 1
        steps = [replace(st, args=tuple((new[s], i) for s, i in st.args), out=new[st.out]) for st in self.steps]
        outputs = tuple((new[s], i) for s, i in self.outputs)
        keep = {s for s, _ in outputs}
        last: dict[int, int] = {}
        for j, st in enumerate(steps):
            for s, _ in st.args:
                if s >= base and s not in keep:
                    last[s] = j
        frees: dict[int, list[int]] = {}
        for s, j in last.items():
            frees.setdefault(j, []).append(s)
        steps = [replace(st, free=tuple(sorted(frees.get(j, ())))) for j, st in enumerate(steps)]
        plan = Plan(tuple(steps), outputs, k, self.plan.input_names, tuple(state_names), self.plan.output_names)
        return plan, state


def _fresh(t: torch.Tensor) -> torch.Tensor:
    """``t`` as an ordinary tensor (made under inference mode, or shared with the source model: cloned,
    keeping channels_last order)."""
    return t.clone(memory_format=torch.preserve_format)


def _unique(name: str, taken: dict[str, Any]) -> str:
    if name not in taken:
        return name
    n = 1
    while f"{name}#{n}" in taken:
        n += 1
    return f"{name}#{n}"


def _foldable(st: Step) -> bool:
    """Whether a step may run once at load time: not a random sampler (each call must draw anew)."""
    mod = getattr(st.fn, "__module__", "") or ""
    op = st.op.lower()
    return not mod.endswith(".random") and not any(w in op for w in ("random", "sample", "shuffle"))
