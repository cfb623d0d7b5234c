"""Pure-numpy helpers shared by the ndparse fixture scripts (no mxnet import here).

Byte builders follow docs/FORMAT.md (section numbers in the docstrings),
plus a deterministic .npz writer and the expected.json writer.
"""
import io
import json
import os
import struct
import zipfile

import numpy as np

HEADER_MAGIC = 0x112
MAGIC_V1 = 0xF993FAC8
MAGIC_V2 = 0xF993FAC9
MAGIC_V3 = 0xF993FACA

BF16 = np.dtype([("bfloat16", "<u2")])

# FORMAT.md section 6
TYPE_CODE = {
    "float32": 0, "float64": 1, "float16": 2, "uint8": 3, "int32": 4, "int8": 5,
    "int64": 6, "bool": 7, "int16": 8, "uint16": 9, "uint32": 10, "uint64": 11,
    "bfloat16": 12,
}
STYPE_CODE = {"default": 0, "row_sparse": 1, "csr": 2}


def dtype_name(dt):
    dt = np.dtype(dt)
    if dt.names is not None:
        if dt.names == ("bfloat16",):
            return "bfloat16"
        raise ValueError("unexpected structured dtype %r" % (dt,))
    name = dt.name
    if name not in TYPE_CODE:
        raise ValueError("unexpected dtype %r" % (dt,))
    return name


def raw(a):
    """numpy array as stored in expected.npz: bfloat16 -> raw uint16, else native C order."""
    a = np.asarray(a)
    # np.array(..., order="C"), not np.ascontiguousarray: the latter turns 0-d into shape (1,)
    if a.dtype.names is not None:
        assert dtype_name(a.dtype) == "bfloat16"
        return np.array(a, order="C").view("<u2").reshape(a.shape)
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    return np.array(a, order="C")


def le_bytes(a, code_name=None):
    """Payload bytes of an array, little-endian, C order."""
    a = np.asarray(a)
    if code_name == "bfloat16" or a.dtype.names is not None:
        return np.ascontiguousarray(a).view("<u2").astype("<u2").tobytes()
    return np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()


# ---------------------------------------------------------------- section 2/3
def u32(v):
    return struct.pack("<I", v)


def i32(v):
    return struct.pack("<i", v)


def u64(v):
    return struct.pack("<Q", v)


def container_header(n, reserved=0):
    return struct.pack("<QQQ", HEADER_MAGIC, reserved, n)


def names_section(names):
    if names is None:
        return u64(0)
    out = [u64(len(names))]
    for n in names:
        b = n.encode("utf-8") if isinstance(n, str) else bytes(n)
        out.append(u64(len(b)) + b)
    return b"".join(out)


def container(records, names=None, reserved=0, trailing=b""):
    return container_header(len(records), reserved) + b"".join(records) + names_section(names) + trailing


def shape64(dims, ndim=None):
    dims = list(dims)
    return i32(len(dims) if ndim is None else ndim) + b"".join(struct.pack("<q", d) for d in dims)


def shape32(dims):
    dims = list(dims)
    return u32(len(dims)) + b"".join(u32(d) for d in dims)


def context(dev_type=1, dev_id=0):
    return i32(dev_type) + i32(dev_id)


# ---------------------------------------------------------------- section 4
def rec_v0(a, code=None, ctx=(1, 0)):
    """FORMAT.md 4.1: u32 ndim, u32 dims, ctx, type, data."""
    a = np.asarray(a)
    code = TYPE_CODE[dtype_name(a.dtype)] if code is None else code
    return shape32(a.shape) + context(*ctx) + i32(code) + le_bytes(a)


def rec_v0_none():
    return u32(0)


def rec_v1(a, code=None, ctx=(1, 0)):
    """FORMAT.md 4.2: magic C8, Shape64, ctx, type, data."""
    a = np.asarray(a)
    code = TYPE_CODE[dtype_name(a.dtype)] if code is None else code
    return u32(MAGIC_V1) + shape64(a.shape) + context(*ctx) + i32(code) + le_bytes(a)


def rec_v1_none():
    return u32(MAGIC_V1) + i32(0)


def rec_dense(a, magic=MAGIC_V2, code=None, ctx=(1, 0), shape=None, stype=0):
    """FORMAT.md 4.3/4.4 dense record (V2 by default)."""
    a = np.asarray(a)
    name = dtype_name(a.dtype)
    code = TYPE_CODE[name] if code is None else code
    shape = a.shape if shape is None else shape
    return (u32(magic) + i32(stype) + shape64(shape) + context(*ctx) + i32(code)
            + le_bytes(a, name))


def rec_v2_none(magic=MAGIC_V2):
    return u32(magic) + i32(0) + shape64([])


def rec_row_sparse(data, idx, shape, sshape=None, aux_code=6, magic=MAGIC_V2, ctx=(1, 0)):
    """FORMAT.md 4.3 + 7, stype 1."""
    data = np.asarray(data)
    idx = np.asarray(idx)
    sshape = data.shape if sshape is None else sshape
    aux_dt = {6: "<i8", 4: "<i4"}[aux_code]
    return (u32(magic) + i32(1) + shape64(sshape) + shape64(shape) + context(*ctx)
            + i32(TYPE_CODE[dtype_name(data.dtype)])
            + i32(aux_code) + shape64([len(idx)])
            + le_bytes(data) + idx.astype(aux_dt).tobytes())


def rec_csr(data, indptr, indices, shape, sshape=None, aux_code=6, magic=MAGIC_V2, ctx=(1, 0)):
    """FORMAT.md 4.3 + 7, stype 2."""
    data = np.asarray(data)
    sshape = data.shape if sshape is None else sshape
    aux_dt = {6: "<i8", 4: "<i4"}[aux_code]
    return (u32(magic) + i32(2) + shape64(sshape) + shape64(shape) + context(*ctx)
            + i32(TYPE_CODE[dtype_name(data.dtype)])
            + i32(aux_code) + shape64([len(indptr)]) + i32(aux_code) + shape64([len(indices)])
            + le_bytes(data) + np.asarray(indptr).astype(aux_dt).tobytes()
            + np.asarray(indices).astype(aux_dt).tobytes())


# ---------------------------------------------------------------- npy (section 11)
def npy_bytes(descr, shape, payload, fortran=False, version=(1, 0), min_header=0):
    """Hand-built npy: header dict padded with spaces so that the data is 64-aligned."""
    d = "{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (
        descr if descr.startswith("[") else repr(descr), fortran, repr(tuple(shape)))
    pre = 10 if version == (1, 0) else 12
    hlen = len(d) + 1
    total = pre + max(hlen, min_header)
    total = (total + 63) // 64 * 64
    d = d + " " * (total - pre - hlen) + "\n"
    if version == (1, 0):
        head = b"\x93NUMPY" + bytes([1, 0]) + struct.pack("<H", len(d))
    else:
        head = b"\x93NUMPY" + bytes(version) + struct.pack("<I", len(d))
    return head + d.encode("latin1") + payload


# ---------------------------------------------------------------- outputs
def write_npz(path, arrays):
    """Deterministic np.savez equivalent: stored members, fixed 1980-01-01 timestamps."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for key, val in arrays.items():
            zi = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_STORED
            zi.external_attr = 0o644 << 16
            bio = io.BytesIO()
            np.lib.format.write_array(bio, np.asanyarray(val), allow_pickle=False)
            zf.writestr(zi, bio.getvalue())


class Entry:
    """One expected entry: name, stype, dtype, logical shape, arrays {role: ndarray}."""

    def __init__(self, name, stype, dtype, shape, arrays):
        self.name, self.stype, self.dtype, self.shape, self.arrays = name, stype, dtype, shape, arrays

    @classmethod
    def none(cls, name=None):
        return cls(name, "none", None, None, {})

    @classmethod
    def dense(cls, a, name=None, dtype=None):
        a = np.asarray(a)
        return cls(name, "default", dtype or dtype_name(a.dtype), list(a.shape), {"data": raw(a)})

    @classmethod
    def row_sparse(cls, data, indices, shape, name=None):
        return cls(name, "row_sparse", dtype_name(np.asarray(data).dtype), list(shape),
                   {"data": raw(data), "indices": raw(indices)})

    @classmethod
    def csr(cls, data, indptr, indices, shape, name=None):
        return cls(name, "csr", dtype_name(np.asarray(data).dtype), list(shape),
                   {"data": raw(data), "indptr": raw(indptr), "indices": raw(indices)})


def write_expected(outdir, case, file, written_by, read_by, kind, entries, mxnet_behaviour,
                   description, extra=None):
    assert kind in ("list", "dict", "error")
    arrays = {}
    ents = []
    for i, e in enumerate(entries):
        if kind == "list":
            assert e.name is None
        else:
            assert isinstance(e.name, str)
        amap = {}
        for role, a in e.arrays.items():
            key = "e%d_%s" % (i, role)
            arrays[key] = a
            amap[role] = key
        ents.append({"name": e.name, "stype": e.stype, "dtype": e.dtype,
                     "shape": None if e.shape is None else [int(s) for s in e.shape],
                     "arrays": amap})
    doc = {"case": case, "file": file, "written_by": written_by, "read_by": read_by,
           "kind": kind, "mxnet_behaviour": mxnet_behaviour, "entries": ents,
           "description": description}
    if extra:
        doc.update(extra)
    with open(os.path.join(outdir, case + ".expected.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
    write_npz(os.path.join(outdir, case + ".expected.npz"), arrays)


def zero_zip_times(path):
    """Set every DOS mod time/date in a zip (local headers + central directory) to 0.

    MXNet 2.0.0b1 stamps some npz members (the sparse shape.npy/format.npy) with the wall
    clock and the rest with 0; zeroing makes the fixture reproducible.  Returns the names
    of the members that had a non-zero stamp."""
    with open(path, "rb") as f:
        b = bytearray(f.read())
    eocd = b.rfind(b"PK\x05\x06")
    n = struct.unpack_from("<H", b, eocd + 10)[0]
    cd = struct.unpack_from("<I", b, eocd + 16)[0]
    changed = []
    p = cd
    for _ in range(n):
        assert b[p:p + 4] == b"PK\x01\x02"
        nlen, xlen, clen = struct.unpack_from("<HHH", b, p + 28)
        name = bytes(b[p + 46:p + 46 + nlen]).decode("utf-8")
        loc = struct.unpack_from("<I", b, p + 42)[0]
        assert b[loc:loc + 4] == b"PK\x03\x04"
        if any(b[p + 12:p + 16]) or any(b[loc + 10:loc + 14]):
            changed.append(name)
        b[p + 12:p + 16] = b"\0\0\0\0"
        b[loc + 10:loc + 14] = b"\0\0\0\0"
        p += 46 + nlen + xlen + clen
    with open(path, "wb") as f:
        f.write(bytes(b))
    return changed
