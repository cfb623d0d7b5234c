"""``dpn-convert``: convert an original MXNet DPN checkpoint to a PyTorch state_dict, without MXNet.

    dpn-convert [--version] CHECKPOINT [-o|--output OUT] [--format pth|safetensors|onnx] [--arch auto|dpn68|...]
                [--epoch N] [--classifier fc6|fc6-1k] [--verify]

CHECKPOINT is what ``ndparse.locate_checkpoint`` takes: a prefix (``dpn92-extra`` ->
``dpn92-extra-0000.params``, or the only ``-NNNN.params`` there is), a ``.params`` or ``-symbol.json``
path, or a SageMaker / Model Server archive. The
extension of OUT decides the format (``.pth``/``.pt``: torch.save, ``.safetensors``); ``--format``
is needed only for another extension and must not contradict a known one. The default OUT is
``<prefix>.pth`` (``.safetensors`` with ``--format safetensors``) beside the input. The output is
written to a temporary file in the same folder, re-loaded into a fresh model with every tensor
compared bit for bit, and only then moved into place, so a failed run never leaves a half-written
file. ``-o model.onnx`` writes the converted DPN as ONNX (dynamic batch), run by onnxruntime and
compared with the model when onnxruntime is installed.

``--verify`` also runs the checkpoint's own ``PREFIX-symbol.json`` (as the original releases ship it)
with mxtorch on a seeded input and compares it with the converted model, before anything is written:
above a relative error of 1e-4, or when a model's outputs are not all finite, the command exits 1
and writes nothing; with ``-o x.onnx`` it needs onnxruntime (exit 2 without it). Bad input: one line
on stderr, exit status 2. Every check of the output (extension, folder, the extra it needs) runs
before the checkpoint is read.

torch is imported only once the arguments and the destination have been checked: ``--help`` and
``--version`` work (instantly) without it, and a conversion without it says which extra to install.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ndparse
from ndparse.cli_support import (
    EXIT_VERIFY_FAILED,
    CLIError,
    OneLineParser,
    __version__,
    check_destination,
    need_torch,
    non_negative_int,
    output_format,
    run_main,
    verification_failed,
    write_checked,
)

from dpn_torch.config import CLASSIFIER_NAMES, MODEL_CONFIGS, DPNConversionError

PROG = "dpn-convert"
EXIT_MISMATCH = EXIT_VERIFY_FAILED  # the converted model does not compute what the original graph computes
ARCHS = tuple(MODEL_CONFIGS)  # dpn_torch.config needs no torch: --help stays instant
CLASSIFIERS = tuple(CLASSIFIER_NAMES)
FORMATS = ("pth", "safetensors", "onnx")
_EXTENSIONS = {"pth": ".pth", "safetensors": ".safetensors", "onnx": ".onnx"}
ONNX_EXTENSIONS = {".onnx": "onnx"}  # besides ndparse's tensor files


class _NotFinite(Exception):
    """The converted model's logits are not all finite: no proof, nothing written."""


def _parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog=PROG, description="Convert an MXNet DPN checkpoint (cypw/DPNs) to PyTorch, "
                "without MXNet. Keys are those of rw/timm dpn.py.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("checkpoint", metavar="CHECKPOINT",
                   help="checkpoint prefix (<prefix>-0000.params, or the only <prefix>-NNNN.params), "
                        "a .params or -symbol.json path, or a model.tar.gz/.model/.mar archive")
    p.add_argument("-o", "--output", metavar="OUT", type=Path,
                   help="output file; its extension (.pth, .pt, .safetensors, .onnx) decides the format "
                        "(default: <prefix>.pth, or .safetensors/.onnx with --format, beside the input)")
    p.add_argument("--format", choices=FORMATS, default=None, dest="fmt",
                   help="pth (torch.save), safetensors or onnx; needed only when OUT has another "
                        "extension, and must agree with a known one")
    p.add_argument("--arch", choices=["auto", *ARCHS], default="auto",
                   help="network to expect (default: infer it from the checkpoint)")
    p.add_argument("--epoch", type=non_negative_int, default=None,
                   help="checkpoint epoch for a prefix (default: 0, or the only one there is)")
    p.add_argument("--classifier", choices=CLASSIFIERS,
                   help="which classifier to use when the file has both fc6 and fc6-1k")
    p.add_argument("--verify", action="store_true",
                   help="prove the conversion: run PREFIX-symbol.json (when it sits beside the params) "
                        "with mxtorch and compare with the converted model (relative error > 1e-4, or "
                        "values that are not finite: exit 1, nothing written), then print output "
                        "statistics; .onnx: run the file with onnxruntime")
    return p


def default_output(params: Path, fmt: str = "pth") -> Path:
    """``<prefix>.pth`` beside ``<prefix>-0000.params`` (or ``<stem>.pth`` for other names)."""
    from ndparse.constants import split_params_file_name

    split = split_params_file_name(params.name)
    stem = split[0] if split else params.stem
    return params.with_name(stem + _EXTENSIONS[fmt])


def _verify(model: Any, size: int = 224) -> tuple[str, bool]:
    """(the statistics line, whether every logit is finite) of the model on the seeded input."""
    import torch

    from mxtorch.export import VERIFY_SEED

    gen = torch.Generator().manual_seed(VERIFY_SEED)
    x = torch.randn(2, 3, size, size, generator=gen)
    with torch.inference_mode():
        y = model.eval()(x)
    finite = bool(torch.isfinite(y).all())
    top = y[0].topk(min(5, y.shape[1])).indices.tolist()
    return (f"verify: input N(0,1) 2x3x{size}x{size} (seed {VERIFY_SEED}) -> logits {tuple(y.shape)}: "
            f"mean {y.mean().item():.6g}, std {y.std().item():.6g}, min {y.min().item():.6g}, "
            f"max {y.max().item():.6g}, finite {finite}, top-5 of sample 0 {top}"), finite


def _check_output(args: argparse.Namespace, out: Path) -> str:
    """Everything about the output that can fail, before the checkpoint is read."""
    check_destination(out)  # naming the path as given
    fmt = output_format(out, args.fmt, FORMATS, ONNX_EXTENSIONS)
    need_torch("converting a DPN checkpoint")
    if fmt == "safetensors" and importlib.util.find_spec("safetensors") is None:
        raise CLIError(".safetensors output needs the safetensors package, which is not installed: "
                       "pip install safetensors")
    if fmt == "onnx":
        if importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxscript") is None:
            raise CLIError("ONNX export needs the onnx extra: pip install 'ndparse[onnx]'")
        if args.verify and importlib.util.find_spec("onnxruntime") is None:
            raise CLIError("--verify of an .onnx file needs onnxruntime: pip install 'ndparse[onnx]'")
    return fmt


def run(args: argparse.Namespace) -> int:
    """Convert as asked by parsed arguments; prints the report; raises on bad input."""
    with ndparse.locate_checkpoint(args.checkpoint, epoch=args.epoch) as ckpt:
        if ckpt.params is None:
            raise FileNotFoundError(f"no params file for {args.checkpoint} (no {ckpt.prefix}-NNNN.params)")
        shown = Path(ckpt.source)
        out = args.output or default_output(shown if ckpt.archive is None else
                                            Path(ckpt.source).with_name(Path(ckpt.prefix).name + ".params"),
                                            args.fmt or "pth")
        fmt = _check_output(args, out)
        return _convert(args, ckpt, out, fmt)


def _convert(args: argparse.Namespace, ckpt: ndparse.Checkpoint, out: Path, fmt: str) -> int:
    from dpn_torch.convert import convert_checkpoint, model_from_state_dict

    params = ckpt.params
    assert params is not None
    conv = convert_checkpoint(params, arch=None if args.arch == "auto" else args.arch,
                              classifier=args.classifier)
    n_stats = sum(t.numel() for k, t in conv.state_dict.items()
                  if k.endswith((".running_mean", ".running_var")))
    print(f"checkpoint: {ckpt.source} ({conv.record_layout}, {conv.num_arrays} arrays, "
          f"{params.stat().st_size:,} bytes)")
    print(f"network:    {conv.description}")
    print(f"parameters: {conv.num_params:,} (+ {n_stats:,} BN running statistics)")

    if args.verify:
        # The original graph, when it ships beside the weights, run by mxtorch: before anything is
        # written, so a model that computes something else never reaches the disk. The graph and
        # the weights are the checkpoint's own pair, as located above.
        if ckpt.symbol is not None:
            from dpn_torch.verify import verify_against_symbol

            check = verify_against_symbol(conv.model, ckpt)
            print(check.describe())
            if not check.ok:
                why = (f"relative error {check.error:.3g} > {check.tolerance:g}" if check.finite
                       else "its outputs are not all finite")
                print(f"{PROG}: the converted model does not compute what {check.symbol.name} computes "
                      f"({why}); nothing was written", file=sys.stderr)
                return EXIT_MISMATCH
        else:
            print(f"symbol graph: skipped (no {Path(ckpt.prefix).name}-symbol.json beside the checkpoint)")

    if fmt == "onnx":
        return _write_onnx(conv, out, args)
    models: list[Any] = []
    stats: list[str] = []

    def check_reloaded(loaded: dict[str, Any]) -> None:
        model = model_from_state_dict(loaded, conv.config)
        models.append(model)
        if args.verify:
            line, finite = _verify(model)
            stats.append(line)
            if not finite:
                raise _NotFinite(line)

    meta = {"source": Path(ckpt.source).name, "source_layout": conv.record_layout,
            "variant": conv.description, "converted_by": f"dpn-convert {__version__}"}
    # The re-load check runs on the complete temporary file, before it replaces anything: every
    # tensor bit for bit, then strictly into a fresh model (every key, every shape), then (--verify)
    # the model's logits must all be finite.
    try:
        write_checked(out, conv.state_dict, fmt, metadata=meta if fmt == "safetensors" else None,
                      check=check_reloaded)
    except _NotFinite as exc:
        return verification_failed(PROG, [str(exc)], "the converted model's logits are not all "
                                   "finite (NaN or infinity); nothing was written")
    n = len(conv.state_dict)
    print(f"wrote:      {out} ({fmt}, {n} tensor{'' if n == 1 else 's'}, "
          f"{out.stat().st_size:,} bytes); re-loaded into a fresh model: every tensor equal")
    for line in stats:
        print(line)
    return 0


def _write_onnx(conv: Any, out: Path, args: argparse.Namespace) -> int:
    """The converted DPN as ONNX (dynamic batch), checked by onnxruntime when it is installed."""
    from mxtorch.export import VERIFY_SEED, ExportCheck, ExportError, VerificationError, describe, export, seeded_inputs

    has_runtime = importlib.util.find_spec("onnxruntime") is not None
    x = seeded_inputs([(2, 3, 224, 224)], seed=VERIFY_SEED)
    try:
        check: ExportCheck | None = export(conv.model, out, x, input_names=["data"], output_names=["logits"],
                                           dynamic_batch=True, verify=has_runtime)
    except ExportError as exc:
        raise CLIError(str(exc)) from None
    except VerificationError as exc:
        return verification_failed(PROG, describe(exc.check) if exc.check is not None else [], str(exc))
    print(f"wrote:      {out} (ONNX, dynamic batch, {out.stat().st_size:,} bytes)")
    if check is None:
        print("verify: onnxruntime is not installed: the ONNX file was not run (pip install 'ndparse[onnx]')")
    else:
        for line in describe(check):
            print(line)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``dpn-convert`` / ``python -m dpn_torch``; returns the exit status."""
    # bad input: ndparse's family (NDFormatError, OutputError, CLIError), OSError, and a checkpoint
    # that is not a DPN; anything else is a bug and shows its traceback
    return run_main(PROG, _parser(), run, argv, (DPNConversionError,))


if __name__ == "__main__":
    raise SystemExit(main())
