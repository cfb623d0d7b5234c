"""The `ndparse` command: inspect, convert and diff MXNet NDArray files.

Results go to stdout, problems to stderr as one line; exit status 0 on success, 1 when `diff`
finds differences, 2 for bad input or a failed conversion. Never a traceback for bad input.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import constants as C
from ._atomic import atomic_write
from ._index import RecordInfo, dtype_name
from .errors import NDFormatError
from .reader import NDFile
from .sparse import CSRArray, RowSparseArray


class CLIError(Exception):
    """A problem to report on one line with exit status 2."""


def sanitize(name: Any) -> str:
    """A name safe for a terminal: control, format and other non-printable characters escaped."""
    s = str(name)
    if s.isprintable():
        return s
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
                   if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}" for ch in s)


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


def cmd_inspect(args: argparse.Namespace) -> int:
    from . import _symbol_cli  # symbol graphs: -symbol.json or a checkpoint prefix with one

    if args.dot or args.params or _symbol_cli.is_symbol_target(args.file):
        return _symbol_cli.cmd_inspect_symbol(args, sanitize)
    with NDFile(args.file) as f:
        entries = [_entry(r, f, args.stats) for r in f.records]
        totals = {"arrays": len(entries), "parameters": sum(e["parameters"] for e in entries),
                  "bytes": sum(e["bytes"] for e in entries)}
        doc = {"file": str(args.file), "file_bytes": os.path.getsize(args.file),
               "container": f.container, "layout": f.layout,
               "record_versions": list(f.record_versions), "named": f.named,
               "arrays": entries, "totals": totals}
    if args.json:
        json.dump(doc, sys.stdout, indent=1, allow_nan=False, default=str)
        sys.stdout.write("\n")
        return 0
    out = sys.stdout
    out.write(f"file:   {sanitize(args.file)} ({doc['file_bytes']:,} bytes)\n")
    out.write(f"format: {f.layout}, {'named' if f.named else 'unnamed list'}\n")
    rows = []
    for e in entries:
        name = sanitize(e["name"]) if f.named else f"[{e['index']}]"
        shape = "-" if e["shape"] is None else "(" + ", ".join(map(str, e["shape"])) + ")"
        row = [name, e["stype"], e["dtype"] or "-", shape, f"{e['bytes']:,}"]
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
    out.write(f"total:  {totals['arrays']:,} arrays, {totals['parameters']:,} parameters, "
              f"{totals['bytes']:,} bytes\n")
    return 0


def _collect(f: NDFile, args: argparse.Namespace, out_kind: str) -> dict[str, np.ndarray]:
    result: dict[str, np.ndarray] = {}
    for rec in f.records:
        key = str(rec.name) if f.named else str(rec.index)
        if args.strip_prefix:
            for p in ("arg:", "aux:"):
                if key.startswith(p):
                    key = key[len(p):]
                    break
        if rec.stype == "none":
            raise CLIError(f"{sanitize(key)}: is a none (uninitialised) array, which "
                           f"{out_kind} cannot hold")
        arr = f.materialize(rec)
        if isinstance(arr, (RowSparseArray, CSRArray)):
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


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return (a.shape == b.shape and a.dtype.itemsize == b.dtype.itemsize
            and np.ascontiguousarray(a).view(np.uint8).tobytes()
            == np.ascontiguousarray(b).view(np.uint8).tobytes())


def _to_torch(arr: np.ndarray) -> Any:
    import torch

    if arr.dtype == C.BFLOAT16:
        return torch.from_numpy(np.ascontiguousarray(arr).view(np.int16)).view(torch.bfloat16)
    if not arr.flags.writeable:
        arr = arr.copy()
    return torch.from_numpy(np.ascontiguousarray(arr))


def _from_torch(t: Any) -> np.ndarray:
    import torch

    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(C.BFLOAT16)
    return t.numpy()


def cmd_convert(args: argparse.Namespace) -> int:
    out = Path(args.out)
    suffix = out.suffix.lower()
    kinds = {".npz": "npz", ".safetensors": "safetensors", ".pt": "torch", ".pth": "torch"}
    if suffix not in kinds:
        raise CLIError(f"{out}: unknown output type {suffix!r} (use .npz, .safetensors, .pt or .pth)")
    kind = kinds[suffix]
    if kind == "torch":
        try:
            import torch
        except ImportError:
            raise CLIError("writing .pt/.pth needs torch: pip install torch") from None
    if kind == "safetensors":
        try:
            import safetensors  # noqa: F401
        except ImportError:
            raise CLIError("writing .safetensors needs the safetensors package: "
                           "pip install safetensors") from None
    with NDFile(args.file, mmap=True) as f:
        arrays = _collect(f, args, kind)

        if kind == "npz":
            def write(fh: Any) -> None:
                np.savez(fh, **arrays)

            def read(p: str) -> dict[str, np.ndarray]:
                with np.load(p, allow_pickle=False) as z:
                    return {k: z[k] for k in z.files}
        elif kind == "torch":
            def write(fh: Any) -> None:
                torch.save({k: _to_torch(v) for k, v in arrays.items()}, fh)

            def read(p: str) -> dict[str, np.ndarray]:
                return {k: _from_torch(v) for k, v in torch.load(p, weights_only=True).items()}
        else:
            if any(v.dtype == C.BFLOAT16 for v in arrays.values()):
                try:
                    import torch  # noqa: F811
                    from safetensors.torch import load_file, save
                except ImportError:
                    raise CLIError("bfloat16 into .safetensors needs torch as well") from None

                def write(fh: Any) -> None:
                    fh.write(save({k: _to_torch(v).contiguous() for k, v in arrays.items()}))

                def read(p: str) -> dict[str, np.ndarray]:
                    return {k: _from_torch(v) for k, v in load_file(p).items()}
            else:
                from safetensors.numpy import load_file as np_load_file
                from safetensors.numpy import save as np_save

                def write(fh: Any) -> None:
                    fh.write(np_save({k: np.ascontiguousarray(v) for k, v in arrays.items()}))

                def read(p: str) -> dict[str, np.ndarray]:
                    return np_load_file(p)

        def verify(tmp: str) -> None:
            back = read(tmp)
            if set(back) != set(arrays):
                raise CLIError(f"verification failed: {out} holds other names than the input")
            for k, v in arrays.items():
                if not _same(v, back[k]):
                    raise CLIError(f"verification failed: {sanitize(k)} differs after writing {out}")

        with atomic_write(out, verify=verify) as fh:
            write(fh)
    n = len(arrays)
    total = sum(v.nbytes for v in arrays.values())
    print(f"wrote {out}: {n} arrays, {total:,} bytes of data, verified identical to {args.file}")
    return 0


def _max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    if a.size == 0:
        return 0.0
    x, y = _values(a).astype(np.float64), _values(b).astype(np.float64)
    both_nan = np.isnan(x) & np.isnan(y)
    d = np.abs(x - y)
    d[both_nan] = 0.0
    return float(np.nanmax(np.where(np.isnan(d), np.inf, d)))


def cmd_diff(args: argparse.Namespace) -> int:
    with NDFile(args.a) as fa, NDFile(args.b) as fb:
        ka, kb = fa.keys(), fb.keys()
        only_a = [k for k in ka if k not in fb]
        only_b = [k for k in kb if k not in fa]
        lines, differ = [], bool(only_a or only_b)
        for k in only_a:
            lines.append(f"only in A: {sanitize(k)}")
        for k in only_b:
            lines.append(f"only in B: {sanitize(k)}")
        for k in ka:
            if k not in fb:
                continue
            ra, rb = fa.info(k), fb.info(k)
            if (ra.stype, ra.type_name, ra.shape) != (rb.stype, rb.type_name, rb.shape):
                differ = True
                lines.append(f"{sanitize(k)}: {ra.stype} {ra.type_name} {ra.shape} vs "
                             f"{rb.stype} {rb.type_name} {rb.shape}")
                continue
            if ra.stype == "none":
                continue
            xa, xb = fa.materialize(ra), fb.materialize(rb)
            if isinstance(xa, (RowSparseArray, CSRArray)):
                xa, xb = xa.todense(), xb.todense()  # type: ignore[union-attr]
            if _same(xa, xb):
                continue
            differ = True
            lines.append(f"{sanitize(k)}: max abs diff {_max_abs_diff(xa, xb):.6g}")
    for ln in lines:
        print(ln)
    print("identical" if not differ else f"{len(lines)} differences")
    return 1 if differ else 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ndparse", description="Inspect, convert and compare Apache "
                                "MXNet NDArray files (.params, .nd, MXNet 2.x .npy/.npz) without MXNet.")
    sub = p.add_subparsers(dest="command", required=True)
    i = sub.add_parser("inspect", help="list the arrays of a file")
    i.add_argument("file")
    i.add_argument("--json", action="store_true", help="one JSON document on stdout")
    i.add_argument("--stats", action="store_true", help="add min/max/mean/std per array")
    i.add_argument("--params", metavar="F", help="symbol graph: check this params file against it")
    i.add_argument("--dot", action="store_true", help="symbol graph: print it in Graphviz DOT")
    i.set_defaults(func=cmd_inspect)
    c = sub.add_parser("convert", help="convert to .npz, .safetensors or .pt/.pth")
    c.add_argument("file")
    c.add_argument("out")
    c.add_argument("--strip-prefix", action="store_true", help="drop 'arg:'/'aux:' from names")
    c.add_argument("--sparse", choices=["refuse", "dense"], default="refuse",
                   help="sparse arrays: refuse (default) or store densified")
    c.add_argument("--bfloat16", choices=["refuse", "float32", "uint16"], default="refuse",
                   help="bfloat16 into .npz: refuse (default), widen exactly, or raw bits")
    c.set_defaults(func=cmd_convert)
    d = sub.add_parser("diff", help="compare two files array by array")
    d.add_argument("a")
    d.add_argument("b")
    d.set_defaults(func=cmd_diff)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            status = args.func(args)
        for w in caught:
            print(f"ndparse: warning: {sanitize(w.message)}", file=sys.stderr)
        return status
    except (NDFormatError, CLIError, OSError) as e:
        msg = str(e) if not isinstance(e, OSError) or not e.filename else \
            f"{e.filename}: {e.strerror or e}"
        print(f"ndparse: error: {sanitize(msg)}", file=sys.stderr)
        return 2
    except MemoryError:
        print("ndparse: error: not enough memory (a sparse array's dense form, or a huge array, "
              "does not fit)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ndparse: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
