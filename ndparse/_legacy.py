"""Index of the legacy "NDArray list" container (FORMAT.md §2-§7): records V0..V3 and names.

Only headers are read here; payloads are located (offset, length) and checked to lie inside
the file, never touched. Every count, ndim and dimension is checked against the bytes that are
actually left before it is used, so a hostile header cannot cause a large allocation.
"""

from __future__ import annotations

import math
import struct
import warnings

import numpy as np

from . import constants as C
from ._index import Part, RecordInfo, numpy_shape_problem
from .errors import NDFormatError, NDFormatWarning

Buffer = bytes | bytearray | memoryview  # anything struct.unpack_from and np.frombuffer take (mmap too)

_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_U64 = struct.Struct("<Q")
_CTX_TYPE = struct.Struct("<iii")  # Context (dev_type, dev_id), then type_flag


class Cursor:
    """Reads little-endian fields from a buffer, checking each against the bytes left."""

    __slots__ = ("buf", "pos", "end", "file")

    def __init__(self, buf: Buffer, file: str | None, pos: int = 0, end: int | None = None):
        self.buf = buf
        self.pos = pos
        self.end = len(memoryview(buf).cast("B")) if end is None else end
        self.file = file

    @property
    def left(self) -> int:
        return self.end - self.pos

    def error(self, message: str, expected: str | None = None, found: str | None = None,
              offset: int | None = None) -> NDFormatError:
        return NDFormatError(message, file=self.file, offset=self.pos if offset is None else offset,
                             expected=expected, found=found)

    def need(self, n: int, what: str) -> None:
        if n > self.end - self.pos:
            raise self.error(f"truncated file while reading {what}", f"{n} bytes",
                             f"{self.end - self.pos} bytes left")

    def unpack(self, st: struct.Struct, what: str) -> tuple:
        self.need(st.size, what)
        v = st.unpack_from(self.buf, self.pos)
        self.pos += st.size
        return v

    def u32(self, what: str) -> int:
        return self.unpack(_U32, what)[0]

    def i32(self, what: str) -> int:
        return self.unpack(_I32, what)[0]

    def u64(self, what: str) -> int:
        return self.unpack(_U64, what)[0]

    def dims(self, ndim: int, width: int, what: str) -> tuple[int, ...]:
        """ndim dims of `width` bytes (4: u32 for Shape32, 8: i64 for Shape64)."""
        self.need(ndim * width, what)
        fmt = f"<{ndim}{'I' if width == 4 else 'q'}"
        v = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += ndim * width
        return v


_DTYPE_OF_CODE = {int(code): dt for code, dt in C.TYPE_DTYPES.items()}  # no enum call per record


def _dtype(cur: Cursor, code: int, what: str, offset: int) -> np.dtype:
    dt = _DTYPE_OF_CODE.get(code)
    if dt is None and code == C.TypeFlag.BFLOAT16:
        dt = C.bfloat16_dtype()
    if dt is None:
        raise cur.error(f"unknown type_flag for {what}", "a type code 0..12", f"{code}",
                        offset=offset)
    return dt


def _payload(cur: Cursor, role: str, dtype: np.dtype, shape: tuple[int, ...], what: str) -> Part:
    """Locate `prod(shape)` elements at the cursor and skip them (never reads them)."""
    nbytes = dtype.itemsize * math.prod(shape)
    if nbytes > cur.end - cur.pos:  # the message (dtype.name is slow) only when it fails
        cur.need(nbytes, f"{what} ({dtype.name} {shape})")
    problem = numpy_shape_problem(dtype.itemsize, shape)
    if problem is not None:
        raise cur.error(f"{what}: shape cannot be held by an array", "a shape numpy can hold",
                        problem)
    part = Part(role, dtype, shape, cur.pos, nbytes)
    cur.pos += nbytes
    return part


def _check_dims(cur: Cursor, dims: tuple[int, ...], at: int, what: str) -> None:
    for d in dims:
        if d < 0:
            raise cur.error(f"negative dimension in {what} (Shape dim size cannot be a negative value)",
                            "dims >= 0", f"{dims}", offset=at)


def _shape64(cur: Cursor, what: str, *, v3: bool) -> tuple[int, tuple[int, ...] | None]:
    """Shape64: i32 ndim then ndim x i64. Returns (ndim, dims); dims None for a V3 unknown shape."""
    at = cur.pos
    ndim = cur.i32(f"{what} ndim")
    if ndim < 0:
        if v3 and ndim == -1:
            # V3 unknown shape: a none record. MXNet's shape loader fails on it, but the meaning
            # is unambiguous (FORMAT.md §5, §16), so it is read as none like a -1 dim.
            return ndim, None
        raise cur.error(f"negative ndim in {what}", "ndim >= 0", f"{ndim}", offset=at)
    dims = cur.dims(ndim, 8, f"{what} dims (ndim {ndim})")
    if v3 and -1 in dims:
        return ndim, None
    _check_dims(cur, dims, at, what)
    return ndim, dims


def _record_v0_v1(cur: Cursor, index: int, magic: int, start: int) -> RecordInfo:
    if magic == C.RecordMagic.V1:
        version = 1
        at = cur.pos
        ndim = cur.u32("V1 shape ndim")  # nnvm Tuple<int64> with a u32 ndim (0.11)
        dims = cur.dims(ndim, 8, f"V1 shape dims (ndim {ndim})")
        _check_dims(cur, dims, at, "V1 shape")
    else:
        version = 0
        ndim = magic  # V0: the first u32 is not a magic, it IS ndim (Shape32, FORMAT.md §4.1)
        if 4 * ndim > cur.left:
            raise cur.error(f"record {index}: not a known record magic, and as a V0 ndim it is too "
                            "large for the bytes left", "a record magic (c9 fa 93 f9, ...) or a "
                            f"V0 ndim whose {ndim} dims fit", f"{magic:#010x}", offset=start)
        dims = cur.dims(ndim, 4, f"V0 shape dims (ndim {ndim})")
    if ndim == 0:
        # A V0/V1 "none" record (an uninitialised NDArray saved by MXNet <= 0.11): the record ends
        # after the shape. MXNet >= 1.5 misreads it (it treats ndim 0 as a known scalar shape and
        # reads a context from the following bytes); up to 1.4 it gave an empty NDArray. We do
        # what the format means (FORMAT.md §5): a none entry, and the next record follows.
        return RecordInfo(index, index, "none", None, None, version, start, 0)
    ctx_dev, ctx_id, code = cur.unpack(_CTX_TYPE, f"V{version} context and type_flag")
    dtype = _dtype(cur, code, f"record {index}", cur.pos - 4)
    part = _payload(cur, "data", dtype, dims, f"record {index} data")
    return RecordInfo(index, index, "default", dtype, dims, version, start, part.nbytes, (part,),
                      (ctx_dev, ctx_id))


def _record_v2_v3(cur: Cursor, index: int, magic: int, start: int) -> RecordInfo:
    v3 = magic == C.RecordMagic.V3
    version = 3 if v3 else 2
    at = cur.pos
    stype_code = cur.i32("storage type")
    try:
        stype = C.StorageType(stype_code)
        n_aux = C.N_AUX[stype]
    except (ValueError, KeyError):
        if stype_code == C.StorageType.UNDEFINED and cur.left == 0:
            raise cur.error(f"record {index} is cut after its storage type -1: this is the "
                            "truncated file MXNet leaves when it fails to save an uninitialised "
                            "array", "a complete record", "stype -1 and end of file",
                            offset=at) from None
        raise cur.error(f"record {index}: unknown storage type", "0 (default), 1 (row_sparse) "
                        "or 2 (csr)", f"{stype_code}", offset=at) from None
    sshape: tuple[int, ...] | None = None
    if n_aux:
        _, sshape = _shape64(cur, f"record {index} storage shape", v3=False)
    ndim, shape = _shape64(cur, f"record {index} shape", v3=v3)
    # The none test comes after the storage shape and the shape (FORMAT.md §5): ndim 0 in V2,
    # an unknown (-1) shape in V3. In V3, ndim 0 is a one-element scalar.
    if shape is None or (not v3 and ndim == 0):
        return RecordInfo(index, index, "none", None, None, version, start, 0)
    ctx_dev, ctx_id, code = cur.unpack(_CTX_TYPE, f"record {index} context and type_flag")
    dtype = _dtype(cur, code, f"record {index} values", cur.pos - 4)
    if not n_aux:
        part = _payload(cur, "data", dtype, shape, f"record {index} data")
        return RecordInfo(index, index, "default", dtype, shape, version, start, part.nbytes,
                          (part,), (ctx_dev, ctx_id))

    assert sshape is not None
    if stype == C.StorageType.CSR and len(shape) != 2:
        raise cur.error(f"record {index}: csr array must be 2-D", "ndim 2", f"shape {shape}", offset=at)
    aux_meta = []
    for k in range(n_aux):
        aux_at = cur.pos
        aux_code = cur.i32(f"record {index} aux {k} type_flag")
        aux_dtype = _dtype(cur, aux_code, f"record {index} aux {k}", aux_at)
        if aux_code not in C.AUX_TYPE_CODES:
            raise cur.error(f"record {index}: sparse index array {k} must be integer",
                            "type code 4 (int32) or 6 (int64)", f"{aux_code}", offset=aux_at)
        aux_ndim, aux_shape = _shape64(cur, f"record {index} aux {k} shape", v3=False)
        if aux_ndim != 1:
            raise cur.error(f"record {index}: sparse index array {k} must be 1-D", "ndim 1",
                            f"ndim {aux_ndim}", offset=aux_at + 4)
        aux_meta.append((aux_dtype, aux_shape))
    # Payload-size rule (FORMAT.md §7): the index aux length overrides storage_shape[0]; a
    # storage shape with no elements is derived from the logical shape instead.
    if stype == C.StorageType.ROW_SPARSE:
        n_idx = aux_meta[C.ROW_SPARSE_INDICES][1][0]
        vshape = (n_idx,) + (sshape[1:] if math.prod(sshape) > 0 else shape[1:])
        roles = ("indices",)
    else:
        n_idx = aux_meta[C.CSR_INDICES][1][0]
        vshape = (n_idx,) + (sshape[1:] if math.prod(sshape) > 0 else ())
        roles = ("indptr", "indices")
    parts = [_payload(cur, "data", dtype, vshape, f"record {index} values")]
    for (aux_dtype, aux_shape), role in zip(aux_meta, roles):
        parts.append(_payload(cur, role, aux_dtype, aux_shape, f"record {index} {role}"))
    nbytes = sum(p.nbytes for p in parts)
    return RecordInfo(index, index, C.STYPE_NAMES[stype], dtype, shape, version, start, nbytes,
                      tuple(parts), (ctx_dev, ctx_id), sshape)


_HEAD_V2 = struct.Struct("<Iii")  # magic, stype, ndim
_FAST_MAX_NDIM = 32
_DIMS64 = [struct.Struct(f"<{k}q") for k in range(_FAST_MAX_NDIM + 1)]
_DIMS32 = [struct.Struct(f"<{k}I") for k in range(_FAST_MAX_NDIM + 1)]
_V2, _V3 = int(C.RecordMagic.V2), int(C.RecordMagic.V3)
_new = tuple.__new__
assert len(Part._fields) == 7 and len(RecordInfo._fields) == 11  # the tuples built below


def _fast_dense(buf: Buffer, pos: int, end: int, index: int) -> tuple[RecordInfo, int] | None:
    """The common record, parsed with no per-field calls: a V0 or a dense V2/V3 record of 1 to 32
    positive dims and a known non-bfloat16 type, wholly inside the file. Anything else (none,
    sparse, V1, zero or negative dims, errors) returns None and goes through parse_record, which
    checks and reports it in full; this path only accepts what parse_record would accept."""
    if end - pos < 12:
        return None
    magic, stype, ndim = _HEAD_V2.unpack_from(buf, pos)
    if magic == _V2 or magic == _V3:
        if stype != 0 or not 0 < ndim <= _FAST_MAX_NDIM:
            return None
        p = pos + 12
        st = _DIMS64[ndim]
        version = 2 if magic == _V2 else 3
    elif 0 < magic <= _FAST_MAX_NDIM:  # V0: the u32 is ndim, dims are u32
        ndim, p, st, version = magic, pos + 4, _DIMS32[magic], 0
    else:
        return None
    if p + st.size + 12 > end:
        return None
    dims = st.unpack_from(buf, p)
    if min(dims) <= 0:
        return None
    p += st.size
    dev, dev_id, code = _CTX_TYPE.unpack_from(buf, p)
    dtype = _DTYPE_OF_CODE.get(code)
    if dtype is None:
        return None
    p += 12
    nbytes = dtype.itemsize * math.prod(dims)
    if nbytes > end - p:  # also bounds the product: it fits in the file, so numpy can hold it
        return None
    # tuple.__new__ directly: the namedtuples' own __new__ is a Python call per record
    part = _new(Part, ("data", dtype, dims, p, nbytes, False, None))
    rec = _new(RecordInfo, (index, index, "default", dtype, dims, version, pos, nbytes, (part,),
                            (dev, dev_id), None))
    return rec, p + nbytes


def parse_record(cur: Cursor, index: int) -> RecordInfo:
    """Parse one record at the cursor (any version, chosen per record as MXNet does)."""
    start = cur.pos
    magic = cur.u32(f"record {index} magic")
    if magic in (C.RecordMagic.V2, C.RecordMagic.V3):
        return _record_v2_v3(cur, index, magic, start)
    return _record_v0_v1(cur, index, magic, start)


def parse_container(buf: Buffer, file: str | None) -> tuple[list[RecordInfo], list[str] | None]:
    """Index a 0x112 container: (records, names or None for an unnamed list)."""
    cur = Cursor(buf, file)
    header = cur.u64("container header")
    if header != C.LIST_MAGIC:
        raise cur.error("not an MXNet NDArray list", "header 0x112", f"{header:#x}", offset=0)
    reserved = cur.u64("reserved field")
    if reserved != 0:
        warnings.warn(NDFormatWarning(f"{file or '<buffer>'}: reserved field at byte 8 is {reserved}, "
                                      "not 0 (MXNet ignores it)"), stacklevel=4)
    n_at = cur.pos
    n = cur.u64("array count")
    # Each record takes at least 4 bytes (a V0 none record is a bare u32 ndim 0).
    if n * 4 > cur.left:
        raise cur.error("array count larger than the file can hold", f"at most {cur.left // 4} "
                        "records in the bytes left", f"{n}", offset=n_at)
    records = []
    end = cur.end
    for i in range(n):
        fast = _fast_dense(buf, cur.pos, end, i)
        if fast is None:
            records.append(parse_record(cur, i))
        else:
            records.append(fast[0])
            cur.pos = fast[1]
    names_at = cur.pos
    n_names = cur.u64("names count (the names vector is missing or truncated)")
    if n_names not in (0, n):
        raise cur.error("names count differs from the array count", f"0 or {n}", f"{n_names}",
                        offset=names_at)
    names: list[str] | None = None
    if n_names:
        if n_names * 8 > cur.left:
            raise cur.error("truncated file while reading names", f"{n_names} names",
                            f"{cur.left} bytes left")
        names = []
        mv = memoryview(buf)
        for i in range(n_names):
            if end - cur.pos >= 8:
                length = _U64.unpack_from(buf, cur.pos)[0]
                cur.pos += 8
            else:
                length = cur.u64(f"name {i} length")  # raises: truncated
            if length > end - cur.pos:
                cur.need(length, f"name {i} ({length} bytes)")
            raw = mv[cur.pos:cur.pos + length]
            try:
                names.append(str(raw, "utf-8"))
            except UnicodeDecodeError:
                raw = bytes(raw)
                warnings.warn(NDFormatWarning(f"{file or '<buffer>'}: name {i} at byte {cur.pos} "
                                              "is not valid UTF-8; undecodable bytes kept as "
                                              "surrogate escapes"), stacklevel=4)
                names.append(raw.decode("utf-8", "surrogateescape"))
            cur.pos += length
        records = [_new(RecordInfo, (r[0], nm) + r[2:]) for r, nm in zip(records, names)]
    if cur.left:
        _check_zero_filled_tail(cur, records)
        zeros = not np.frombuffer(buf, np.uint8, count=cur.left, offset=cur.pos).any()
        hint = (", all zero: if arrays or names are missing, the file may be incompletely "
                "written" if zeros else "")
        warnings.warn(NDFormatWarning(f"{file or '<buffer>'}: {cur.left} trailing bytes after the "
                                      f"names at byte {cur.pos} (MXNet ignores them{hint})"),
                      stacklevel=4)
    return records, names


def _check_zero_filled_tail(cur: Cursor, records: list[RecordInfo]) -> None:
    """Refuse the signature of an incompletely written or preallocated file: zero bytes parse as
    a run of 4-byte V0 "none" records (u32 ndim 0) and then an empty names vector, leaving a long
    zero tail. Real none records come from uninitialised arrays in MXNet <= 0.11 files, which
    are never followed by zero padding, so loading such a file as Nones would be silently wrong."""
    first_none = next((r for r in records if r.stype == "none" and r.version == 0), None)
    if first_none is None:
        return
    rest = np.frombuffer(cur.buf, np.uint8, count=cur.end - first_none.offset,
                         offset=first_none.offset)
    if rest.any():
        return
    raise cur.error("the file looks incompletely written: from the first 'none' record on, "
                    "it is zero bytes (a preallocated file, an interrupted download or copy?)",
                    "the records the header counts, then the names",
                    f"zeros from byte {first_none.offset} and {cur.left} zero bytes after the end",
                    offset=first_none.offset)


def parse_bare_record(buf: Buffer, file: str | None) -> list[RecordInfo]:
    """A bare V2/V3 record with no container: the pickled-NDArray handle (FORMAT.md §2)."""
    cur = Cursor(buf, file)
    rec = parse_record(cur, 0)
    if cur.left:
        warnings.warn(NDFormatWarning(f"{file or '<buffer>'}: {cur.left} trailing bytes after the "
                                      f"record at byte {cur.pos}"), stacklevel=4)
    return [rec]
