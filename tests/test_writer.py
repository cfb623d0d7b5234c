"""ndparse.save: exact MXNet bytes, round trips for every dtype and layout, atomic writes."""

from __future__ import annotations

import os

import ml_dtypes
import numpy as np
import pytest

import ndparse
from helpers import ALL_CODES, E1
from ndbytes import V2, V3, bits_equal, container, csr, row_sparse, v2


def test_e1_bytes_exact() -> None:
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert ndparse.dumps([x]) == E1
    assert ndparse.dumps(x) == E1  # a bare array is saved as [x]
    assert ndparse.dumps({"w": x}) == E1[:-8] + bytes.fromhex("0100000000000000" "0100000000000000") + b"w"


def test_empty_dict_is_empty_list() -> None:
    assert ndparse.dumps({}) == ndparse.dumps([]) and len(ndparse.dumps([])) == 32


def test_sparse_bytes_match_spec_examples() -> None:
    rs = ndparse.RowSparseArray(np.array([[1, 2], [3, 4]], "<f4"), np.array([1, 3]), (5, 2))
    assert ndparse.dumps([rs]) == container([row_sparse(np.array([[1, 2], [3, 4]], "<f4"), [1, 3], (5, 2))])
    m = ndparse.CSRArray(np.array([1, 2, 3], "<f4"), np.array([0, 2, 2, 3]), np.array([0, 2, 1]), (3, 4))
    assert ndparse.dumps([m]) == container([csr(np.array([1, 2, 3], "<f4"), [0, 2, 2, 3], [0, 2, 1], (3, 4))])


@pytest.mark.parametrize("code", sorted(ALL_CODES))
@pytest.mark.parametrize("np_shape", [False, True])
def test_round_trip_every_dtype(code: int, np_shape: bool) -> None:
    dt = np.dtype(ALL_CODES[code])
    rng = np.random.default_rng(100 + code)
    raw = rng.integers(0, 256, size=3 * 5 * dt.itemsize, dtype=np.uint8)
    arr = raw.view(dt).reshape(3, 5) if dt.kind != "b" else (raw & 1).astype("?").reshape(3, 5)
    data = ndparse.dumps({"x": arr, "y": arr[:, ::2]}, np_shape=np_shape)
    magic = V3 if np_shape else V2
    assert data == container([v2(arr, code, magic=magic),
                              v2(np.ascontiguousarray(arr[:, ::2]), code, magic=magic)], ["x", "y"])
    back = ndparse.load(data)
    assert bits_equal(back["x"], arr) and bits_equal(back["y"], np.ascontiguousarray(arr[:, ::2]))


def test_v3_scalars_and_zero_size() -> None:
    d = {"s": np.array(3.5, np.float32), "z": np.zeros((0, 3), np.int64)}
    back = ndparse.load(ndparse.dumps(d, np_shape=True))
    assert back["s"].shape == () and float(back["s"]) == 3.5 and back["z"].shape == (0, 3)
    with pytest.raises(ValueError, match="np_shape=True"):
        ndparse.dumps([np.array(1.0)])


def test_refusals() -> None:
    with pytest.raises(TypeError, match="no MXNet type code"):
        ndparse.dumps([np.zeros(2, np.complex64)])
    with pytest.raises(ValueError, match="None"):
        ndparse.dumps([None])  # type: ignore[list-item]
    rs = ndparse.RowSparseArray(np.ones((1, 2), "<f4"), np.array([0]), (2, 2))
    with pytest.raises(ValueError, match="sparse"):
        ndparse.dumps([rs], np_shape=True)


def test_big_endian_and_structured_bf16_inputs() -> None:
    be = np.arange(4, dtype=">f4")
    assert ndparse.load(ndparse.dumps([be]))[0].tolist() == [0, 1, 2, 3]
    mx_bf16 = np.array([16256, 16384], "<u2").view([("bfloat16", "<u2")])
    out = ndparse.load(ndparse.dumps([mx_bf16]))[0]
    assert out.dtype == ml_dtypes.bfloat16 and out.astype(np.float32).tolist() == [1.0, 2.0]


def test_save_is_atomic(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "w.params"
    ndparse.save(p, {"a": np.ones(3, np.float32)})
    before = p.read_bytes()
    with pytest.raises(TypeError):
        ndparse.save(p, {"a": np.ones(3, np.float32), "b": np.zeros(2, np.complex128)})
    assert p.read_bytes() == before

    def failing_fsync(*a, **k):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    import ndparse._atomic as at
    monkeypatch.setattr(at.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="No space"):
        ndparse.save(p, {"a": np.zeros(3, np.float32)})
    monkeypatch.undo()
    assert p.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["w.params"]  # no temporary left behind


def test_save_to_file_object_and_load_back(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import io

    buf = io.BytesIO()
    ndparse.save(buf, [np.arange(3, dtype=np.int32)])
    assert ndparse.load(buf.getvalue())[0].tolist() == [0, 1, 2]


@pytest.mark.parametrize("dtype", ["<i2", "<u2", "<u4", "<u8"])
def test_codes_1_9_1_cannot_read_warn(dtype: str) -> None:
    with pytest.warns(ndparse.NDFormatWarning, match="MXNet 2.x only"):
        data = ndparse.dumps({"x": np.arange(3, dtype=dtype)})
    assert ndparse.load(data)["x"].tolist() == [0, 1, 2]
