"""`ndparse inspect` for symbol graphs: `model-symbol.json`, or a checkpoint prefix with one.

Prints the format era and version, data inputs, labels, outputs, an op histogram and the
parameter count; with a params file (`--params F`, or found beside a prefix) it checks the
arrays against the graph. `--json` gives one JSON document, `--dot` the graph in Graphviz DOT.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from .checkpoint import check_checkpoint, data_inputs, load_checkpoint
from .cli_support import CLIError
from .locate import _is_archive, locate_checkpoint
from .symbol import Symbol, load_symbol


def is_symbol_target(target: str) -> bool:
    """True when `target` is a symbol JSON file, a checkpoint prefix that has one, or an archive."""
    p = Path(target)
    if p.is_file():
        return p.name.endswith(".json") or _is_archive(p)
    return Path(f"{target}-symbol.json").is_file()


def _era(s: Symbol) -> str:
    raw_nodes = s.raw.get("nodes", []) if isinstance(s.raw, dict) else []
    keys: set[str] = set()
    for n in raw_nodes:
        if isinstance(n, dict):
            keys.update(n)
    if "param" in keys or "backward_source_id" in keys:
        era = "0.8-era (param/attr)"
    elif "attr" in keys and "attrs" not in keys:
        era = "0.9-0.11 era (attr)"
    elif s.version >= 20000 or s.is_np_shape:
        era = "2.x (attrs, numpy shapes)" if s.is_np_shape else "2.x (attrs)"
    else:
        era = "1.x (attrs)"
    v = s.version
    return f"{era}, MXNet {v // 10000}.{v // 100 % 100}.{v % 100}" + \
        ("" if isinstance(s.raw, dict) and "attrs" in s.raw else " (no version: 0.8.0 assumed)")


def summary(s: Symbol, arg_params: dict[str, Any] | None, aux_params: dict[str, Any] | None
            ) -> dict[str, Any]:
    """The inspect document for a graph (and its arrays, when given)."""
    ops = Counter(n.op for n in s.nodes if not n.is_variable)
    doc: dict[str, Any] = {
        "file": s.file, "format": _era(s), "mxnet_version": s.version,
        "nodes": len(s.nodes), "operators": sum(ops.values()),
        "data_inputs": data_inputs(s), "labels": s.label_names(),
        "outputs": s.list_outputs(), "arguments": s.list_arguments(),
        "auxiliary_states": s.list_auxiliary_states(),
        "op_histogram": dict(sorted(ops.items(), key=lambda kv: (-kv[1], kv[0]))),
    }
    if arg_params is not None and aux_params is not None:
        used = set(s.list_inputs())
        doc["parameters"] = sum(_size(a) for k, a in {**arg_params, **aux_params}.items() if k in used)
        doc["arrays"] = len(arg_params) + len(aux_params)
        doc["arrays_used"] = sum(k in used for k in arg_params) + sum(k in used for k in aux_params)
        doc["problems"] = check_checkpoint(s, arg_params, aux_params)
    return doc


def _size(a: Any) -> int:
    n = 1
    for d in a.shape:
        n *= int(d)
    return n


def _dot_id(i: int) -> str:
    return f"n{i}"


def _dot_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(s: Symbol) -> str:
    """The graph in Graphviz DOT: ops as boxes (name, op, main attributes), variables as ellipses
    (parameters light, data inputs bold), edges labelled with the output index when not 0."""
    data = set(data_inputs(s))
    lines = ["digraph symbol {", "  rankdir=TB;", '  node [fontname="Helvetica", fontsize=10];']
    for n in s.nodes:
        if n.is_variable:
            style = ', style=bold' if n.name in data else ', color=gray50, fontcolor=gray30'
            lines.append(f"  {_dot_id(n.index)} [label={_dot_str(n.name)}, shape=ellipse{style}];")
            continue
        keys = ("kernel", "stride", "pad", "num_filter", "num_hidden", "num_group", "act_type",
                "pool_type", "global_pool", "pooling_convention", "num_outputs", "axis", "dim",
                "shape", "p")
        bits = [f"{k}={n.attrs[k]}" for k in keys if k in n.attrs and n.attrs[k] not in (None, ())
                and not (k == "global_pool" and not n.attrs[k])
                and not (k == "pooling_convention" and n.attrs[k] == "valid")]
        label = f"{n.name}\\n{n.op}" + ("\\n" + " ".join(bits) if bits else "")
        label = label.replace('"', '\\"')
        lines.append(f'  {_dot_id(n.index)} [label="{label}", shape=box];')
    for n in s.nodes:
        for src, idx in n.inputs:
            attr = f' [label="{idx}"]' if idx else ""
            lines.append(f"  {_dot_id(src)} -> {_dot_id(n.index)}{attr};")
    for k, (src, idx) in enumerate(s.heads):
        lines.append(f'  out{k} [label={_dot_str(s.list_outputs()[k])}, shape=plaintext];')
        lines.append(f"  {_dot_id(src)} -> out{k};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def cmd_inspect_symbol(args: argparse.Namespace, sanitize: Any) -> int:
    """Run `inspect` on a symbol target (found by `locate_checkpoint`); exit status 0, or 1 when
    the arrays do not fit."""
    with locate_checkpoint(args.file, params=getattr(args, "params", None)) as ckpt:
        if ckpt.symbol is None:
            raise CLIError(f"{args.file}: --dot and --params need a symbol graph, and there is no "
                           f"{Path(ckpt.prefix).name}-symbol.json beside it")
        s = load_symbol(ckpt.symbol)
        arg_params = aux_params = None
        params = ckpt.params
        if params is not None and not args.dot:
            _, arg_params, aux_params = load_checkpoint(ckpt.symbol, params=params)
        shown = ckpt.archive if ckpt.archive is not None else params
    if args.dot:
        sys.stdout.write(to_dot(s))
        return 0
    doc = summary(s, arg_params, aux_params)
    if ckpt.archive is not None:  # not the private folder the members were extracted to
        doc["file"] = f"{ckpt.archive} ({Path(s.file or 'symbol').name})"
    if params:
        doc["params_file"] = str(shown)
    if args.json:
        json.dump(doc, sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
        return 1 if doc.get("problems") else 0
    out = sys.stdout
    out.write(f"file:      {sanitize(doc['file'])}\n")
    out.write(f"format:    symbol graph, {doc['format']}\n")
    out.write(f"nodes:     {doc['nodes']} ({doc['operators']} operators)\n")
    out.write(f"inputs:    {', '.join(sanitize(x) for x in doc['data_inputs']) or '-'}\n")
    if doc["labels"]:
        out.write(f"labels:    {', '.join(sanitize(x) for x in doc['labels'])} (unused at inference)\n")
    out.write(f"outputs:   {', '.join(sanitize(x) for x in doc['outputs'])}\n")
    out.write(f"arguments: {len(doc['arguments'])}, auxiliary states: "
              f"{len(doc['auxiliary_states'])}\n")
    out.write("ops:       " + ", ".join(f"{sanitize(k)} {v}" for k, v in doc["op_histogram"].items())
              + "\n")
    if "parameters" in doc:
        # "13 arrays, 0 parameters" read as a broken file when none of the arrays was the graph's
        n, used, count = doc["arrays"], doc["arrays_used"], f"{doc['parameters']:,} parameters"
        what = (f"{n} arrays, {count}" if used == n else f"{n} arrays, none used by the graph" if not used
                else f"{n} arrays ({used} used by the graph, {count})")
        out.write(f"params:    {sanitize(doc['params_file'])}: {what}\n")
        if doc["problems"]:
            out.write(f"check:     {len(doc['problems'])} problems\n")
            for p in doc["problems"]:
                out.write(f"  - {sanitize(p)}\n")
            return 1
        out.write("check:     the arrays fit the graph\n")
    return 0
