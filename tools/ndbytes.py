"""Build MXNet NDArray bytes, npy headers and npz archives by hand, from docs/FORMAT.md alone.

The one byte builder of the repository: the tests (through tests/conftest.py), the fixture
scripts (tools/_ndparse_oracle.py, tools/make_dpn_fixtures.py, run in the MXNet oracle venv),
the fuzzer (tools/fuzz.py) and the benchmark (bench/run.py) all build their inputs here. It is
independent of ndparse's writer on purpose (a test of the reader must not be built by the code
it tests) and needs numpy only, old numpy (< 1.24, the oracle venv) included: no torch, no
ml_dtypes, no ndparse.

Records (section numbers are FORMAT.md's): `v0` (§4.1), `v1` (§4.2), `v2`/`v3` dense (§4.3,
§4.4), `row_sparse` and `csr` (§4.3 + §7), the none records `none_v0`/`none_v1`/`none_v2`/
`none_v3_dim`; `container` (§2/§3) puts records and names together. A record's type code is
derived from the array's dtype unless `code` is given (give a wrong one to build a bad file).
Payloads are little-endian C order; bfloat16 (ml_dtypes or MXNet's structured
`[('bfloat16', '<u2')]`) is written as its raw 16-bit pattern.

npy/npz (§11): `npy_of` (what numpy writes), `npy` (a hand-built header padded the way MXNet
and numpy pad it), `npy_raw` (any header text, for hostile headers), `format_npy` (MXNet 2.x's
malformed sparse `format.npy`), `npz` (members -> deterministic zip bytes), `write_npz`.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
from collections.abc import Iterable, Mapping

import numpy as np

LIST_MAGIC = 0x112
V1, V2, V3 = 0xF993FAC8, 0xF993FAC9, 0xF993FACA

# FORMAT.md §6
TYPE_CODE = {
    "float32": 0, "float64": 1, "float16": 2, "uint8": 3, "int32": 4, "int8": 5,
    "int64": 6, "bool": 7, "int16": 8, "uint16": 9, "uint32": 10, "uint64": 11,
    "bfloat16": 12,
}
# MXNet 2.0.0a0/b1's npy spelling of bfloat16 (numpy reads it as a structured uint16)
BF16 = np.dtype([("bfloat16", "<u2")])
CPU = (1, 0)
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def dtype_name(dt: object) -> str:
    """MXNet's name of a dtype (a key of TYPE_CODE); raises ValueError for one MXNet lacks."""
    dt = np.dtype(dt)
    if dt.names is not None:
        if dt.names == ("bfloat16",):
            return "bfloat16"
        raise ValueError("unexpected structured dtype %r" % (dt,))
    if dt.name not in TYPE_CODE:
        raise ValueError("unexpected dtype %r" % (dt,))
    return dt.name


def payload(a: object) -> bytes:
    """Data bytes of an array: little-endian, C order; bfloat16 as its raw uint16 pattern."""
    a = np.asarray(a)
    if a.dtype.itemsize == 2 and (a.dtype.names is not None or a.dtype.name == "bfloat16"):
        return np.ascontiguousarray(a).view("<u2").astype("<u2").tobytes()
    return np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()


def _code(a: np.ndarray, code: int | None) -> int:
    return TYPE_CODE[dtype_name(a.dtype)] if code is None else code


# ---------------------------------------------------------------- scalars, shapes, container
def u32(v: int) -> bytes:
    return struct.pack("<I", v)


def i32(v: int) -> bytes:
    return struct.pack("<i", v)


def u64(v: int) -> bytes:
    return struct.pack("<Q", v)


def shape32(dims: Iterable[int]) -> bytes:
    """V0 shape: u32 ndim, u32 dims."""
    dims = list(dims)
    return u32(len(dims)) + b"".join(u32(d) for d in dims)


def shape64(dims: Iterable[int], ndim: int | None = None) -> bytes:
    """Shape64: i32 ndim (`ndim` overrides the count, e.g. -1 for 'unknown'), i64 dims."""
    dims = list(dims)
    return i32(len(dims) if ndim is None else ndim) + b"".join(struct.pack("<q", d) for d in dims)


def context(dev_type: int = 1, dev_id: int = 0) -> bytes:
    return i32(dev_type) + i32(dev_id)


def header(n_records: int, reserved: int = 0) -> bytes:
    """Container header: u64 0x112, u64 reserved, u64 record count."""
    return struct.pack("<QQQ", LIST_MAGIC, reserved, n_records)


def names_section(names: Iterable[str | bytes] | None) -> bytes:
    """u64 count, then u64 length + bytes per name (str is UTF-8 encoded)."""
    names = list(names or [])
    out = [u64(len(names))]
    for n in names:
        raw = n.encode("utf-8") if isinstance(n, str) else bytes(n)
        out.append(u64(len(raw)) + raw)
    return b"".join(out)


def container(records: Iterable[bytes], names: Iterable[str | bytes] | None = None,
              reserved: int = 0, trailing: bytes = b"") -> bytes:
    """A whole legacy file: header, records, names (none = a list file), then `trailing`."""
    records = list(records)
    return header(len(records), reserved) + b"".join(records) + names_section(names) + trailing


# ---------------------------------------------------------------- records
def v0_head(shape: Iterable[int], code: int = 0, ctx: tuple[int, int] = CPU) -> bytes:
    """Everything of a V0 record before its data (for writers that stream the data)."""
    return shape32(shape) + context(*ctx) + i32(code)


def v0(a: object, code: int | None = None, ctx: tuple[int, int] = CPU) -> bytes:
    """V0 record (§4.1): u32 ndim, u32 dims, context, type, data."""
    a = np.asarray(a)
    return v0_head(a.shape, _code(a, code), ctx) + payload(a)


def v1(a: object, code: int | None = None, ctx: tuple[int, int] = CPU) -> bytes:
    """V1 record (§4.2): magic 0xF993FAC8, u32 ndim, i64 dims, context, type, data."""
    a = np.asarray(a)
    return u32(V1) + shape64(a.shape) + context(*ctx) + i32(_code(a, code)) + payload(a)


def v2_head(shape: Iterable[int], code: int = 0, *, magic: int = V2, ctx: tuple[int, int] = CPU,
            stype: int = 0) -> bytes:
    """Everything of a dense V2/V3 record before its data: magic, stype, Shape64, context, type
    (for streamed data, or for a header whose shape no array can have)."""
    return u32(magic) + i32(stype) + shape64(shape) + context(*ctx) + i32(code)


def v2(a: object, code: int | None = None, *, magic: int = V2, ctx: tuple[int, int] = CPU,
       shape: Iterable[int] | None = None, stype: int = 0) -> bytes:
    """Dense V2 record (§4.3; `magic=V3` for §4.4): magic, stype, Shape64, context, type, data.
    `shape` overrides the written shape (e.g. a negative dim), `stype` the storage type."""
    a = np.asarray(a)
    return v2_head(a.shape if shape is None else shape, _code(a, code), magic=magic, ctx=ctx,
                   stype=stype) + payload(a)


def v3(a: object, code: int | None = None, **kw: object) -> bytes:
    """Dense V3 record (§4.4): a V2 record with magic 0xF993FACA."""
    return v2(a, code, magic=V3, **kw)  # type: ignore[arg-type]


def none_v0() -> bytes:
    """V0 none record: ndim 0."""
    return u32(0)


def none_v1() -> bytes:
    """V1 none record: magic, ndim 0."""
    return u32(V1) + u32(0)


def none_v2(magic: int = V2) -> bytes:
    """V2 (or V3) none record: magic, stype 0, empty shape."""
    return u32(magic) + i32(0) + shape64([])


def none_v3_dim() -> bytes:
    """V3 none record by an unknown (-1) dim."""
    return u32(V3) + i32(0) + shape64([2, -1])


def _aux_dtype(aux_code: int) -> str:
    return {6: "<i8", 4: "<i4"}[aux_code]


def row_sparse(data: object, idx: object, shape: Iterable[int], code: int | None = None, *,
               storage: Iterable[int] | None = None, aux_code: int = 6, magic: int = V2,
               ctx: tuple[int, int] = CPU) -> bytes:
    """row_sparse record (stype 1): storage shape (default: data's), logical shape, context,
    type, one aux (type, shape), data, row indices."""
    data = np.asarray(data)
    idx = np.asarray(idx)
    return (u32(magic) + i32(1) + shape64(data.shape if storage is None else storage)
            + shape64(shape) + context(*ctx) + i32(_code(data, code))
            + i32(aux_code) + shape64([len(idx)])
            + payload(data) + idx.astype(_aux_dtype(aux_code)).tobytes())


def csr(data: object, indptr: object, indices: object, shape: Iterable[int],
        code: int | None = None, *, storage: Iterable[int] | None = None, aux_code: int = 6,
        magic: int = V2, ctx: tuple[int, int] = CPU) -> bytes:
    """csr record (stype 2): like row_sparse with two aux arrays, indptr then indices."""
    data = np.asarray(data)
    indptr = np.asarray(indptr)
    indices = np.asarray(indices)
    dt = _aux_dtype(aux_code)
    return (u32(magic) + i32(2) + shape64(data.shape if storage is None else storage)
            + shape64(shape) + context(*ctx) + i32(_code(data, code))
            + i32(aux_code) + shape64([len(indptr)]) + i32(aux_code) + shape64([len(indices)])
            + payload(data) + indptr.astype(dt).tobytes() + indices.astype(dt).tobytes())


def write_v0(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> int:
    """Write a named V0 container (as MXNet 0.7-0.10 did), streaming the data so that a
    checkpoint of any size is never copied in memory; returns the file size. The file appears
    whole or not at all (written beside, then renamed)."""
    tmp = str(path) + ".tmp"
    n = 0
    with open(tmp, "wb") as f:
        n += f.write(header(len(arrays)))
        for a in arrays.values():
            a = np.asarray(a)
            n += f.write(v0_head(a.shape, _code(a, None)))
            if a.dtype.byteorder == ">" or not a.flags.c_contiguous:
                a = np.ascontiguousarray(a, a.dtype.newbyteorder("<"))
            n += f.write(a.reshape(-1).view(np.uint8).data)
        n += f.write(names_section(arrays))
    os.replace(tmp, path)
    return n


# ---------------------------------------------------------------- npy / npz (§11)
def npy_raw(text: str | bytes, data: bytes = b"", version: int = 1) -> bytes:
    """npy magic, version, HEADER_LEN and `text` exactly as given (no padding), then `data`."""
    raw = text.encode("latin1") if isinstance(text, str) else text
    size = struct.pack("<H", len(raw)) if version == 1 else struct.pack("<I", len(raw))
    return b"\x93NUMPY" + bytes([version, 0]) + size + raw + data


def npy_header_text(descr: str, shape: str, fortran: str = "False", version: int = 1,
                    min_len: int = 0) -> str:
    """A header dict from its three value texts, padded with spaces and a final newline so
    that the data starts at a multiple of 64 (and the header is at least `min_len` long)."""
    text = "{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)
    pre = 10 if version == 1 else 12
    total = pre + max(len(text) + 1, min_len)
    total = (total + 63) // 64 * 64
    return text + " " * (total - pre - len(text) - 1) + "\n"


def npy(dtype: object, shape: Iterable[int], data: bytes, fortran: bool = False,
        version: int = 1, min_len: int = 0) -> bytes:
    """An npy file with a hand-built header. `dtype` is a dtype string such as '<f4' or '<b2'
    (quoted into the header) or a list of (name, type) fields such as [('bfloat16', '<u2')]."""
    descr = repr(list(dtype)) if isinstance(dtype, list) else repr(str(dtype))
    text = npy_header_text(descr, repr(tuple(int(d) for d in shape)), repr(bool(fortran)),
                           version, min_len)
    return npy_raw(text, data, version)


def npy_of(a: object, version: tuple[int, int] | None = None) -> bytes:
    """What numpy itself writes for `a` (np.save without pickles)."""
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asanyarray(a), version=version, allow_pickle=False)
    return buf.getvalue()


def format_npy(fmt: str) -> bytes:
    """The `format.npy` of an MXNet 2.x sparse npz folder, with the malformed header that
    MXNet's save_format_array writes (§11.1); the data is the ASCII `fmt`."""
    text = npy_header_text("'|s%d{'descr': '<i8'" % len(fmt), "()")
    return npy_raw(text, fmt.encode("ascii"))


def npz(members: Mapping[str, bytes], deflate: bool = False, zip64: bool = False,
        mode: int = 0o600) -> bytes:
    """A zip of `members` (name -> bytes), deterministic: every stamp 1980-01-01 00:00:00.
    `deflate` compresses, `zip64` adds zip64 local headers (as a streamed write does), `mode`
    is the Unix permission stored per member (zipfile's own 0o600 when 0)."""
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.compress_type = method
            info.external_attr = mode << 16
            with zf.open(info, "w", force_zip64=zip64) as f:
                f.write(data)
    return buf.getvalue()


def npz_of(arrays: Mapping[str, object], **kw: bool) -> bytes:
    """npz of arrays: members `<key>.npy` as numpy writes them (np.savez without the clock)."""
    return npz({k + ".npy": npy_of(a) for k, a in arrays.items()}, **kw)  # type: ignore[arg-type]


def write_npz(path: str | os.PathLike, arrays: Mapping[str, object], **kw: bool) -> None:
    """Write npz_of(arrays, **kw) to `path`."""
    with open(path, "wb") as f:
        f.write(npz_of(arrays, **kw))


def tar_of(name: str, data: bytes) -> bytes:
    """A tar archive holding one file (an impostor: a checkpoint still inside its archive)."""
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def bits_equal(a: np.ndarray, b: np.ndarray) -> bool:
    """Same dtype, shape and bytes (NaN payloads and -0.0 included)."""
    return (a.dtype == b.dtype and a.shape == b.shape
            and np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes())
