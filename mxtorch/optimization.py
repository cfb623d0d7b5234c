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
- oneDNN: the rewritten model keeps the default model's fast path (`mxtorch.fastpath`: pre-packed
  convolution weights, ReLU / ReLU6 / residual add fused; a leftover BatchNorm (+ ReLU) in one pass),
  its weights packed here for ``example_inputs``;
- compile: the rewritten model exported (``torch.export``) and compiled ahead of time by AOTInductor for
  CPU with frozen weights (`CompiledForward`; the same compilation ``mxtorch convert --aot`` stores in a
  .pt2): inductor folds the weights into constants, packs the convolution weights for oneDNN, fuses
  their activations and residual adds and generates C++ for the element-wise rest (a pre-activation
  BatchNorm + ReLU among them). With ``example_inputs`` the compilation happens here and its cost is in
  ``model.optimize_report["compile_s"]``; otherwise on the first call. (``torch.compile`` of the model
  was 1.5x slower than this on the zoo backbones and took twice as long to compile.)

The result is an ordinary `MXNetModel` (state_dict under MXNet names: folded weights keep the name of the
weight they replace), so it exports with `mxtorch.export.export` like the model it came from (the
export traces the rewritten plan, never the compiled code).
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import torch

from .fastpath import FastRunner
from .graph import Plan, Ref, Step
from .model import MXNetModel
from .ops import conv as _conv
from .ops import norm as _norm

__all__ = ["CompiledForward", "optimize", "to_channels_last", "contiguous_head"]


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
    shapes other than these compile again on first use. ``mkldnn`` (on CPUs with oneDNN): the rewritten
    model keeps the default model's fast path (`mxtorch.fastpath`: each 2-D float32 Convolution on a
    pre-packed oneDNN weight with the ReLU / clip(0, 6) / residual add after it fused, a BatchNorm left
    over (+ ReLU) as one oneDNN pass); ``example_inputs`` pack the weights now rather than on the first
    call; ``mkldnn=False`` turns it off (``fast_path = False``). ``compile``: forward runs the rewritten
    model compiled ahead of time by AOTInductor (`CompiledForward`; needs a C++ compiler, raises
    `mxtorch.export.ExportError` in one line when it cannot compile); ``freeze=False`` compiles without
    freezing the weights (slower: no folding or packing). The exported graph is the plain rewritten plan.
    ``model`` itself is left unchanged.
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
    if not mkldnn:
        out.fast_path = False
    elif not compile and torch.backends.mkldnn.is_available():
        # the model's own fast path (mxtorch.fastpath) on the rewritten plan, its weights packed now
        runner = FastRunner(out._plan)
        object.__setattr__(out, "_fast", runner)
        report["mkldnn_fused"] = runner.fused
        if example_inputs is not None:
            with torch.inference_mode():
                out(*example_inputs)
    report["rewrite_s"] = time.perf_counter() - t0
    report["compile_s"] = None
    if compile:
        compiled = CompiledForward(freeze)
        object.__setattr__(out, "_compiled", compiled)
        if example_inputs is not None:
            t = time.perf_counter()
            with torch.inference_mode():
                out(*example_inputs)
            report["compile_s"] = time.perf_counter() - t
    object.__setattr__(out, "optimize_report", report)
    return out


class CompiledForward:
    """An optimized model's forward compiled ahead of time by AOTInductor (``optimize(compile=True)``).

    One compilation per input signature (shapes and dtypes), made on the first call with it: the model is
    exported with ``torch.export`` (which runs its plain rewritten plan) and compiled with frozen weights
    (`mxtorch.export`'s AOT package, loaded from memory with ``torch._inductor.aoti_load_package``). Frozen means the state is a constant of the compiled code, so the state each
    compilation froze is remembered (each tensor's identity, ``_version`` and data pointer): after an
    in-place change or a ``load_state_dict`` the next call compiles again instead of answering with the old
    weights. Calls the compiled code cannot honour run the model's other paths (`MXNetModel.forward`
    decides: autograd, tracing, tensors off the CPU, a memory budget's run-time checks). Copies and pickles
    keep the configuration, never the compiled code."""

    _KEEP = 4  # signatures kept (the oldest is dropped beyond)

    def __init__(self, freeze: bool = True) -> None:
        self.freeze = freeze
        self._init()

    def _init(self) -> None:
        self._lock = threading.Lock()
        self._runners: dict[tuple, Any] = {}
        self._state_key: tuple = ()
        self.compile_s: dict[tuple, float] = {}

    def __getstate__(self) -> dict:
        return {"freeze": self.freeze}

    def __setstate__(self, state: dict) -> None:
        self.freeze = state["freeze"]
        self._init()

    def __call__(self, model: MXNetModel, inputs: Sequence[torch.Tensor], state: Sequence[torch.Tensor]) -> Any:
        sig = tuple((tuple(t.shape), t.dtype) for t in inputs)
        key = tuple((id(t), t._version, t.data_ptr()) for t in state)
        with self._lock:
            if key != self._state_key:
                self._runners.clear()
                self._state_key = key
            runner = self._runners.get(sig)
            if runner is None:
                if len(self._runners) >= self._KEEP:
                    self._runners.pop(next(iter(self._runners)))
                t = time.perf_counter()
                runner = self._compile(model, tuple(inputs))
                self.compile_s[sig] = time.perf_counter() - t
                self._runners[sig] = runner
        out = runner(*inputs)
        return tuple(out) if isinstance(out, list) else out

    def _compile(self, model: MXNetModel, inputs: tuple[torch.Tensor, ...]) -> Any:
        import torch._inductor

        from .export import ExportError, _aot_package, _export_failure, _exported_program

        try:
            with torch.inference_mode(False):
                program = _exported_program(model, inputs, model.input_names, {})
        except Exception as exc:  # torch.export raises many types; the user needs one line
            raise ExportError("cannot compile the model: " +
                              _export_failure(exc, "pt2", {}, model.input_names)) from exc
        return torch._inductor.aoti_load_package(io.BytesIO(_aot_package(program, freeze=self.freeze)))


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
