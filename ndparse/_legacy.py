"""Index of the legacy "NDArray list" container (docs/FORMAT.md §2-§7): records V0..V3 and names.

Only headers are read here; payloads are located (offset, length) and checked to lie inside
the file, never touched. Every count, ndim and dimension is checked against the bytes that are
actually left before it is used, so a hostile header cannot cause a large allocation.

The buffer is only ever read by slicing it (`buf[a:b]`) and decoding the slice, never by handing
the whole buffer to struct or numpy: so a test can pass an object whose payload slices raise,
and prove that indexing reads no payload byte.

The index is held in compact columns (`LegacyRecords`): a few bytes per record rather than a
tuple of Python objects, so even a file of 4-byte none records indexes in a small multiple of
its size. `RecordInfo` entries are made when they are asked for.
"""

from __future__ import annotations

import math
import struct
from array import array
from collections.abc import Iterator, Sequence
from typing import Any, overload

from . import constants as C
from ._index import Part, RecordInfo, numpy_shape_problem
from .errors import TRUNCATED_HINT, NDFormatError, warn

Buffer = Any  # sliceable bytes: bytes, bytearray, memoryview, mmap (anything with len and [a:b])

_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_U64 = struct.Struct("<Q")
_STYPE_NDIM = struct.Struct("<ii")  # after a V2/V3 magic: stype, then the shape's i32 ndim
_CTX_TYPE = struct.Struct("<iii")   # Context (dev_type, dev_id), then type_flag
_V1, _V2, _V3 = int(C.RecordMagic.V1), int(C.RecordMagic.V2), int(C.RecordMagic.V3)
_CPU0 = (int(C.DevType.CPU), 0)

# Where the dims of a dense or none record start, and the bytes per dim, by record version
# (§4.1-§4.4): V0 u32 ndim; V1 magic + u32 ndim; V2/V3 magic + i32 stype + i32 ndim.
_SHAPE_AT = {0: (4, 4), 1: (8, 8), 2: (12, 8), 3: (12, 8)}
_DIM_FORMAT = {4: "I", 8: "q"}  # u32 dims (Shape32), i64 dims (Shape64)
# Where a dense record's data starts, less its dims: the fields before the dims, then
# the context and type_flag after them.
_DATA_AT = {v: fixed + _CTX_TYPE.size for v, (fixed, _) in _SHAPE_AT.items()}
_new = tuple.__new__
assert len(Part._fields) == 7 and len(RecordInfo._fields) == 11  # the tuples built by _info

# The type-code column also marks records that have no dense payload.
_NONE = -1    # a none record (§5)
_SPARSE = -2  # a sparse record, kept whole in LegacyRecords.sparse


class LegacyRecords(Sequence[RecordInfo]):
    """The index of a legacy container in compact columns; `records[i]` is a RecordInfo."""

    def __init__(self) -> None:
        self.start = array("q")     # byte offset of each record
        self.code = array("b")      # type code of a dense record, or _NONE / _SPARSE
        self.version = array("b")   # record version 0..3
        self.dims_at = array("q", [0])  # record i's dims are dims[dims_at[i]:dims_at[i + 1]]
        self.dims = array("q")
        self.context: dict[int, tuple[int, int]] = {}  # records whose context is not cpu(0)
        self.sparse: dict[int, RecordInfo] = {}
        self.names: list[str] | None = None

    def _add(self, start: int, code: int, version: int, dims: tuple[int, ...] = ()) -> None:
        self.start.append(start)
        self.code.append(code)
        self.version.append(version)
        self.dims.extend(dims)
        self.dims_at.append(len(self.dims))

    def __len__(self) -> int:
        return len(self.start)

    @overload
    def __getitem__(self, i: int) -> RecordInfo: ...
    @overload
    def __getitem__(self, i: slice) -> list[RecordInfo]: ...

    def __getitem__(self, i: int | slice) -> RecordInfo | list[RecordInfo]:
        if isinstance(i, slice):
            return [self._info(j) for j in range(*i.indices(len(self)))]
        n = len(self.start)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("record index out of range")
        return self._info(i)

    def __iter__(self) -> Iterator[RecordInfo]:
        return map(self._info, range(len(self.start)))

    def _info(self, i: int) -> RecordInfo:
        name = i if self.names is None else self.names[i]
        code = self.code[i]
        if code == _SPARSE:
            return self.sparse[i]._replace(name=name)
        start, version = self.start[i], self.version[i]
        if code == _NONE:
            return _new(RecordInfo, (i, name, "none", None, None, version, start, 0, (), None, None))
        shape = tuple(self.dims[self.dims_at[i]:self.dims_at[i + 1]])
        dtype = C.TYPE_DTYPES[code]
        nbytes = dtype.itemsize * math.prod(shape)
        data_at = start + _DATA_AT[version] + _SHAPE_AT[version][1] * len(shape)
        # tuple.__new__ directly: a namedtuple's own __new__ is a Python call per record
        part = _new(Part, ("data", dtype, shape, data_at, nbytes, False, None))
        return _new(RecordInfo, (i, name, "default", dtype, shape, version, start, nbytes, (part,),
                                 self.context.get(i, _CPU0), None))

    def versions(self) -> set[int]:
        """The distinct record versions."""
        return set(self.version)


# --- errors -----------------------------------------------------------------------------
def _error(file: str | None, offset: int, message: str, expected: str | None = None,
           found: str | None = None, hint: str | None = None) -> NDFormatError:
    return NDFormatError(message, file=file, offset=offset, expected=expected, found=found,
                         hint=hint)


def _truncated(file: str | None, offset: int, what: str, need: int, left: int) -> NDFormatError:
    return _error(file, offset, f"truncated file while reading {what}", f"{need} bytes",
                  f"{left} bytes left", TRUNCATED_HINT)


class Cursor:
    """Reads little-endian fields from a buffer, checking each against the bytes left."""

    __slots__ = ("buf", "pos", "end", "file")

    def __init__(self, buf: Buffer, file: str | None, pos: int = 0, end: int | None = None):
        self.buf = buf
        self.pos = pos
        self.end = len(buf) if end is None else end
        self.file = file

    @property
    def left(self) -> int:
        return self.end - self.pos

    def error(self, message: str, expected: str | None = None, found: str | None = None,
              offset: int | None = None) -> NDFormatError:
        return _error(self.file, self.pos if offset is None else offset, message, expected, found)

    def need(self, n: int, what: str) -> None:
        if n > self.end - self.pos:
            raise _truncated(self.file, self.pos, what, n, self.end - self.pos)

    def unpack(self, st: struct.Struct, what: str) -> tuple:
        self.need(st.size, what)
        v = st.unpack(self.buf[self.pos:self.pos + st.size])
        self.pos += st.size
        return v

    def i32(self, what: str) -> int:
        return self.unpack(_I32, what)[0]

    def u64(self, what: str) -> int:
        return self.unpack(_U64, what)[0]

    def dims(self, ndim: int, width: int, what: str) -> tuple[int, ...]:
        """ndim dims of `width` bytes (4: u32 for Shape32, 8: i64 for Shape64)."""
        self.need(ndim * width, what)
        return self.unpack(struct.Struct(f"<{ndim}{_DIM_FORMAT[width]}"), what)


def _dtype(file: str | None, code: int, what: str, offset: int) -> Any:
    try:
        return C.TYPE_DTYPES[code]
    except KeyError:
        raise _error(file, offset, f"unknown type_flag for {what}", "a type code 0..12",
                     f"{code}") from None


# --- dense and none records: the common case, read with few calls -----------------------
_DIMS_CTX: dict[tuple[int, int], struct.Struct] = {}  # (ndim, width) -> dims, context, type_flag


def _dims_ctx(ndim: int, width: int) -> struct.Struct:
    st = _DIMS_CTX.get((ndim, width))
    if st is None:
        st = struct.Struct(f"<{ndim}{_DIM_FORMAT[width]}iii")
        if ndim <= C.NPY_MAXDIMS:  # a hostile ndim is parsed once, not cached
            _DIMS_CTX[(ndim, width)] = st
    return st


def _records(buf: Buffer, pos: int, end: int, n: int, out: LegacyRecords, file: str | None
             ) -> int:
    """Index n records from `pos` (each one's version chosen by its first u32, as MXNet does),
    append them to `out`, and return where the next field starts."""
    starts, codes, versions, dims_at, all_dims = (out.start, out.code, out.version, out.dims_at,
                                                  out.dims)
    dtypes = C.TYPE_DTYPES
    for i in range(n):
        if end - pos < 12:  # a record cut short: the field-by-field path says where and why
            pos = _record_slowly(buf, pos, end, i, out, file)
            continue
        head = buf[pos:pos + 12]
        magic = _U32.unpack_from(head)[0]
        if magic == _V2 or magic == _V3:
            stype, ndim = _STYPE_NDIM.unpack_from(head, 4)
            if stype != C.StorageType.DEFAULT or ndim < 0:
                pos = _record_slowly(buf, pos, end, i, out, file)
                continue
            version = 3 if magic == _V3 else 2
        elif magic == _V1:
            version, ndim = 1, _U32.unpack_from(head, 4)[0]  # nnvm Tuple<int64>, u32 ndim (0.11)
        else:
            version, ndim = 0, magic  # V0: the first u32 is not a magic, it IS ndim (§4.1)
            if 4 * ndim > end - pos - 4:
                raise _error(file, pos, f"record {i}: not a known record magic, and as a V0 "
                             "ndim it is too large for the bytes left", "a record magic (c9 fa "
                             f"93 f9, ...) or a V0 ndim whose {ndim} dims fit", f"{magic:#010x}")
        fixed, width = _SHAPE_AT[version]
        p = pos + fixed
        if width * ndim > end - p:
            raise _truncated(file, p, f"record {i} shape dims (ndim {ndim})", width * ndim, end - p)
        # none (§5): V0/V1/V2 ndim 0 (in V3 that is a scalar), V3 a -1 dim. Nothing follows.
        if ndim == 0 and version != 3:
            starts.append(pos)
            codes.append(_NONE)
            versions.append(version)
            dims_at.append(len(all_dims))
            pos = p
            continue
        if width * ndim + 12 > end - p:  # the dims fit, the context and type do not
            if version == 3 and -1 in struct.unpack(f"<{ndim}q", buf[p:p + 8 * ndim]):
                pos = _record_slowly(buf, pos, end, i, out, file)  # a none record
                continue
            raise _truncated(file, p + width * ndim, f"record {i} context and type_flag", 12,
                             end - p - width * ndim)
        st = _dims_ctx(ndim, width)
        *dims, dev, dev_id, code = st.unpack(buf[p:p + st.size])
        if version == 3 and -1 in dims:
            starts.append(pos)
            codes.append(_NONE)
            versions.append(3)
            dims_at.append(len(all_dims))
            pos = p + width * ndim
            continue
        if ndim and min(dims) < 0:
            raise _error(file, p - 4, f"negative dimension in record {i} shape (Shape dim size "
                         "cannot be a negative value)", "dims >= 0", f"{tuple(dims)}")
        p += st.size
        try:
            dtype = dtypes[code]
        except KeyError:
            raise _error(file, p - 4, f"unknown type_flag for record {i}", "a type code 0..12",
                         f"{code}") from None
        nbytes = dtype.itemsize * math.prod(dims)
        if nbytes > end - p:
            raise _truncated(file, p, f"record {i} data ({dtype.name} {tuple(dims)})", nbytes,
                             end - p)
        # numpy cannot hold every shape a file can state; a non-empty one fits in the file, so
        # only its ndim can be too large
        if nbytes == 0 or ndim > C.NPY_MAXDIMS:
            problem = numpy_shape_problem(dtype.itemsize, tuple(dims))
            if problem is not None:
                raise _error(file, p, f"record {i} data: shape cannot be held by an array",
                             "a shape numpy can hold", problem)
        if dev != _CPU0[0] or dev_id != _CPU0[1]:
            out.context[len(starts)] = (dev, dev_id)
        starts.append(pos)
        codes.append(code)
        versions.append(version)
        all_dims.extend(dims)
        dims_at.append(len(all_dims))
        pos = p + nbytes
    return pos


def _record_slowly(buf: Buffer, pos: int, end: int, i: int, out: LegacyRecords,
                   file: str | None) -> int:
    """Record i read field by field: a sparse or none V2/V3 record, or one cut short (which
    raises, naming the field). Returns where the next record starts."""
    if end - pos < 4:
        raise _truncated(file, pos, f"record {i} magic", 4, end - pos)
    magic = _U32.unpack(buf[pos:pos + 4])[0]
    if magic == _V2 or magic == _V3:
        return _sparse_record(buf, pos, end, i, magic, out, file)
    if magic == _V1:
        if end - pos < 8:
            raise _truncated(file, pos + 4, f"record {i} V1 shape ndim", 4, end - pos - 4)
        version, ndim = 1, _U32.unpack(buf[pos + 4:pos + 8])[0]
    else:
        version, ndim = 0, magic
    fixed, width = _SHAPE_AT[version]
    if ndim == 0:  # a V0/V1 none record at the very end of the file
        out._add(pos, _NONE, version)
        return pos + fixed
    raise _truncated(file, pos + fixed, f"record {i} shape dims and context (ndim {ndim})",
                     width * ndim + 12, end - pos - fixed)


# --- sparse records (V2 stype 1/2): rare, read field by field ---------------------------
def _payload(cur: Cursor, role: str, dtype: Any, shape: tuple[int, ...], what: str) -> Part:
    """Locate `prod(shape)` elements at the cursor and skip them (never reads them)."""
    nbytes = dtype.itemsize * math.prod(shape)
    cur.need(nbytes, f"{what} ({dtype.name} {shape})")
    problem = numpy_shape_problem(dtype.itemsize, shape)
    if problem is not None:
        raise cur.error(f"{what}: shape cannot be held by an array", "a shape numpy can hold",
                        problem)
    part = Part(role, dtype, shape, cur.pos, nbytes)
    cur.pos += nbytes
    return part


def _shape64(cur: Cursor, what: str, *, v3: bool = False) -> tuple[int, tuple[int, ...] | None]:
    """Shape64: i32 ndim then ndim x i64, all >= 0. Returns (ndim, dims); dims is None for a V3
    unknown shape (ndim -1 or a -1 dim: a none record, §5)."""
    at = cur.pos
    ndim = cur.i32(f"{what} ndim")
    if v3 and ndim == -1:
        return ndim, None
    if ndim < 0:
        raise cur.error(f"negative ndim in {what}", "ndim >= 0", f"{ndim}", offset=at)
    dims = cur.dims(ndim, 8, f"{what} dims (ndim {ndim})")
    if v3 and -1 in dims:
        return ndim, None
    if any(d < 0 for d in dims):
        raise cur.error(f"negative dimension in {what} (Shape dim size cannot be a negative "
                        "value)", "dims >= 0", f"{dims}", offset=at)
    return ndim, dims


def _sparse_record(buf: Buffer, start: int, end: int, i: int, magic: int, out: LegacyRecords,
                   file: str | None) -> int:
    """A V2/V3 record read field by field: sparse, or cut short (then it raises)."""
    cur = Cursor(buf, file, start + 4, end)
    stype_code = cur.i32(f"record {i} storage type")
    version = 3 if magic == _V3 else 2
    try:
        stype = C.StorageType(stype_code)
        n_aux = C.N_AUX[stype]
    except (ValueError, KeyError):
        if stype_code == C.StorageType.UNDEFINED and cur.left == 0:
            raise cur.error(f"record {i} is cut after its storage type -1: this is the "
                            "truncated file MXNet leaves when it fails to save an uninitialised "
                            "array", "a complete record", "stype -1 and end of file",
                            offset=start + 4) from None
        raise cur.error(f"record {i}: unknown storage type", "0 (default), 1 (row_sparse) "
                        "or 2 (csr)", f"{stype_code}", offset=start + 4) from None
    if not n_aux:  # a dense record with an unknown (V3 none) or negative shape, or cut short
        at = cur.pos
        ndim, dims = _shape64(cur, f"record {i} shape", v3=version == 3)
        if dims is None:
            out._add(start, _NONE, version)
            return cur.pos
        raise _truncated(file, cur.pos, f"record {i} context and type_flag", 12, cur.left)
    _, sshape = _shape64(cur, f"record {i} storage shape")
    assert sshape is not None
    ndim, shape = _shape64(cur, f"record {i} shape", v3=version == 3)
    # The none test comes after the storage shape and the shape (§5): ndim 0 in V2, an
    # unknown (-1) shape in V3 (where ndim 0 is a scalar).
    if shape is None or (version == 2 and ndim == 0):
        out._add(start, _NONE, version)
        return cur.pos
    dev, dev_id, code = cur.unpack(_CTX_TYPE, f"record {i} context and type_flag")
    dtype = _dtype(file, code, f"record {i} values", cur.pos - 4)
    if stype == C.StorageType.CSR and len(shape) != 2:
        raise cur.error(f"record {i}: csr array must be 2-D", "ndim 2", f"shape {shape}",
                        offset=start + 4)
    aux_meta = []
    for k in range(n_aux):
        aux_at = cur.pos
        aux_code = cur.i32(f"record {i} aux {k} type_flag")
        aux_dtype = _dtype(file, aux_code, f"record {i} aux {k}", aux_at)
        if aux_code not in C.AUX_TYPE_CODES:
            raise cur.error(f"record {i}: sparse index array {k} must be integer",
                            "type code 4 (int32) or 6 (int64)", f"{aux_code}", offset=aux_at)
        aux_ndim, aux_shape = _shape64(cur, f"record {i} aux {k} shape")
        assert aux_shape is not None
        if aux_ndim != 1:
            raise cur.error(f"record {i}: sparse index array {k} must be 1-D", "ndim 1",
                            f"ndim {aux_ndim}", offset=aux_at + 4)
        aux_meta.append((aux_dtype, aux_shape))
    # Payload-size rule (§7): the index aux length overrides storage_shape[0]; a storage shape
    # with no elements is derived from the logical shape instead.
    if stype == C.StorageType.ROW_SPARSE:
        n_idx = aux_meta[C.ROW_SPARSE_INDICES][1][0]
        vshape = (n_idx,) + (sshape[1:] if math.prod(sshape) > 0 else shape[1:])
        roles: tuple[str, ...] = ("indices",)
    else:
        n_idx = aux_meta[C.CSR_INDICES][1][0]
        vshape = (n_idx,) + (sshape[1:] if math.prod(sshape) > 0 else ())
        roles = ("indptr", "indices")
    parts = [_payload(cur, "data", dtype, vshape, f"record {i} values")]
    for (aux_dtype, aux_shape), role in zip(aux_meta, roles):
        parts.append(_payload(cur, role, aux_dtype, aux_shape, f"record {i} {role}"))
    nbytes = sum(p.nbytes for p in parts)
    out.sparse[len(out)] = RecordInfo(i, i, C.STYPE_NAMES[stype], dtype, shape, version, start,
                                      nbytes, tuple(parts), (dev, dev_id), sshape)
    out._add(start, _SPARSE, version)
    return cur.pos


# --- the container ----------------------------------------------------------------------
def parse_container(buf: Buffer, file: str | None) -> LegacyRecords:
    """Index a 0x112 container. Raises NDFormatError for anything MXNet could not read."""
    cur = Cursor(buf, file)
    header = cur.u64("container header")
    if header != C.LIST_MAGIC:
        raise cur.error("not an MXNet NDArray list", "header 0x112", f"{header:#x}", offset=0)
    reserved = cur.u64("reserved field")
    if reserved != 0:
        warn(f"{file or '<buffer>'}: reserved field at byte 8 is {reserved}, not 0 (MXNet "
             "ignores it)")
    n_at = cur.pos
    n = cur.u64("array count")
    # Each record takes at least 4 bytes (a V0 none record is a bare u32 ndim 0).
    if n * 4 > cur.left:
        raise _error(file, n_at, f"truncated file: the header counts {n} arrays, which take at "
                     f"least {4 * n} bytes, but the file ends {cur.left} bytes after the count "
                     "(unless the count itself is corrupt)", f"at most {cur.left // 4} arrays",
                     f"{n}", TRUNCATED_HINT)
    records = LegacyRecords()
    pos, end = cur.pos, cur.end
    cur.pos = _records(buf, pos, end, n, records, file)
    records.names = _names(cur, n)
    if cur.left:
        _check_zero_filled_tail(cur, records)
        tail = cur.buf[cur.pos:cur.end]
        zeros = not bytes(tail).strip(b"\0")
        hint = (", all zero: if arrays or names are missing, the file may be incompletely "
                "written" if zeros else "")
        warn(f"{file or '<buffer>'}: {cur.left} trailing bytes after the names at byte "
             f"{cur.pos} (MXNet ignores them{hint})")
    return records


def _names(cur: Cursor, n: int) -> list[str] | None:
    """The names vector: None for an unnamed list (count 0), else exactly n UTF-8 names."""
    names_at = cur.pos
    n_names = cur.u64("names count (the names vector is missing or truncated)")
    if n_names not in (0, n):
        raise cur.error("names count differs from the array count", f"0 or {n}", f"{n_names}",
                        offset=names_at)
    if not n_names:
        return None
    if n_names * 8 > cur.left:
        raise _truncated(cur.file, cur.pos, f"{n_names} names", 8 * n_names, cur.left)
    names = []
    buf, end = cur.buf, cur.end
    pos = cur.pos
    unpack_u64 = _U64.unpack
    for i in range(n_names):
        if end - pos < 8:
            raise _truncated(cur.file, pos, f"name {i} length", 8, end - pos)
        length = unpack_u64(buf[pos:pos + 8])[0]
        pos += 8
        if length > end - pos:
            raise _truncated(cur.file, pos, f"name {i} ({length} bytes)", length, end - pos)
        raw = buf[pos:pos + length]
        try:
            names.append(str(raw, "utf-8"))
        except UnicodeDecodeError:
            warn(f"{cur.file or '<buffer>'}: name {i} at byte {pos} is not valid UTF-8; "
                 "undecodable bytes kept as surrogate escapes")
            names.append(bytes(raw).decode("utf-8", "surrogateescape"))
        pos += length
    cur.pos = pos
    return names


def _check_zero_filled_tail(cur: Cursor, records: LegacyRecords) -> None:
    """Refuse the signature of an incompletely written or preallocated file: zero bytes parse as
    a run of 4-byte V0 "none" records (u32 ndim 0) and then an empty names vector, leaving a long
    zero tail. Real none records come from uninitialised arrays in MXNet <= 0.11 files, which
    are never followed by zero padding, so loading such a file as Nones would be silently wrong."""
    first = next((i for i, (c, v) in enumerate(zip(records.code, records.version))
                  if c == _NONE and v == 0), None)
    if first is None:
        return
    at = records.start[first]
    if bytes(cur.buf[at:cur.end]).strip(b"\0"):
        return
    raise cur.error("the file looks incompletely written: from the first 'none' record on, "
                    "it is zero bytes (a preallocated file, an interrupted download or copy?)",
                    "the records the header counts, then the names",
                    f"zeros from byte {at} and {cur.left} zero bytes after the end", offset=at)


def parse_bare_record(buf: Buffer, file: str | None) -> LegacyRecords:
    """A bare V2/V3 record with no container: the pickled-NDArray handle (§2)."""
    records = LegacyRecords()
    end = len(buf)
    pos = _records(buf, 0, end, 1, records, file)
    if end - pos:
        warn(f"{file or '<buffer>'}: {end - pos} trailing bytes after the record at byte {pos}")
    return records
