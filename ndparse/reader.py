"""Reading MXNet NDArray files: `open` (lazy, a read-only mapping of names to arrays) and `load`
(eager, built on it), plus `resolve_params_path` (the params file of a checkpoint, by
`locate.py`'s rules; checkpoints themselves are read by `checkpoint.py`).

A source is acquired as bytes (a read-only memory map of a path, or memory), sniffed by its
first bytes through one table (docs/FORMAT.md §1) and indexed without touching payloads
(`_legacy`, `_npy`). Arrays are then views into those bytes; a payload that is not aligned for
its dtype is copied, so every array is safe to hand to numpy, torch or C code. With
`mmap=False` the payloads of a path are read from the file into memory instead (`_read_spans`,
`_read_whole`), and no array views the mapping.
"""

from __future__ import annotations

import builtins
import math
import mmap as _mmap
import operator
import os
import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, NamedTuple, Union

import numpy as np

from . import constants as C
from ._index import Part, RecordInfo
from ._legacy import parse_bare_record, parse_container
from .errors import TRUNCATED_HINT, NDFormatError, NDFormatWarning

if TYPE_CHECKING:
    from pathlib import Path  # imported where used: pathlib costs ~10 ms of start-up
    from ._npy import NpzIndex
    from .sparse import CSRArray, RowSparseArray

Source = Union[str, os.PathLike, bytes, bytearray, memoryview, IO[bytes]]
Array = Union[np.ndarray, "RowSparseArray", "CSRArray", None]
Locate = Callable[[Part], tuple[Any, int]]  # a part -> (buffer holding its bytes, offset in it)

_PICKLE_PROTOCOLS = {0x02, 0x03, 0x04, 0x05}


# --- what a file that is not MXNet's is ------------------------------------------------------
def _impostor(head: bytes, size: int) -> tuple[str, str | None] | None:
    """(what the file is, what to do) for a recognisable non-MXNet file, from its first bytes."""
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()  # a UTF-8 byte order mark, then blanks
    low = text[:64].lower()
    if size == 0:
        return ("the file is empty", "an interrupted download or copy, or the file "
                "MXNet 2.x leaves when npx.save of a sparse array fails: fetch or save it again")
    if not head.strip(b"\0"):
        return (f"the file starts with {len(head)} zero bytes", "a preallocated file whose "
                "download or copy never completed, or a damaged disk: fetch the file again")
    if text.startswith(b"version https://git-lfs"):
        return "this is a git-lfs pointer, not the data", "run `git lfs pull` in its repository"
    if low.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body")):
        return ("this is an HTML/XML page (a download error page or a login page?)",
                "download the file itself")
    if head[:2] == b"\x1f\x8b":
        return "this is a gzip archive (.gz / .tar.gz)", "extract it first (e.g. tar xzf FILE)"
    if head[:3] == b"BZh" or head[:6] == b"\xfd7zXZ\x00" or head[:4] == b"\x28\xb5\x2f\xfd":
        return "this is a compressed archive (bzip2/xz/zstd)", "extract it first"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "this is a tar archive", "extract it first (tar xf FILE)"
    if head[:4] == b"\x00\x05\x16\x07":
        return ("this is a macOS AppleDouble file (a '._' metadata file made when copying from "
                "a Mac)", "use the file without the '._' prefix")
    if head[:1] == b"\x80" and len(head) > 1 and head[1] in _PICKLE_PROTOCOLS:
        return ("this is a Python pickle (an old-style torch.save file or a pickled object)",
                "ndparse never unpickles: load it with the program that wrote it")
    if (len(head) >= 10 and head[8:10] == b'{"'
            and int.from_bytes(head[:8], "little") <= size - 8):
        return ("this is a safetensors file (u64 header length, then JSON)",
                "load it with safetensors")
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "this is a UTF-16 text file", None
    if head[:8] == b"\x89HDF\r\n\x1a\n":
        return "this is an HDF5 file (Keras .h5?)", None
    if head[:4] == b"\x7fELF" or head[:2] == b"MZ":
        return "this is an executable", None
    if text[:1] in (b"{", b"[") and b'"nodes"' in head:
        return ("this is an MXNet symbol JSON (the network graph), not the weights",
                "the weights are in <prefix>-<epoch>.params")
    try:
        head.decode("utf-8")
        printable = all(b >= 0x20 or b in (9, 10, 13) for b in head[:512])
    except UnicodeDecodeError:
        printable = False
    if printable and head:
        return f"this is a text file (it starts with {head[:40]!r})", None
    return None


def _not_mxnet(head: bytes, size: int, file: str | None) -> NDFormatError:
    """The one-sentence error for a file no sniffer claims: what it is, and what to do."""
    for magic, (kind, _, _) in _SNIFF.items():
        if 0 < size < len(magic) and magic.startswith(head):
            return NDFormatError(f"truncated file: its {size} bytes are the start of {kind}",
                                 file=file, offset=0, expected=f"at least {len(magic)} bytes",
                                 found=f"{size}", hint=TRUNCATED_HINT)
    what = _impostor(head, size)
    if what is not None:
        return NDFormatError(f"{what[0]}, not an MXNet NDArray file", file=file, offset=0,
                             found=head[:8].hex(" ") if head else "0 bytes", hint=what[1])
    return NDFormatError("not an MXNet NDArray file (MXNet: Invalid NDArray file format)",
                         file=file, offset=0, expected="0x112 container header (12 01 00 00 00 "
                         "00 00 00), npy magic (93 4e 55 4d 50 59) or npz (50 4b 03 04)",
                         found=head[:8].hex(" "))


# --- the sniff table: first bytes -> indexer (docs/FORMAT.md §1) ----------------------------
class _Indexed(NamedTuple):
    records: Sequence[RecordInfo]
    named: bool
    npz: NpzIndex | None = None


def _index_npy(buf: Any, file: str | None) -> _Indexed:
    from ._npy import index_npy  # zipfile and the npy parser load only for 2.x files

    return _Indexed(index_npy(buf, file), False)


def _index_npz(buf: Any, file: str | None) -> _Indexed:
    from ._npy import index_npz

    records, npz = index_npz(buf, file)
    if not records and npz.infos:
        members = [zi.filename for zi in npz.infos]
        if any(n.endswith("data.pkl") for n in members):
            raise NDFormatError("this is a PyTorch checkpoint (a torch.save zip), not an MXNet "
                                "npz", file=file, offset=0, found=f"members {members[:3]}",
                                hint="load it with torch.load")
        raise NDFormatError("this is a zip without .npy members, not an MXNet npz", file=file,
                            offset=0, found=f"{len(members)} members {members[:5]}")
    return _Indexed(records, bool(records), npz)


def _index_legacy(buf: Any, file: str | None) -> _Indexed:
    records = parse_container(buf, file)
    return _Indexed(records, records.names is not None)


def _index_record(buf: Any, file: str | None) -> _Indexed:
    return _Indexed(parse_bare_record(buf, file), False)


# first bytes -> (what such a file is, the NDFile.container name, the indexer)
_SNIFF: dict[bytes, tuple[str, str, Callable[[Any, str | None], _Indexed]]] = {
    C.NPY_MAGIC: ("an npy file", "npy", _index_npy),
    C.ZIP_LOCAL_MAGIC: ("an npz (zip) file", "npz", _index_npz),
    C.ZIP_EMPTY_MAGIC: ("an empty npz (zip) file", "npz", _index_npz),
    C.LIST_MAGIC.to_bytes(8, "little"): ("an MXNet NDArray list (the 0x112 header)", "legacy",
                                         _index_legacy),
    # a pickled NDArray's handle bytes: one bare V2/V3 record (§2)
    C.RecordMagic.V2.to_bytes(4, "little"): ("a pickled NDArray record", "record", _index_record),
    C.RecordMagic.V3.to_bytes(4, "little"): ("a pickled NDArray record", "record", _index_record),
}
_SNIFF_BYTES = max(len(m) for m in _SNIFF)


def _sniff(buf: Any, file: str | None) -> tuple[str, _Indexed]:
    """(container name, index) of the bytes; NDFormatError when no layout claims them."""
    head = bytes(buf[:_SNIFF_BYTES])
    for magic, (_, container, indexer) in _SNIFF.items():
        if head.startswith(magic):
            return container, indexer(buf, file)
    raise _not_mxnet(bytes(buf[:512]), len(buf), file)


# --- acquiring the bytes ---------------------------------------------------------------------
class _Acquired(NamedTuple):
    buf: Any                        # sliceable bytes: an mmap, memoryview, bytes or bytearray
    file: str | None                # the name to show in messages
    mapping: _mmap.mmap | None = None
    path: str | None = None         # set when the payloads are to be read from this file


def _acquire(source: Source, use_mmap: bool) -> _Acquired:
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        with builtins.open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > 0:
                try:
                    m = _mmap.mmap(f.fileno(), 0, access=_mmap.ACCESS_READ)
                    # mmap=False: the mapping serves the index (header pages only); payloads
                    # are read from the file
                    return _Acquired(m, path, m, None if use_mmap else path)
                except (OSError, ValueError):
                    pass  # not mappable (a pipe, a special file): read it instead
            # np.empty, not bytearray(size): no zero-filling pass over the memory before the read
            buf: Any = np.empty(size, np.uint8) if size else bytearray()
            got = f.readinto(buf) if size else 0
            rest = f.read()  # files that grew, or report no size (procfs)
            if got != size or rest:
                buf = bytearray(memoryview(buf)[:got]) + rest
            return _Acquired(memoryview(buf).cast("B"), path)
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
    raise TypeError(f"source must be a path, bytes-like or binary file object, not "
                    f"{type(source).__name__}")


# --- making arrays -------------------------------------------------------------------------
def _part_array(part: Part, base: Any, offset: int) -> np.ndarray:
    """The array of one part whose bytes are at `offset` of `base`: a view where the bytes are
    aligned for the dtype, else an aligned copy (docs/FORMAT.md §8: nothing is aligned)."""
    dtype = part.dtype
    count = math.prod(part.shape)
    if count == 0:
        arr = np.empty(part.shape, dtype=dtype.newbyteorder("=") if dtype.byteorder == ">" else dtype)
    else:
        arr = np.frombuffer(base, dtype=dtype, count=count, offset=offset)
        if not arr.flags.aligned:
            arr = arr.copy()
        if dtype.byteorder == ">":
            arr = arr.astype(dtype.newbyteorder("="))  # big-endian npy: native values
        arr = arr.reshape(part.shape)
    if part.fortran:
        arr = np.ascontiguousarray(arr.T)
    return arr


def _materialize(rec: RecordInfo, locate: Locate, file: str | None) -> Array:
    """The array of one index entry: ndarray, RowSparseArray, CSRArray, or None (none record)."""
    if rec.stype == "none":
        return None
    arrays = [_part_array(p, *locate(p)) for p in rec.parts]
    if rec.stype == "default":
        return arrays[0]
    from .sparse import CSRArray, RowSparseArray  # only files with sparse records need it

    where = (file, rec.offset)
    if rec.stype == "row_sparse":
        return RowSparseArray(arrays[0], arrays[1], rec.shape, _where=where)
    return CSRArray(arrays[0], arrays[1], arrays[2], rec.shape, _where=where)


# --- mmap=False: reading payloads from the file --------------------------------------------
_PREADV = hasattr(os, "preadv")
_ALIGN = 64                 # where each payload starts in the buffer of a scattered read
_MAX_GAP = 1 << 16          # bytes between payloads read into scratch rather than seeking past
_IOV_MAX = 1024             # iovecs per preadv call (POSIX minimum of IOV_MAX is 16; Linux 1024)
_MANY_SPANS = 4096          # reading more payloads than this, averaging under
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


def _read_spans(path: str, spans: list[tuple[int, int]], file: str | None
                ) -> tuple[np.ndarray, dict[int, int]]:
    """Read each (offset, nbytes) span of the file, sorted by offset, to a 64-byte aligned place
    of one new buffer: (buffer, {file offset: offset in the buffer}). Consecutive spans are read
    by one preadv; small gaps between them (record and npy headers) go to a scratch buffer."""
    placed: dict[int, int] = {}
    total = 0
    for off, n in spans:
        placed[off] = total
        total += -(-n // _ALIGN) * _ALIGN
    dest = np.empty(total, np.uint8)
    out = memoryview(dest)
    gaps = [b[0] - (a[0] + a[1]) for a, b in zip(spans, spans[1:])]
    scratch = memoryview(bytearray(max([g for g in gaps if 0 < g <= _MAX_GAP], default=0)))
    with builtins.open(path, "rb", buffering=0) as fh:
        run: list[memoryview] = []
        run_start = end = spans[0][0] if spans else 0
        for off, n in spans:
            if off < end:  # overlapping payloads (a crafted npz): read this one on its own
                _read_into(fh, [out[placed[off]:placed[off] + n]], off, file)
                continue
            if off - end > _MAX_GAP:
                _read_into(fh, run, run_start, file)
                run, run_start = [], off
            elif off > end:
                run.append(scratch[:off - end])
            run.append(out[placed[off]:placed[off] + n])
            end = off + n
        _read_into(fh, run, run_start, file)
    return dest, placed


def _read_whole(path: str, size: int, file: str | None) -> np.ndarray:
    """The first `size` bytes of the file in one read, to a 64-byte aligned buffer (so payloads
    keep the alignment they have in the file). Cheaper than a scattered read of many small
    payloads: one read instead of an iovec per payload."""
    whole = np.empty(size, np.uint8)
    with builtins.open(path, "rb", buffering=0) as fh:
        _read_into(fh, [memoryview(whole)], 0, file)
    return whole


class NDFile(Mapping[Any, Array]):
    """An indexed MXNet NDArray file: a read-only mapping of names to arrays, read on demand.

    Made by `ndparse.open`. Keys are the stored names, or positions (0, 1, ...) for an unnamed
    list; with duplicate names the last record wins, as in MXNet. `f[key]` reads one array
    (KeyError when absent); `info(key)` is its index entry, read without touching the payload.
    Use it as a context manager, or call `close()`.
    """

    def __init__(self, source: Source, *, mmap: bool = True) -> None:
        src = _acquire(source, mmap)
        self.file = src.file
        self._buf = src.buf
        self._mapping = src.mapping
        self._read_from = src.path
        try:
            self.container, index = _sniff(src.buf, src.file)
        except BaseException:
            self.close()
            raise
        self.records: Sequence[RecordInfo] = index.records
        self.named = index.named
        self._npz = index.npz
        self._by_name: dict[str, int] | None = None  # made on first use

    # --- the mapping ---------------------------------------------------------------------
    def _names(self) -> dict[str, int]:
        if self._by_name is None:
            names = getattr(self.records, "names", None)  # the legacy index holds them as a list
            if names is None:
                names = [r.name for r in self.records]
            # a later duplicate takes the position, the first keeps its place in the order
            self._by_name = {n: i for i, n in enumerate(names)}
        return self._by_name

    def _position(self, key: Any) -> int:
        if self.named:
            try:
                return self._names()[key]
            except (KeyError, TypeError):
                pass
        else:
            try:
                i = operator.index(key)
            except TypeError:
                i = -1
            if 0 <= i < len(self.records):
                return i
        raise KeyError(f"{key!r} is not in {self.file or 'this file'}")

    def keys(self) -> list[Any]:  # type: ignore[override]
        """The keys in file order, as a list: names (duplicates once), or positions 0..n-1."""
        return list(self._names()) if self.named else list(range(len(self.records)))

    def __iter__(self) -> Iterator[Any]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._names()) if self.named else len(self.records)

    def __contains__(self, key: object) -> bool:
        try:
            self._position(key)
        except KeyError:
            return False
        return True

    def __getitem__(self, key: Any) -> Array:
        return self.materialize(self.records[self._position(key)])

    def get(self, key: Any, default: Any = None) -> Array:
        """The array of `key` (as `f[key]`), or `default` when the file has no such key."""
        try:
            i = self._position(key)
        except KeyError:
            return default
        return self.materialize(self.records[i])

    __eq__ = object.__eq__  # two files are equal when they are the same object, not by content
    __hash__ = object.__hash__

    def info(self, key: Any) -> RecordInfo:
        """The index entry of one array (dtype, shape, storage type, version, offset, bytes).

        Reads no payload. Raises KeyError when the file has no such key."""
        return self.records[self._position(key)]

    # --- arrays --------------------------------------------------------------------------
    def _locate_mapped(self, part: Part) -> tuple[Any, int]:
        if part.member is not None:
            assert self._npz is not None
            return self._npz.inflate(self._npz.zf.getinfo(part.member)), part.offset
        return self._buf, part.offset

    def _locate_read(self, records: Sequence[RecordInfo]) -> Locate:
        """mmap=False: read the payloads of `records` from the file; where each part now is."""
        assert self._read_from is not None
        parts = [p for r in records for p in r.parts if p.member is None and p.nbytes]
        if len(parts) > _MANY_SPANS and sum(p.nbytes for p in parts) < _SMALL_SPAN * len(parts):
            whole = _read_whole(self._read_from, len(self._buf), self.file)
            return lambda p: (whole, p.offset) if p.member is None else self._locate_mapped(p)
        dest, placed = _read_spans(self._read_from, sorted({(p.offset, p.nbytes) for p in parts}),
                                   self.file)

        def locate(p: Part) -> tuple[Any, int]:
            if p.member is not None or not p.nbytes:
                return self._locate_mapped(p)
            return dest, placed[p.offset]
        return locate

    def _check_open(self) -> None:
        if self._buf is None:
            raise ValueError(f"{self.file or 'this file'} is closed: its arrays cannot be read")

    def materialize(self, rec: RecordInfo) -> Array:
        """The array of one index entry (None for a none record).

        With mmap=True a read-only view of the mapped file where the payload is aligned, else a
        copy; with mmap=False a writable array read from the file. Raises ValueError once the
        file is closed, NDFormatError for invalid sparse parts."""
        self._check_open()
        locate = self._locate_mapped if self._read_from is None else self._locate_read([rec])
        return _materialize(rec, locate, self.file)

    def load_all(self) -> dict[str, Array] | list[Array]:
        """Every array, as `mx.nd.load` returns them: a dict when names are stored (the last of
        duplicate names wins), else a list. Raises ValueError once the file is closed."""
        self._check_open()
        records = list(self.records)
        if self._read_from is None:
            locate: Locate = self._locate_mapped
        else:
            m = self._mapping
            if m is not None and hasattr(m, "madvise") and hasattr(_mmap, "MADV_DONTNEED"):
                m.madvise(_mmap.MADV_DONTNEED)  # the header pages indexing touched leave our RSS
            locate = self._locate_read(records)
        file = self.file
        if self.named:
            return {r.name: _materialize(r, locate, file) for r in records}  # type: ignore[misc]
        return [_materialize(r, locate, file) for r in records]

    # --- what the file is ----------------------------------------------------------------
    @property
    def record_versions(self) -> tuple[int, ...]:
        """The distinct record versions in the file (empty for npy/npz)."""
        versions = getattr(self.records, "versions", None)
        found = versions() if versions is not None else {r.version for r in self.records}
        return tuple(sorted(v for v in found if v is not None))

    @property
    def layout(self) -> str:
        """A human description of the layout, e.g. 'legacy container, V0 records'."""
        if self.container == "legacy":
            vs = self.record_versions
            return "legacy container, " + ("no records" if not vs else
                                           "/".join(f"V{v}" for v in vs) + " records")
        return {"npy": "MXNet 2.x .npy", "npz": "MXNet 2.x .npz",
                "record": "bare record (pickled NDArray)"}[self.container]

    # --- lifetime ------------------------------------------------------------------------
    def close(self) -> None:
        """Release the file. Arrays already read stay valid (views keep the mapping alive until
        they are freed); the index (`keys`, `info`) stays usable, reading arrays does not."""
        npz, self._npz = getattr(self, "_npz", None), None
        if npz is not None:
            npz.close()
        m, self._mapping, self._buf = self._mapping, None, None
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
    """Index an MXNet NDArray file without reading its payloads.

    `source` may be a path (str or os.PathLike), a bytes-like object (bytes, bytearray,
    memoryview) or a binary file object (read whole). Any layout MXNet writes is accepted:
    the legacy 0x112 container (V0-V3 records), a 2.x .npy or .npz, or a pickled NDArray's
    bare record. With `mmap=True` (the default) a path is memory-mapped and arrays are read-only
    views of it; with `mmap=False` arrays are read from the file into memory when asked for.

    Returns an NDFile (a read-only Mapping; use it as a context manager). Raises NDFormatError
    when the bytes are not a valid MXNet NDArray file, OSError when the path cannot be read,
    TypeError for any other kind of source.
    """
    return NDFile(source, mmap=mmap)


def load(source: Source, *, mmap: bool = True) -> dict[str, Array] | list[Array]:
    """Every array of an MXNet NDArray file, as `mx.nd.load` returns them.

    `source` is what `ndparse.open` takes (a path, bytes-like or binary file object). Returns a
    dict (names stored; the last of duplicate names wins) or a list (no names). Dense arrays
    are numpy arrays of the exact dtype and shape (bfloat16 as ml_dtypes.bfloat16), sparse ones
    RowSparseArray / CSRArray, none records None. With `mmap=True` arrays may be read-only views
    of a mapped file; `mmap=False` reads the payloads into memory (writable arrays). Raises
    NDFormatError for an invalid file, OSError when the path cannot be read, TypeError for any
    other kind of source.
    """
    with NDFile(source, mmap=mmap) as f:
        return f.load_all()


def resolve_params_path(prefix_or_path: str | os.PathLike, *, epoch: int | None = None) -> Path:
    """The params file of a checkpoint, found by `ndparse.locate_checkpoint`'s rules.

    `prefix_or_path` is a checkpoint prefix (`models/dpn92` for `models/dpn92-0000.params`), a
    `-symbol.json` or the path of a params file; `epoch` (keyword-only) picks
    `<prefix>-<epoch:04d>.params`; without it `-0000`, else the only `-NNNN.params` there is.
    Raises FileNotFoundError when there is no params file (naming those that exist),
    NDFormatError for several and no epoch, or for an archive (use `locate_checkpoint`, whose
    extracted files live as long as the Checkpoint).
    """
    from .locate import locate_checkpoint

    ckpt = locate_checkpoint(prefix_or_path, epoch=epoch)
    if ckpt.archive is not None:
        ckpt.close()
        raise NDFormatError("an archive's params file is extracted for as long as it is used: "
                            "use ndparse.locate_checkpoint", file=os.fspath(prefix_or_path))
    if ckpt.params is None:
        raise FileNotFoundError(f"no params file for {os.fspath(prefix_or_path)} "
                                f"(no {ckpt.prefix}-NNNN.params)")
    return ckpt.params


__all__ = ["NDFile", "open", "load", "resolve_params_path"]
