"""The `ndparse` command: inspect, convert and diff MXNet NDArray files.

    ndparse [--version] COMMAND ...
    ndparse inspect FILE [--json] [--stats] [--tree]
    ndparse convert FILE OUT [--format npz|params|pth|safetensors] [--strip-prefix]
                    [--sparse refuse|dense]
                    [--bfloat16 refuse|float32|uint16]
    ndparse diff A B [--atol X] [--rtol X] [--strip-prefix]

Results go to stdout, problems to stderr as one line; exit status 0 on success, 1 when `diff`
finds differences, 2 for bad input or a failed conversion. Never a traceback for bad input; a
reader that closes the pipe early (`| head`) ends the command quietly.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import constants as C
from ._atomic import atomic_write
from ._index import RecordInfo
from ._outputs import (
    TENSOR_EXTENSIONS,
    OutputError,
    _bit_equal,
    check_destination,
    output_format,
    read_tensors,
    write_checked,
)
from ._version import __version__
from .cli_support import CLIError, OneLineParser, non_negative_float, run_main, safe_name
from .reader import NDFile
from .sparse import CSRArray, RowSparseArray
from .writer import dumps


sanitize = safe_name  # a name from a file, fit for a terminal (the one sanitiser of the house)


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 array`, `2 arrays`, `1,000 arrays`."""
    return f"{n:,} {word if n == 1 else many or word + 's'}"


def shape_str(shape: Sequence[int] | None) -> str:
    """A shape as Python prints a tuple: `()`, `(4,)`, `(2, 3)`; `-` for none."""
    return "-" if shape is None else str(tuple(int(d) for d in shape))


def _values(arr: Any) -> np.ndarray:
    data = arr.data if isinstance(arr, (RowSparseArray, CSRArray)) else arr
    if data.dtype == C.BFLOAT16 or data.dtype.kind == "b":
        return data.astype(np.float32)
    return data


def _stats(arr: Any) -> dict[str, float | int | None]:
    v = _values(arr)
    if v.size == 0:
        return {"min": None, "max": None, "mean": None, "std": None, "nan": 0}
    if v.dtype.kind == "f":
        finite = v[~np.isnan(v)]
        nan = int(v.size - finite.size)
    else:
        finite, nan = v, 0
    if finite.size == 0:
        return {"min": None, "max": None, "mean": None, "std": None, "nan": nan}
    f64 = finite.astype(np.float64)
    return {"min": float(finite.min()), "max": float(finite.max()), "mean": float(f64.mean()),
            "std": float(f64.std()), "nan": nan}


def _entry(rec: RecordInfo, f: NDFile, stats: bool) -> dict[str, Any]:
    e: dict[str, Any] = {
        "name": rec.name if f.named else None, "index": rec.index, "stype": rec.stype,
        "dtype": rec.type_name if rec.dtype is not None else None,
        "shape": list(rec.shape) if rec.shape is not None else None,
        "parameters": rec.size, "bytes": rec.nbytes, "record_version": rec.version,
        "offset": rec.offset,
    }
    if stats and rec.stype != "none":
        e["stats"] = _stats(f.materialize(rec))
    return e


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.6g}"


# --- inspect --tree ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _leaf_names() -> tuple[re.Pattern[str], frozenset[str]]:
    """(the `_leaf` suffix pattern, the running-statistic leaves): the input names the op table marks
    learnt (`$`) or auxiliary (`@`), plus PyTorch's and other writers' names. Built on first use, so the
    CLI does not import the op table to start."""
    from ._opdefs import learnt_input_names

    aux = learnt_input_names(aux=True) | {"moving_inv_var", "num_batches_tracked"}
    leaves = learnt_input_names() | aux | {"running_mean", "running_var", "alpha", "scale"}
    return re.compile("_(" + "|".join(sorted(leaves, key=lambda s: (-len(s), s))) + ")$"), aux


def _segments(name: str) -> list[str]:
    """Split on `.` and `/`, except inside parentheses (DPN's `c1x1-w(s/1)` is one name)."""
    parts, cur, depth = [], [], 0
    for ch in name:
        depth += (ch == "(") - (ch == ")")
        if ch in "./" and depth <= 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    return parts + ["".join(cur)]


def _tree_path(name: str) -> tuple[list[str], bool]:
    """(path segments, is_running_statistic) of an array name.

    `arg:`/`aux:` are dropped; `.` and `/` (outside parentheses) separate groups; an MXNet `layer_weight` style
    last part splits into `layer` / `weight`. BatchNorm running statistics are `aux:` arrays and
    names ending in moving_mean / moving_var / running_* / num_batches_tracked."""
    role = ""
    for p in ("arg:", "aux:"):
        if name.startswith(p):
            role, name = p[:3], name[len(p):]
            break
    parts = [s for s in _segments(name) if s] or [name]
    suffix, aux_leaves = _leaf_names()
    m = suffix.search(parts[-1])
    if m and m.start() > 0:
        parts[-1:] = [parts[-1][:m.start()], m.group(1)]
    leaf = parts[-1]
    running = role == "aux" or leaf in aux_leaves or leaf.startswith("running_")
    return parts, running


class _Group:
    def __init__(self) -> None:
        self.groups: dict[str, _Group] = {}
        self.leaves: list[tuple[str, dict[str, Any]]] = []
        self.trainable = 0
        self.running = 0


def _write_tree(out: Any, entries: list[dict[str, Any]], named: bool) -> tuple[int, int]:
    root = _Group()
    for e in entries:
        parts, running = _tree_path(str(e["name"])) if named else ([f"[{e['index']}]"], False)
        node = root
        chain = [root]
        for seg in parts[:-1]:
            node = node.groups.setdefault(seg, _Group())
            chain.append(node)
        node.leaves.append((parts[-1], e))
        for g in chain:
            if running:
                g.running += e["parameters"]
            else:
                g.trainable += e["parameters"]

    def counts(g: _Group) -> str:
        s = plural(g.trainable + g.running, "parameter")
        return s + (f" ({g.trainable:,} trainable + {g.running:,} running statistics)"
                    if g.running else "")

    rows: list[list[str]] = []  # a group is a row of one cell: "/path/  N parameters ..."

    def walk(g: _Group, prefix: str) -> None:  # sorted by name at every level, as h5ls -r lists
        for name, e in sorted(g.leaves, key=lambda kv: kv[0]):
            rows.append([sanitize(prefix + name), e["stype"], e["dtype"] or "-",
                         shape_str(e["shape"]), f"{e['parameters']:,}"])
        for name, sub in sorted(g.groups.items()):
            rows.append([f"{sanitize(prefix + name)}/  {counts(sub)}"])
            walk(sub, prefix + name + "/")

    walk(root, "/")
    leaves = [r for r in rows if len(r) > 1]
    head = ["path", "storage", "dtype", "shape", "parameters"]
    widths = [max([len(h)] + [len(r[i]) for r in leaves]) for i, h in enumerate(head)]
    for r in [head] + rows:
        out.write(r[0] + "\n" if len(r) == 1 else
                  "  ".join(c.ljust(w) if i < 4 else c.rjust(w)
                            for i, (c, w) in enumerate(zip(r, widths))).rstrip() + "\n")
    return root.trainable, root.running


def _refuse(args: argparse.Namespace, *options: str, why: str) -> None:
    """One line naming the given options that do not apply."""
    given = [f"--{o}" for o in options if getattr(args, o, None)]
    if given:
        raise CLIError(f"{' and '.join(given)} {'does' if len(given) == 1 else 'do'} not apply {why}")


def _tensor_file_doc(path: str, fmt: str, stats: bool) -> dict[str, Any]:
    """The inspect document of a .pt/.pth or .safetensors file (what `convert` writes)."""
    arrays = read_tensors(path, fmt)
    entries = []
    for i, (name, a) in enumerate(arrays.items()):
        e: dict[str, Any] = {"name": name, "index": i, "stype": "default", "dtype": _dtype_name(a.dtype),
                             "shape": list(a.shape), "parameters": int(a.size), "bytes": int(a.nbytes),
                             "record_version": None, "offset": None}
        if stats:
            e["stats"] = _stats(a)
        entries.append(e)
    layout = "torch.save zip" if fmt == "pth" else "safetensors"
    return {"file": path, "file_bytes": os.path.getsize(path), "container": layout, "layout": layout,
            "record_versions": [], "named": True, "arrays": entries}


def cmd_inspect(args: argparse.Namespace) -> int:
    from . import _symbol_cli  # symbol graphs: -symbol.json or a checkpoint prefix with one

    if args.dot and args.json:
        raise CLIError("--dot and --json are two different outputs: give one")
    if args.json and args.tree:
        raise CLIError("--tree is a text view; --json lists every array with its full name already")
    graph = _symbol_cli.is_symbol_target(args.file)
    if args.params and not graph:
        raise CLIError(f"--params applies to a symbol graph (PREFIX or -symbol.json); {args.file} is "
                       "an NDArray file")
    if args.dot or graph:
        _refuse(args, "tree", "stats", why="to a symbol graph (they describe the arrays of an "
                "NDArray file: inspect the .params file itself)")
        return _symbol_cli.cmd_inspect_symbol(args, sanitize)
    fmt = TENSOR_EXTENSIONS.get(Path(args.file).suffix.lower())
    if fmt in ("pth", "safetensors"):
        doc = _tensor_file_doc(args.file, fmt, args.stats)
    else:
        with NDFile(args.file) as f:
            entries = [_entry(r, f, args.stats) for r in f.records]
            doc = {"file": str(args.file), "file_bytes": os.path.getsize(args.file),
                   "container": f.container, "layout": f.layout,
                   "record_versions": list(f.record_versions), "named": f.named,
                   "arrays": entries}
    entries = doc["arrays"]
    totals = {"arrays": len(entries), "parameters": sum(e["parameters"] for e in entries),
              "bytes": sum(e["bytes"] for e in entries)}
    doc["totals"] = totals
    named = doc["named"]
    if args.json:
        json.dump(doc, sys.stdout, indent=1, allow_nan=False, default=str)
        sys.stdout.write("\n")
        return 0
    out = sys.stdout
    out.write(f"file:   {sanitize(args.file)} ({plural(doc['file_bytes'], 'byte')})\n")
    out.write(f"format: {doc['layout']}, {'named' if named else 'unnamed list'}\n")
    if args.tree:
        trainable, running = _write_tree(out, entries, named)
        out.write(f"total:  {plural(totals['arrays'], 'array')}, "
                  f"{plural(totals['parameters'], 'parameter')}: {trainable:,} trainable, "
                  f"{running:,} running statistics (BatchNorm)\n")
        return 0
    rows = []
    for e in entries:
        name = sanitize(e["name"]) if named else f"[{e['index']}]"
        row = [name, e["stype"], e["dtype"] or "-", shape_str(e["shape"]), f"{e['bytes']:,}"]
        if args.stats:
            s = e.get("stats", {})
            row += [_fmt(s.get("min")), _fmt(s.get("max")), _fmt(s.get("mean")), _fmt(s.get("std"))]
        rows.append(row)
    head = ["name", "storage", "dtype", "shape", "bytes"] + (["min", "max", "mean", "std"]
                                                             if args.stats else [])
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(head)]
    for r in [head] + rows:
        out.write("  ".join(c.ljust(w) if i < 4 else c.rjust(w)
                            for i, (c, w) in enumerate(zip(r, widths))).rstrip() + "\n")
    out.write(f"total:  {plural(totals['arrays'], 'array')}, "
              f"{plural(totals['parameters'], 'parameter')}, {plural(totals['bytes'], 'byte')}\n")
    return 0


# --- convert ------------------------------------------------------------------------------
def _key(name: Any, strip_prefix: bool) -> str:
    key = str(name)
    if strip_prefix:
        for p in ("arg:", "aux:"):
            if key.startswith(p):
                return key[len(p):]
    return key


def _collect(f: NDFile, args: argparse.Namespace, out_kind: str) -> dict[str, Any]:
    """name -> array to write. `.params` keeps sparse arrays and bfloat16; other formats get
    dense arrays (with --sparse dense) and .npz no bfloat16 (--bfloat16 float32|uint16)."""
    result: dict[str, Any] = {}
    for rec in f.records:
        key = _key(rec.name if f.named else rec.index, args.strip_prefix)
        if rec.stype == "none":
            raise CLIError(f"{sanitize(key)}: is a none (uninitialised) array, which "
                           f"{out_kind} cannot hold")
        arr = f.materialize(rec)
        if isinstance(arr, (RowSparseArray, CSRArray)) and out_kind != "params":
            if args.sparse != "dense":
                raise CLIError(f"{sanitize(key)}: is a {arr.stype} array; {out_kind} has no sparse "
                               "type (use --sparse dense to store it densified)")
            arr = arr.todense()
        if arr.dtype == C.BFLOAT16 and out_kind == "npz":
            if args.bfloat16 == "float32":
                arr = arr.astype(np.float32)  # exact: bfloat16 is a truncated float32
            elif args.bfloat16 == "uint16":
                arr = arr.view(np.uint16)
            else:
                raise CLIError(f"{sanitize(key)}: is bfloat16, which .npz cannot hold (use "
                               "--bfloat16 float32 to widen exactly, or uint16 for the raw bits)")
        if key in result:
            raise CLIError(f"two arrays map to the name {sanitize(key)!r} "
                           "(duplicate names, or --strip-prefix made them collide)")
        result[key] = arr
    return result


def _same(a: Any, b: Any) -> bool:
    """Same kind, dtype, shape and bits (sparse arrays: every part)."""
    if isinstance(a, (RowSparseArray, CSRArray)) or isinstance(b, (RowSparseArray, CSRArray)):
        if type(a) is not type(b) or a.shape != b.shape:
            return False
        parts = ("data", "indices") if isinstance(a, RowSparseArray) else ("data", "indices", "indptr")
        return all(_bit_equal(getattr(a, p), getattr(b, p)) for p in parts)
    return _bit_equal(a, b)


def _write_local(out: Path, arrays: dict[str, Any], kind: str, named: bool) -> None:
    """Write .npz or .params through atomic_write, re-read by numpy / ndparse and compared."""
    if kind == "npz":
        def write(fh: Any) -> None:
            np.savez(fh, **arrays)

        def read(p: str) -> dict[str, Any]:
            with np.load(p, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
    else:
        values: Any = arrays if named else list(arrays.values())
        dense = [v for v in arrays.values() if isinstance(v, np.ndarray)]
        # V2 records cannot hold a 0-d shape (ndim 0 means "none") nor a zero dimension
        # (0 means "unknown"); MXNet's numpy-shape V3 records can, but not sparse arrays.
        np_shape = any(v.ndim == 0 or 0 in v.shape for v in dense)
        if np_shape and len(dense) < len(arrays):
            raise CLIError(f"{out}: a .params file cannot hold both 0-d or zero-size arrays "
                           "(numpy-shape records) and sparse arrays")
        data = dumps(values, np_shape=np_shape)

        def write(fh: Any) -> None:
            fh.write(data)

        def read(p: str) -> dict[str, Any]:
            with NDFile(p, mmap=False) as g:
                return {str(k): g.get(k) for k in g.keys()}

    def verify(tmp: str) -> None:
        back = read(tmp)
        if set(back) != set(arrays):
            raise OutputError(f"verification failed: {out} holds other names than the input")
        for k, v in arrays.items():
            if not _same(v, back[k]):
                raise OutputError(f"verification failed: {sanitize(k)} differs after writing {out}")

    with atomic_write(out, verify=verify) as fh:
        write(fh)


CONVERT_FORMATS = ("npz", "params", "pth", "safetensors")


def cmd_convert(args: argparse.Namespace) -> int:
    out = check_destination(args.out)
    kind = output_format(args.out, args.format, CONVERT_FORMATS)
    if Path(args.file).resolve() == out.resolve():
        raise CLIError(f"{out}: is the input file; write to another name")
    with NDFile(args.file, mmap=True) as f:
        arrays = _collect(f, args, kind)
        if kind in ("pth", "safetensors"):
            meta = {"source": Path(args.file).name, "source_layout": f.layout,
                    "converted_by": f"ndparse {__version__}"}
            write_checked(out, arrays, kind, metadata=meta if kind == "safetensors" else None)
        else:
            _write_local(out, arrays, kind, f.named)
    total = sum(sum(getattr(v, p).nbytes for p in ("data", "indices", "indptr") if hasattr(v, p))
                if isinstance(v, (RowSparseArray, CSRArray)) else v.nbytes for v in arrays.values())
    print(f"wrote {out}: {plural(len(arrays), 'array')}, {plural(total, 'byte')} of data, "
          f"verified identical to {args.file}")
    return 0


# --- diff ---------------------------------------------------------------------------------
class _Side:
    """One file to compare: name -> (description, loader), from ndparse or a tensor file."""

    def __init__(self, path: str, strip_prefix: bool) -> None:
        self.entries: dict[str, tuple[tuple[str, str, tuple[int, ...] | None],
                                      Callable[[], Any]]] = {}
        self._file: NDFile | None = None
        fmt = TENSOR_EXTENSIONS.get(Path(path).suffix.lower())
        if fmt in ("pth", "safetensors"):
            for k, v in read_tensors(path, fmt).items():
                self._add(_key(k, strip_prefix), ("default", _dtype_name(v.dtype), v.shape),
                          lambda v=v: v)
            return
        f = self._file = NDFile(path)
        for k in f.keys():
            r = f.info(k)
            self._add(_key(k, strip_prefix), (r.stype, r.type_name, r.shape),
                      lambda k=k, f=f: f.get(k))

    def _add(self, key: str, desc: tuple[str, str, tuple[int, ...] | None],
             load: Callable[[], Any]) -> None:
        if key in self.entries:
            raise CLIError(f"two arrays map to the name {sanitize(key)!r} (--strip-prefix "
                           "made them collide)")
        self.entries[key] = (desc, load)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def _dtype_name(dtype: np.dtype) -> str:
    return "bfloat16" if dtype == C.BFLOAT16 else np.dtype(dtype).name


def _dense(x: Any) -> Any:
    return x.todense() if isinstance(x, (RowSparseArray, CSRArray)) else x


def _max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    if a.size == 0:
        return 0.0
    x, y = _values(a).astype(np.float64), _values(b).astype(np.float64)
    both_nan = np.isnan(x) & np.isnan(y)
    d = np.abs(x - y)
    d[both_nan] = 0.0
    return float(np.nanmax(np.where(np.isnan(d), np.inf, d)))


def _close(a: np.ndarray, b: np.ndarray, atol: float, rtol: float) -> bool:
    x, y = _values(a).astype(np.float64), _values(b).astype(np.float64)
    return bool(np.allclose(x, y, atol=atol, rtol=rtol, equal_nan=True))


def cmd_diff(args: argparse.Namespace) -> int:
    tolerant = args.atol is not None or args.rtol is not None
    atol = args.atol or 0.0
    rtol = args.rtol or 0.0
    sa = _Side(args.a, args.strip_prefix)
    try:
        sb = _Side(args.b, args.strip_prefix)
    except BaseException:
        sa.close()
        raise
    try:
        ea, eb = sa.entries, sb.entries
        lines = [f"only in A: {sanitize(k)}" for k in ea if k not in eb]
        lines += [f"only in B: {sanitize(k)}" for k in eb if k not in ea]
        for k, ((stype_a, dt_a, shape_a), load_a) in ea.items():
            if k not in eb:
                continue
            (stype_b, dt_b, shape_b), load_b = eb[k]
            if stype_a == "none" or stype_b == "none":
                if stype_a != stype_b:
                    lines.append(f"{sanitize(k)}: {stype_a} vs {stype_b}")
                continue
            shape_a = tuple(shape_a or ())
            shape_b = tuple(shape_b or ())
            if shape_a != shape_b or (dt_a != dt_b and not tolerant):
                lines.append(f"{sanitize(k)}: {stype_a} {dt_a} {shape_str(shape_a)} vs "
                             f"{stype_b} {dt_b} {shape_str(shape_b)}")
                continue
            xa, xb = _dense(load_a()), _dense(load_b())
            if dt_a == dt_b and _bit_equal(xa, xb):
                continue
            if tolerant and _close(xa, xb, atol, rtol):
                continue
            lines.append(f"{sanitize(k)}: max abs diff {_max_abs_diff(xa, xb):.6g}"
                         + (f" ({dt_a} vs {dt_b})" if dt_a != dt_b else ""))
    finally:
        sa.close()
        sb.close()
    for ln in lines:
        print(ln)
    if not lines:
        print("identical" if not tolerant else f"equal within atol={atol:g}, rtol={rtol:g}")
        return 0
    print(plural(len(lines), "difference"))
    return 1


def build_parser() -> argparse.ArgumentParser:
    version = f"%(prog)s {__version__}"
    p = OneLineParser(prog="ndparse", description="Inspect, convert and compare Apache "
                      "MXNet NDArray files (.params, .nd, MXNet 2.x .npy/.npz) without MXNet.")
    p.add_argument("--version", action="version", version=version)
    sub = p.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    i = sub.add_parser("inspect", help="list the arrays of a file, or summarise a symbol graph",
                       description="FILE: an NDArray file (.params, .nd, .npy, .npz), a .safetensors or "
                       ".pt/.pth file that convert writes, or a checkpoint (prefix, -symbol.json, "
                       "an archive; see ndparse.locate_checkpoint) for its graph.")
    i.add_argument("--version", action="version", version=version)
    i.add_argument("file")
    i.add_argument("--json", action="store_true", help="one JSON document on stdout")
    i.add_argument("--stats", action="store_true", help="add min/max/mean/std per array")
    i.add_argument("--params", metavar="F", help="symbol graph: check this params file against it")
    i.add_argument("--dot", action="store_true", help="symbol graph: print it in Graphviz DOT")
    i.add_argument("--tree", action="store_true",
                   help="group names by prefix (like h5ls -r) with parameter counts per group, "
                        "trainable apart from BatchNorm running statistics")
    i.set_defaults(func=cmd_inspect)
    c = sub.add_parser("convert", help="convert to .npz, .safetensors, .pt/.pth or .params",
                       description="Convert FILE to OUT; the extension of OUT decides the format "
                       "(.npz, .safetensors, .pt/.pth, .params as V2 records). The output is "
                       "re-read and compared bit for bit before it replaces anything.")
    c.add_argument("--version", action="version", version=version)
    c.add_argument("file")
    c.add_argument("out")
    c.add_argument("--format", choices=CONVERT_FORMATS, default=None,
                   help="needed only when OUT has another extension; must agree with a known one")
    c.add_argument("--strip-prefix", action="store_true", help="drop 'arg:'/'aux:' from names")
    c.add_argument("--sparse", choices=["refuse", "dense"], default="refuse",
                   help="sparse arrays (except into .params): refuse (default) or store densified")
    c.add_argument("--bfloat16", choices=["refuse", "float32", "uint16"], default="refuse",
                   help="bfloat16 into .npz: refuse (default), widen exactly, or raw bits")
    c.set_defaults(func=cmd_convert)
    d = sub.add_parser("diff", help="compare two files array by array",
                       description="Compare A and B array by array: any file ndparse reads "
                       "(.params, .nd, .npy, .npz) or convert writes (.safetensors, .pt/.pth). "
                       "Exit status 0 when equal, 1 when they differ.")
    d.add_argument("--version", action="version", version=version)
    d.add_argument("a")
    d.add_argument("b")
    d.add_argument("--atol", type=non_negative_float, default=None,
                   help="absolute tolerance (values equal when |a-b| <= atol + rtol*|b|)")
    d.add_argument("--rtol", type=non_negative_float, default=None, help="relative tolerance")
    d.add_argument("--strip-prefix", action="store_true",
                   help="drop 'arg:'/'aux:' from names before matching them")
    d.set_defaults(func=cmd_diff)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (the house skeleton: ndparse.cli_support.run_main)."""
    return run_main("ndparse", build_parser(), lambda args: args.func(args), argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
