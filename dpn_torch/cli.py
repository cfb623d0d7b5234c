"""``dpn-convert``: convert an original MXNet DPN checkpoint to a PyTorch state_dict, without MXNet.

    dpn-convert CHECKPOINT [-o OUT] [--arch auto|dpn68|...] [--format pth|safetensors] [--verify]

CHECKPOINT is a prefix (``dpn92-extra`` -> ``dpn92-extra-0000.params``) or a ``.params`` path. The
output (default ``<prefix>.pth`` beside the input) is written to a temporary file in the same folder
and moved into place with ``os.replace``, so a failed run never leaves a half-written file. Before
reporting success the file is re-loaded into a fresh model and every tensor compared with its source.
Bad input: one line on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NoReturn

import torch

import ndparse
from ndparse import atomic_write

from .convert import (
    CLASSIFIER_NAMES,
    Conversion,
    DPNConversionError,
    convert_checkpoint,
    model_from_state_dict,
    resolve_params_path,
)
from .model import MODEL_CONFIGS

PROG = "dpn-convert"
EXIT_BAD_INPUT = 2
VERIFY_SEED = 0  # --verify input: torch.Generator().manual_seed(VERIFY_SEED), N(0, 1)
_EXTENSIONS = {"pth": ".pth", "safetensors": ".safetensors"}
_PARAMS_NAME = re.compile(r"^(?P<prefix>.*)-\d+\.params$")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + message
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Convert an MXNet DPN checkpoint (cypw/DPNs) to PyTorch, "
                "without MXNet. Keys are those of rw/timm dpn.py.")
    p.add_argument("checkpoint", metavar="CHECKPOINT",
                   help="checkpoint prefix (<prefix>-0000.params) or path to a .params file")
    p.add_argument("-o", "--output", metavar="OUT", type=Path,
                   help="output file (default: <prefix>.pth or .safetensors beside the input)")
    p.add_argument("--arch", choices=["auto", *MODEL_CONFIGS], default="auto",
                   help="network to expect (default: infer it from the checkpoint)")
    p.add_argument("--format", choices=list(_EXTENSIONS), default="pth", dest="fmt",
                   help="pth (torch.save) or safetensors (needs the safetensors package)")
    p.add_argument("--epoch", type=int, default=0, help="checkpoint epoch for a prefix (default 0)")
    p.add_argument("--classifier", choices=CLASSIFIER_NAMES,
                   help="which classifier to use when the file has both fc6 and fc6-1k")
    p.add_argument("--verify", action="store_true",
                   help="run the converted model on a fixed random input and print output statistics")
    return p


def default_output(params: Path, fmt: str = "pth") -> Path:
    """``<prefix>.pth`` beside ``<prefix>-0000.params`` (or ``<stem>.pth`` for other names)."""
    m = _PARAMS_NAME.match(params.name)
    stem = m.group("prefix") if m else params.stem
    return params.with_name(stem + _EXTENSIONS[fmt])


def _safetensors_torch():  # type: ignore[no-untyped-def]
    try:
        import safetensors.torch
    except ImportError:
        raise DPNConversionError("--format safetensors needs the safetensors package "
                                 "(pip install safetensors)") from None
    return safetensors.torch


def _save(state_dict: Mapping[str, torch.Tensor], path: Path, fmt: str) -> None:
    if fmt == "safetensors":
        _safetensors_torch().save_file(dict(state_dict), os.fspath(path))
    else:
        torch.save(dict(state_dict), os.fspath(path))


def _load(path: Path, fmt: str) -> dict[str, torch.Tensor]:
    if fmt == "safetensors":
        return dict(_safetensors_torch().load_file(os.fspath(path)))
    # mmap=True: no second copy of every weight in memory; check_round_trip drops each tensor's
    # pages again after comparing it (dpn131: peak 837 -> 553 MiB, check 0.9-1.3 -> 0.3-0.45 s).
    return torch.load(os.fspath(path), map_location="cpu", weights_only=True, mmap=True)


def _release_pages(t: torch.Tensor) -> None:
    """Drop the resident pages of a tensor that torch.load(mmap=True) mapped from a file (Linux).

    They are re-read from the file if touched again, so the values stay; only the memory the
    comparison made resident goes. Never call this on anonymous memory (it would zero it)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import mmap

    page = mmap.PAGESIZE
    start = t.data_ptr()
    first, last = -(-start // page) * page, (start + t.numel() * t.element_size()) // page * page
    if last > first:
        ctypes.CDLL(None).madvise(ctypes.c_void_p(first), ctypes.c_size_t(last - first),
                                  getattr(mmap, "MADV_DONTNEED", 4))


def write_atomically(state_dict: Mapping[str, torch.Tensor], out: Path, fmt: str = "pth",
                     verify: Callable[[Path], None] | None = None) -> None:
    """Write to a temporary file in ``out``'s folder (fsynced, with normal permissions) and
    rename it into place only when complete and, if given, ``verify(tmp_path)`` has passed.

    A failure at any point (disk full, permission, interrupt, a failed check) leaves an existing
    ``out`` untouched and no temporary file behind (ndparse.atomic_write)."""
    with atomic_write(out, verify=None if verify is None else (lambda tmp: verify(Path(tmp)))) as f:
        if fmt == "safetensors":
            f.write(_safetensors_torch().save(dict(state_dict)))
        else:
            torch.save(dict(state_dict), f)


def _bit_equal(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Bitwise equality (a NaN weight equals itself; torch.equal would say it differs)."""
    if a.dtype == torch.float32:
        a, b = a.view(torch.int32), b.view(torch.int32)
    return torch.equal(a, b)


def check_round_trip(conv: Conversion, out: Path, fmt: str, shown: Path | None = None
                     ) -> torch.nn.Module:
    """Re-load ``out`` into a fresh model and compare every tensor with the conversion's."""
    loaded = _load(out, fmt)
    out = shown or out  # the name to report (out may be the temporary file)
    if set(loaded) != set(conv.state_dict):
        diff = sorted(set(loaded) ^ set(conv.state_dict))
        raise DPNConversionError(f"re-loaded {out} has different keys: {diff[:5]}")
    if fmt == "pth" and list(loaded) != list(conv.state_dict):
        raise DPNConversionError(f"re-loaded {out} has the keys in another order")
    loaded = {k: loaded[k] for k in conv.state_dict}  # safetensors stores keys sorted
    model = model_from_state_dict(loaded, conv.config)  # strict: every key, every shape
    fresh = model.state_dict()
    for key, src in conv.state_dict.items():
        got = fresh[key]
        if got.dtype != src.dtype or got.shape != src.shape or not _bit_equal(got, src):
            raise DPNConversionError(f"re-loaded {out}: tensor {key} differs from its source")
        if fmt == "pth":  # mapped from the file: peak memory stays one copy of the weights
            _release_pages(got)
    return model


def _verify(model: torch.nn.Module, size: int = 224) -> str:
    gen = torch.Generator().manual_seed(VERIFY_SEED)
    x = torch.randn(2, 3, size, size, generator=gen)
    with torch.inference_mode():
        y = model.eval()(x)
    finite = bool(torch.isfinite(y).all())
    top = y[0].topk(min(5, y.shape[1])).indices.tolist()
    return (f"verify: input N(0,1) 2x3x{size}x{size} (seed {VERIFY_SEED}) -> logits {tuple(y.shape)}: "
            f"mean {y.mean().item():.6g}, std {y.std().item():.6g}, min {y.min().item():.6g}, "
            f"max {y.max().item():.6g}, finite {finite}, top-5 of sample 0 {top}")


def run(args: argparse.Namespace) -> int:
    """Convert as asked by parsed arguments; prints the report; raises on bad input."""
    if args.fmt == "safetensors":
        _safetensors_torch()  # fail before reading anything
    params = resolve_params_path(args.checkpoint, args.epoch)
    out = args.output or default_output(params, args.fmt)
    if out.is_dir():
        raise DPNConversionError(f"output {out} is a directory")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"output folder {out.parent} does not exist")

    conv = convert_checkpoint(params, arch=args.arch, classifier=args.classifier)
    n_stats = sum(t.numel() for k, t in conv.state_dict.items()
                  if k.endswith((".running_mean", ".running_var")))
    print(f"checkpoint: {params} ({conv.record_layout}, {conv.num_arrays} arrays, "
          f"{params.stat().st_size:,} bytes)")
    print(f"variant:    {conv.description}")
    print(f"parameters: {conv.num_params:,} (+ {n_stats:,} BN running statistics)")

    checked: list[torch.nn.Module] = []
    # the re-load check runs on the complete temporary file, before it replaces anything
    write_atomically(conv.state_dict, out, args.fmt,
                     verify=lambda tmp: checked.append(check_round_trip(conv, tmp, args.fmt, shown=out)))
    model = checked[0]
    print(f"wrote:      {out} ({args.fmt}, {len(conv.state_dict)} tensors, {out.stat().st_size:,} bytes); "
          "re-loaded into a fresh model: every tensor equal")
    if args.verify:
        print(_verify(model))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``dpn-convert`` / ``python -m dpn_torch``; returns the exit status."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, one line already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    try:
        return run(args)
    except (DPNConversionError, ndparse.NDFormatError, OSError, ValueError, RuntimeError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    raise SystemExit(main())
