"""Build a torch.fx graph from an ndparse Symbol: one ``call_function`` node per MXNet op.

The graph takes the model's data inputs, then every parameter/aux state, as placeholders (so the
GraphModule itself holds no state: `MXNetModel` owns the tensors under their MXNet names and passes
them in). Multi-output ops are picked with ``operator.getitem``. Nothing here runs per call.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.fx as fx

from ndparse.errors import NDFormatError

from . import ops as _ops  # noqa: F401  (registers every op family)
from .errors import UnsupportedOpError
from .ops._registry import Lowered, lookup, supported_ops

# input slots that hold learnt values: a variable feeding one of these must come from the params
_PARAM_SLOTS = frozenset({"weight", "bias", "gamma", "beta", "moving_mean", "moving_var", "moving_avg",
                          "parameters", "state", "state_cell"})


_NON_WORD = re.compile(r"\W")


@dataclass(frozen=True)
class Plan:
    """What `build` decided: the GraphModule and the names of its placeholders, in call order."""

    module: fx.GraphModule
    input_names: tuple[str, ...]   # data inputs (MXNet variable names)
    state_names: tuple[str, ...]   # parameters and aux states, passed after the inputs
    output_names: tuple[str, ...]  # MXNet's list_outputs()


def _lower(node: Any) -> Lowered:
    conv = lookup(node.op)
    if conv is None:
        raise UnsupportedOpError(node.op, node.name, f"op {node.op!r}",
                                 ["the ops listed in docs/OPS.md: " + ", ".join(supported_ops())])
    lowered = conv(node)
    if not isinstance(lowered, Lowered):  # a converter bug, not a user error
        raise TypeError(f"converter of {node.op!r} returned {type(lowered).__name__}, not Lowered")
    return lowered


def _slot_names(node: Any) -> Sequence[str]:
    """The op's input names (``data``, ``weight``, ...) from ndparse's op table, () if unknown."""
    try:
        from ndparse.symbol import op_def
    except ImportError:  # pragma: no cover - ndparse without a symbol module
        return ()
    d = op_def(node.op)
    if d is None:
        return ()
    names = d.input_names
    try:
        return tuple(names(node.attrs) if callable(names) else names)
    except (TypeError, ValueError, KeyError):  # raw-string attributes of an op the table misreads
        return ()


def build(symbol: Any, state: Mapping[str, Any] | set[str]) -> Plan:
    """Lower every node of ``symbol`` (an ndparse Symbol) to torch.

    ``state`` holds the parameter and aux-state names. The data inputs are the other variables that a
    lowered op reads (or that are heads); a loss label is not one, since loss heads drop their label slot.
    Raises UnsupportedOpError for an op or attribute the registry cannot honour, NDFormatError for a
    parameter missing from the params or an output index the op does not have.
    """
    nodes = symbol.nodes
    lowered: dict[int, Lowered] = {}
    used: set[tuple[int, int]] = set()
    for node in nodes:
        if node.is_variable:
            continue
        low = _lower(node)
        lowered[node.index] = low
        slots = range(len(node.inputs)) if low.inputs is None else low.inputs
        names: Sequence[str] | None = None  # looked up only for a variable missing from the params
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
                names = _slot_names(node)
            if s < len(names) and names[s] in _PARAM_SLOTS:
                raise NDFormatError(f"parameter {srcnode.name!r} ({names[s]} of {node.op} node "
                                    f"{node.name!r}) is not in the params", expected="arg:/aux: "
                                    f"{srcnode.name}", found="no such key")
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

    graph = fx.Graph()
    env: dict[int, fx.Node] = {}
    for names, prefix in ((input_names, "input"), (state_names, "p")):
        for name in names:
            ph = graph.placeholder(_ident(name, prefix))
            for i in by_name[name]:
                env[i] = ph
    picks: dict[tuple[int, int], fx.Node] = {}

    def value(src: int, out: int) -> fx.Node:
        low = lowered.get(src)
        if low is None or low.num_outputs == 1:
            return env[src]
        key = (src, out)
        if key not in picks:
            picks[key] = graph.call_function(operator.getitem, (env[src], out))
        return picks[key]

    for node in nodes:
        low = lowered.get(node.index)
        if low is None:
            continue
        slots = range(len(node.inputs)) if low.inputs is None else low.inputs
        args = tuple(value(*node.inputs[s]) for s in slots)
        fxn = graph.call_function(low.fn, args, dict(low.kwargs))
        fxn.meta["mxnet_node"] = node.name
        fxn.meta["mxnet_op"] = node.op
        env[node.index] = fxn
    heads = [value(src, out) for src, out in symbol.heads]
    graph.output(heads[0] if len(heads) == 1 else tuple(heads))
    graph.lint()
    module = fx.GraphModule(torch.nn.Module(), graph, class_name="MXNetGraph")
    return Plan(module, input_names, state_names, tuple(symbol.list_outputs()))


def _ident(name: str, prefix: str) -> str:
    """A Python identifier for a placeholder (fx sanitises further and de-duplicates)."""
    s = _NON_WORD.sub("_", name)  # \W: what is not str.isalnum() nor "_"
    if not s or not (s[0].isalpha() or s[0] == "_"):
        s = f"{prefix}_{s}"
    return s
