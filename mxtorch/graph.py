"""Lower an ndparse Symbol to torch, once, at load time: one step (a torch function of an op family
with its keyword arguments fixed) per MXNet op.

`build` validates every node and returns a `Plan`: the steps in topological order, each reading
numbered value slots (the data inputs, then every parameter/aux state, then one slot per op) and
freeing the slots it reads last, as fx's generated code does. `run` executes a plan; nothing of the
JSON is looked at per call, and it traces under ``torch.export``. `to_graph_module` turns the same
plan into a torch.fx GraphModule (one ``call_function`` node per op, ``operator.getitem`` to pick one
output of a multi-output op) for those who want fx: it is built on demand, since generating and
compiling its Python code costs more than the rest of loading.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.fx as fx

from ndparse.errors import NDFormatError

from . import ops as _ops  # noqa: F401  (registers every op family)
from .custom import converter_for
from .errors import MissingParameterError, UnsupportedOpError, UnsupportedOpsError
from .ops._registry import Converter, Lowered

_NON_WORD = re.compile(r"\W")


Ref = tuple[int, "int | None"]  # (value slot, output index of a multi-output op or None)


@dataclass(frozen=True)
class Step:
    """One MXNet op: ``slots[out] = fn(*(slots[r] for r in args), **kwargs)``, then free ``free``."""

    fn: Callable[..., Any]
    args: tuple[Ref, ...]
    kwargs: Mapping[str, Any]
    out: int
    free: tuple[int, ...]
    op: str
    name: str


@dataclass(frozen=True)
class Plan:
    """What `build` decided: the steps and the names of the value slots the caller fills."""

    steps: tuple[Step, ...]
    outputs: tuple[Ref, ...]       # the heads, in MXNet's list_outputs() order
    n_slots: int
    input_names: tuple[str, ...]   # data inputs (MXNet variable names): slots 0..
    state_names: tuple[str, ...]   # parameters and aux states: the slots after the inputs
    output_names: tuple[str, ...]  # MXNet's list_outputs()


def run(plan: Plan, values: list[Any], before: Mapping[int, Callable[[Step, list], None]] | None = None) -> Any:
    """Execute ``plan`` on ``values`` (the inputs then the state tensors, in slot order); returns a
    tensor for one head, else a tuple in ``plan.output_names`` order.

    An op that fails (an input shape the graph rejects) raises its own exception, with the MXNet node
    named in a note and in ``exc.mxnet_node`` (``(op, name)``), since torch's message does not say which
    of the graph's ops refused. ``before``: step index -> a check called with the step and its
    arguments before it runs (`mxtorch.budget`, for the steps its meta run could not follow)."""
    slots = values + [None] * (plan.n_slots - len(values))
    for k, st in enumerate(plan.steps):
        try:
            args = [slots[s] if i is None else slots[s][i] for s, i in st.args]
            if before is not None and k in before:
                before[k](st, args)
            slots[st.out] = st.fn(*args, **st.kwargs)
        except (RuntimeError, ValueError, IndexError, TypeError) as exc:
            _name_node(exc, st)
            raise
        for f in st.free:
            slots[f] = None
    outs = tuple(slots[s] if i is None else slots[s][i] for s, i in plan.outputs)
    return outs[0] if len(outs) == 1 else outs


def _name_node(exc: BaseException, st: Step) -> None:
    if getattr(exc, "mxnet_node", None) is None:
        try:
            exc.mxnet_node = (st.op, st.name)  # type: ignore[attr-defined]
        except AttributeError:  # an exception type with __slots__: the note alone
            pass
        exc.add_note(f"in MXNet {st.op} node {st.name!r}")


def to_graph_module(plan: Plan) -> fx.GraphModule:
    """The plan as a stateless torch.fx GraphModule: placeholders for the inputs then the state (in slot
    order), one ``call_function`` node per step (``meta`` holds the MXNet node and op)."""
    graph = fx.Graph()
    env: dict[int, fx.Node] = {}
    for k, name in enumerate(plan.input_names):
        env[k] = graph.placeholder(_ident(name, "input"))
    for k, name in enumerate(plan.state_names, start=len(plan.input_names)):
        env[k] = graph.placeholder(_ident(name, "p"))
    picks: dict[Ref, fx.Node] = {}

    def value(ref: Ref) -> fx.Node:
        s, i = ref
        if i is None:
            return env[s]
        if ref not in picks:
            picks[ref] = graph.call_function(operator.getitem, (env[s], i))
        return picks[ref]

    for st in plan.steps:
        fxn = graph.call_function(st.fn, tuple(value(r) for r in st.args), dict(st.kwargs))
        fxn.meta["mxnet_node"] = st.name
        fxn.meta["mxnet_op"] = st.op
        env[st.out] = fxn
    heads = [value(r) for r in plan.outputs]
    graph.output(heads[0] if len(heads) == 1 else tuple(heads))
    graph.lint()
    return fx.GraphModule(torch.nn.Module(), graph, class_name="MXNetGraph")


def unsupported_ops(symbol: Any, converters: Mapping[str, Converter] | None = None) -> dict[str, list[str]]:
    """Every op of ``symbol`` without a converter -> the names of its nodes
    (``Custom:<op_type>`` for Custom ops), in graph order."""
    from .custom import node_key
    missing: dict[str, list[str]] = {}
    for node in symbol.nodes:
        if node.is_variable:
            continue
        if converter_for(node, converters) is None:
            missing.setdefault(node_key(node), []).append(node.name)
    return missing


def _lower(node: Any, converters: Mapping[str, Converter] | None = None) -> Lowered:
    conv = converter_for(node, converters)
    if conv is None:  # unreachable after build's scan; kept for direct callers
        raise UnsupportedOpsError({node.op: [node.name]})
    lowered = conv(node)
    if not isinstance(lowered, Lowered):  # a converter bug, not a user error
        raise TypeError(f"converter of {node.op!r} returned {type(lowered).__name__}, not Lowered")
    return lowered


def _input_slots(node: Any) -> Sequence[tuple[str, str]]:
    """The op's (input name, role) pairs (``("weight", "param")``, ...) from ndparse's op table, () if
    unknown; roles are the table's: data, param, aux, label."""
    d = node.op_def
    if d is None:
        return ()
    try:
        return tuple(zip(d.input_names(node.attrs), d.input_roles(node.attrs)))
    except (TypeError, ValueError, KeyError):  # raw-string attributes of an op the table misreads
        return ()


def build(symbol: Any, state: Mapping[str, Any] | set[str],
          converters: Mapping[str, Converter] | None = None) -> Plan:
    """Lower every node of ``symbol`` (an ndparse Symbol) to torch.

    ``state`` holds the parameter and aux-state names. The data inputs are the other variables that a
    lowered op reads (or that are heads); a loss label is not one, since loss heads drop their label slot.
    Raises UnsupportedOpError for an op or attribute the registry cannot honour, NDFormatError for a
    parameter missing from the params or an output index the op does not have. ``converters``: user
    converters for this graph (`mxtorch.custom`), by op name or ``Custom:<op_type>``.
    """
    missing = unsupported_ops(symbol, converters)
    if missing:
        raise UnsupportedOpsError(missing, file=getattr(symbol, "file", None))
    nodes = symbol.nodes
    lowered: dict[int, Lowered] = {}
    used: set[tuple[int, int]] = set()
    for node in nodes:
        if node.is_variable:
            continue
        low = _lower(node, converters)
        lowered[node.index] = low
        slots = range(len(node.inputs)) if low.inputs is None else low.inputs
        names: Sequence[tuple[str, str]] | None = None  # looked up only for a variable missing from the params
        for s in slots:
            if s >= len(node.inputs):
                raise NDFormatError(f"node {node.name!r} ({node.op}) has {len(node.inputs)} inputs, "
                                    f"its lowering reads input {s}", expected=f"at least {s + 1} inputs",
                                    found=str(len(node.inputs)))
            src, out = node.inputs[s]
            used.add((src, out))
            srcnode = nodes[src]
            if not srcnode.is_variable or srcnode.name in state:
                continue
            if names is None:
                names = _input_slots(node)
            if s < len(names) and names[s][1] in ("param", "aux"):
                raise MissingParameterError(f"parameter {srcnode.name!r} ({names[s][0]} of {node.op} node "
                                            f"{node.name!r}) is not in the params", name=srcnode.name)
    for src, out in symbol.heads:
        used.add((src, out))
    # output indices the lowering does not provide (e.g. rrelu's mask, unwritten at inference)
    for src, out in used:
        low = lowered.get(src)
        if low is not None and out >= low.num_outputs:
            n = nodes[src]
            raise UnsupportedOpError(n.op, n.name, f"output {out}",
                                     [f"outputs 0..{low.num_outputs - 1} at inference"])
    used_vars = {src for src, _ in used if nodes[src].is_variable}
    order = list(symbol.list_arguments()) + list(symbol.list_auxiliary_states())
    by_name: dict[str, list[int]] = {}  # MXNet binds by name: same-named variables share a value
    for i in sorted(used_vars):
        by_name.setdefault(nodes[i].name, []).append(i)
    input_names = tuple(n for n in order if n in by_name and n not in state)
    state_names = tuple(n for n in order if n in by_name and n in state)

    slot: dict[int, int] = {}  # node index -> value slot
    for k, name in enumerate(input_names + state_names):
        for i in by_name[name]:
            slot[i] = k

    def ref(src: int, out: int) -> Ref:
        low = lowered.get(src)
        return (slot[src], None if low is None or low.num_outputs == 1 else out)

    raw: list[tuple[Any, Lowered, tuple[Ref, ...]]] = []
    for node in nodes:
        low = lowered.get(node.index)
        if low is None:
            continue
        slot[node.index] = len(input_names) + len(state_names) + len(raw)
        slots = range(len(node.inputs)) if low.inputs is None else low.inputs
        raw.append((node, low, tuple(ref(*node.inputs[s]) for s in slots)))
    outputs = tuple(ref(src, out) for src, out in symbol.heads)
    # free each op's value after the last step that reads it (never a head, never an input or state)
    first_op_slot = len(input_names) + len(state_names)
    keep = {s for s, _ in outputs}
    last: dict[int, int] = {}
    for k, (_, _, args) in enumerate(raw):
        for s, _ in args:
            if s >= first_op_slot and s not in keep:
                last[s] = k
    frees: dict[int, list[int]] = {}
    for s, k in last.items():
        frees.setdefault(k, []).append(s)
    steps = tuple(Step(low.fn, args, low.kwargs, slot[node.index], tuple(sorted(frees.get(k, ()))),
                       node.op, node.name) for k, (node, low, args) in enumerate(raw))
    return Plan(steps, outputs, first_op_slot + len(raw), input_names, state_names,
                tuple(symbol.list_outputs()))


def _ident(name: str, prefix: str) -> str:
    """A Python identifier for a placeholder (fx sanitises further and de-duplicates)."""
    s = _NON_WORD.sub("_", name)  # \W: what is not str.isalnum() nor "_"
    if not s or not (s[0].isalpha() or s[0] == "_"):
        s = f"{prefix}_{s}"
    return s
