"""Hardening: regressions found by the fuzzer (tools/fuzz.py), sparse validation, impostors,
and whole-or-absent outputs (ndparse.save, `ndparse convert`, `dpn-convert`)."""

from __future__ import annotations

import errno
import io
import os
import struct
import zipfile

import numpy as np
import pytest

import ndparse
from ndbytes import V2, V3, container, csr, row_sparse, shape64, v0, v2


def _raises(data: bytes, *fragments: str) -> ndparse.NDFormatError:
    with pytest.raises(ndparse.NDFormatError) as ei:
        ndparse.load(data, mmap=False)
    for frag in fragments:
        assert frag in str(ei.value), (frag, str(ei.value))
    assert ei.value.offset is not None and ei.value.expected is not None
    return ei.value


def _npy(header: str, payload: bytes = b"") -> bytes:
    raw = header.encode("latin1")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(raw)) + raw + payload


# --- regressions found by fuzzing -------------------------------------------------------
@pytest.mark.parametrize("dims", [(0, 2**62, 2**62), (0, 2**63 - 1), (2**62, 0, 4)])
def test_empty_array_with_dims_numpy_cannot_hold(dims: tuple[int, ...]) -> None:
    # was: ValueError "array is too big" from numpy at load time (zero bytes of data, so the
    # truncation check passed)
    rec = struct.pack("<Ii", V3, 0) + shape64(dims) + struct.pack("<iii", 1, 0, 0)
    _raises(container([rec]), "cannot be held", "overflows int64")


def test_more_dims_than_numpy_holds() -> None:
    # was: ValueError "maximum supported dimension for an ndarray is currently 64, found 65"
    # (a V0 ndim of 65 with all dims 1 is 4 + 260 + 12 + 4 bytes)
    rec = struct.pack("<66I", 65, *([1] * 65)) + struct.pack("<iii", 1, 0, 0) + b"\0" * 4
    _raises(container([rec]), "65 dimensions")
    _raises(_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (" + "1, " * 70 + ")}\n", b"\0" * 4),
            "70 dimensions")


def test_npy_dim_larger_than_int64() -> None:
    # was: ValueError "Maximum allowed dimension exceeded"
    _raises(_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 100000000000000000000000000000000), }\n"),
            "cannot be held")


def _deflated_npz(member: bytes, name: str = "w.npy") -> bytearray:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, member)
    return bytearray(buf.getvalue())


def test_deflated_member_cannot_claim_more_than_the_file_holds() -> None:
    # was: a 275-byte npz whose directory claims a 4 GB deflated member (compressed size past the
    # end of the file) passed the 1032:1 ratio check, and load() allocated 4 GB -> MemoryError
    hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000,), }"
    member = _npy(hdr + " " * (117 - len(hdr)) + "\n", b"\0" * 70000)
    b = _deflated_npz(member)
    cd = b.rfind(b"PK\x01\x02")
    struct.pack_into("<II", b, cd + 20, 0xFFFFFFF0, 0xFFFFFFF0)  # compressed, uncompressed size
    struct.pack_into("<II", b, 18, 0xFFFFFFF0, 0xFFFFFFF0)
    _raises(bytes(b), "past the end of the file")


def test_deflated_member_with_patched_data_flag() -> None:
    # was: NotImplementedError "compressed patched data (flag bit 5)" from zipfile
    b = _deflated_npz(_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", b"\0" * 12))
    cd = b.rfind(b"PK\x01\x02")
    struct.pack_into("<H", b, cd + 8, 0x20)
    struct.pack_into("<H", b, 6, 0x20)
    _raises(bytes(b), "cannot inflate")


@pytest.mark.parametrize("descr", ["'<f4, 01'", "'i4,(2)f8'", "'(2,3)f4'", "'<f4,<i4'", "'f4 '"])
def test_npy_descr_strings_never_reach_numpys_dtype_parser(descr: str) -> None:
    # was: SyntaxError ("leading zeros in decimal integer literals") from np.dtype('<f4, 01')
    _raises(_npy(f"{{'descr': {descr}, 'fortran_order': False, 'shape': (1,), }}\n", b"\0" * 16),
            "unsupported npy dtype")
