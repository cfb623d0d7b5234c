"""Control flow (docs/SYMBOL.md §4.10): ``_foreach``, ``_while_loop``, ``_cond``, as Gluon's
``F.contrib.foreach / while_loop / cond`` write them when a block is hybridized.

Each node carries its bodies as ``subgraphs`` (ndparse parses them); at load time every body is lowered
with the same converters as the outer graph (``mxtorch.graph.build``), so a body runs as a graph of
torch calls. MXNet's wiring rules (src/operator/control_flow.cc and Python's symbol/contrib.py):

- ``_foreach``: the node's inputs are the sliced data, then the initial loop states, then the free
  variables; ``in_data_locs`` / ``in_state_locs`` / ``remain_locs`` say which input of the body (in its
  ``list_inputs`` order) each one feeds. The data are sliced along axis 0, one step per slice. The body's
  outputs are ``num_out_data`` per-step outputs (stacked along a new axis 0) then the new states; the node
  returns the stacked outputs then the final states.
- ``_while_loop``: subgraphs (cond, func); the node's inputs are the union of both bodies' inputs;
  ``cond_input_locs`` / ``func_input_locs`` map each body input to a node input; loop variable ``j`` is
  func input ``func_var_locs[j]``. While fewer than ``max_iterations`` steps ran and cond is true (its one
  value non-zero), func runs; its per-step outputs are stacked into ``max_iterations`` rows, the rows of
  steps not taken are zero here (MXNet leaves them unwritten), then the final loop variables follow.
- ``_cond``: subgraphs (pred, then, else) over the union of their inputs (``*_input_locs``).

Export: ``_foreach`` becomes torch's ``scan`` and ``_cond`` torch's ``cond`` while ``torch.export``
traces, so the trip count and the branch stay data; ``_while_loop`` becomes torch's ``while_loop`` (its
stacked outputs kept in a ``max_iterations``-row buffer). A body these operators cannot take fails the
export with the node named; nothing is traced with a fixed trip count taken from the example input.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from . import _attrs as A
from ._registry import Lowered, Node, register, unsupported


@dataclass(frozen=True)
class Body:
    """A lowered subgraph: its plan and, per plan value slot, the index of the body input feeding it."""

    plan: Any
    feeds: tuple[int, ...]
    n_inputs: int
    n_outputs: int

    def __call__(self, inputs: Sequence[Tensor]) -> tuple[Tensor, ...]:
        from ..graph import run

        out = run(self.plan, [inputs[i] for i in self.feeds])
        return out if isinstance(out, tuple) else (out,)


# Bodies by key: run-time kwargs stay plain Python (an int), so fx graphs of the outer graph still print.
_BODIES: dict[int, tuple[Body, ...]] = {}
_KEYS = itertools.count()


def _lower_body(node: Node, sub: Any) -> Body:
    from ..graph import build

    names = list(sub.list_inputs())
    if len(set(names)) != len(names):
        raise unsupported(node, "a subgraph whose inputs do not have unique names", ["unique input names"])
    plan = build(sub, set(names))  # every body input is supplied by the node: none is a data input
    feeds = tuple(names.index(n) for n in (*plan.input_names, *plan.state_names))
    return Body(plan, feeds, len(names), len(plan.outputs))


def _store(bodies: tuple[Body, ...]) -> int:
    key = next(_KEYS)
    _BODIES[key] = bodies
    return key


def _locs(node: Node, key: str) -> tuple[int, ...]:
    return tuple(A.ints(node, key, ()))


def _check_locs(node: Node, key: str, locs: Sequence[int], bound: int) -> None:
    if any(not 0 <= i < bound for i in locs):
        raise unsupported(node, f"{key}={tuple(locs)}", [f"indices in [0, {bound})"])


def _bool(x: Tensor) -> Tensor:
    if x.numel() != 1:
        raise ValueError(f"control-flow condition must have one element, got shape {tuple(x.shape)}")
    return x.reshape(()) != 0


def _fresh(ts: Sequence[Tensor]) -> list[Tensor]:
    """Outputs of a torch control-flow body may not alias its inputs."""
    return [t.clone() for t in ts]


# ---- _foreach ----------------------------------------------------------------------------------------------


def foreach(*args: Tensor, key: int, n_data: int, n_state: int, in_data_locs: tuple[int, ...],
            in_state_locs: tuple[int, ...], remain_locs: tuple[int, ...],
            num_out_data: int) -> Tensor | tuple[Tensor, ...]:
    """MXNet's _foreach: the body over axis 0 of the data, states carried, free variables fixed."""
    body = _BODIES[key][0]
    data, states, remain = args[:n_data], list(args[n_data:n_data + n_state]), list(args[n_data + n_state:])

    def step(xs: Sequence[Tensor], st: Sequence[Tensor]) -> tuple[Tensor, ...]:
        sub: list[Any] = [None] * body.n_inputs
        for v, i in zip(xs, in_data_locs):
            sub[i] = v
        for v, i in zip(st, in_state_locs):
            sub[i] = v
        for v, i in zip(remain, remain_locs):
            sub[i] = v
        return body(sub)

    if torch.compiler.is_exporting():
        from torch._higher_order_ops.scan import scan

        dummy = not states  # scan needs a carry: a stateless body gets a placeholder one

        def combine(carry: list[Tensor], xs: list[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
            res = step(xs, [] if dummy else carry)
            new = [carry[0].clone()] if dummy else _fresh(res[num_out_data:])
            return new, _fresh(res[:num_out_data])

        init = [data[0].new_zeros(())] if dummy else [t.clone() for t in states]
        final, ys = scan(combine, init, list(data))
        outs = [*ys, *([] if dummy else final)]
    else:
        per: list[tuple[Tensor, ...]] = []
        for t in range(data[0].shape[0]):
            res = step([d[t] for d in data], states)
            per.append(res[:num_out_data])
            states = list(res[num_out_data:])
        outs = [torch.stack([p[k] for p in per]) for k in range(num_out_data)] + states
    return outs[0] if len(outs) == 1 else tuple(outs)


@register("_foreach")
def _foreach(node: Node) -> Lowered:
    if len(node.subgraphs) != 1:
        raise unsupported(node, f"{len(node.subgraphs)} subgraphs", ["one subgraph (the loop body)"])
    body = _lower_body(node, node.subgraphs[0])
    n_out, n_out_data = A.req_int(node, "num_outputs"), A.req_int(node, "num_out_data")
    d, s, r = _locs(node, "in_data_locs"), _locs(node, "in_state_locs"), _locs(node, "remain_locs")
    if len(d) + len(s) + len(r) != len(node.inputs) or sorted(d + s + r) != list(range(body.n_inputs)):
        raise unsupported(node, f"in_data_locs={d}, in_state_locs={s}, remain_locs={r} with "
                                f"{len(node.inputs)} inputs and a body of {body.n_inputs}",
                          ["locations covering every body input once"])
    if not d:
        raise unsupported(node, "no data to iterate over", ["at least one sliced input"])
    if n_out != body.n_outputs or n_out - n_out_data != len(s) or n_out_data < 0:
        raise unsupported(node, f"num_outputs={n_out}, num_out_data={n_out_data} with {len(s)} states and "
                                f"a body of {body.n_outputs} outputs",
                          ["num_outputs = body outputs = num_out_data + states"])
    return Lowered(foreach, {"key": _store((body,)), "n_data": len(d), "n_state": len(s), "in_data_locs": d,
                             "in_state_locs": s, "remain_locs": r, "num_out_data": n_out_data},
                   num_outputs=n_out)


# ---- _while_loop -------------------------------------------------------------------------------------------


def while_loop(*args: Tensor, key: int, cond_locs: tuple[int, ...], func_locs: tuple[int, ...],
               var_locs: tuple[int, ...], num_out_data: int,
               max_iterations: int) -> Tensor | tuple[Tensor, ...]:
    """MXNet's _while_loop: per-step outputs stacked into ``max_iterations`` rows (rows of steps not taken
    are zero), then the final loop variables."""
    cond, func = _BODIES[key]
    slots = [func_locs[v] for v in var_locs]  # node inputs holding the loop variables
    if torch.compiler.is_exporting():
        outs = _while_export(args, cond, func, cond_locs, func_locs, slots, num_out_data, max_iterations)
        return outs[0] if len(outs) == 1 else tuple(outs)
    vals = list(args)
    per: list[tuple[Tensor, ...]] = []
    while len(per) < max_iterations and bool(_bool(cond([vals[i] for i in cond_locs])[0])):
        res = func([vals[i] for i in func_locs])
        per.append(res[:num_out_data])
        for j, s in enumerate(slots):
            vals[s] = res[num_out_data + j]
    stacked = []
    for k in range(num_out_data):
        if per:
            y = torch.stack([p[k] for p in per])
            pad = y.new_zeros((max_iterations - len(per), *y.shape[1:]))
            stacked.append(torch.cat([y, pad]) if len(per) < max_iterations else y)
        else:  # no step taken: the shape of a step's output, all zero
            y = func([vals[i] for i in func_locs])[k]
            stacked.append(y.new_zeros((max_iterations, *y.shape)))
    outs = stacked + [vals[s] for s in slots]
    return outs[0] if len(outs) == 1 else tuple(outs)


def _while_export(args: Sequence[Tensor], cond: Body, func: Body, cond_locs: tuple[int, ...],
                  func_locs: tuple[int, ...], slots: list[int], num_out_data: int,
                  max_iterations: int) -> list[Tensor]:
    from torch._higher_order_ops.while_loop import while_loop as hop_while

    fixed = list(args)
    n_var = len(slots)
    probe = func([fixed[i] for i in func_locs])  # shapes of a step's outputs (dead code after tracing)
    bufs = [p.new_zeros((max_iterations, *p.shape)) for p in probe[:num_out_data]]
    step0 = torch.zeros((), dtype=torch.int64)

    def values(vars_: Sequence[Tensor]) -> list[Tensor]:
        vals = list(fixed)
        for s, v in zip(slots, vars_):
            vals[s] = v
        return vals

    def cond_fn(step: Tensor, *carry: Tensor) -> Tensor:
        vals = values(carry[:n_var])
        return torch.logical_and(step < max_iterations, _bool(cond([vals[i] for i in cond_locs])[0]))

    def body_fn(step: Tensor, *carry: Tensor) -> tuple[Tensor, ...]:
        vals = values(carry[:n_var])
        res = func([vals[i] for i in func_locs])
        new_bufs = [b.index_copy(0, step.reshape(1), r.unsqueeze(0)) for b, r in
                    zip(carry[n_var:], res[:num_out_data])]
        return (step + 1, *_fresh(res[num_out_data:]), *new_bufs)

    init = (step0, *[fixed[s] for s in slots], *bufs)
    out = hop_while(cond_fn, body_fn, init)
    return [*out[1 + n_var:], *out[1:1 + n_var]]


@register("_while_loop")
def _while_loop(node: Node) -> Lowered:
    if len(node.subgraphs) != 2:
        raise unsupported(node, f"{len(node.subgraphs)} subgraphs", ["two subgraphs (cond, func)"])
    cond, func = (_lower_body(node, g) for g in node.subgraphs)
    n_in = len(node.inputs)
    cl, fl, vl = _locs(node, "cond_input_locs"), _locs(node, "func_input_locs"), _locs(node, "func_var_locs")
    _check_locs(node, "cond_input_locs", cl, n_in)
    _check_locs(node, "func_input_locs", fl, n_in)
    _check_locs(node, "func_var_locs", vl, len(fl))
    if len(cl) != cond.n_inputs or len(fl) != func.n_inputs or cond.n_outputs != 1:
        raise unsupported(node, "input locations that do not match the bodies",
                          ["one location per body input, a cond body of one output"])
    max_it = A.req_int(node, "max_iterations")
    n_out, n_out_data = A.req_int(node, "num_outputs"), A.req_int(node, "num_out_data")
    if max_it < 1:
        raise unsupported(node, f"max_iterations={max_it}", ["max_iterations >= 1"])
    if n_out != func.n_outputs or n_out - n_out_data != len(vl) or n_out_data < 0:
        raise unsupported(node, f"num_outputs={n_out}, num_out_data={n_out_data} with {len(vl)} loop variables",
                          ["num_outputs = func outputs = num_out_data + loop variables"])
    return Lowered(while_loop, {"key": _store((cond, func)), "cond_locs": cl, "func_locs": fl, "var_locs": vl,
                                "num_out_data": n_out_data, "max_iterations": max_it}, num_outputs=n_out)


# ---- _cond -------------------------------------------------------------------------------------------------


def cond(*args: Tensor, key: int, pred_locs: tuple[int, ...], then_locs: tuple[int, ...],
         else_locs: tuple[int, ...]) -> Tensor | tuple[Tensor, ...]:
    """MXNet's _cond: the then-branch if the predicate's one value is non-zero, else the else-branch."""
    pred, then_b, else_b = _BODIES[key]
    p = _bool(pred([args[i] for i in pred_locs])[0])
    if torch.compiler.is_exporting():
        outs = torch.cond(p, lambda *a: tuple(_fresh(then_b([a[i] for i in then_locs]))),
                          lambda *a: tuple(_fresh(else_b([a[i] for i in else_locs]))), tuple(args))
        outs = tuple(outs)
    else:
        outs = then_b([args[i] for i in then_locs]) if bool(p) else else_b([args[i] for i in else_locs])
    return outs[0] if len(outs) == 1 else tuple(outs)


@register("_cond")
def _cond(node: Node) -> Lowered:
    if len(node.subgraphs) != 3:
        raise unsupported(node, f"{len(node.subgraphs)} subgraphs", ["three subgraphs (pred, then, else)"])
    pred, then_b, else_b = (_lower_body(node, g) for g in node.subgraphs)
    n_in = len(node.inputs)
    locs = {}
    for k, b in (("cond_input_locs", pred), ("then_input_locs", then_b), ("else_input_locs", else_b)):
        locs[k] = _locs(node, k)
        _check_locs(node, k, locs[k], n_in)
        if len(locs[k]) != b.n_inputs:
            raise unsupported(node, f"{k}={locs[k]} for a body of {b.n_inputs} inputs", ["one location per input"])
    n_out = A.req_int(node, "num_outputs")
    if pred.n_outputs != 1 or then_b.n_outputs != n_out or else_b.n_outputs != n_out:
        raise unsupported(node, f"num_outputs={n_out} with branches of {then_b.n_outputs}/{else_b.n_outputs}",
                          ["a one-output predicate, both branches of num_outputs"])
    return Lowered(cond, {"key": _store((pred, then_b, else_b)), "pred_locs": locs["cond_input_locs"],
                          "then_locs": locs["then_input_locs"], "else_locs": locs["else_input_locs"]},
                   num_outputs=n_out)
