"""MXNet symbol graphs (`*-symbol.json`) read as MXNet 1.9.1 reads them, with no MXNet.

`load_symbol(path)` / `load_symbol_json(text)` parse every era (0.8 `param`/`attr` files, 0.9-0.11
`attr` files, 1.x and 2.x `attrs` files), apply MXNet's upgrade on load (docs/SYMBOL.md section 2),
parse each op's attribute strings into Python values with the op's defaults (section 3 and
`ndparse._opdefs`), and keep only the nodes reachable from the heads, in MXNet's order.
Everything is iterative: graphs thousands of nodes deep load without recursion.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Iterator

from ._opdefs import MAX_ARITY, AttrError, OpDef, canonical_name, op_def
from .errors import SymbolFormatError

__all__ = ["Node", "Symbol", "SymbolFormatError", "load_symbol", "load_symbol_json", "op_def"]

# MXNet writes M*10000 + m*100 + p; files without a version are 0.8.0.
VERSION_DEFAULT = 800
MXNET_VERSION = 10901  # the MXNet whose reading we reproduce, and what tojson() writes
_HIDDEN_KEYS = ("ctx_group", "lr_mult", "wd_mult", "force_mirroring", "mirror_stage")
_MAX_SUBGRAPH_DEPTH = 32
_MAX_NODES = 50_000_000


def _is_dunder(key: str) -> bool:
    return len(key) > 4 and key.startswith("__") and key.endswith("__")


@dataclass(frozen=True, eq=False)
class Node:
    """One node of an upgraded graph.

    `op` is the canonical op name (`"null"` for a variable); `attrs` the op's parameters parsed
    to Python values with defaults filled in (raw strings for ops ndparse does not know; empty for
    variables); `extra` the other string attributes (`__lr_mult__`, `__shape__`, ...); `raw_attrs`
    the whole string map MXNet keeps (and writes back); `inputs` `(node index, output index)`
    pairs into `Symbol.nodes`; `input_versions` the entries' version field (ignored by MXNet's
    forward, written back by tojson).
    """

    index: int
    op: str
    name: str
    attrs: dict[str, Any]
    extra: dict[str, str]
    raw_attrs: dict[str, str]
    inputs: tuple[tuple[int, int], ...]
    input_versions: tuple[int, ...] = ()
    control_deps: tuple[int, ...] = ()
    subgraphs: tuple["Symbol", ...] = ()
    file_index: int | None = None  # index in the JSON file (None for nodes the upgrade added)

    @property
    def is_variable(self) -> bool:
        """True for a variable (`op == "null"`): an argument, auxiliary state or data input."""
        return self.op == "null"

    @property
    def op_def(self) -> OpDef | None:
        """The op table entry for this node's op (None for variables and unknown ops)."""
        return None if self.op == "null" else op_def(self.op)

    def __repr__(self) -> str:
        return f"Node({self.index}, {self.op!r}, {self.name!r}, inputs={list(self.inputs)})"


class _N:
    """A mutable node while the graph is being upgraded."""

    __slots__ = ("fi", "op", "name", "dict", "inputs", "deps", "subgraphs", "odef", "attrs",
                 "extra")

    def __init__(self, fi: int | None, op: str, name: str, d: dict[str, str]) -> None:
        self.fi = fi
        self.op = op
        self.name = name
        self.dict = d
        self.inputs: list[list[Any]] = []  # [source _N, output index, version]
        self.deps: list[_N] = []
        self.subgraphs: tuple[Symbol, ...] = ()
        self.odef = None if op == "null" else op_def(op)
        self.attrs: dict[str, Any] = {}
        self.extra: dict[str, str] = {}


class Symbol:
    """An MXNet symbol graph after MXNet's upgrade on load (see `load_symbol`).

    `nodes` are in MXNet's order (depth-first post-order from the heads: every input before its
    consumer), `heads` the graph outputs as `(node index, output index)`, `version` the file's
    MXNet version (10901 for 1.9.1, 800 when the file has none), `is_np_shape` the 2.x flag,
    `raw` the JSON document as given, `file` its path (or None).
    """

    def __init__(self, nodes: tuple[Node, ...], heads: tuple[tuple[int, int], ...],
                 head_versions: tuple[int, ...], version: int, is_np_shape: bool, raw: Any,
                 file: str | None) -> None:
        self.nodes = nodes
        self.heads = heads
        self.head_versions = head_versions
        self.version = version
        self.is_np_shape = is_np_shape
        self.raw = raw
        self.file = file
        self._max_out: dict[int, int] | None = None

    def __repr__(self) -> str:
        where = f" from {self.file}" if self.file else ""
        return (f"<Symbol{where}: {len(self.nodes)} nodes, outputs {self.list_outputs()}, "
                f"version {self.version}>")

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    # ------------------------------------------------------------------ names, as MXNet lists them

    def _aux_set(self) -> set[int]:
        aux: set[int] = set()
        for n in self.nodes:
            d = n.op_def
            if d is not None:
                for slot in d.aux_inputs:
                    if slot < len(n.inputs):
                        aux.add(n.inputs[slot][0])
        return aux

    def list_inputs(self) -> list[str]:
        """Names of all variables (arguments and auxiliary states) in MXNet's order."""
        return [n.name for n in self.nodes if n.is_variable]

    def list_arguments(self) -> list[str]:
        """Variables that are not auxiliary states, in MXNet's order (as `sym.list_arguments()`)."""
        aux = self._aux_set()
        return [n.name for n in self.nodes if n.is_variable and n.index not in aux]

    def list_auxiliary_states(self) -> list[str]:
        """Variables some op mutates (BatchNorm's moving_mean/moving_var ...), in MXNet's order."""
        aux = self._aux_set()
        return [n.name for n in self.nodes if n.is_variable and n.index in aux]

    def list_outputs(self) -> list[str]:
        """Output names as MXNet gives them: `fc1_output`, `bn_mean`, a variable head's name."""
        out = []
        for nid, idx in self.heads:
            n = self.nodes[nid]
            if n.is_variable:
                out.append(n.name)
                continue
            names = self._output_names(n)
            rname = names[idx] if idx < len(names) else f"output{idx}"
            out.append(f"{n.name}_{rname}" if n.name else rname)
        return out

    def _output_names(self, n: Node) -> list[str]:
        d = n.op_def
        if d is not None:
            return d.output_names(n.attrs)
        count = self._referenced_outputs().get(n.index, 1)
        return ["output"] if count == 1 else [f"output{i}" for i in range(count)]

    def _referenced_outputs(self) -> dict[int, int]:
        if self._max_out is None:
            m: dict[int, int] = {}
            for n in self.nodes:
                for src, idx in n.inputs:
                    if idx + 1 > m.get(src, 1):
                        m[src] = idx + 1
            for src, idx in self.heads:
                if idx + 1 > m.get(src, 1):
                    m[src] = idx + 1
            self._max_out = m
        return self._max_out

    def label_names(self) -> list[str]:
        """Variables used only as the label input of loss ops (SoftmaxOutput's `softmax_label` ...).

        They need no array to run the graph for inference; `data inputs = arguments not in the
        params file and not labels`.
        """
        label: set[int] = set()
        other: set[int] = set()
        for n in self.nodes:
            d = n.op_def
            labels = d.label_inputs if d is not None else ()
            for slot, (src, _) in enumerate(n.inputs):
                (label if slot in labels else other).add(src)
        for src, _ in self.heads:
            other.add(src)
        return [n.name for n in self.nodes if n.is_variable and n.index in label
                and n.index not in other]

    def num_outputs(self, node: Node | int) -> int:
        """How many outputs a node shows to Python (SliceChannel `num_outputs`, BatchNorm 1 or 3)."""
        n = self.nodes[node] if isinstance(node, int) else node
        if n.is_variable:
            return 1
        d = n.op_def
        if d is not None:
            return d.num_visible_outputs(n.attrs)
        return self._referenced_outputs().get(n.index, 1)

    def _num_all_outputs(self, n: Node) -> int:
        """Outputs including hidden ones (what MXNet 1.9.1's node_row_ptr counts)."""
        if n.is_variable:
            return 1
        d = n.op_def
        if d is not None:
            return len(d.output_names(n.attrs))
        return self._referenced_outputs().get(n.index, 1)

    # ------------------------------------------------------------------ writing back

    def to_dict(self) -> dict[str, Any]:
        """The upgraded graph as the JSON object MXNet 1.9.1's `tojson()` writes."""
        nodes = []
        for n in self.nodes:
            obj: dict[str, Any] = {"op": n.op, "name": n.name}
            if n.raw_attrs:
                obj["attrs"] = dict(sorted(n.raw_attrs.items()))
            obj["inputs"] = [[s, i, v] for (s, i), v in zip(n.inputs, n.input_versions)]
            if n.control_deps:
                obj["control_deps"] = list(n.control_deps)
            if n.subgraphs:
                obj["subgraphs"] = [g.to_dict() for g in n.subgraphs]
            nodes.append(obj)
        row_ptr = [0]
        for n in self.nodes:
            row_ptr.append(row_ptr[-1] + self._num_all_outputs(n))
        return {
            "nodes": nodes,
            "arg_nodes": [n.index for n in self.nodes if n.is_variable],
            "node_row_ptr": row_ptr,
            "heads": [[s, i, v] for (s, i), v in zip(self.heads, self.head_versions)],
            "attrs": {"mxnet_version": ["int", MXNET_VERSION]},
        }

    def tojson(self) -> str:
        """The upgraded graph as MXNet 1.9.1's `sym.tojson()` writes it (same layout and order)."""
        return _dump(self.to_dict())


# ---------------------------------------------------------------------------------------------
# JSON output in the layout of dmlc's JSONWriter (2-space indent, `, ` + newline separators,
# entry lists on one line)


def _dump_str(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _dump(obj: Any, indent: int = 0) -> str:
    pad = "  " * (indent + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        if len(obj) == 1 and not _nested(next(iter(obj.values()))):
            return _dump_inline(obj)  # dmlc writes a one-entry map on one line
        items = [f"{pad}{_dump_str(k)}: {_dump(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ", \n".join(items) + "\n" + "  " * indent + "}"
    if isinstance(obj, list):
        # dmlc writes arrays of objects, and arrays longer than 10, one item a line
        if obj and (isinstance(obj[0], dict) or len(obj) > 10):
            items = [pad + _dump(v, indent + 1) for v in obj]
            return "[\n" + ", \n".join(items) + "\n" + "  " * indent + "]"
        return _dump_inline(obj)
    return _dump_inline(obj)


def _nested(v: Any) -> bool:
    return isinstance(v, dict) or (isinstance(v, list) and bool(v) and isinstance(v[0], dict))


def _dump_inline(obj: Any) -> str:
    if isinstance(obj, str):
        return _dump_str(obj)
    if isinstance(obj, list):
        return "[" + ", ".join(_dump_inline(v) for v in obj) + "]"
    if isinstance(obj, dict):
        return "{" + ", ".join(f"{_dump_str(k)}: {_dump_inline(v)}" for k, v in obj.items()) + "}"
    return json.dumps(obj)


# ---------------------------------------------------------------------------------------------
# loading


def load_symbol(path: str | os.PathLike[str]) -> Symbol:
    """Read a `-symbol.json` file as MXNet 1.9.1's `mx.sym.load` does.

    Raises SymbolFormatError (an NDFormatError) naming the file and node for a broken graph,
    OSError when the file cannot be read.
    """
    with open(path, "rb") as f:
        text = f.read()
    return load_symbol_json(text, file=os.fspath(path))


def load_symbol_json(text: str | bytes, *, file: str | None = None) -> Symbol:
    """Parse symbol JSON text (str or UTF-8 bytes) as MXNet 1.9.1's `mx.sym.load_json` does.

    `file` only names the source in error messages. Raises SymbolFormatError for bad JSON, wrong
    types, entries out of range, output indices past an op's outputs, cycles, attribute values
    that do not parse, and absurd sizes.
    """
    if isinstance(text, (bytes, bytearray, memoryview)):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise SymbolFormatError("symbol file is not UTF-8 text", file=file,
                                    expected="UTF-8 JSON", found=f"byte {e.start}: {e.reason}") from None
    elif not isinstance(text, str):
        raise TypeError(f"load_symbol_json needs str or bytes, not {type(text).__name__}")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise SymbolFormatError("symbol file is not valid JSON", file=file, expected="JSON",
                                found=f"{e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise SymbolFormatError("symbol JSON is nested too deeply", file=file,
                                expected="a graph object") from None
    except ValueError as e:  # e.g. an integer with too many digits
        raise SymbolFormatError("symbol file is not valid JSON", file=file, expected="JSON",
                                found=str(e)) from None
    return _graph(doc, file, 0, None)


def _err(msg: str, file: str | None, n: _N | None = None, **kw: Any) -> SymbolFormatError:
    if n is None:
        return SymbolFormatError(msg, file=file, **kw)
    return SymbolFormatError(msg, file=file, node=n.fi, node_name=n.name, **kw)


def _version(doc: dict, file: str | None, inherited: int | None) -> tuple[int, bool]:
    attrs = doc.get("attrs")
    if attrs is None:
        return (inherited if inherited is not None else VERSION_DEFAULT), False
    if not isinstance(attrs, dict):
        raise _err("graph 'attrs' is not an object", file, expected='{"mxnet_version": ["int", N]}',
                   found=type(attrs).__name__)
    values = {}
    for key, val in attrs.items():
        if (not isinstance(val, list) or len(val) != 2 or val[0] not in ("int", "str", "list_int", "list_str")):
            raise _err(f"graph attribute {key!r} is not a [type, value] pair", file,
                       expected='["int"|"str"|"list_int"|"list_str", value]', found=repr(val)[:80])
        values[key] = val
    v = values.get("mxnet_version")
    version = inherited if inherited is not None else VERSION_DEFAULT
    if v is not None:
        if v[0] != "int" or not _is_int(v[1]):
            raise _err("graph attribute 'mxnet_version' is not an integer", file,
                       expected='["int", M*10000+m*100+p]', found=repr(v)[:80])
        version = v[1]
    np_shape = values.get("is_np_shape")
    is_np = bool(np_shape is not None and np_shape[0] == "int" and _is_int(np_shape[1]) and np_shape[1])
    return version, is_np


def _is_int(x: Any) -> bool:
    return type(x) is int or (isinstance(x, int) and not isinstance(x, bool))


def _entry(e: Any, file: str | None, n_nodes: int, where: str, n: _N | None) -> tuple[int, int, int]:
    if not isinstance(e, list) or len(e) not in (2, 3) or not (
            (type(e[0]) is int and type(e[1]) is int and (len(e) == 2 or type(e[2]) is int))
            or all(_is_int(x) for x in e)):
        raise _err(f"{where} is not an entry", file, n,
                   expected="[node_id, output_index] or [node_id, output_index, version]",
                   found=repr(e)[:80])
    nid, idx = e[0], e[1]
    if not 0 <= nid < n_nodes:
        raise _err(f"{where} refers to node {nid}", file, n,
                   expected=f"a node id in [0, {n_nodes})", found=str(nid))
    if not 0 <= idx <= MAX_ARITY:
        raise _err(f"{where} has output index {idx}", file, n,
                   expected=f"an output index in [0, {MAX_ARITY}]", found=str(idx))
    return nid, idx, (e[2] if len(e) == 3 else 0)


def _str_map(obj: Any, what: str, file: str | None, n: _N) -> dict[str, str]:
    if not isinstance(obj, dict):
        raise _err(f"'{what}' is not an object", file, n, expected="a string-to-string map",
                   found=type(obj).__name__)
    for k, v in obj.items():
        if not isinstance(v, str):
            raise _err(f"'{what}' value of {k!r} is not a string", file, n,
                       expected="a string (MXNet stores every attribute as a string)",
                       found=repr(v)[:80])
    return dict(obj)


def _graph(doc: Any, file: str | None, depth: int, inherited_version: int | None) -> Symbol:
    if depth > _MAX_SUBGRAPH_DEPTH:
        raise _err("subgraphs are nested too deeply", file,
                   expected=f"at most {_MAX_SUBGRAPH_DEPTH} levels")
    if not isinstance(doc, dict):
        raise _err("symbol JSON is not an object", file, expected='{"nodes": [...], "heads": [...]}',
                   found=type(doc).__name__)
    for key in ("nodes", "heads"):
        if key not in doc:
            raise _err(f"symbol JSON has no {key!r}", file, expected=f"a {key!r} list")
        if not isinstance(doc[key], list):
            raise _err(f"{key!r} is not a list", file, expected="a list", found=type(doc[key]).__name__)
    version, is_np = _version(doc, file, inherited_version)
    jnodes = doc["nodes"]
    if len(jnodes) > _MAX_NODES:
        raise _err("graph has too many nodes", file, expected=f"at most {_MAX_NODES}",
                   found=str(len(jnodes)))
    nodes: list[_N] = []
    for i, jn in enumerate(jnodes):
        nodes.append(_read_node(jn, i, file, depth, version))
    count = len(nodes)
    for jn, n in zip(jnodes, nodes):
        for k, e in enumerate(jn["inputs"]):
            nid, idx, ver = _entry(e, file, count, f"input {k}", n)
            n.inputs.append([nodes[nid], idx, ver])
        deps = jn.get("control_deps", [])
        if not isinstance(deps, list):
            raise _err("'control_deps' is not a list", file, n, expected="a list of node ids",
                       found=type(deps).__name__)
        for d in deps:
            if not _is_int(d) or not 0 <= d < count:
                raise _err("control dependency is not a node id", file, n,
                           expected=f"a node id in [0, {count})", found=repr(d)[:40])
            n.deps.append(nodes[d])
        if n.op == "null" and n.inputs:
            raise _err("variable node has inputs", file, n, expected="no inputs on a null op",
                       found=f"{len(n.inputs)} inputs")
    heads = [_entry(e, file, count, f"head {k}", None) for k, e in enumerate(doc["heads"])]
    if not heads:  # MXNet 1.9.1 loads it as an empty Symbol, but there is nothing to run or check
        raise _err("graph has no outputs", file, expected="at least one entry in 'heads'",
                   found="[]")
    arg_nodes = doc.get("arg_nodes", [])
    if not isinstance(arg_nodes, list):
        raise _err("'arg_nodes' is not a list", file, expected="a list of node ids",
                   found=type(arg_nodes).__name__)
    for a in arg_nodes:
        if not _is_int(a) or not 0 <= a < count:
            raise _err("'arg_nodes' entry is not a node id", file,
                       expected=f"a node id in [0, {count})", found=repr(a)[:40])
        if nodes[a].op != "null":
            raise _err("'arg_nodes' lists an operator", file, nodes[a],
                       expected="only variable (null op) nodes", found=nodes[a].op)
    head_nodes = [nodes[h[0]] for h in heads]

    order = _dfs(head_nodes, file)
    cache: dict[tuple, tuple[dict[str, Any], dict[str, str]]] = {}
    if version < 10901:  # the legacy upgrade edits attributes and may add variables
        _upgrade(order, version, file, cache)
        order = _dfs(head_nodes, file)
    for n in order:
        _parse(n, file, cache)
    # MXNet crashes on an output index past an op's outputs: refuse it
    for n in order:
        for k, (src, idx, _) in enumerate(n.inputs):
            _check_output(src, idx, file, f"input {k} of", n)
    for k, (nid, idx, _) in enumerate(heads):
        _check_output(nodes[nid], idx, file, f"head {k} refers to", None)

    pos = {n: i for i, n in enumerate(order)}
    out_nodes = []
    for i, n in enumerate(order):
        out_nodes.append(_node(
            index=i, op=n.op, name=n.name, attrs=n.attrs, extra=n.extra, raw_attrs=n.dict,
            inputs=tuple([(pos[s], idx) for s, idx, _ in n.inputs]),
            input_versions=tuple([v for _, _, v in n.inputs]),
            control_deps=tuple([pos[d] for d in n.deps]) if n.deps else (),
            subgraphs=n.subgraphs, file_index=n.fi))
    return Symbol(tuple(out_nodes), tuple((pos[nodes[h[0]]], h[1]) for h in heads),
                  tuple(h[2] for h in heads), version, is_np, doc, file)


def _node(**fields: Any) -> Node:
    """A Node without the frozen dataclass's per-field object.__setattr__ (a third of the cost of
    making thousands of them); every field is given."""
    n = object.__new__(Node)
    n.__dict__.update(fields)
    return n


def _read_node(jn: Any, i: int, file: str | None, depth: int, version: int) -> _N:
    if not isinstance(jn, dict):
        raise SymbolFormatError("node is not an object", file=file, node=i,
                                expected='{"op": ..., "name": ..., "inputs": [...]}',
                                found=type(jn).__name__)
    op, name = jn.get("op"), jn.get("name", "")
    if not isinstance(name, str):
        raise SymbolFormatError("node 'name' is not a string", file=file, node=i,
                                expected="a string", found=repr(name)[:40])
    if not isinstance(op, str):
        raise SymbolFormatError("node 'op' is missing or not a string", file=file, node=i,
                                node_name=name, expected='an op name or "null"', found=repr(op)[:40])
    if not isinstance(jn.get("inputs"), list):
        raise SymbolFormatError("node 'inputs' is missing or not a list", file=file, node=i,
                                node_name=name, expected="a list of entries",
                                found=type(jn.get("inputs")).__name__)
    n = _N(i, canonical_name(op) if op != "null" else op, name, {})
    # `attr` and `attrs` fill one map, the later key replacing the earlier wholesale; `param`
    # (0.8-era full parameter list) is merged last without overriding.
    d: dict[str, str] = {}
    for key in jn:
        if key in ("attr", "attrs"):
            d = _str_map(jn[key], key, file, n)
    if "param" in jn:
        for k, v in _str_map(jn["param"], "param", file, n).items():
            d.setdefault(k, v)
    n.dict = d
    subs = jn.get("subgraphs")
    if subs is not None:
        if not isinstance(subs, list):
            raise _err("'subgraphs' is not a list", file, n, expected="a list of graphs",
                       found=type(subs).__name__)
        n.subgraphs = tuple(_graph(s, file, depth + 1, version) for s in subs)
    return n


def _dfs(heads: list[_N], file: str | None) -> list[_N]:
    """Post-order from the heads, inputs in order then control deps (nnvm's DFSVisit); refuses
    cycles."""
    state: dict[_N, int] = {}  # node (hashed by identity) -> 1 on the stack, 2 done
    order: list[_N] = []
    for h in heads:
        if h in state:
            continue
        state[h] = 1
        stack: list[list[Any]] = [[h, 0]]
        while stack:
            top = stack[-1]
            node, k = top[0], top[1]
            n_in = len(node.inputs)
            if k < n_in + len(node.deps):
                top[1] = k + 1
                child = node.inputs[k][0] if k < n_in else node.deps[k - n_in]
                s = state.get(child)
                if s is None:
                    state[child] = 1
                    stack.append([child, 0])
                elif s == 1:
                    what = "itself" if child is node else f"node {child.fi} {child.name!r}, which depends on it"
                    raise _err(f"graph has a cycle: input {k} is {what}", file, node,
                               expected="an acyclic graph")
            else:
                stack.pop()
                state[node] = 2
                order.append(node)
    return order


def _parse(n: _N, file: str | None, cache: dict[tuple, tuple[dict[str, Any], dict[str, str]]]) -> None:
    """Fill n.attrs / n.extra from n.dict. `cache` maps (op, raw items in order) to a parse already
    done in this graph: graphs repeat the same attributes on many nodes (every BatchNorm alike), and
    the parsed values are immutable, so each node gets fresh dicts of the cached values."""
    if n.op == "null":
        n.attrs, n.extra = {}, dict(n.dict)
        return
    if n.odef is None:
        n.attrs = {k: v for k, v in n.dict.items() if not _is_dunder(k)}
        n.extra = {k: v for k, v in n.dict.items() if _is_dunder(k)}
        return
    key = (n.op, *n.dict.items())
    hit = cache.get(key)
    if hit is None:
        try:
            hit = cache[key] = n.odef.parse_attrs(n.dict)
        except AttrError as e:
            raise _err(f"{n.op}: {e}", file, n) from None
    n.attrs, n.extra = dict(hit[0]), dict(hit[1])


def _check_output(src: _N, idx: int, file: str | None, where: str, n: _N | None) -> None:
    if src.op == "null":
        limit = 1
    elif src.odef is not None:
        limit = len(src.odef.output_names(src.attrs))
    else:
        return
    if idx >= limit:
        raise _err(f"{where} output {idx} of node {src.fi} {src.name!r} ({src.op})", file, n,
                   expected=f"an output index below {limit}", found=str(idx))


def _hidden(key: str) -> bool:
    for h in _HIDDEN_KEYS:
        pos = key.rfind(h)
        if pos == 0 or (pos != -1 and pos == len(key) - len(h)):
            return True
    return False


def _upgrade(order: list[_N], version: int, file: str | None,
             cache: dict[tuple, tuple[dict[str, Any], dict[str, str]]]) -> None:
    """MXNet's legacy JSON upgrade (docs/SYMBOL.md section 2), in its order (files older than
    1.9.1; newer ones need none)."""
    for n in order:
        hidden = [(k, v) for k, v in n.dict.items() if _hidden(k)]
        for k, _ in hidden:
            del n.dict[k]
        _parse(n, file, cache)
        for k, v in hidden:
            if not _move_hidden(n, k, v):
                n.dict[k] = v
    if version < 900:
        for n in order:
            d = n.odef
            if d is None or not d.listed:
                continue
            names = d.input_names(n.attrs)
            for slot in range(len(n.inputs), len(names)):
                var = _N(None, "null", f"{n.name}_{names[slot]}" if n.name else names[slot],
                         dict(n.dict))
                n.inputs.append([var, 0, 0])
    if version < 904:
        for n in order:
            if n.odef is None:
                continue
            for slot, (src, _, _) in enumerate(n.inputs):
                init = n.odef.var_init(slot, n.attrs)
                if init is not None and src.op == "null" and "__init__" not in src.dict:
                    src.dict["__init__"] = init
    if version < 905:
        for n in order:
            if n.op in ("argmax", "argmin") and n.dict.get("axis") == "-1":
                del n.dict["axis"]


def _move_hidden(n: _N, key: str, value: str) -> bool:
    """Restore one hidden key the way MXNet's fix-up does; False when it goes back unchanged."""
    for h in _HIDDEN_KEYS:
        pos = key.rfind(h)
        if pos == 0 and len(key) == len(h):
            n.dict[f"__{h}__"] = value
            return True
        if pos > 1 and pos == len(key) - len(h):
            if n.op == "null" or n.odef is None:
                return False
            arg = key[:pos - 1]
            names = n.odef.input_names(n.attrs)
            for slot, nm in enumerate(names[:len(n.inputs)]):
                if nm == arg:
                    src = n.inputs[slot][0]
                    if src.op == "null":
                        src.dict[f"__{h}__"] = value
                        return True
                    return False
            return False
    return False
