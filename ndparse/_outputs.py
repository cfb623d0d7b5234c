"""The tensor files the command-line tools write (`.pt`/`.pth`, `.safetensors`), checked bit for bit.

Private: the siblings use it through `ndparse.cli_support`. One writer for `ndparse convert`,
`dpn-convert` and `mxtorch convert`: the output format comes
from the file's extension, the destination is checked before any work is done, the file is
written through `atomic_write`, and the complete temporary file is re-loaded by the library that
will read it (torch / safetensors) and compared bit for bit with what was meant to be written
before it replaces anything.

torch and safetensors are imported inside the functions that need them: importing this module
costs nothing, and ndparse never imports torch at import time.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from . import constants as C
from ._atomic import atomic_write

TENSOR_EXTENSIONS: dict[str, str] = {".pt": "pth", ".pth": "pth", ".safetensors": "safetensors",
                                     ".npz": "npz", ".params": "params"}
"""Output extension -> format name of the tensor files ndparse writes. "pth" is torch.save's zip;
"params" is an MXNet NDArray file. Packages that write other files (graphs) pass their own
extensions to `output_format`."""

TORCH_EXTRA = "pip install 'ndparse[torch]'"


class OutputError(RuntimeError):
    """An output cannot be written as asked, or did not re-load identical to its source."""


def need_torch(what: str) -> Any:
    """`import torch`, or OutputError saying which extra to install (`what` says what needs it)."""
    try:
        import torch
    except ImportError:
        raise OutputError(f"{what} needs torch, which is not installed: {TORCH_EXTRA}") from None
    return torch


def _need_safetensors(what: str = ".safetensors output") -> None:
    try:
        import safetensors  # noqa: F401
    except ImportError:
        raise OutputError(f"{what} needs the safetensors package, which is not "
                          "installed: pip install safetensors") from None


def output_format(path: str | os.PathLike[str], fmt: str | None = None,
                  allowed: Iterable[str] = ("pth", "safetensors"),
                  extensions: Mapping[str, str] | None = None) -> str:
    """The format of an output file: its extension decides (TENSOR_EXTENSIONS, plus the caller's
    own `extensions`, e.g. {".onnx": "onnx"}).

    `fmt` (a format name, e.g. from `--format`) must agree with a known extension and is needed
    for an unknown one; `allowed` lists the formats the caller can write. Raises OutputError, or
    IsADirectoryError when `path` is a folder.
    """
    allowed = tuple(allowed)
    known = {**TENSOR_EXTENSIONS, **(extensions or {})}
    if Path(path).is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", os.fspath(path))
    suffix = Path(path).suffix.lower()
    by_ext = known.get(suffix)
    exts = ", ".join(e for e, f in known.items() if f in allowed)
    if by_ext is not None and by_ext not in allowed:
        raise OutputError(f"{path}: cannot write {suffix} here (use {exts})")
    if fmt is not None and fmt not in allowed:
        raise OutputError(f"unknown format {fmt!r} (use one of {', '.join(allowed)})")
    if by_ext is None:
        if fmt is None:
            raise OutputError(f"{path}: unknown output type {suffix or '(no extension)'!r} "
                              f"(use {exts}, or say which with --format)")
        return fmt
    if fmt is not None and fmt != by_ext:
        raise OutputError(f"{path}: --format {fmt} contradicts the {suffix} extension "
                          f"({suffix} is written as {by_ext})")
    return by_ext


def check_destination(path: str | os.PathLike[str]) -> Path:
    """Fail early, naming `path` as given, if an output cannot be written there.

    Raises OSError (filename = `path`) when the folder is missing or not writable, or `path` is a
    folder or another non-regular file (a device, a pipe). Returns `path` as a Path.
    """
    out = Path(path)
    name = os.fspath(path)
    if out.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", name)
    if out.exists() and not out.is_file():
        raise OSError(errno.EINVAL, "is not a regular file (an output replaces it)", name)
    folder = out.parent
    if not folder.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"folder {os.fspath(folder)} does not exist", name)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, f"permission denied (cannot create files in "
                              f"{os.fspath(folder)})", name)
    return out


# --- numpy <-> torch, bit-exact ---------------------------------------------------------------
def plain(arr: np.ndarray) -> np.ndarray:
    """`arr` as a native-endian, C-contiguous, writable array of the same shape (0-d stays 0-d).

    Copies only when needed. (np.ascontiguousarray would turn shape () into (1,).)"""
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if arr.flags.c_contiguous and arr.flags.writeable:
        return arr
    return np.array(arr, order="C", copy=True)


def to_torch(arr: np.ndarray) -> Any:
    """A torch tensor with `arr`'s dtype, shape and bits (bfloat16 included), no warning."""
    import torch

    a = plain(arr)
    if a.dtype == C.BFLOAT16:
        return torch.from_numpy(a.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(a)


def from_torch(t: Any) -> np.ndarray:
    """A numpy view of a CPU tensor (bfloat16 as ml_dtypes.bfloat16)."""
    import torch

    t = t.detach()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(C.BFLOAT16)
    return t.numpy()


def _is_tensor(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "data_ptr")


def _bytes_of(x: Any) -> Any:
    """The raw bytes of an array or tensor as a flat uint8 array/tensor (0-d and empty included)."""
    if _is_tensor(x):
        import torch

        return x.detach().contiguous().reshape(-1).view(torch.uint8)
    return plain(x).reshape(-1).view(np.uint8)


def _dtype_name(x: Any) -> str:
    return str(x.dtype).removeprefix("torch.")


def _bit_equal(a: Any, b: Any) -> bool:
    """Same dtype, shape and bytes (a NaN equals itself; -0.0 differs from 0.0)."""
    if _dtype_name(a) != _dtype_name(b) or tuple(a.shape) != tuple(b.shape):
        return False
    if _is_tensor(a) and _is_tensor(b):
        import torch

        return bool(torch.equal(_bytes_of(a), _bytes_of(b)))
    if _is_tensor(a):
        a = from_torch(a)
    if _is_tensor(b):
        b = from_torch(b)
    return bool(np.array_equal(_bytes_of(a), _bytes_of(b)))


def release_pages(t: Any) -> None:
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


# --- writing ------------------------------------------------------------------------------
def _encode(fh: Any, tensors: Mapping[str, Any], fmt: str, metadata: Mapping[str, str] | None) -> None:
    if fmt == "pth":
        torch = need_torch(".pt/.pth output")
        torch.save({k: v if _is_tensor(v) else to_torch(v) for k, v in tensors.items()}, fh)
        return
    _need_safetensors()
    meta = dict(metadata) if metadata else None
    if all(not _is_tensor(v) and v.dtype != C.BFLOAT16 for v in tensors.values()):
        from safetensors.numpy import save as np_save  # numpy alone is enough

        fh.write(np_save({k: plain(v) for k, v in tensors.items()}, metadata=meta))
        return
    need_torch("bfloat16 or torch tensors into .safetensors")
    from safetensors.torch import save as torch_save

    fh.write(torch_save({k: (v.contiguous() if _is_tensor(v) else to_torch(v))
                         for k, v in tensors.items()}, metadata=meta))


def _reload(path: str, fmt: str) -> tuple[dict[str, Any], dict[str, str] | None, bool]:
    """(tensors, metadata, mapped): what a reader of the file gets back."""
    if fmt == "pth":
        torch = need_torch(".pt/.pth files")
        # mmap=True: no second copy of every weight in memory; the check drops each tensor's
        # pages again after comparing it (dpn131: peak 837 -> 553 MiB).
        return dict(torch.load(path, map_location="cpu", weights_only=True, mmap=True)), None, True
    _need_safetensors()
    from safetensors import safe_open

    framework = "pt"
    try:
        import torch  # noqa: F401
    except ImportError:
        framework = "np"
    with safe_open(path, framework=framework) as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata(), False


def write_checked(path: str | os.PathLike[str], tensors: Mapping[str, Any], fmt: str, *,
                  metadata: Mapping[str, str] | None = None,
                  check: Callable[[dict[str, Any]], None] | None = None) -> None:
    """Write `tensors` (name -> numpy array or torch tensor) to `path` as `fmt` ("pth" or
    "safetensors"), re-load the complete temporary file and compare it before the rename.

    The check: the same names (and, for .pth, the same order), and for every entry the same dtype,
    shape and bytes. `metadata` (str -> str) goes into a .safetensors header (provenance) and is
    checked too; a .pth has no place for it. `check(reloaded)`, when given, runs last on the
    re-loaded tensors (e.g. loading them into a model). A failure anywhere leaves an existing
    `path` untouched and no temporary file. Raises OutputError (a failed check, a missing torch or
    safetensors) or OSError (naming `path`).
    """
    if fmt not in ("pth", "safetensors"):
        raise OutputError(f"write_checked writes pth or safetensors, not {fmt!r}")
    shown = os.fspath(path)

    def verify(tmp: str) -> None:
        back, meta, mapped = _reload(tmp, fmt)
        if set(back) != set(tensors):
            diff = sorted(set(back) ^ set(tensors))
            raise OutputError(f"re-loaded {shown} has other names than its source: {diff[:5]}")
        if fmt == "pth" and list(back) != list(tensors):
            raise OutputError(f"re-loaded {shown} has the names in another order")
        if metadata and (meta or {}) != dict(metadata):
            raise OutputError(f"re-loaded {shown} has other metadata than was written")
        for k, src in tensors.items():
            got = back[k]
            if not _bit_equal(src, got):
                raise OutputError(f"re-loaded {shown}: {k} differs from its source "
                                  f"({_dtype_name(src)} {tuple(src.shape)} -> "
                                  f"{_dtype_name(got)} {tuple(got.shape)})")
            if mapped:  # mapped from the file: peak memory stays one copy of the data
                release_pages(got)
        if check is not None:
            check({k: back[k] for k in tensors})

    if fmt == "pth":
        need_torch(".pt/.pth output")
    else:
        _need_safetensors()
    with atomic_write(path, verify=verify) as fh:
        _encode(fh, tensors, fmt, metadata)


# --- reading (for `ndparse diff`) ----------------------------------------------------------
def _flatten(obj: Any, prefix: str, out: dict[str, np.ndarray], file: str) -> None:
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out, file)
        return
    if not _is_tensor(obj):
        what = prefix or "the file"
        raise OutputError(f"{file}: {what} holds a Python {type(obj).__name__}, not a tensor "
                          "(only files of named tensors can be compared)")
    out[prefix] = from_torch(obj.cpu())


def read_tensors(path: str | os.PathLike[str], fmt: str) -> dict[str, np.ndarray]:
    """Every tensor of a .pt/.pth (a possibly nested dict of tensors, names joined with '.') or
    .safetensors file, as numpy arrays. Raises OutputError for other content, OSError if unreadable."""
    file = os.fspath(path)
    if fmt == "pth":
        torch = need_torch("reading .pt/.pth")
        try:
            obj = torch.load(file, map_location="cpu", weights_only=True)
        except (OSError, MemoryError):
            raise
        except Exception as e:  # torch raises RuntimeError, UnpicklingError, EOFError, ...
            msg = " ".join(str(e).split())
            why = msg if 0 < len(msg) <= 120 else type(e).__name__  # not torch's long advice
            raise OutputError(f"{file}: not a file of tensors torch.load(weights_only=True) "
                              f"reads ({why})") from None
        out: dict[str, np.ndarray] = {}
        _flatten(obj, "", out, file)
        return out
    _need_safetensors("reading .safetensors")
    try:
        back, _, _ = _reload(file, fmt)
    except (OSError, OutputError):
        raise
    except Exception as e:  # safetensors raises its own SafetensorError for a broken header
        raise OutputError(f"{file}: not a readable safetensors file ({e})") from None
    return {k: from_torch(v) if _is_tensor(v) else v for k, v in back.items()}
