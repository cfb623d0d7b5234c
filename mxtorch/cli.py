"""``mxtorch``: run an MXNet model in PyTorch, or convert it to .pt2 / ONNX / a state_dict, without MXNet.

    mxtorch convert PREFIX_OR_SYMBOL [--epoch N] [--params F] --input NAME=SHAPE [--input ...]
                    -o OUT [--dynamic-batch] [--dynamic NAME=AXES ...] [--verify | --no-verify]
                    [--tolerance T] [--opset N] [--max-memory SIZE]
    mxtorch run PREFIX_OR_SYMBOL [--epoch N] [--params F] --input NAME=FILE.npy|SHAPE [...]
                [-o OUT.npz] [--seed S] [--max-memory SIZE]
    mxtorch check PREFIX_OR_SYMBOL [--epoch N] [--params F] [--input NAME=SHAPE ...] [--max-memory SIZE]
    mxtorch --version

PREFIX_OR_SYMBOL is a checkpoint prefix (``model`` -> ``model-symbol.json`` + ``model-0000.params``)
or a ``-symbol.json`` path (then ``--params`` names the params file). SHAPE is comma-separated
(``data=1,3,224,224``). The extension of OUT decides the format (``.pt2``, ``.onnx``, ``.pth``,
``.safetensors``). ``--verify`` (the default for .pt2/.onnx when their runtime is installed) runs the
written file in a process where mxtorch and ndparse cannot be imported, on the same seeded input as
the in-memory graph, and prints the relative error per head; above the tolerance the command exits 1
and writes nothing. Bad input: one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ndparse.cli_support import (
    EXIT_VERIFY_FAILED,
    CLIError,
    OneLineParser,
    __version__,
    check_destination,
    need_torch,
    non_negative_float,
    non_negative_int,
    run_main,
    verification_failed,
)

PROG = "mxtorch"


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", metavar="PREFIX_OR_SYMBOL",
                   help="checkpoint prefix (PREFIX-symbol.json + PREFIX-%%04d.params), a -symbol.json or "
                   "-NNNN.params path, or a SageMaker model.tar.gz / Model Server .model/.mar archive")
    p.add_argument("--epoch", type=non_negative_int, default=None,
                   help="checkpoint epoch (default: 0, or the only PREFIX-NNNN.params there is)")
    p.add_argument("--params", metavar="F", help="params file (default: PREFIX-EPOCH.params beside the symbol)")
    p.add_argument("--optimize", action="store_true",
                   help="run (or export) mxtorch.optimize's rewrite: BatchNorm folded, channels_last, "
                        "constants folded (outputs within 1e-5)")


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog=PROG, description="Run or convert an MXNet model (-symbol.json + .params) with "
                "PyTorch, without MXNet.")
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    c = sub.add_parser("convert", help="write .pt2 (torch.export), .onnx, .pth or .safetensors",
                       description="Convert an MXNet model; the extension of OUT decides the format.")
    _model_args(c)
    c.add_argument("--input", action="append", default=[], metavar="NAME=SHAPE",
                   help="an input's shape, e.g. data=1,3,224,224 (repeat for each data input; "
                   "not needed for .pth/.safetensors)")
    c.add_argument("-o", "--output", required=True, type=Path, metavar="OUT",
                   help="output: .pt2, .onnx, .pth or .safetensors")
    c.add_argument("--dynamic-batch", action="store_true",
                   help="export with a dynamic batch dimension (checked at two batch sizes); "
                   "shorthand for --dynamic NAME=0 for every input")
    c.add_argument("--dynamic", action="append", default=[], metavar="NAME=AXES",
                   help="axes of an input that stay dynamic, e.g. data=0,2,3 for a fully convolutional "
                   "net (repeatable; each is checked at two sizes)")
    proof = c.add_mutually_exclusive_group()
    proof.add_argument("--verify", dest="verify", action="store_true", default=None,
                       help="run the written artifact and compare with the graph (default for .pt2/.onnx)")
    proof.add_argument("--no-verify", dest="verify", action="store_false", help="skip that check")
    c.add_argument("--tolerance", type=non_negative_float, default=None, metavar="T",
                   help="largest accepted max|artifact-graph|/max|graph| per head (default 1e-5)")
    c.add_argument("--opset", type=int, default=None, metavar="N", help="ONNX opset (default 18)")
    c.add_argument("--aot", action="store_true",
                   help=".pt2 only: also compile the program ahead of time (AOTInductor, CPU, frozen weights) "
                   "into the same file; torch._inductor.aoti_load_package(OUT) runs it at the eager model's "
                   "speed, torch.export.load(OUT) still reads the program. Needs a C++ compiler; tens of "
                   "seconds per model. Without dynamic axes it takes only the exported shapes and checks "
                   "them only with AOTI_RUNTIME_CHECK_INPUTS=1")
    c.add_argument("--max-memory", metavar="SIZE", default=None,
                   help="most a forward may allocate, e.g. 4G (default: half of the machine's memory)")

    r = sub.add_parser("run", help="run the model on inputs and save every head",
                       description="Run an MXNet model on real inputs (.npy) or seeded N(0,1) inputs "
                       "of a given shape, and save or summarise every head.")
    _model_args(r)
    r.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy|SHAPE",
                   help="an input: a .npy file or a shape for a seeded N(0,1) input (repeatable)")
    r.add_argument("-o", "--output", type=Path, metavar="OUT.npz",
                   help="save every head to this .npz (keys: the graph's output names)")
    r.add_argument("--seed", type=int, default=0, help="seed of generated inputs (default 0)")
    r.add_argument("--max-memory", metavar="SIZE", default=None,
                   help="most a forward may allocate, e.g. 4G (default: half of the machine's memory)")

    k = sub.add_parser("check", help="list every op, refused attributes and memory findings; exit 0/1",
                       description="Check a graph without loading its weights or running it: every op "
                       "(supported or not), the attribute values mxtorch would refuse and, for the input "
                       "shapes given or recorded in the graph, what a forward would allocate. Exit 0 when "
                       "mxtorch can run it, 1 when not.")
    _model_args(k)
    k.add_argument("--input", action="append", default=[], metavar="NAME=SHAPE",
                   help="an input's shape for the memory check, e.g. data=1,3,224,224 (repeatable)")
    k.add_argument("--max-memory", metavar="SIZE", default=None,
                   help="the memory budget to check against, e.g. 4G (default: half of the machine's memory)")
    return p


def _parse_shape(text: str, name: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in text.replace("x", ",").split(",") if d.strip())
    except ValueError:
        raise CLIError(f"--input {name}={text}: expected a shape like 1,3,224,224 or a .npy file") from None
    if not dims or any(d < 0 for d in dims):
        raise CLIError(f"--input {name}={text}: expected a shape of non-negative sizes like 1,3,224,224")
    return dims


def _input_specs(items: Sequence[str], input_names: Sequence[str], *, files_ok: bool,
                 defaults: dict[str, tuple[int, ...]] | None = None) -> dict[str, Any]:
    """``NAME=SHAPE`` (or ``NAME=FILE.npy``) items -> {name: shape tuple or numpy array}, checked;
    ``defaults`` (an archive's input shapes) fill the inputs not given."""
    specs: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            if len(input_names) == 1 and not specs:
                name, value = input_names[0], item
            else:
                raise CLIError(f"--input {item}: expected NAME=SHAPE (inputs: {', '.join(input_names)})")
        if name not in input_names:
            raise CLIError(f"--input {name}: the graph has no data input {name!r} "
                           f"(its inputs: {', '.join(input_names) or 'none'})")
        if files_ok and value.lower().endswith(".npy"):
            import numpy as np
            try:
                specs[name] = np.load(value, allow_pickle=False)
            except (OSError, ValueError) as exc:
                raise CLIError(f"--input {name}={value}: {exc}") from None
        else:
            specs[name] = _parse_shape(value, name)
    for n in input_names:
        if n not in specs and defaults and n in defaults:
            specs[n] = defaults[n]
    missing = [n for n in input_names if n not in specs]
    if missing:
        raise CLIError(f"missing --input for {', '.join(missing)} (e.g. --input {missing[0]}=1,3,224,224)")
    return specs


def _max_memory(args: argparse.Namespace) -> int | None:
    if getattr(args, "max_memory", None) is None:
        return None
    from .budget import parse_size
    try:
        return parse_size(args.max_memory)
    except ValueError as exc:
        raise CLIError(f"--max-memory: {exc}") from None


def _dynamic_axes(items: Sequence[str], input_names: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """``--dynamic NAME=0,2,3`` items -> {name: axes} (a bare ``0,2,3`` for a one-input graph)."""
    out: dict[str, tuple[int, ...]] = {}
    for item in items:
        name, sep, value = item.rpartition("=")
        if not sep:
            if len(input_names) != 1:
                raise CLIError(f"--dynamic {item}: expected NAME=AXES (inputs: {', '.join(input_names)})")
            name = input_names[0]
        if name not in input_names:
            raise CLIError(f"--dynamic {item}: the graph has no data input {name!r} "
                           f"(its inputs: {', '.join(input_names) or 'none'})")
        try:
            axes = tuple(int(a) for a in value.split(",") if a.strip())
        except ValueError:
            axes = ()
        if not axes:
            raise CLIError(f"--dynamic {item}: expected axes like {name}=0,2,3")
        out[name] = tuple(dict.fromkeys(out.get(name, ()) + axes))
    return out


def _load(args: argparse.Namespace) -> Any:
    """The model the arguments name (found by ndparse.locate_checkpoint); its archive's input
    shapes, when it came from one, are kept in ``args.archive_shapes``."""
    need_torch("running an MXNet graph")
    import ndparse

    import mxtorch
    with ndparse.locate_checkpoint(args.model, epoch=args.epoch, params=args.params) as ckpt:
        args.archive_shapes = ckpt.input_shapes
        return mxtorch.load(ckpt, max_memory=_max_memory(args), optimize=args.optimize)


def cmd_check(args: argparse.Namespace) -> int:
    need_torch("checking an MXNet graph")
    from .check import check
    shapes = {}
    for item in args.input:
        name, sep, value = item.partition("=")
        if not sep:
            raise CLIError(f"--input {item}: expected NAME=SHAPE")
        shapes[name] = _parse_shape(value, name)
    report = check(args.model, epoch=args.epoch, params=args.params, input_shapes=shapes,
                   max_memory=_max_memory(args))
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


def _tensors(model: Any, specs: dict[str, Any], seed: int) -> tuple[Any, ...]:
    import numpy as np
    import torch

    from .export import seeded_inputs
    shapes = [specs[n] for n in model.input_names if not hasattr(specs[n], "dtype")]
    generated = iter(seeded_inputs(shapes, seed=seed))
    out = []
    for k, n in enumerate(model.input_names):
        v = specs[n]
        if not hasattr(v, "dtype"):
            out.append(next(generated))
            continue
        if v.dtype.kind not in "biuf":
            raise CLIError(f"--input {n}: the array has dtype {v.dtype}; the graph takes numbers")
        t = torch.from_numpy(np.ascontiguousarray(v).copy())
        want = model._guard.input_dtype(k, [getattr(model, a) for a in model._state_attrs])
        try:
            t, note = model._guard.cast(n, t, want)
        except TypeError as exc:
            raise CLIError(str(exc)) from None
        if note:
            print(f"{PROG}: warning: {note}", file=sys.stderr)
        out.append(t)
    return tuple(out)


def _forward(model: Any, inputs: tuple[Any, ...]) -> list[Any]:
    import torch

    from ndparse.errors import NDFormatError

    from .budget import InputRankError
    try:
        with torch.inference_mode():
            out = model(*inputs)
    except InputRankError as exc:  # said at the input, before anything ran
        raise CLIError(str(exc)) from None
    except NDFormatError:  # the memory budget (MemoryBudgetError) and other refusals: as they are
        raise
    except (RuntimeError, ValueError, IndexError) as exc:
        shapes = ", ".join(f"{n}={tuple(t.shape)}" for n, t in zip(model.input_names, inputs))
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        node = getattr(exc, "mxnet_node", None)
        where = f" at {node[0]} node {node[1]!r}" if node else ""
        raise CLIError(f"the graph rejects inputs {shapes}{where}: {first}") from None
    return list(out) if isinstance(out, (tuple, list)) else [out]


def cmd_run(args: argparse.Namespace) -> int:
    if args.output is not None:
        if args.output.suffix.lower() != ".npz":
            raise CLIError(f"{args.output}: run saves .npz files")
        check_destination(args.output)
    model = _load(args)
    inputs = _tensors(model, _input_specs(args.input, model.input_names, files_ok=True,
                                         defaults=args.archive_shapes), args.seed)
    outs = _forward(model, inputs)
    import numpy as np
    arrays = {name: o.detach().cpu().numpy() for name, o in zip(model.output_names, outs)}
    for name, a in arrays.items():
        finite = a[np.isfinite(a)] if a.dtype.kind == "f" else a
        stats = (f"mean {finite.mean():.6g}, min {finite.min():.6g}, max {finite.max():.6g}"
                 if finite.size else "no finite values")
        print(f"{name}: {a.dtype} {tuple(a.shape)}: {stats}")
    if args.output is not None:
        from ndparse.cli_support import atomic_write
        with atomic_write(args.output) as f:
            np.savez(f, **arrays)
        print(f"wrote: {args.output} ({len(arrays)} head{'s' if len(arrays) != 1 else ''})")
    return 0


def _runtime_available(fmt: str) -> bool:
    if fmt == "onnx":
        return importlib.util.find_spec("onnxruntime") is not None
    return fmt == "pt2"


def cmd_convert(args: argparse.Namespace) -> int:
    need_torch("converting an MXNet graph")  # before .export, which imports torch
    from .export import VERIFY_TOLERANCE, format_of
    try:
        fmt = format_of(args.output)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    check_destination(args.output)
    if args.aot and fmt != "pt2":
        raise CLIError(f"--aot compiles a .pt2 file, not .{fmt}: {args.output}")
    if fmt == "onnx" and (importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxscript") is None):
        raise CLIError("ONNX export needs the onnx extra: pip install 'ndparse[onnx]'")
    if args.verify and not _runtime_available(fmt) and fmt in ("pt2", "onnx"):
        raise CLIError("--verify of an .onnx file needs onnxruntime: pip install 'ndparse[onnx]'")
    verify = _runtime_available(fmt) if args.verify is None else args.verify
    model = _load(args)
    tolerance = VERIFY_TOLERANCE if args.tolerance is None else args.tolerance

    from .export import ONNX_OPSET, ExportError, VerificationError, describe, export
    if fmt in ("pth", "safetensors"):
        return _write_state_dict(model, args, fmt)
    inputs = _tensors(model, _input_specs(args.input, model.input_names, files_ok=False,
                                         defaults=args.archive_shapes), 0)
    _forward(model, inputs)  # a shape the graph rejects: one line, before the exporter's traceback
    opset = ONNX_OPSET if args.opset is None else args.opset
    dynamic = _dynamic_axes(args.dynamic, model.input_names)
    try:
        check = export(model, args.output, inputs, input_names=model.input_names,
                       output_names=model.output_names, dynamic_batch=args.dynamic_batch, dynamic=dynamic,
                       verify=verify, tolerance=tolerance, opset=opset, progress=sys.stderr.isatty(),
                       aot=args.aot)
    except ValueError as exc:  # a dynamic axis the input does not have
        raise CLIError(str(exc)) from None
    except ExportError as exc:
        raise CLIError(str(exc)) from None
    except VerificationError as exc:
        return verification_failed(PROG, describe(exc.check) if exc.check is not None else [], str(exc))
    what = "torch.export program" if fmt == "pt2" else f"ONNX opset {opset}"
    if args.aot:
        what += " + its AOTInductor CPU compilation"
    if dynamic:
        from .export import resolve_dynamic
        axes = resolve_dynamic(model.input_names, [t.dim() for t in inputs], args.dynamic_batch, dynamic)
        batch = "dynamic axes " + "; ".join(f"{n}: {','.join(map(str, a))}" for n, a in axes.items())
    else:
        batch = "dynamic batch" if args.dynamic_batch else "static shapes"
    print(f"wrote: {args.output} ({what}, {batch}, {args.output.stat().st_size:,} bytes)")
    if check is None:
        print("verify: skipped" + ("" if args.verify is False else " (onnxruntime is not installed)"))
    else:
        for line in describe(check):
            print(line)
    return 0


def _write_state_dict(model: Any, args: argparse.Namespace, fmt: str) -> int:
    from .export import write_state_dict

    state = write_state_dict(model, args.output, fmt, source=Path(args.model).name)
    print(f"wrote: {args.output} ({fmt}, {len(state)} tensors with MXNet names, "
          f"{args.output.stat().st_size:,} bytes); re-read and compared")
    return 0


def _command(args: argparse.Namespace) -> int:
    from .errors import UnsupportedOpsError
    commands = {"run": cmd_run, "convert": cmd_convert, "check": cmd_check}
    try:
        return commands[args.command](args)
    except UnsupportedOpsError as exc:  # a few lines: one per missing op (the rest is one line)
        first, *rest = str(exc).splitlines()
        print(f"{PROG}: error: {first}", *rest, sep="\n", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``mxtorch`` / ``python -m mxtorch``; returns the exit status."""
    # bad input is ndparse's error family (CLIError and UnsupportedOpError included) or an
    # OSError; anything else is a bug and shows its traceback
    return run_main(PROG, build_parser(), _command, argv)


if __name__ == "__main__":
    raise SystemExit(main())
