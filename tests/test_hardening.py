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
