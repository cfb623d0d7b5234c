"""``mxtorch check``: what mxtorch would say about a graph, without loading its weights or running it.

For every op of the graph: how many nodes use it and whether mxtorch supports it (a built-in or a
user converter, `mxtorch.register_op`); for every node, the attribute values its converter refuses;
and, when input shapes are given or known (a variable's ``__shape__``), the memory findings of
`mxtorch.budget` for those shapes: the rank each input needs, and the bytes the forward would keep
alive at its peak against the budget, from a run on torch's ``meta`` device. Weight shapes come from
the params file's index (no payload is read).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

import ndparse
from ndparse.errors import NDFormatError

from .budget import InputGuard, InputRankError, MemoryBudgetError, check_shapes, format_bytes, resolve
from .custom import check_converters, converter_for, node_key
from .graph import build

__all__ = ["CheckReport", "OpReport", "check", "check_symbol", "known_input_shapes"]


@dataclass
class OpReport:
    """One op of the graph: its nodes, whether it has a converter, the nodes whose attributes it refuses."""

    op: str
    nodes: list[str] = field(default_factory=list)
    supported: bool = True
    refused: list[tuple[str, str]] = field(default_factory=list)  # (node name, message)


@dataclass
class CheckReport:
    """What `check` found. ``ok``: every op supported, no attribute refused, no memory finding."""

    source: str
    ops: dict[str, OpReport]
    memory: list[str] = field(default_factory=list)   # findings (problems): memory, inputs
    notes: list[str] = field(default_factory=list)    # what was measured or not checked
    peak: int | None = None
    budget: int = 0

    @property
    def ok(self) -> bool:
        return not self.memory and all(r.supported and not r.refused for r in self.ops.values())

    def lines(self) -> list[str]:
        """The report as text lines (what ``mxtorch check`` prints)."""
        n_nodes = sum(len(r.nodes) for r in self.ops.values())
        out = [f"graph: {self.source}: {n_nodes} op nodes, {len(self.ops)} distinct ops"]
        width = max((len(op) for op in self.ops), default=2)
        for op, r in sorted(self.ops.items(), key=lambda kv: kv[0].lower()):
            if not r.supported:
                state = f"NOT SUPPORTED (e.g. node {r.nodes[0]!r})"
            elif r.refused:
                state = f"refused at {len(r.refused)} node{'s' if len(r.refused) != 1 else ''}"
            else:
                state = "ok"
            out.append(f"  {op:<{width}}  {len(r.nodes):>4}  {state}")
        for r in self.ops.values():
            for name, message in r.refused:
                out.append(f"refused: {message}")
        if any(not r.supported for r in self.ops.values()):
            out.append("the supported ops are listed in docs/OPS.md; supply a converter with "
                       "mxtorch.register_op (docs/CUSTOM_OPS.md)")
        out.extend(self.memory)
        out.extend(self.notes)
        bad = sum(not r.supported for r in self.ops.values()) + sum(len(r.refused) for r in self.ops.values()) \
            + len(self.memory)
        out.append("result: ok" if self.ok else f"result: {bad} problem{'s' if bad != 1 else ''}")
        return out


def known_input_shapes(symbol: Any) -> dict[str, tuple[int, ...]]:
    """Input shapes a graph records itself (``__shape__`` of a variable, every size known)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for n in symbol.nodes:
        text = n.extra.get("__shape__") if n.is_variable else None
        if not text:
            continue
        try:
            dims = tuple(int(d) for d in text.strip("()[] ").split(",") if d.strip())
        except ValueError:
            continue
        if dims and all(d > 0 for d in dims):
            shapes[n.name] = dims
    return shapes


def _param_meta(path: Path) -> dict[str, torch.Tensor]:
    """Meta tensors of the params file's arrays (``arg:``/``aux:`` prefixes dropped), from its index."""
    out: dict[str, torch.Tensor] = {}
    with ndparse.open(path) as f:
        for rec in f.records:
            if rec.shape is None or rec.dtype is None:
                continue
            name = str(rec.name)
            for prefix in ("arg:", "aux:"):
                if name.startswith(prefix):
                    name = name[len(prefix):]
            try:
                dtype = torch.from_numpy(np.zeros(0, rec.dtype)).dtype
            except TypeError:
                dtype = torch.float32  # bfloat16 and other dtypes numpy lacks: the size is what matters
            out[name] = torch.empty(rec.shape, dtype=dtype, device="meta")
    return out


def check_symbol(symbol: Any, params: Mapping[str, torch.Tensor] | None, *,
                 input_shapes: Mapping[str, Sequence[int]] | None = None,
                 max_memory: int | float | str | None = None,
                 converters: Mapping[str, Any] | None = None, source: str = "<graph>") -> CheckReport:
    """Check an ndparse Symbol: ``params`` are tensors (meta is enough) by MXNet name, or None when no
    params file was found. See the module docstring."""
    conv = check_converters(converters)
    budget = resolve(max_memory)
    ops: dict[str, OpReport] = {}
    for node in symbol.nodes:
        if node.is_variable:
            continue
        key = node_key(node)
        r = ops.setdefault(key, OpReport(key))
        r.nodes.append(node.name)
        c = converter_for(node, conv)
        if c is None:
            r.supported = False
            continue
        try:
            c(node)
        except NDFormatError as exc:  # UnsupportedOpError and other refusals of an attribute
            r.refused.append((node.name, str(exc)))
    report = CheckReport(source, ops, budget=budget)
    shapes = dict(known_input_shapes(symbol))
    shapes.update(input_shapes or {})
    if not report.ok:
        report.notes.append("memory: not checked (the graph has ops mxtorch cannot run)")
        return report
    if params is None:
        report.notes.append("memory: not checked (no params file: the weights' shapes are unknown)")
        return report
    try:
        plan = build(symbol, set(params), conv)
    except NDFormatError as exc:
        report.memory.append(f"graph: {exc}")
        return report
    state = [params[n] for n in plan.state_names]
    missing = [n for n in plan.input_names if n not in shapes]
    try:
        if missing:  # the constants can still be checked
            InputGuard(symbol, plan, state, budget)
            report.notes.append(f"memory: graph constants within the budget of {format_bytes(budget)}; "
                                f"give --input {missing[0]}=SHAPE to check a forward")
            return report
        report.peak = check_shapes(symbol, plan, state, shapes, budget)
        given = ", ".join(f"{n}={tuple(shapes[n])}" for n in plan.input_names)
        report.notes.append(f"memory: a forward on {given} keeps at most {format_bytes(report.peak)} alive "
                            f"(budget {format_bytes(budget)})")
    except MemoryBudgetError as exc:
        report.memory.append(f"memory: {exc}")
    except (InputRankError, NDFormatError) as exc:
        report.memory.append(f"inputs: {exc}")
    except (RuntimeError, ValueError, IndexError, TypeError) as exc:
        node = getattr(exc, "mxnet_node", None)
        where = f" at {node[0]} node {node[1]!r}" if node else ""
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        report.memory.append(f"inputs: the graph rejects inputs {shapes}{where}: {first}")
    return report


def check(prefix_or_path: str | os.PathLike[str], *, epoch: int | None = None,
          params: str | os.PathLike[str] | None = None,
          input_shapes: Mapping[str, Sequence[int]] | None = None,
          max_memory: int | float | str | None = None,
          converters: Mapping[str, Any] | None = None) -> CheckReport:
    """Check a checkpoint (anything `ndparse.locate_checkpoint` takes, as `mxtorch.load`) without
    loading its weights; an archive's own input shapes fill those ``input_shapes`` does not give.
    Raises FileNotFoundError, NDFormatError for a file that cannot be read at all."""
    with ndparse.locate_checkpoint(prefix_or_path, epoch=epoch, params=params) as ckpt:
        if ckpt.symbol is None:
            raise FileNotFoundError(f"no symbol file {ckpt.prefix}-symbol.json for {ckpt.source}")
        symbol = ndparse.load_symbol(ckpt.symbol)
        meta = _param_meta(ckpt.params) if ckpt.params is not None else None
        shapes = {**(ckpt.input_shapes or {}), **(input_shapes or {})}  # the user's win
        source = ckpt.source if ckpt.archive is not None else str(ckpt.symbol)
    return check_symbol(symbol, meta, input_shapes=shapes, max_memory=max_memory,
                        converters=converters, source=source)
