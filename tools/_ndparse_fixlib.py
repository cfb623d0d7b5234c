"""Pure-numpy helpers shared by the ndparse fixture scripts (no mxnet import here): what
MXNet read back (Entry), the expected.json/.npz writer and the zip time zeroing. The bytes of
hand-built files come from tools/ndbytes.py, the repository's one byte builder.
"""
import json
import os
import struct

import numpy as np

from ndbytes import dtype_name, write_npz  # tools/ is on sys.path (the scripts live there)


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
    write_npz(os.path.join(outdir, case + ".expected.npz"), arrays, mode=0o644)


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
