"""Reading MXNet NDArray files: content sniffing, eager `load`, lazy `open`, `load_checkpoint`.

All layouts are first indexed (see `_legacy`, `_npy`); arrays are then views into one buffer:
a read-only memory map (`mmap=True`) or one bytearray filled by a single read (`mmap=False`).
A payload that is not aligned for its dtype is copied, so every array is safe to hand to
numpy, torch or C code.
"""

from __future__ import annotations

import builtins
import contextlib
import gc
import math
import mmap as _mmap
import os
import re
import struct
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Union

import numpy as np

from . import constants as C
from ._index import Part, RecordInfo
from ._legacy import parse_bare_record, parse_container
from ._npy import NpzIndex, index_npy, index_npz
from .errors import NDFormatError, NDFormatWarning
from .sparse import CSRArray, RowSparseArray

Source = Union[str, os.PathLike, bytes, bytearray, memoryview, IO[bytes]]
Array = Union[np.ndarray, RowSparseArray, CSRArray, None]

_PICKLE_PROTOCOLS = {0x02, 0x03, 0x04, 0x05}


def _impostor(head: bytes, size: int) -> str | None:
    """Say what a non-MXNet file looks like, and what to do, from its first bytes."""
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()  # a UTF-8 byte order mark, then blanks
    low = text[:64].lower()
    if size == 0:
        return ("the file is empty (0 bytes): an interrupted download or copy, or the file MXNet 2.x "
                "leaves when npx.save of a sparse array fails")
    if not head.strip(b"\0"):
        return (f"the file starts with {len(head)} zero bytes: a preallocated file whose download "
                "or copy never completed, or a damaged disk; fetch the file again")
    if text.startswith(b"version https://git-lfs"):
        return "this is a git-lfs pointer, not the data: run `git lfs pull` in its repository"
    if low.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")):
        return ("this is an HTML/XML page (a download error page or a login page?), not "
                "the checkpoint: download the file itself")
    if head[:2] == b"\x1f\x8b":
        return "this is a gzip archive (.gz / .tar.gz): extract it first (e.g. tar xzf FILE)"
    if head[:3] == b"BZh" or head[:6] == b"\xfd7zXZ\x00" or head[:4] == b"\x28\xb5\x2f\xfd":
        return "this is a compressed archive (bzip2/xz/zstd): extract it first"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "this is a tar archive: extract it first (tar xf FILE)"
    if head[:4] == b"\x00\x05\x16\x07":
        return ("this is a macOS AppleDouble file (a '._' metadata file made when copying from a "
                "Mac), not the data: use the file without the '._' prefix")
    if head[:1] == b"\x80" and len(head) > 1 and head[1] in _PICKLE_PROTOCOLS:
        return ("this is a Python pickle (an old-style torch.save file or a pickled object); "
                "ndparse never unpickles: load it with the program that wrote it")
    if (len(head) >= 10 and head[8:10] == b'{"'
            and struct.unpack_from("<Q", head, 0)[0] <= size - 8):
        return ("this is a safetensors file (u64 header length, then JSON), not an MXNet file: "
                "load it with safetensors")
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "this is a UTF-16 text file, not an MXNet NDArray file"
    if head[:8] == b"\x89HDF\r\n\x1a\n":
        return "this is an HDF5 file (Keras .h5?), not an MXNet file"
    if head[:4] == b"\x7fELF" or head[:2] == b"MZ":
        return "this is an executable, not an MXNet file"
    if text[:1] in (b"{", b"[") and b'"nodes"' in head:
        return ("this is an MXNet symbol JSON (the network graph), not the weights: "
                "the weights are in <prefix>-<epoch>.params")
    try:
        head.decode("utf-8")
        printable = all(b >= 0x20 or b in (9, 10, 13) for b in head[:512])
    except UnicodeDecodeError:
        printable = False
    if printable and head:
        return f"this is a text file (starts with {head[:40]!r}), not an MXNet NDArray file"
    return None


def _not_mxnet(head: bytes, size: int, file: str | None) -> NDFormatError:
    what = _impostor(head, size)
    found = f"{head[:8].hex(' ')}" if head else "0 bytes"
    if what is not None:
        return NDFormatError(f"not an MXNet NDArray file: {what}", file=file, offset=0,
                             expected="an MXNet NDArray file", found=found)
    return NDFormatError("not an MXNet NDArray file (Invalid NDArray file format)", file=file,
                         offset=0, expected="0x112 container header (12 01 00 00 00 00 00 00), "
                         "npy magic (93 4e 55 4d 50 59) or npz (50 4b 03 04)", found=found)


class _Acquired:
    """The bytes of a source: a buffer, its display name, and the mapping to close."""

    __slots__ = ("buf", "file", "mapping")

    def __init__(self, buf: Any, file: str | None, mapping: _mmap.mmap | None = None) -> None:
        self.buf = buf
        self.file = file
        self.mapping = mapping


def _acquire(source: Source, use_mmap: bool) -> _Acquired:
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        with builtins.open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if use_mmap and size > 0:
                try:
                    m = _mmap.mmap(f.fileno(), 0, access=_mmap.ACCESS_READ)
                    return _Acquired(m, path, m)
                except (OSError, ValueError):
                    pass  # not mappable (a pipe, a special file): read it instead
            # np.empty, not bytearray(size): no zero-filling pass over the memory before the read
            buf: Any = np.empty(size, np.uint8) if size else bytearray()
            got = f.readinto(buf) if size else 0
            rest = f.read()  # files that grew, or report no size (procfs)
            if got != size or rest:
                buf = bytearray(memoryview(buf)[:got]) + rest
            return _Acquired(buf, path)
    if isinstance(source, (bytes, bytearray, memoryview)):
        mv = memoryview(source)
        if not mv.c_contiguous:
            return _Acquired(bytes(mv), None)
        return _Acquired(source if mv.format == "B" and mv.ndim == 1 else mv.cast("B"), None)
    if hasattr(source, "read"):
        name = getattr(source, "name", None)
        data = source.read()
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"file object returned {type(data).__name__}, expected bytes "
                            "(open the file in binary mode)")
        return _Acquired(bytearray(data) if not use_mmap else data,
                         name if isinstance(name, str) else None)
    raise TypeError(f"source must be a path, bytes-like or binary file object, not {type(source).__name__}")


_PREADV = hasattr(os, "preadv")
_ALIGN = 64                 # where each payload starts in load(mmap=False)'s buffer
_MAX_GAP = 1 << 16          # bytes between payloads read into scratch rather than seeking past
_IOV_MAX = 1024             # iovecs per preadv call (POSIX minimum of IOV_MAX is 16; Linux 1024)
_MANY_SPANS = 4096          # load(mmap=False) of more payloads than this, averaging under
_SMALL_SPAN = 1 << 16       # 64 KiB each, reads the whole file at once instead of scattering


def _read_into(fh: Any, views: list[memoryview], pos: int, file: str | None) -> None:
    """Fill `views` with the file's consecutive bytes from `pos` (preadv; seek+readinto without)."""
    views = [v for v in views if len(v)]
    i = 0
    while i < len(views):
        if _PREADV:
            got = os.preadv(fh.fileno(), views[i:i + _IOV_MAX], pos)
        else:
            fh.seek(pos)
            got = fh.readinto(views[i])
        if not got:
            raise NDFormatError("the file shrank while it was being read", file=file, offset=pos,
                                expected=f"{sum(len(v) for v in views[i:])} more bytes",
                                found="end of file")
        pos += got
        while got:
            n = len(views[i])
            if got >= n:
                got -= n
                i += 1
            else:
                views[i] = views[i][got:]
                got = 0


def _scatter_read(fh: Any, spans: list[tuple[int, int]], dest: memoryview, placed: dict[int, int],
                  file: str | None) -> None:
    """Read each (offset, nbytes) span of the file to dest[placed[offset]:], in file order, with
    as few syscalls as the iovec limit allows: small gaps between spans are read to scratch."""
    gaps = [b[0] - (a[0] + a[1]) for a, b in zip(spans, spans[1:])]
    scratch = memoryview(bytearray(max([g for g in gaps if 0 < g <= _MAX_GAP], default=0)))
    run: list[memoryview] = []
    run_start = spans[0][0] if spans else 0
    end = run_start
    for off, n in spans:
        if off < end:  # overlapping payloads (a crafted npz): read this one on its own
            _read_into(fh, [dest[placed[off]:placed[off] + n]], off, file)
            continue
        if off - end > _MAX_GAP:
            _read_into(fh, run, run_start, file)
            run, run_start = [], off
        elif off > end:
            run.append(scratch[:off - end])
        run.append(dest[placed[off]:placed[off] + n])
        end = off + n
    _read_into(fh, run, run_start, file)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while the index is built: it holds tuples only (no
    cycles), and with 100,000 records the collector's repeated passes over them cost more than
    the parsing itself (0.5 s against 0.25 s)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class NDFile:
    """An indexed MXNet NDArray file: names, dtypes, shapes and offsets, payloads read on demand.

    Made by `ndparse.open`. Keys are the stored names, or positions (0, 1, ...) for an unnamed
    list. With duplicate names the last record wins, as in MXNet.
    """

    def __init__(self, source: Source, *, mmap: bool = True) -> None:
        acq = _acquire(source, mmap)
        self._buf = acq.buf
        self.file = acq.file
        self._mapping = acq.mapping
        self._npz: NpzIndex | None = None
        self._placed: dict[int, int] | None = None  # load(mmap=False): file offset -> offset in _dest
        self._dest: Any = None
        try:
            with _gc_paused():
                self._index()
        except BaseException:
            self.close()
            raise

    def _index(self) -> None:
        buf, file = self._buf, self.file
        size = len(buf)
        head = bytes(buf[:512])
        self.named = False
        if head.startswith(C.NPY_MAGIC):
            self.container = "npy"
            self.records = index_npy(buf, file)
        elif head.startswith((C.ZIP_LOCAL_MAGIC, C.ZIP_EMPTY_MAGIC)):
            self.container = "npz"
            self.records, self._npz = index_npz(buf, file)
            if not self.records and self._npz.infos:
                names = [zi.filename for zi in self._npz.infos[:5]]
                torch_like = any(n.endswith("data.pkl") for n in (zi.filename for zi in self._npz.infos))
                what = ("a PyTorch checkpoint (torch.save zip): load it with torch.load"
                        if torch_like else f"a zip without .npy members (members {names})")
                raise NDFormatError(f"not an MXNet npz: this is {what}", file=file, offset=0,
                                    expected="an npz with .npy members",
                                    found=f"{len(self._npz.infos)} other members")
            self.named = bool(self.records)
        elif size >= 8 and struct.unpack_from("<Q", buf, 0)[0] == C.LIST_MAGIC:
            self.container = "legacy"
            self.records, names = parse_container(buf, file)
            self.named = names is not None
        elif size >= 4 and struct.unpack_from("<I", buf, 0)[0] in (C.RecordMagic.V2, C.RecordMagic.V3):
            self.container = "record"  # a pickled NDArray's handle bytes (FORMAT.md §2)
            self.records = parse_bare_record(buf, file)
        else:
            raise _not_mxnet(head, size, file)
        if self.named:
            by_name: dict[str, RecordInfo] = {}
            for r in self.records:
                by_name[r.name] = r  # insertion keeps the first position, the last record wins
            self._by_key: dict[Any, RecordInfo] = by_name
        else:
            self._by_key = {r.index: r for r in self.records}

    # --- mapping-like access ------------------------------------------------------------
    @property
    def record_versions(self) -> tuple[int, ...]:
        """The distinct record versions in the file (empty for npy/npz)."""
        return tuple(sorted({r.version for r in self.records if r.version is not None}))

    @property
    def layout(self) -> str:
        """A human description of the layout, e.g. 'legacy container, V0 records'."""
        if self.container == "legacy":
            vs = self.record_versions
            return "legacy container, " + ("no records" if not vs else
                                           "/".join(f"V{v}" for v in vs) + " records")
        return {"npy": "MXNet 2.x .npy", "npz": "MXNet 2.x .npz",
                "record": "bare record (pickled NDArray)"}[self.container]

    def keys(self) -> list[Any]:
        """Names in file order (duplicates once), or positions for an unnamed list."""
        return list(self._by_key)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._by_key)

    def __len__(self) -> int:
        return len(self._by_key)

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def info(self, key: Any) -> RecordInfo:
        """The index entry of one array (dtype, shape, storage type, version, offset, bytes)."""
        try:
            return self._by_key[key]
        except KeyError:
            raise KeyError(f"{key!r} is not in {self.file or 'this file'}") from None

    def get(self, key: Any) -> Array:
        """One array: a read-only view of the mapped file where possible, else a copy."""
        return self.materialize(self.info(key))

    def materialize(self, rec: RecordInfo) -> Array:
        """The array of one index entry (None for a none record)."""
        if rec.stype == "none":
            return None
        arrays = [self._read_part(p) for p in rec.parts]
        where = (self.file, rec.offset)
        if rec.stype == "default":
            return arrays[0]
        if rec.stype == "row_sparse":
            return RowSparseArray(arrays[0], arrays[1], rec.shape, _where=where)
        return CSRArray(arrays[0], arrays[1], arrays[2], rec.shape, _where=where)

    def _read_part(self, part: Part) -> np.ndarray:
        count = math.prod(part.shape)
        dtype = part.dtype
        if part.member is not None:
            assert self._npz is not None
            base: Any = self._npz.inflate(self._npz.zf.getinfo(part.member))
        else:
            base = self._buf
        if count == 0:
            arr = np.empty(part.shape, dtype=dtype.newbyteorder("=") if dtype.byteorder == ">" else dtype)
        else:
            if self._placed is not None and part.member is None:
                # read by _load_read to an aligned place of one buffer: a view, never a copy
                arr = np.frombuffer(self._dest, dtype=dtype, count=count, offset=self._placed[part.offset])
            else:
                arr = np.frombuffer(base, dtype=dtype, count=count, offset=part.offset)
                if not arr.flags.aligned:
                    arr = arr.copy()  # FORMAT.md §8: nothing is aligned in the file
            if dtype.byteorder == ">":
                arr = arr.astype(dtype.newbyteorder("="))  # big-endian npy: native values
            arr = arr.reshape(part.shape)
        if part.fortran:
            arr = np.ascontiguousarray(arr.T)
        return arr

    def _load_read(self) -> dict[str, Array] | list[Array]:
        """`load(mmap=False)` of a mapped file. The index came from the mapping (header pages only);
        the payloads are now read once, by a scatter read (preadv), each straight to a 64-byte
        aligned place in one buffer; the bytes between them (record headers, npy headers) go to
        a small scratch buffer. Arrays are views of that buffer: no copy of anything, also for
        payloads that are unaligned in the file (npz), and no buffer of the whole file."""
        m = self._mapping
        if m is not None and hasattr(m, "madvise") and hasattr(_mmap, "MADV_DONTNEED"):
            m.madvise(_mmap.MADV_DONTNEED)  # the header pages indexing touched leave our RSS
        n_parts = sum(len(r.parts) for r in self.records)
        if n_parts > _MANY_SPANS and sum(r.nbytes for r in self.records) < _SMALL_SPAN * n_parts:
            return self._load_whole()
        spans = sorted({(p.offset, p.nbytes) for r in self.records for p in r.parts
                        if p.member is None and p.nbytes})
        placed: dict[int, int] = {}
        total = 0
        for off, n in spans:
            placed[off] = total
            total += -(-n // _ALIGN) * _ALIGN
        dest = np.empty(total, np.uint8)
        assert self.file is not None
        with builtins.open(self.file, "rb", buffering=0) as fh:
            _scatter_read(fh, spans, memoryview(dest), placed, self.file)
        self._dest, self._placed = dest, placed
        try:
            return self.load_all()
        finally:
            self._dest = self._placed = None

    def _load_whole(self) -> dict[str, Array] | list[Array]:
        """`load(mmap=False)` of a file of many small arrays: one read of the whole file into one
        buffer (64-byte aligned, so payloads keep the alignment they have in the file) and views
        of it; only payloads unaligned in the file are copied. Cheaper than a scatter read with an
        iovec per small payload (100,000 arrays of 1 KB: one read instead of 200,000 iovecs)."""
        assert self.file is not None
        size = len(self._buf)
        whole = np.empty(size, np.uint8)
        with builtins.open(self.file, "rb", buffering=0) as fh:
            _read_into(fh, [memoryview(whole)], 0, self.file)
        mapping, self._buf = self._buf, whole
        try:
            return self.load_all()
        finally:
            self._buf = mapping

    def load_all(self) -> dict[str, Array] | list[Array]:
        """Every array, as `mx.nd.load` returns them: a dict when names are stored, else a list."""
        with _gc_paused():
            if self.named:
                return {r.name: self.materialize(r) for r in self.records}
            return [self.materialize(r) for r in self.records]

    # --- lifetime -----------------------------------------------------------------------
    def close(self) -> None:
        """Release the mapping (arrays still in use keep it alive until they are freed)."""
        m, self._mapping = self._mapping, None
        if m is not None:
            try:
                m.close()
            except BufferError:
                pass  # arrays still view it; it is unmapped when they are garbage collected

    def __enter__(self) -> NDFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<NDFile {self.file or '<buffer>'}: {self.layout}, {len(self)} arrays>"


def open(source: Source, *, mmap: bool = True) -> NDFile:  # noqa: A001  (safetensors-style name)
    """Index an NDArray file without reading payloads; use as a context manager."""
    return NDFile(source, mmap=mmap)


def load(source: Source, *, mmap: bool = True) -> dict[str, Array] | list[Array]:
    """Every array of an MXNet NDArray file, as `mx.nd.load` returns them (dict or list).

    Dense arrays are numpy arrays of the exact dtype and shape (bfloat16 as ml_dtypes.bfloat16),
    sparse arrays are RowSparseArray / CSRArray, none records are None. With mmap=True arrays
    may be read-only views of a mapped file; mmap=False reads the file into memory once.
    """
    if not mmap and isinstance(source, (str, os.PathLike)):
        f = NDFile(source, mmap=True)
        if f._mapping is not None:  # index from the mapping, then read each payload into place
            try:
                return f._load_read()
            finally:
                f.close()
        # not mappable (empty, a pipe): _acquire already read it into memory; use that copy
    else:
        f = NDFile(source, mmap=mmap)
    result = f.load_all()
    f._mapping = None  # the arrays own the mapping now; it is closed when they are freed
    return result


_PARAMS_NAME = re.compile(r"^(?P<prefix>.*)-(?P<epoch>\d+)\.params$")


def resolve_params_path(prefix_or_path: str | os.PathLike, epoch: int = 0) -> Path:
    """`<prefix>-<epoch:04d>.params`, or the path itself when it names an existing file."""
    p = Path(prefix_or_path)
    if p.is_file():
        return p
    candidate = Path(f"{os.fspath(prefix_or_path)}-{epoch:04d}.params")
    if candidate.is_file():
        return candidate
    raise FileNotFoundError(f"no checkpoint at {p} or {candidate}")


def _symbol_path(params: Path, prefix_or_path: str | os.PathLike) -> Path:
    m = _PARAMS_NAME.match(params.name)
    if m:
        return params.with_name(m.group("prefix") + "-symbol.json")
    return Path(f"{os.fspath(prefix_or_path)}-symbol.json")


def load_checkpoint(prefix: str | os.PathLike, epoch: int = 0
                    ) -> tuple[dict[str, Any] | None, dict[str, Array], dict[str, Array]]:
    """`(symbol, arg_params, aux_params)` like `mx.model.load_checkpoint`.

    `symbol` is the parsed `<prefix>-symbol.json` (None when absent). Keys are split at their
    first ':'; types other than `arg`/`aux` are dropped, as MXNet does. `prefix` may also be the
    path of the `.params` file itself.
    """
    params = resolve_params_path(prefix, epoch)
    data = load(params, mmap=True)
    symbol = None
    sym_path = _symbol_path(params, prefix)
    if sym_path.is_file():
        import json  # here, not at the top: it adds ~2 ms to every `import ndparse`

        text = sym_path.read_bytes()
        try:
            symbol = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise NDFormatError("symbol file is not valid JSON", file=sym_path,
                                offset=getattr(e, "pos", 0), expected="JSON",
                                found=str(e)) from None
    if isinstance(data, list):
        if data:
            raise NDFormatError("file has no names, so it is not a checkpoint (use ndparse.load)",
                                file=params, offset=0, expected="arg:/aux: names",
                                found=f"an unnamed list of {len(data)}")
        warnings.warn(NDFormatWarning(f"{params}: checkpoint holds no arrays"), stacklevel=2)
        return symbol, {}, {}
    arg_params: dict[str, Array] = {}
    aux_params: dict[str, Array] = {}
    dropped = []
    for key, value in data.items():
        kind, sep, name = key.partition(":")
        if not sep:
            raise NDFormatError(f"key {key!r} has no 'arg:'/'aux:' type, so this is not a "
                                "save_checkpoint file (use ndparse.load)", file=params,
                                expected="keys like 'arg:fc1_weight'", found=repr(key))
        if kind == "arg":
            arg_params[name] = value
        elif kind == "aux":
            aux_params[name] = value
        else:
            dropped.append(key)
    if dropped:
        warnings.warn(NDFormatWarning(f"{params}: {len(dropped)} keys of neither 'arg' nor 'aux' "
                                      f"type were dropped, as MXNet does: {dropped[:5]}"),
                      stacklevel=2)
    return symbol, arg_params, aux_params


__all__ = ["NDFile", "open", "load", "load_checkpoint", "resolve_params_path"]
