#!/usr/bin/env python
"""Mutation fuzzer for ndparse: hostile and broken input must give a correct load or NDFormatError.

    python tools/fuzz.py --minutes 10            # release check (long run), prints a JSON report
    python tools/fuzz.py --minutes 1 --seed 7    # another deterministic stream
    python tools/fuzz.py --minutes 5 --files a.params b.npz   # extra seed files (never modified)
    python tools/fuzz.py --inputs 40000 --random 400   # what the test suite runs (no clock)

Seeds are every valid file we have: fixtures/ndparse/** (including the real-world `realworld_*`
files), fixtures/dpn/*.params, plus files generated here with
ndparse.save, tools/ndbytes.py (V0/V1, none records, sparse, npy, npz) and numpy (npy, npz, deflated npz,
MXNet-style sparse npz folders with the malformed format.npy).

Mutations (all deterministic for a given seed):
  truncate   every byte of every header region and a few points inside each payload
             (`--every-byte`: literally every byte of every seed)
  field      every structural field (header, counts, magic, stype, ndim, dims, context, type
             codes, aux types and shapes, index values, name lengths; zip sizes, offsets,
             counts, methods, name lengths; npy HEADER_LEN) overwritten with hostile values:
             0, 1, -1, 2^31-1, 2^31, 2^32-1, 2^32, 2^62, 2^63-1, 2^63, 2^64-1, ...
  overflow   dims rewritten so their product overflows int64 (2^32 x 2^32, 2^62 x 4, ...)
  npyheader  npy header text with hostile shape / descr / fortran_order, rebuilt into npz
  random     1-4 random byte changes, random splices and duplications

Each input is loaded (ndparse.load on bytes; every 8th also through a path with mmap, and through
ndparse.open), every array is touched and every sparse array densified when its dense form is
small. The only acceptable outcomes are a correct load or ndparse.NDFormatError carrying an
offset and expected/found. Anything else (another exception, a MemoryError, a non-ndparse warning,
an array larger than the file, a hang; in a timed run also more than SLOW_SECONDS for one
input) is a finding.
Peak allocation (tracemalloc) is measured for every `--mem-every`-th input against the file size.
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import math
import os
import random
import signal
import struct
import sys
import tempfile
import time
import tracemalloc
import traceback
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import ndparse  # noqa: E402
from ndbytes import (V1, V2, V3, container, csr, format_npy, none_v0, none_v1,  # noqa: E402
                     none_v2, none_v3_dim, npy_header_text, npy_of, npy_raw, npz, row_sparse,
                     tar_of, v0, v1, v2)

SLOW_SECONDS = 0.5          # "a fraction of a second per file of fixture size"
DENSIFY_LIMIT = 1 << 24     # densify sparse results up to 16 MiB (their dense form is legit)
# Allocation bound: peak traced bytes <= ALLOC_FACTOR * file size + ALLOC_SLACK. Parsing builds
# Python index objects, so small files need a constant slack; ALLOC_FACTOR covers the index of
# files made only of 4-byte none records (the densest possible index).
ALLOC_SLACK = 1 << 20
ALLOC_FACTOR = 4

H8 = [0, 1, 0x7F, 0x80, 0xFF]
H16 = [0, 1, 0x7FFF, 0x8000, 0xFFFF]
H32 = [0, 1, 2, 3, 13, 64, 65, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF,
       V1, V2, V3]
H64 = [0, 1, 2, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**62, 2**63 - 1, 2**63, 2**64 - 2, 2**64 - 1]
OVERFLOW_DIMS = [(2**32, 2**32), (2**62, 4), (2**63 - 1, 2), (2**31, 2**31, 2**31),
                 (0, 2**62, 2**62), (0, 2**63 - 1), (2**32 - 1, 2**32 - 1, 2**32 - 1)]
OVERFLOW_DIMS32 = [(2**32 - 1, 2**32 - 1), (0, 2**32 - 1, 2**32 - 1, 2**32 - 1), (2**16, 2**16)]


# --- seeds ------------------------------------------------------------------------------
# an MXNet 2.x npz with sparse folders (FORMAT.md §11.1), format.npy headers malformed as MXNet
# writes them, and one dense member
MXNET_SPARSE_MEMBERS = {
    "m/data.npy": npy_of(np.array([1, 2, 3], "<f4")),
    "m/indptr.npy": npy_of(np.array([0, 2, 2, 3], "<i8")),
    "m/indices.npy": npy_of(np.array([0, 2, 1], "<i8")),
    "m/shape.npy": npy_of(np.array([3, 4], "<i8")),
    "m/format.npy": format_npy("csr"),
    "r/data.npy": npy_of(np.array([[1, 2], [3, 4]], "<f4")),
    "r/indices.npy": npy_of(np.array([1, 3], "<i8")),
    "r/shape.npy": npy_of(np.array([5, 2], "<i8")),
    "r/format.npy": format_npy("row_sparse"),
    "w.npy": npy_of(np.arange(6, dtype="<f4").reshape(2, 3)),
}


def _quiet_dumps(arrays: dict, **kw: bool) -> bytes:
    """ndparse.dumps without the writer's 'MXNet 2.x only' warning (a type code 8-11 on purpose)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ndparse.NDFormatWarning)
        return ndparse.dumps(arrays, **kw)


def generated_seeds() -> dict[str, bytes]:
    """Small valid files of every layout, made with ndparse.save, ndbytes and numpy."""
    rs = ndparse.RowSparseArray(np.array([[1, 2], [3, 4]], "<f4"), np.array([1, 3]), (5, 2))
    cm = ndparse.CSRArray(np.array([1, 2, 3], "<f4"), np.array([0, 2, 2, 3]), np.array([0, 2, 1]),
                          (3, 4))
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    seeds = {
        "gen/v2_dict.params": ndparse.dumps({"arg:w": x, "aux:héllo": np.arange(3, dtype="<i8"),
                                             "": np.array([True, False])}),
        "gen/v2_list.params": ndparse.dumps([x, np.ones(3, "<f2"), np.arange(4, dtype="u1")]),
        "gen/v2_sparse.params": ndparse.dumps({"rs": rs, "csr": cm, "d": x}),
        "gen/v3.params": _quiet_dumps({"s": np.array(3.5, "<f4"), "z": np.zeros((0, 3), "<f8"),
                                       "b": np.arange(4, dtype=np.uint16)}, np_shape=True),
        "gen/v2_empty.params": ndparse.dumps([]),
        "gen/v0.params": container([v0(np.arange(16, dtype="<f4"), 0),
                                    v0(np.arange(6, dtype="<i4").reshape(2, 3), 4), none_v0()],
                                   ["arg:a", "arg:b", "arg:c"]),
        "gen/v1.params": container([v1(np.arange(4, dtype="<f8"), 1), none_v1()], ["X", "Y"]),
        "gen/mixed_none.params": container([v2(np.ones(2, "<f4"), 0), none_v2(), none_v3_dim(),
                                            v2(np.ones(1, "<f4"), 0, magic=V3)]),
        "gen/sparse_int32aux.params": container(
            [row_sparse(np.ones((2, 2), "<f4"), [0, 4], (5, 2), aux_code=4),
             row_sparse(np.zeros((0, 3), "<f4"), [], (4, 3)),
             csr(np.ones(2, "<f8"), [0, 1, 2, 2], [3, 0], (3, 4), code=1),
             csr(np.zeros(0, "<f4"), [0, 0], [], (1, 5))]),
        "gen/bare_record.nd": v2(np.array([1.0, 2.0], "<f4"), 0),
        "gen/a.npy": npy_of(x),
        "gen/fortran.npy": npy_of(np.asfortranarray(np.arange(12, dtype="<f8").reshape(3, 4))),
        "gen/big_endian.npy": npy_of(np.arange(5, dtype=">i4")),
        "gen/bf16.npy": npy_raw("{'descr': [('bfloat16', '<u2')], 'fortran_order': False, "
                                "'shape': (3,), }          \n", np.arange(3, dtype="<u2").tobytes()),
        "gen/savez.npz": npz({"arg:w.npy": npy_of(x), "b.npy": npy_of(np.arange(3))}),
        "gen/savez_compressed.npz": npz({"w.npy": npy_of(np.zeros(300, "<f4")),
                                         "v.npy": npy_of(np.arange(7, dtype="<i2"))}, deflate=True),
        "gen/empty.npz": npz({}),
        "gen/mxnet_sparse.npz": npz(MXNET_SPARSE_MEMBERS),
    }
    return seeds


def corpus(extra: list[str] | None = None) -> dict[str, bytes]:
    """Every valid seed: fixtures (globbed now, they may appear later; real-world files included), generated."""
    out: dict[str, bytes] = {}
    paths = sorted(glob.glob(str(REPO / "fixtures" / "ndparse" / "**" / "*"), recursive=True))
    paths += sorted(glob.glob(str(REPO / "fixtures" / "dpn" / "*.params")))
    paths += list(extra or [])
    for p in paths:
        if not os.path.isfile(p) or p.endswith((".json", ".md", ".txt", ".py")):
            continue
        if ".expected." in os.path.basename(p):
            continue
        data = Path(p).read_bytes()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ndparse.load(data, mmap=False)
        except ndparse.NDFormatError:
            continue  # fixtures of bad files are inputs to mutate too, but not "valid" seeds
        out[os.path.relpath(p, REPO) if p.startswith(str(REPO)) else p] = data
    out.update(generated_seeds())
    return out


# --- structure maps: where the fields are -------------------------------------------------
@dataclass
class FieldMap:
    fields: list[tuple[int, int, str]] = field(default_factory=list)  # (offset, width, kind)
    payloads: list[tuple[int, int]] = field(default_factory=list)     # (start, end) of data
    dims: list[tuple[int, int, int]] = field(default_factory=list)    # (offset of first dim, ndim, width)


def legacy_fields(b: bytes) -> FieldMap:
    """Field offsets of a valid legacy container or bare record (independent walk of FORMAT.md §16)."""
    fm = FieldMap()
    pos = 0

    def f(w: int, kind: str) -> int:
        nonlocal pos
        fm.fields.append((pos, w, kind))
        v = int.from_bytes(b[pos:pos + w], "little", signed=(kind in ("ndim", "dim")))
        pos += w
        return v

    def shape64() -> list[int]:
        nonlocal pos
        at = pos
        nd = f(4, "ndim")
        dims = [f(8, "dim") for _ in range(max(nd, 0))]
        fm.dims.append((at + 4, nd, 8))
        return dims if nd >= 0 else [-1]

    def itemsize(code: int) -> int:
        return {0: 4, 1: 8, 2: 2, 3: 1, 4: 4, 5: 1, 6: 8, 7: 1, 8: 2, 9: 2, 10: 4, 11: 8, 12: 2}[code]

    def record() -> None:
        nonlocal pos
        m = int.from_bytes(b[pos:pos + 4], "little")
        if m in (V2, V3):
            f(4, "magic")
            st = f(4, "stype")
            n_aux = {0: 0, 1: 1, 2: 2}[st]
            sshape = shape64() if n_aux else []
            shape = shape64()
            if (m == V3 and -1 in shape) or (m == V2 and not shape):
                return
            f(8, "context")
            code = f(4, "type")
            aux = []
            for _ in range(n_aux):
                ac = f(4, "type")
                aux.append((ac, shape64()))
            if not n_aux:
                n = itemsize(code) * math.prod(shape)
            else:
                n_idx = aux[0 if st == 1 else 1][1][0]
                rest = (sshape[1:] if math.prod(sshape) > 0 else (shape[1:] if st == 1 else []))
                n = itemsize(code) * n_idx * math.prod(rest)
            fm.payloads.append((pos, pos + n))
            pos += n
            for ac, ashape in aux:  # index values are fields: corrupting them must be caught
                w = itemsize(ac)
                for i in range(ashape[0]):
                    if i < 3 or i >= ashape[0] - 3:
                        fm.fields.append((pos + i * w, w, "index"))
                pos += w * ashape[0]
        else:
            if m == V1:
                f(4, "magic")
                nd = f(4, "ndim")
                at = pos
                dims = [f(8, "dim") for _ in range(nd)]
                fm.dims.append((at, nd, 8))
            else:
                nd = f(4, "ndim")
                at = pos
                dims = [f(4, "dim") for _ in range(nd)]
                fm.dims.append((at, nd, 4))
            if nd == 0:
                return
            f(8, "context")
            code = f(4, "type")
            n = itemsize(code) * math.prod(dims)
            fm.payloads.append((pos, pos + n))
            pos += n

    if int.from_bytes(b[:4], "little") in (V2, V3):
        record()
        return fm
    f(8, "header")
    f(8, "reserved")
    n = f(8, "count")
    for _ in range(n):
        record()
    k = f(8, "count")
    for _ in range(k):
        ln = f(8, "namelen")
        pos += ln
    return fm


def zip_fields(b: bytes) -> FieldMap:
    """Field offsets of a zip: EOCD, central directory entries, local headers, npy preambles."""
    fm = FieldMap()
    eocd = b.rfind(b"PK\x05\x06")
    if eocd < 0:
        return fm
    for off, w in ((8, 2), (10, 2), (12, 4), (16, 4), (20, 2)):
        fm.fields.append((eocd + off, w, "zip"))
    cd = int.from_bytes(b[eocd + 16:eocd + 20], "little")
    n = int.from_bytes(b[eocd + 10:eocd + 12], "little")
    for _ in range(n):
        if b[cd:cd + 4] != b"PK\x01\x02":
            break
        for off, w in ((8, 2), (10, 2), (16, 4), (20, 4), (24, 4), (28, 2), (30, 2), (32, 2), (42, 4)):
            fm.fields.append((cd + off, w, "zip"))
        nlen, xlen, clen = struct.unpack_from("<HHH", b, cd + 28)
        lh = int.from_bytes(b[cd + 42:cd + 46], "little")
        csize = int.from_bytes(b[cd + 20:cd + 24], "little")
        method = int.from_bytes(b[cd + 10:cd + 12], "little")
        if b[lh:lh + 4] == b"PK\x03\x04":
            for off, w in ((6, 2), (8, 2), (18, 4), (22, 4), (26, 2), (28, 2)):
                fm.fields.append((lh + off, w, "zip"))
            ln, lx = struct.unpack_from("<HH", b, lh + 26)
            start = lh + 30 + ln + lx
            if method == 0 and b[start:start + 6] == b"\x93NUMPY":
                fm.fields.append((start + 6, 1, "npyver"))
                fm.fields.append((start + 8, 2, "npyhlen"))
                hlen = int.from_bytes(b[start + 8:start + 10], "little")
                fm.payloads.append((start + 10 + hlen, start + csize))
            else:
                fm.payloads.append((start, start + csize))
        cd += 46 + nlen + xlen + clen
    return fm


def npy_fields(b: bytes) -> FieldMap:
    fm = FieldMap()
    fm.fields += [(6, 1, "npyver"), (7, 1, "npyver"), (8, 2, "npyhlen"), (8, 4, "npyhlen")]
    hlen = int.from_bytes(b[8:10], "little") if b[6] == 1 else int.from_bytes(b[8:12], "little")
    fm.payloads.append((10 + hlen if b[6] == 1 else 12 + hlen, len(b)))
    return fm


def field_map(b: bytes) -> FieldMap:
    if b.startswith(b"\x93NUMPY"):
        return npy_fields(b)
    if b.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return zip_fields(b)
    return legacy_fields(b)


# --- mutations ----------------------------------------------------------------------------
HOSTILE = {1: H8, 2: H16, 4: H32, 8: H64}


def _put(b: bytes, off: int, w: int, v: int) -> bytes:
    v &= (1 << (8 * w)) - 1
    return b[:off] + v.to_bytes(w, "little") + b[off + w:]


def truncations(b: bytes, fm: FieldMap, every_byte: bool = False) -> Iterator[tuple[str, bytes]]:
    if every_byte:
        for cut in range(len(b)):
            yield f"truncate@{cut}", b[:cut]
        return
    cuts = set(range(len(b)))
    for s, e in fm.payloads:  # inside a payload every cut is the same code path: keep a few
        if e - s > 8:
            cuts -= set(range(s + 3, e - 3))
            cuts |= {(s + e) // 2}
    for cut in sorted(cuts):
        yield f"truncate@{cut}", b[:cut]


def field_mutations(b: bytes, fm: FieldMap) -> Iterator[tuple[str, bytes]]:
    for off, w, kind in fm.fields:
        for v in HOSTILE[w]:
            if off + w <= len(b):
                m = _put(b, off, w, v)
                if m != b:
                    yield f"{kind}@{off}={v:#x}", m
        if kind in ("npyhlen",):
            for dv in (-1, 1, -16, 16):
                cur = int.from_bytes(b[off:off + w], "little")
                yield f"{kind}@{off}{dv:+}", _put(b, off, w, cur + dv)


def overflow_mutations(b: bytes, fm: FieldMap) -> Iterator[tuple[str, bytes]]:
    for at, nd, w in fm.dims:
        if nd < 1:
            continue
        for dims in (OVERFLOW_DIMS if w == 8 else OVERFLOW_DIMS32):
            m = b
            for i, d in enumerate(dims[:nd]):
                m = _put(m, at + i * w, w, d)
            yield f"overflow@{at}={dims[:nd]}", m


NPY_HEADER_VARIANTS = [
    ("shape", ["(2**63,)", "(18446744073709551615,)", "(-1,)", "(0, 2**62, 2**62)", "(2**32, 2**32)",
               "(4611686018427387904, 4)", "(1,)*70", "(0,)*70", "(1.5,)", "(True,)", "None", "()",
               "(0, 100000000000000000000000000000000)", "(9" + "9" * 50 + ",)", "[3]", "'3'"]),
    ("descr", ["'|O'", "'<U3'", "'<c8'", "'<M8[s]'", "'V8'", "[('a', '<f4')]", "'<b2'", "'>f8'",
               "'<f4'", "'|b1'", "'<f16'", "''", "'<i4', 'x': 1", "{'a': 1}", "('<f4', (2,))",
               "[('bfloat16', '<u2')]", "'S3'", "'<i8'"]),
    ("fortran_order", ["True", "1", "None", "'no'"]),
]


def _npy_with(descr: str, shape: str, fortran: str, payload: bytes) -> bytes:
    return npy_raw(npy_header_text(descr, shape, fortran), payload)


def zip_size_mutations(b: bytes) -> Iterator[tuple[str, bytes]]:
    """Compressed and uncompressed sizes changed together, in the directory and local header."""
    eocd = b.rfind(b"PK\x05\x06")
    if not b.startswith(b"PK") or eocd < 0:
        return
    cd = b.find(b"PK\x01\x02")
    if cd < 0:
        return
    lh = int.from_bytes(b[cd + 42:cd + 46], "little")
    for v in (0, 1, 2**31 - 1, 2**32 - 16, 2**32 - 1, len(b), len(b) * 1032):
        for u in (v, v * 1032, 65552):
            m = bytearray(b)
            for base, off in ((cd, 20), (lh, 18)):
                if base + off + 8 <= len(m):
                    struct.pack_into("<II", m, base + off, v & 0xFFFFFFFF, u & 0xFFFFFFFF)
            yield f"zipsizes@{cd}={v},{u}", bytes(m)


def npy_header_mutations(b: bytes) -> Iterator[tuple[str, bytes]]:
    """Hostile npy header text: for an npy file, and for every npy member of an npz (rebuilt)."""
    base = ("'<f4'", "(2, 3)", "False")
    payload = np.arange(6, dtype="<f4").tobytes()
    variants = []
    for key, values in NPY_HEADER_VARIANTS:
        for v in values:
            d, s, fo = base
            d, s, fo = (v, s, fo) if key == "descr" else (d, v, fo) if key == "shape" else (d, s, v)
            variants.append((f"{key}={v}", _npy_with(d, s, fo, payload)))
    variants.append(("text=garbage", b"\x93NUMPY\x01\x00\x08\x00()+()\n  " + payload))
    variants.append(("text=deep", b"\x93NUMPY\x01\x00\x00\x10" + b"(" * 4096))
    variants.append(("text=bigint", b"\x93NUMPY\x01\x00\x00\x20" + b"9" * 8192))
    variants.append(("text=latin1", _npy_with("'<f4'", "(2, 3)", "False", payload).replace(
        b"'descr'", b"'d\xe9scr'")))
    if b.startswith(b"\x93NUMPY"):
        yield from ((f"npy:{n}", v) for n, v in variants)
    elif b.startswith(b"PK"):
        try:
            with zipfile.ZipFile(io.BytesIO(b)) as z:
                members = {zi.filename: z.read(zi) for zi in z.infolist()}
        except Exception:
            return
        for name in list(members)[:6]:
            if not name.endswith(".npy"):
                continue
            for n, v in variants:
                m = dict(members)
                m[name] = v
                yield f"npz:{name}:{n}", npz(m)
        if members:  # a member under a sparse folder missing, a deflated copy, duplicated names
            first = next(iter(members))
            m = dict(members)
            del m[first]
            yield f"npz:drop:{first}", npz(m)
            yield "npz:deflate", npz(members, deflate=True)
            yield "npz:torch", npz({"archive/data.pkl": b"\x80\x02}q\x00.", **members})


def random_mutations(b: bytes, rng: random.Random, n: int) -> Iterator[tuple[str, bytes]]:
    for i in range(n):
        m = bytearray(b)
        kind = rng.random()
        if kind < 0.6 and m:
            for _ in range(rng.randint(1, 4)):
                m[rng.randrange(len(m))] = rng.randrange(256)
        elif kind < 0.8 and len(m) > 2:
            a = rng.randrange(len(m))
            c = rng.randrange(a, min(len(m), a + 64) + 1)
            m[a:a] = m[a:c]  # duplicate a slice
        elif len(m) > 2:
            a = rng.randrange(len(m))
            del m[a:a + rng.randint(1, 64)]
        yield f"random#{i}", bytes(m)


# --- running one input ----------------------------------------------------------------------
class Hang(Exception):
    pass


@dataclass
class Outcome:
    kind: str             # "ok", "error" (NDFormatError) or "wrong"
    seconds: float
    detail: str = ""
    peak: int | None = None


def _touch(value: object, size: int) -> None:
    """Use a loaded value as a caller would; check it cannot exceed what the file holds."""
    if value is None:
        return
    if isinstance(value, (ndparse.RowSparseArray, ndparse.CSRArray)):
        parts = [value.data, value.indices] + ([value.indptr] if isinstance(value, ndparse.CSRArray) else [])
        dense_bytes = math.prod(value.shape) * value.data.dtype.itemsize
        if dense_bytes <= DENSIFY_LIMIT:
            d = value.todense()
            assert d.shape == value.shape
            if isinstance(value, ndparse.RowSparseArray):
                idx = value.indices.astype(np.int64)
                if np.unique(idx).size == idx.size:
                    assert d[idx].tobytes() == np.ascontiguousarray(value.data).tobytes()
            else:
                ref = np.zeros(value.shape, value.data.dtype)
                ptr = value.indptr.astype(np.int64)
                for r in range(value.shape[0]):
                    for j in range(int(ptr[r]), int(ptr[r + 1])):
                        ref[r, int(value.indices[j])] = value.data[j]
                if value.data.size <= 10000:
                    assert d.tobytes() == ref.tobytes() or np.unique(value.indices).size < value.indices.size
        for p in parts:
            p.tobytes()
        return
    assert isinstance(value, np.ndarray), type(value)
    value.tobytes()  # every byte readable


def run_one(data: bytes, *, via_path: str | None = None, measure: bool = False,
            timeout: float = 10.0) -> Outcome:
    """Load `data` and classify the outcome. Never raises (except KeyboardInterrupt)."""
    def on_alarm(signum: int, frame: object) -> None:
        raise Hang()

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    t0 = time.perf_counter()
    peak = None
    try:
        if measure:
            tracemalloc.start()
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if via_path is not None:
                with open(via_path, "wb") as fh:
                    fh.write(data)
                with ndparse.open(via_path) as f:
                    for k in f.keys():
                        f.info(k)
                    result = f.load_all()
                    values = list(result.values()) if isinstance(result, dict) else list(result)
                    if measure:  # the load only: densifying below is the caller's choice
                        peak = tracemalloc.get_traced_memory()[1] - base
                    for v in values:
                        _touch(v, len(data))
                    del values, result
            else:
                result = ndparse.load(data, mmap=False)
                values = list(result.values()) if isinstance(result, dict) else result
                if measure:
                    peak = tracemalloc.get_traced_memory()[1] - base
                for v in values:
                    _touch(v, len(data))
        other = [w for w in caught if not issubclass(w.category, ndparse.NDFormatWarning)]
        if other:
            w = other[0]
            return Outcome("wrong", time.perf_counter() - t0,
                           f"warning {w.category.__name__}: {w.message} ({w.filename}:{w.lineno})", peak)
        return Outcome("ok", time.perf_counter() - t0, "", peak)
    except ndparse.NDFormatError as e:
        if measure:
            peak = tracemalloc.get_traced_memory()[1] - base
        dt = time.perf_counter() - t0
        if e.offset is None or (e.expected is None and e.found is None):
            return Outcome("wrong", dt, f"NDFormatError without offset/expected/found: {e}", peak)
        return Outcome("error", dt, e.reason, peak)
    except KeyboardInterrupt:
        raise
    except Hang:
        return Outcome("wrong", time.perf_counter() - t0, f"hang: over {timeout}s")
    except BaseException as e:  # noqa: BLE001  (anything else is a finding)
        tb = traceback.extract_tb(e.__traceback__)
        frame = next((fr for fr in reversed(tb) if "ndparse" in fr.filename), tb[-1] if tb else None)
        where = f"{os.path.basename(frame.filename)}:{frame.lineno}" if frame else "?"
        return Outcome("wrong", time.perf_counter() - t0, f"{type(e).__name__} at {where}: {e}"[:300])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        if measure:
            tracemalloc.stop()


# --- the campaign -----------------------------------------------------------------------------
@dataclass
class Report:
    inputs: int = 0
    ok: int = 0
    error: int = 0
    wrong: list[dict] = field(default_factory=list)
    slowest: tuple[float, int, str] = (0.0, 0, "")
    peak_ratio: tuple[float, int, int, str] = (0.0, 0, 0, "")  # (ratio, peak, size, label)
    peak_max: tuple[int, int, str] = (0, 0, "")               # (peak, size, label)
    by_strategy: dict[str, int] = field(default_factory=dict)
    messages: dict[str, int] = field(default_factory=dict)
    check_speed: bool = True  # a slow input is a finding (timed runs only: it depends on the machine)

    def add(self, label: str, data: bytes, out: Outcome) -> None:
        self.inputs += 1
        strat = label.split("|", 1)[1].split("@")[0].split(":")[0].split("#")[0].split("=")[0]
        self.by_strategy[strat] = self.by_strategy.get(strat, 0) + 1
        if out.kind == "ok":
            self.ok += 1
        elif out.kind == "error":
            self.error += 1
            key = out.detail.split(":")[0][:60]
            self.messages[key] = self.messages.get(key, 0) + 1
        else:
            self.wrong.append({"input": label, "size": len(data), "detail": out.detail})
        if out.seconds > self.slowest[0]:
            self.slowest = (out.seconds, len(data), label)
        if out.peak is not None:
            ratio = out.peak / max(len(data), 1)
            if out.peak > self.peak_max[0]:
                self.peak_max = (out.peak, len(data), label)
            if len(data) >= 1024 and ratio > self.peak_ratio[0]:
                self.peak_ratio = (ratio, out.peak, len(data), label)
            if out.peak > ALLOC_FACTOR * len(data) + ALLOC_SLACK:
                self.wrong.append({"input": label, "size": len(data),
                                   "detail": f"allocated {out.peak} bytes for a {len(data)}-byte file"})
        if self.check_speed and out.seconds > SLOW_SECONDS * max(1.0, len(data) / 300_000):
            self.wrong.append({"input": label, "size": len(data),
                               "detail": f"slow: {out.seconds * 1000:.0f} ms"})

    def summary(self) -> dict:
        return {
            "inputs": self.inputs, "ok": self.ok, "NDFormatError": self.error,
            "wrong": len(self.wrong), "wrong_examples": self.wrong[:20],
            "slowest_ms": round(self.slowest[0] * 1000, 2), "slowest_size": self.slowest[1],
            "slowest_input": self.slowest[2],
            "peak_alloc_bytes": self.peak_max[0], "peak_alloc_file_size": self.peak_max[1],
            "peak_alloc_input": self.peak_max[2],
            "max_alloc_ratio_files_over_1k": round(self.peak_ratio[0], 2),
            "max_alloc_ratio_input": self.peak_ratio[3],
            "by_strategy": self.by_strategy,
            "error_kinds": dict(sorted(self.messages.items(), key=lambda kv: -kv[1])[:25]),
        }


def mutants(name: str, b: bytes, rng: random.Random, *, every_byte: bool, n_random: int
            ) -> Iterator[tuple[str, bytes]]:
    fm = field_map(b)
    gens: list[Iterator[tuple[str, bytes]]] = [
        field_mutations(b, fm), overflow_mutations(b, fm), npy_header_mutations(b),
        zip_size_mutations(b),
        truncations(b, fm, every_byte), random_mutations(b, rng, n_random)]
    for g in gens:
        for label, m in g:
            yield f"{name}|{label}", m


def campaign(max_inputs: int | None = None, *, seconds: float | None = None, seed: int = 0,
             every_byte: bool = False, mem_every: int = 7, path_every: int = 8,
             extra: list[str] | None = None, n_random: int = 300,
             max_seed_bytes: int | None = None, log: Callable[[str], None] | None = None) -> Report:
    """Run mutations of every seed, round-robin, until `max_inputs` mutants ran, `seconds`
    passed (at least one of the two is required) or every mutation is done.

    The order of inputs is fixed by `seed`, so a run bounded by `max_inputs` alone covers the
    same inputs on every machine; such a run checks no speed (a hang over run_one's timeout is
    still a finding). A run with `seconds` also reports inputs slower than SLOW_SECONDS."""
    if max_inputs is None and seconds is None:
        raise ValueError("campaign() needs max_inputs or seconds")
    rng = random.Random(seed)
    seeds = corpus(extra)
    if max_seed_bytes is not None:
        seeds = {k: v for k, v in seeds.items() if len(v) <= max_seed_bytes}
    report = Report(check_speed=seconds is not None)
    deadline = math.inf if seconds is None else time.monotonic() + seconds
    limit = math.inf if max_inputs is None else max_inputs

    def more() -> bool:
        return report.inputs < limit and time.monotonic() < deadline

    iters = {n: mutants(n, b, random.Random(rng.random()), every_byte=every_byte, n_random=n_random)
             for n, b in seeds.items()}
    # the unmodified seeds and impostors first (once unmeasured: first calls fill caches)
    for n, b in list(seeds.items()) + list(impostors().items()):
        run_one(b)
    for n, b in list(seeds.items()) + list(impostors().items()):
        report.add(f"{n}|seed", b, run_one(b, measure=True))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "fuzz.params")
        while iters and more():
            for n in list(iters):
                try:
                    label, data = next(iters[n])
                except StopIteration:
                    del iters[n]
                    continue
                i = report.inputs
                out = run_one(data, via_path=path if i % path_every == 0 else None,
                              measure=(i % mem_every == 0))
                if report.check_speed and out.seconds > 0.05 and out.kind != "wrong":
                    # a busy machine, or really slow? the fastest of three counts
                    out.seconds = min([out.seconds] + [run_one(data).seconds for _ in range(2)])
                report.add(label, data, out)
                if out.kind == "wrong" and log:
                    log(f"WRONG {label}: {out.detail}")
                if not more():
                    break
    report.exhausted = not iters  # type: ignore[attr-defined]
    return report


def impostors() -> dict[str, bytes]:
    import gzip

    good = ndparse.dumps({"w": np.arange(6, dtype="<f4")})
    return {
        "imp/lfs": b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"a" * 64 + b"\nsize 12\n",
        "imp/html": b"<!DOCTYPE html>\n<html><head><title>404</title></head></html>",
        "imp/pickle": b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94.",
        "imp/gzip": gzip.compress(good),
        "imp/tar": tar_of("x-0000.params", good),
        "imp/appledouble": b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + b"\0" * 60,
        "imp/empty": b"",
        "imp/text": b"just some text\n",
        "imp/torchzip": npz({"archive/data.pkl": b"\x80\x02}q\x00.", "archive/version": b"3\n"}),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=None,
                    help="run for N minutes (default 1 unless --inputs is given); slow inputs are findings")
    ap.add_argument("--inputs", type=int, default=None,
                    help="stop after N mutants: the same inputs on every machine, no speed check")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--every-byte", action="store_true", help="truncate every seed at every byte")
    ap.add_argument("--mem-every", type=int, default=7, help="tracemalloc every Nth input")
    ap.add_argument("--random", type=int, default=3000, help="random mutations per seed")
    ap.add_argument("--files", nargs="*", default=[], help="extra valid seed files")
    ap.add_argument("--json", help="also write the report here")
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    minutes = 1.0 if args.minutes is None and args.inputs is None else args.minutes
    rep = campaign(args.inputs, seconds=None if minutes is None else minutes * 60, seed=args.seed,
                   every_byte=args.every_byte, mem_every=args.mem_every, extra=args.files,
                   n_random=args.random, log=lambda s: print(s, file=sys.stderr, flush=True))
    s = rep.summary()
    s["seconds"] = round(time.monotonic() - t0, 1)
    s["all_mutations_done"] = rep.exhausted  # type: ignore[attr-defined]
    text = json.dumps(s, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text)
    return 1 if rep.wrong else 0


if __name__ == "__main__":
    sys.exit(main())
