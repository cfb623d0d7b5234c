"""Hardening: regressions found by the fuzzer (tools/fuzz.py), sparse validation, impostors,
and whole-or-absent outputs (ndparse.save, `ndparse convert`, `dpn-convert`)."""

from __future__ import annotations

import io
import struct

import fuzz
import numpy as np
import pytest

import ndparse
from ndbytes import V3, container, csr, npy_of, npy_raw, npz, row_sparse, tar_of, v0_head, v2_head


def _raises(data: bytes, *fragments: str) -> ndparse.NDFormatError:
    with pytest.raises(ndparse.NDFormatError) as ei:
        ndparse.load(data, mmap=False)
    for frag in fragments:
        assert frag in str(ei.value), (frag, str(ei.value))
    # a file that is something else (an archive, a page) says what it is, what was found and
    # what to do, rather than what was expected
    assert ei.value.offset is not None and (ei.value.expected or (ei.value.found and ei.value.hint))
    return ei.value


# --- regressions found by fuzzing -------------------------------------------------------
@pytest.mark.parametrize("dims", [(0, 2**62, 2**62), (0, 2**63 - 1), (2**62, 0, 4)])
def test_empty_array_with_dims_numpy_cannot_hold(dims: tuple[int, ...]) -> None:
    # was: ValueError "array is too big" from numpy at load time (zero bytes of data, so the
    # truncation check passed)
    _raises(container([v2_head(dims, magic=V3)]), "cannot be held", "overflows int64")


def test_more_dims_than_numpy_holds() -> None:
    # was: ValueError "maximum supported dimension for an ndarray is currently 64, found 65"
    # (a V0 ndim of 65 with all dims 1 is 4 + 260 + 12 + 4 bytes)
    rec = v0_head([1] * 65) + b"\0" * 4
    _raises(container([rec]), "65 dimensions")
    _raises(npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (" + "1, " * 70 + ")}\n", b"\0" * 4),
            "70 dimensions")


def test_npy_dim_larger_than_int64() -> None:
    # was: ValueError "Maximum allowed dimension exceeded"
    _raises(npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 100000000000000000000000000000000), }\n"),
            "cannot be held")


def test_deflated_member_cannot_claim_more_than_the_file_holds() -> None:
    # was: a 275-byte npz whose directory claims a 4 GB deflated member (compressed size past the
    # end of the file) passed the 1032:1 ratio check, and load() allocated 4 GB -> MemoryError
    hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000,), }"
    member = npy_raw(hdr + " " * (117 - len(hdr)) + "\n", b"\0" * 70000)
    b = bytearray(npz({"w.npy": member}, deflate=True))
    cd = b.rfind(b"PK\x01\x02")
    struct.pack_into("<II", b, cd + 20, 0xFFFFFFF0, 0xFFFFFFF0)  # compressed, uncompressed size
    struct.pack_into("<II", b, 18, 0xFFFFFFF0, 0xFFFFFFF0)
    _raises(bytes(b), "past the end of the file")


def test_deflated_member_with_patched_data_flag() -> None:
    # was: NotImplementedError "compressed patched data (flag bit 5)" from zipfile
    member = npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", b"\0" * 12)
    b = bytearray(npz({"w.npy": member}, deflate=True))
    cd = b.rfind(b"PK\x01\x02")
    struct.pack_into("<H", b, cd + 8, 0x20)
    struct.pack_into("<H", b, 6, 0x20)
    _raises(bytes(b), "cannot inflate")


@pytest.mark.parametrize("descr", ["'<f4, 01'", "'i4,(2)f8'", "'(2,3)f4'", "'<f4,<i4'", "'f4 '"])
def test_npy_descr_strings_never_reach_numpys_dtype_parser(descr: str) -> None:
    # was: SyntaxError ("leading zeros in decimal integer literals") from np.dtype('<f4, 01')
    _raises(npy_raw(f"{{'descr': {descr}, 'fortran_order': False, 'shape': (1,), }}\n", b"\0" * 16),
            "unsupported npy dtype")


# --- impostors: say what the file is and what to do ----------------------------------------
def _torch_bytes(legacy: bool) -> bytes:
    torch = pytest.importorskip("torch")
    b = io.BytesIO()
    torch.save({"w": torch.ones(2)}, b, _use_new_zipfile_serialization=not legacy)
    return b.getvalue()


def _safetensors_bytes() -> bytes:
    hdr = b'{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}'
    return struct.pack("<Q", len(hdr)) + hdr + b"\0" * 8


IMPOSTORS = {
    "git-lfs pointer": (b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"4d" * 32
                        + b"\nsize 1234567\n", "git lfs pull"),
    "html page": (b"<!DOCTYPE html>\n<html><title>Sign in</title></html>", "HTML"),
    "html with a BOM": (b"\xef\xbb\xbf\n<html><body>404</body></html>", "HTML"),
    "s3 xml error": (b'<?xml version="1.0"?><Error><Code>AccessDenied</Code></Error>', "HTML/XML"),
    "appledouble": (b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + b"\0" * 40, "'._'"),
    "empty": (b"", "empty"),
    "zeros": (b"\0" * 4096, "zero bytes"),
    "text": (b"weights are at https://example.com/dpn92.params\n", "text file"),
    "utf-16 text": ("hello".encode("utf-16"), "UTF-16"),
    "safetensors": (_safetensors_bytes(), "safetensors"),
    "symbol json": (b'{"nodes": [], "arg_nodes": [], "heads": []}', "symbol JSON"),
}


@pytest.mark.parametrize("kind", sorted(IMPOSTORS))
def test_impostor_messages(kind: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data, fragment = IMPOSTORS[kind]
    p = tmp_path / "model-0000.params"
    p.write_bytes(data)
    with pytest.raises(ndparse.NDFormatError) as ei:
        ndparse.load(p)
    assert fragment in str(ei.value) and str(p) in str(ei.value)


@pytest.mark.parametrize("legacy,fragment", [(False, "torch.load"), (True, "never unpickles")])
def test_real_torch_save_files(legacy: bool, fragment: str) -> None:
    data = _torch_bytes(legacy)
    with pytest.raises(ndparse.NDFormatError, match="(?i)pytorch|pickle") as ei:
        ndparse.load(data)
    assert fragment in str(ei.value)


def test_archives() -> None:
    import bz2
    import gzip
    import lzma

    good = ndparse.dumps({"w": np.arange(3, dtype="<f4")})
    tar = tar_of("dpn92-0000.params", good)
    _raises(tar, "tar archive")
    _raises(gzip.compress(tar), "gzip")
    _raises(bz2.compress(good), "compressed archive")
    _raises(lzma.compress(good), "compressed archive")


def test_nothing_is_ever_unpickled(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pickle

    def boom(*a, **k):  # type: ignore[no-untyped-def]
        raise AssertionError("ndparse unpickled something")

    monkeypatch.setattr(pickle, "loads", boom)
    monkeypatch.setattr(pickle, "load", boom)
    monkeypatch.setattr(pickle, "Unpickler", boom)
    obj_npy = npy_raw("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }\n",
                   b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00N.")
    _raises(obj_npy, "unsupported npy dtype")
    _raises(npz({"a.npy": obj_npy}), "unsupported npy dtype")
    with pytest.raises(ndparse.NDFormatError):
        ndparse.load(_torch_bytes(legacy=True))


# --- sparse records: indices validated, todense never writes out of bounds ---------------
@pytest.mark.parametrize("idx,fragment", [([5], "out of range"), ([-1], "out of range"),
                                          ([2**62], "out of range")])
def test_row_sparse_index_out_of_range(idx: list[int], fragment: str) -> None:
    _raises(container([row_sparse(np.ones((1, 2), "<f4"), idx, (5, 2))]), fragment)


def test_row_sparse_unsorted_rows_warn_and_todense_keeps_the_last() -> None:
    data = container([row_sparse(np.array([[1, 1], [2, 2]], "<f4"), [3, 3], (5, 2))])
    with pytest.warns(ndparse.NDFormatWarning, match="not strictly increasing"):
        (rs,) = ndparse.load(data)
    assert rs.todense()[3].tolist() == [2, 2] and rs.todense().sum() == 4


@pytest.mark.parametrize("indptr,indices,fragment", [
    ([0, 1, 2], [0, 4], "column index out of range"),
    ([0, 1, 2], [0, -1], "column index out of range"),
    ([0, 2, 1], [0, 1], "indptr"),            # decreasing
    ([1, 1, 2], [0, 1], "start at 0"),         # does not start at 0
    ([0, 1, 3], [0, 1], "indptr"),             # ends past nnz
    ([0, -2**63, 2], [0, 1], "indptr"),        # hostile pointer
])
def test_csr_bad_parts(indptr: list[int], indices: list[int], fragment: str) -> None:
    _raises(container([csr(np.ones(len(indices), "<f4"), indptr, indices, (2, 4))]), fragment)


def test_csr_unsorted_columns_warn_and_todense_is_in_bounds() -> None:
    data = container([csr(np.array([1, 2, 3], "<f4"), [0, 2, 3], [3, 1, 0], (2, 4))])
    with pytest.warns(ndparse.NDFormatWarning, match="not strictly increasing"):
        (m,) = ndparse.load(data)
    assert m.todense().tolist() == [[0, 2, 0, 1], [3, 0, 0, 0]]


def test_sparse_constructors_validate_too() -> None:
    with pytest.raises(ndparse.NDFormatError, match="out of range"):
        ndparse.RowSparseArray(np.ones((1, 2)), np.array([9]), (3, 2))
    with pytest.raises(ndparse.NDFormatError, match="out of range"):
        ndparse.CSRArray(np.ones(1), np.array([0, 1]), np.array([7]), (1, 3))
    with pytest.raises(ndparse.NDFormatError):
        ndparse.CSRArray(np.ones(2), np.array([0, 3]), np.array([0, 1]), (1, 3))


def test_sparse_npz_index_checks() -> None:
    members = fuzz.MXNET_SPARSE_MEMBERS
    assert {k: type(v) for k, v in ndparse.load(npz(members)).items()} == {
        "w": np.ndarray, "m": ndparse.CSRArray, "r": ndparse.RowSparseArray}
    bad = dict(members)
    bad["r/indices.npy"] = npy_of(np.array([1, 5], "<i8"))  # 5 rows only
    with pytest.raises(ndparse.NDFormatError, match="out of range"):
        ndparse.load(npz(bad))
    bad = dict(members)
    bad["m/indptr.npy"] = npy_of(np.array([0, 2, 2, 9], "<i8"))
    with pytest.raises(ndparse.NDFormatError, match="indptr"):
        ndparse.load(npz(bad))


@pytest.mark.parametrize("shape", [(2**62, 0), (2**61, 3, 0)])
def test_sparse_logical_shape_numpy_cannot_hold(shape: tuple[int, ...]) -> None:
    # was (found by the atheris target): the record loaded, then todense() raised numpy's
    # ValueError "array is too big" for a row_sparse shape (4539633921947598850, 0)
    rec = row_sparse(np.zeros((0,) + shape[1:], "<f8"), [], shape, code=1)
    _raises(container([rec]), "logical shape cannot be held")
    with pytest.raises(ndparse.NDFormatError):
        ndparse.CSRArray(np.zeros(0), np.zeros(1, np.int64), np.zeros(0, np.int64), (0, 2**63 - 1))
