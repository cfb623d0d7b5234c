"""Crafted bad files: every error path gives NDFormatError naming file, offset, expected/found."""

from __future__ import annotations

import gzip
import io
import struct

import fuzz
import numpy as np
import pytest

import ndparse
from ndbytes import (V2, V3, container, context, csr, header, i32, names_section, none_v0, npy_raw,
                     npz, row_sparse, shape64, tar_of, u32, v0, v2, v2_head)

GOOD = container([v2(np.arange(6, dtype="<f4"), 0)], ["w"])


def _raises(data: bytes, *fragments: str, tmp_path=None) -> ndparse.NDFormatError:  # type: ignore[no-untyped-def]
    src = data
    if tmp_path is not None:
        p = tmp_path / "bad.params"
        p.write_bytes(data)
        src = p
    with pytest.raises(ndparse.NDFormatError) as ei:
        ndparse.load(src)
    msg = str(ei.value)
    for frag in fragments:
        assert frag in msg, (frag, msg)
    assert isinstance(ei.value, ValueError)
    return ei.value


def test_message_names_file_offset_expected_found(tmp_path) -> None:  # type: ignore[no-untyped-def]
    err = _raises(GOOD[:40], "bad.params", "at byte 36", "truncated", "expected", "found",
                  tmp_path=tmp_path)
    assert err.file and err.file.endswith("bad.params") and err.offset == 36


@pytest.mark.parametrize("cut", [1, 7, 8, 23, 24, 27, 30, 44, 60, 79, 80, 85, 90, 96])
def test_truncated_anywhere(cut: int) -> None:
    _raises(GOOD[:cut])


def test_empty_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _raises(b"", "empty", tmp_path=tmp_path)


def test_bad_header() -> None:
    _raises(struct.pack("<QQQ", 0x113, 0, 0) + b"\0" * 8, "0x112")


def test_names_count_mismatch() -> None:
    bad = container([v2(np.ones(1, "<f4"), 0)] * 2, ["a"])
    assert bad.endswith(struct.pack("<QQ", 1, 1) + b"a")
    _raises(bad, "names count", "0 or 2", "found 1")


def test_names_missing() -> None:
    _raises(container([v2(np.ones(1, "<f4"), 0)])[:-8], "names")


@pytest.mark.parametrize("code", [13, -1, 255])
def test_unknown_type_code(code: int) -> None:
    _raises(container([v2(np.ones(1, "<f4"), code)]), "type_flag", f"found {code}")


def test_unknown_stype() -> None:
    rec = v2_head((1,), stype=5) + b"\0" * 4
    _raises(container([rec]), "storage type", "found 5")


def test_uninitialised_save_leftover() -> None:
    data = header(1) + u32(V2) + i32(-1)
    assert len(data) == 32
    _raises(data, "uninitialised")


def test_negative_dim() -> None:
    _raises(container([v2_head((2, -3))]), "negative", "(2, -3)")
    _raises(container([v2_head((2, -2), magic=V3)]), "negative")


@pytest.mark.parametrize("field", ["n_arrays", "ndim", "dim", "name_len", "n_names", "v0_ndim"])
@pytest.mark.parametrize("value", [2**31 - 1, 2**32 - 1, 2**63 - 1, 2**64 - 1])
def test_hostile_counts_never_allocate(field: str, value: int) -> None:
    rec = v2(np.ones(2, "<f4"), 0)
    if field == "n_arrays":
        data = header(value) + rec + names_section([])
    elif field == "ndim":
        data = container([struct.pack("<Iii", V2, 0, value & 0x7FFFFFFF) + rec[12:]])
    elif field == "dim":
        data = container([struct.pack("<Iiiq", V2, 0, 1, value & (2**63 - 1)) + rec[20:]])
    elif field == "name_len":
        data = container([rec])[:-8] + struct.pack("<QQ", 1, value) + b"w"
    elif field == "n_names":
        data = container([rec])[:-8] + struct.pack("<Q", value)
    else:
        data = container([struct.pack("<I", value & 0xFFFFFFFF) + b"\0" * 64])
    _raises(data)


def test_product_overflow_of_dims() -> None:
    dims = (2**31, 2**31, 2**31, 2**31)
    _raises(container([v2_head(dims)]), "truncated")


def test_csr_must_be_2d_and_aux_must_be_int() -> None:
    rec = u32(V2) + i32(2) + shape64((1,)) + shape64((3,)) + context() + i32(0)
    _raises(container([rec]), "csr array must be 2-D")
    good = row_sparse(np.ones((1, 2), "<f4"), [0], (3, 2))
    i = good.index(i32(6) + shape64((1,)))  # the aux type: int64 -> float32
    bad = good[:i] + i32(0) + good[i + 4:]
    _raises(container([bad]), "must be integer")


def test_out_of_range_sparse_indices_are_rejected() -> None:
    _raises(container([row_sparse(np.ones((1, 2), "<f4"), [7], (5, 2))]), "row index out of range")
    _raises(container([csr(np.ones(2, "<f4"), [0, 1, 2], [0, 9], (2, 4))]), "column index out of range")
    _raises(container([csr(np.ones(2, "<f4"), [0, 2, 1], [0, 1], (2, 4))]), "indptr")


@pytest.mark.parametrize("data,fragment", [
    (b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 1234\n", "git lfs pull"),
    (b"<!DOCTYPE html><html><body>Quota exceeded</body></html>", "HTML"),
    (b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01.", "pickle"),
    (gzip.compress(GOOD), "gzip"),
    (b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ", "AppleDouble"),
    (b"hello, this is just some text\n", "text file"),
    (b'{"nodes": [{"op": "null", "name": "data", "inputs": []}]}', "symbol JSON"),
    (b"\xde\xad\xbe\xef" * 8, "Invalid NDArray file format"),
])
def test_impostors_say_what_they_are(data: bytes, fragment: str) -> None:
    _raises(data, fragment)


def test_tar_and_torch_zip() -> None:
    _raises(tar_of("dpn92-0000.params", GOOD), "tar")
    _raises(npz({"archive/data.pkl": b"\x80\x02}q\x00.", "archive/version": b"3\n"}), "PyTorch")


def test_v0_garbage_ndim_message() -> None:
    _raises(container([struct.pack("<I", 0x12345678) + b"\0" * 16]), "not a known record magic")


def test_npy_errors() -> None:
    good = npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", b"\0" * 16)
    assert ndparse.load(good)[0].shape == (4,)
    _raises(good[:-1], "truncated npy data")
    _raises(good.replace(b"'<f4'", b"'|O8'"), "unsupported npy dtype")
    _raises(good.replace(b"(4,)", b"(-4)"), "bad npy shape")
    _raises(good.replace(b"{'descr'", b"[1, 2 ]"), "npy header")
    _raises(b"\x93NUMPY\x09\x00" + good[8:], "npy format version")
    big = b"\x93NUMPY\x02\x00" + struct.pack("<I", 2**31) + b"{"  # HEADER_LEN 2 GiB, 1 byte there
    _raises(big, "too large")


def test_npz_errors() -> None:
    buf = io.BytesIO()
    np.savez(buf, a=np.arange(10, dtype="<f4"))
    good = buf.getvalue()
    assert ndparse.load(good)["a"].tolist() == list(range(10))
    _raises(good[: len(good) // 2])
    _raises(good[:-10])


def test_no_other_exception_type_on_random_mutations() -> None:
    rng = np.random.default_rng(0)
    base = container([v2(np.ones((2, 3), "<f4"), 0), row_sparse(np.ones((1, 3), "<f4"), [1], (2, 3)),
                      csr(np.ones(1, "<f4"), [0, 1, 1], [2], (2, 3)), v0(np.ones(2, "<f8"), 1)],
                     ["a", "b", "c", "d"])
    kinds = {"ok": 0, "error": 0}
    for i in range(2000):
        b = bytearray(base)
        for _ in range(rng.integers(1, 4)):
            pos = int(rng.integers(0, len(b)))
            b[pos] = int(rng.integers(0, 256))
        out = fuzz.run_one(bytes(b))  # a correct load, or NDFormatError with offset/expected/found
        assert out.kind in kinds, f"mutant {i}: {out.detail}"
        kinds[out.kind] += 1
    # both outcomes happen: edits inside payloads load, edits of structure are refused
    assert kinds["ok"] >= 100 and kinds["error"] >= 100, kinds


def test_zero_filled_tail_is_an_incomplete_file() -> None:
    """A preallocated or interrupted download: the zeros after the written part would parse as
    V0 none records and an empty names vector; that must not load as a list of Nones."""
    good = container([v2(np.arange(6, dtype="<f4"), 0), v2(np.ones(100, "<f4"), 0),
                      v2(np.ones(100, "<f4"), 0)], ["a", "b", "c"])
    _raises(good[:80] + bytes(4 * len(good)), "incompletely written", "at byte 80")
    # genuine V0 none records followed by real names still load
    out = ndparse.load(container([none_v0(), v2(np.ones(2, "<f4"), 0)], ["n", "w"]))
    assert out["n"] is None and out["w"].tolist() == [1.0, 1.0]
