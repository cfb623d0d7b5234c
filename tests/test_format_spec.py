"""The worked byte examples and layouts of FORMAT.md, decoded from hand-built bytes."""

from __future__ import annotations

import io
import struct

import ml_dtypes
import numpy as np
import pytest

import ndparse
from helpers import ALL_CODES, E1
from ndbytes import (V3, bits_equal, container, csr, none_v0, none_v1, none_v2, none_v3_dim,
                     row_sparse, v0, v1, v2)


def test_e1_v2_dense_list() -> None:
    out = ndparse.load(E1)
    assert isinstance(out, list) and len(out) == 1
    assert bits_equal(out[0], np.arange(6, dtype="<f4").reshape(2, 3))


def test_e2_named_and_utf8_name() -> None:
    data = E1[:0x58] + struct.pack("<QQ", 1, 1) + b"w"
    assert len(data) == 105
    out = ndparse.load(data)
    assert list(out) == ["w"]
    data = E1[:0x58] + struct.pack("<QQ", 1, 6) + "héllo".encode()
    assert list(ndparse.load(data)) == ["héllo"]


@pytest.mark.parametrize("code", sorted(ALL_CODES))
@pytest.mark.parametrize("maker", ["v0", "v1", "v2", "v3"])
def test_every_type_code_in_every_record_version(code: int, maker: str) -> None:
    dt = np.dtype(ALL_CODES[code])
    rng = np.random.default_rng(code)
    raw = rng.integers(0, 256, size=2 * 3 * 4 * dt.itemsize, dtype=np.uint8)
    arr = raw.view(dt).reshape(2, 3, 4) if dt.kind != "b" else (raw[:24] & 1).astype("?").reshape(2, 3, 4)
    rec = {"v0": lambda: v0(arr, code), "v1": lambda: v1(arr, code),
           "v2": lambda: v2(arr, code), "v3": lambda: v2(arr, code, magic=V3)}[maker]()
    out = ndparse.load(container([rec], ["a"]))
    assert out["a"].dtype == dt and bits_equal(out["a"], arr)


def test_e4_payloads() -> None:
    f16 = ndparse.load(container([v2(np.array([1, 0, 1, 1], "<f2"), 2)]))[0]
    assert f16.tobytes().hex() == "003c0000003c003c"
    for code, dt in ((3, "u1"), (5, "i1"), (7, "?")):
        a = ndparse.load(container([v2(np.array([1, 0, 1, 1], dt), code)]))[0]
        assert a.dtype == np.dtype(dt) and a.tobytes() == b"\x01\x00\x01\x01"


def test_bfloat16_bytes() -> None:
    rec = v2(np.frombuffer(bytes.fromhex("803f0040 60c0".replace(" ", "")), "<u2"), 12)
    a = ndparse.load(container([rec]))[0]
    assert a.dtype == np.dtype(ml_dtypes.bfloat16)
    assert a.astype(np.float32).tolist() == [1.0, 2.0, -3.5]
    assert a.view("<u2").tolist() == [16256, 16384, 49248]


def test_e5_v3_scalar_and_zero_size() -> None:
    scalar = bytes.fromhex("cafa93f9 00000000 00000000 0100000000000000 00000000 00006040"
                           .replace(" ", ""))
    zero = v2(np.zeros((0, 3), "<f4"), 0, magic=V3)
    out = ndparse.load(container([scalar, zero], ["s", "z"]))
    assert out["s"].shape == () and out["s"].dtype == np.float32 and float(out["s"]) == 3.5
    assert out["z"].shape == (0, 3) and out["z"].dtype == np.float32


def test_v2_zero_dim_is_zero_size() -> None:
    out = ndparse.load(container([v2(np.zeros((2, 0, 5), "<f8"), 1), v2(np.ones(3, "<f4"), 0)]))
    assert out[0].shape == (2, 0, 5) and out[0].dtype == np.float64
    assert out[1].tolist() == [1, 1, 1]


@pytest.mark.parametrize("none", [none_v0, none_v1, none_v2, none_v3_dim],
                         ids=["V0", "V1", "V2", "V3-1dim"])
def test_none_records_skip_to_next(none) -> None:  # type: ignore[no-untyped-def]
    after = v2(np.arange(4, dtype="<i4"), 4)
    out = ndparse.load(container([none(), after, none()], ["a", "b", "c"]))
    assert out["a"] is None and out["c"] is None
    assert out["b"].tolist() == [0, 1, 2, 3]


def test_v3_ndim_minus_one_is_none() -> None:
    rec = struct.pack("<Iii", V3, 0, -1)
    out = ndparse.load(container([rec, v2(np.ones(1, "<f4"), 0)]))
    assert out[0] is None and out[1].tolist() == [1.0]


def test_e7_row_sparse() -> None:
    data = container([row_sparse(np.array([[1, 2], [3, 4]], "<f4"), [1, 3], (5, 2))])
    assert len(data) == 140
    rs = ndparse.load(data)[0]
    assert isinstance(rs, ndparse.RowSparseArray) and rs.stype == "row_sparse"
    assert rs.shape == (5, 2) and rs.dtype == np.float32
    assert rs.indices.tolist() == [1, 3] and rs.indices.dtype == np.int64
    assert rs.todense().tolist() == [[0, 0], [1, 2], [0, 0], [3, 4], [0, 0]]


def test_row_sparse_stale_storage_shape_aux_wins() -> None:
    vals = np.arange(6, dtype="<f4").reshape(3, 2)
    rs = ndparse.load(container([row_sparse(vals, [0, 2, 4], (5, 2), storage=(2, 2))]))[0]
    assert rs.data.shape == (3, 2) and bits_equal(rs.data, vals)


def test_row_sparse_int32_aux() -> None:
    rs = ndparse.load(container([row_sparse(np.ones((1, 3), "<f4"), [2], (4, 3), aux_code=4)]))[0]
    assert rs.indices.dtype == np.int32 and rs.todense()[2].tolist() == [1, 1, 1]


def test_e8_csr() -> None:
    data = container([csr(np.array([1, 2, 3], "<f4"), [0, 2, 2, 3], [0, 2, 1], (3, 4))])
    assert len(data) == 184
    m = ndparse.load(data)[0]
    assert isinstance(m, ndparse.CSRArray) and m.shape == (3, 4)
    assert m.todense().tolist() == [[1, 0, 2, 0], [0, 0, 0, 0], [0, 3, 0, 0]]


def test_to_scipy_when_installed() -> None:
    pytest.importorskip("scipy.sparse")
    m = ndparse.load(container([csr(np.array([1, 2, 3], "<f4"), [0, 2, 2, 3], [0, 2, 1], (3, 4))]))[0]
    assert (m.to_scipy().toarray() == m.todense()).all()
    rs = ndparse.load(container([row_sparse(np.array([[1, 2]], "<f4"), [1], (3, 2))]))[0]
    assert (rs.to_scipy().toarray() == rs.todense()).all()


def test_empty_csr() -> None:
    m = ndparse.load(container([csr(np.zeros(0, "<f4"), [0, 0, 0], [], (2, 5))]))[0]
    assert m.data.shape == (0,) and m.todense().shape == (2, 5) and not m.todense().any()


def test_e9_v1_and_e10_v0() -> None:
    x = np.arange(100 * 100, dtype="<f4").reshape(100, 100)
    out = ndparse.load(container([v1(x, 0), v1(-x, 0)], ["X", "Y"]))
    assert list(out) == ["X", "Y"] and bits_equal(out["Y"], -x)
    recs = [v0(np.full(16, i, "<f4"), 0) for i in range(13)]
    out = ndparse.load(container(recs))
    assert len(out) == 13 and out[12].tolist() == [12.0] * 16


def test_mixed_versions_in_one_file() -> None:
    a = np.arange(5, dtype="<f4")
    recs = [v0(a, 0), v1(a * 2, 0), v2(a * 3, 0), v2(a * 4, 0, magic=V3)]
    out = ndparse.load(container(recs, ["0", "1", "2", "3"]))
    for i, k in enumerate("0123"):
        assert out[k].tolist() == (a * (i + 1)).tolist()
    with ndparse.open(container(recs)) as f:
        assert f.record_versions == (0, 1, 2, 3)


def test_e11_bare_record() -> None:
    raw = bytes.fromhex("c9fa93f9 00000000 01000000 0200000000000000 01000000 00000000 "
                        "00000000 0000803f 00000040".replace(" ", ""))
    out = ndparse.load(raw)
    assert len(out) == 1 and out[0].tolist() == [1.0, 2.0]


def test_empty_list_and_dict_and_duplicates() -> None:
    assert ndparse.load(container([])) == []
    a, b = v2(np.ones(1, "<f4"), 0), v2(np.zeros(1, "<f4"), 0)
    out = ndparse.load(container([a, b, a], ["k", "m", "k"]))
    assert list(out) == ["k", "m"] and out["k"].tolist() == [1.0]
    out = ndparse.load(container([a, b], ["k", "k"]))
    assert list(out) == ["k"] and out["k"].tolist() == [0.0]  # the last one wins
    assert list(ndparse.load(container([a], [""]))) == [""]


@pytest.mark.parametrize("name", ["conv3_x__1_c1x1-w(s/2)__bn__bn_gamma", "aux:c:d", "日本語🙂é",
                                  "", "n" * 3000, "tab\tand\nnewline"])
def test_names(name: str) -> None:
    out = ndparse.load(container([v2(np.ones(2, "<f4"), 0)], [name]))
    assert list(out) == [name]


def test_any_context_and_oddities_are_accepted() -> None:
    recs = [v2(np.ones(2, "<f4"), 0, ctx=(2, 3)), v0(np.ones(2, "<f4"), 0, ctx=(9, 7))]
    with pytest.warns(ndparse.NDFormatWarning, match="reserved"):
        with pytest.warns(ndparse.NDFormatWarning, match="trailing"):
            out = ndparse.load(container(recs, reserved=12345, trailing=b"junk"))
    assert [o.tolist() for o in out] == [[1, 1], [1, 1]]


def test_unaligned_payload_is_correct_and_aligned() -> None:
    recs = [v2(np.array([1, 2, 3], "u1"), 3), v2(np.array([np.pi], "<f8"), 1)]
    data = container(recs)
    assert data.index(np.array([np.pi], "<f8").tobytes()) % 8 == 3  # FORMAT.md §8 example
    out = ndparse.load(data)
    assert out[1][0] == np.pi and out[1].flags.aligned


def test_nan_payloads_and_negative_zero_are_bit_exact() -> None:
    bits = np.array([0x7FC00000, 0x7F800001, 0xFFC00001, 0x80000000, 0x00000001, 0x7F800000],
                    "<u4")
    out = ndparse.load(container([v2(bits.view("<f4"), 0)]))
    assert out[0].view("<u4").tolist() == bits.tolist()


def test_high_rank() -> None:
    x = np.arange(2 ** 8, dtype="<i8").reshape((2,) * 8)
    y = np.ones((1,) * 12, "<f4")
    out = ndparse.load(container([v2(x, 6), v0(y, 0)]))
    assert bits_equal(out[0], x) and out[1].shape == (1,) * 12


@pytest.mark.parametrize("kind", ["path", "bytes", "bytearray", "memoryview", "fileobj"])
@pytest.mark.parametrize("use_mmap", [True, False])
def test_sources(tmp_path, kind: str, use_mmap: bool) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "e1.params"
    p.write_bytes(E1)
    src = {"path": p, "bytes": E1, "bytearray": bytearray(E1), "memoryview": memoryview(E1),
           "fileobj": io.BytesIO(E1)}[kind]
    out = ndparse.load(src, mmap=use_mmap)
    assert out[0].tolist() == [[0, 1, 2], [3, 4, 5]]
    if kind == "path" and not use_mmap:
        assert out[0].flags.writeable  # read into memory, not a view of a mapping
    if kind == "path" and use_mmap:
        assert not out[0].flags.writeable  # a read-only view of the mapped file


def test_import_does_not_pull_torch() -> None:
    import subprocess
    import sys

    code = "import sys, ndparse; ndparse.load(bytes.fromhex('%s')); print('torch' in sys.modules)" % E1.hex()
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False"
