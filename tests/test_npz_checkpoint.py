"""MXNet 2.x npy/npz quirks built by hand from FORMAT.md §11, and load_checkpoint (§10)."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

import ndparse
from ndbytes import container, format_npy, npy, npz, v2


def test_format_npy_really_is_malformed_for_numpy() -> None:
    with pytest.raises(ValueError):
        np.load(io.BytesIO(format_npy("csr")))


@pytest.mark.parametrize("descr", [[("bfloat16", "<u2")], "<b2"])
def test_bfloat16_npy_both_spellings(descr: object) -> None:
    out = ndparse.load(npy(descr, (3,), bytes.fromhex("803f004060c0")))
    assert isinstance(out, list) and out[0].dtype == ml_dtypes.bfloat16
    assert out[0].astype(np.float32).tolist() == [1.0, 2.0, -3.5]


def test_long_header_and_version_2() -> None:
    payload = np.arange(6, dtype="<f4").tobytes()
    long_hdr = npy("<f4", (2, 3), payload, min_len=300)
    assert struct.unpack_from("<H", long_hdr, 8)[0] >= 256  # MXNet misreads such a header
    assert ndparse.load(long_hdr)[0].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert ndparse.load(npy("<f4", (2, 3), payload, version=2))[0].shape == (2, 3)


def test_npz_sparse_folders_grouping_and_order() -> None:
    i8 = lambda xs: np.array(xs, "<i8").tobytes()  # noqa: E731
    members = {
        "zeta.npy": npy("<f4", (2,), np.array([1, 2], "<f4").tobytes()),
        "m/data.npy": npy("<f8", (3,), np.array([1, 2, 3], "<f8").tobytes()),
        "m/indptr.npy": npy("<i8", (4,), i8([0, 2, 2, 3])),
        "m/indices.npy": npy("<i8", (3,), i8([0, 2, 1])),
        "m/shape.npy": npy("<i8", (2,), i8([3, 4])),
        "m/format.npy": format_npy("csr"),
        "r/data.npy": npy("<f4", (1, 2), np.array([[5, 6]], "<f4").tobytes()),
        "r/indices.npy": npy("<i8", (1,), i8([2])),
        "r/shape.npy": npy("<i8", (2,), i8([4, 2])),
        "r/format.npy": format_npy("row_sparse"),
        "alpha.npy": npy("|b1", (2,), b"\x01\x00"),
        "arg:0.weight.npy": npy("<f2", (1,), np.array([0.5], "<f2").tobytes()),
        "notes.txt": b"skipped: not .npy",
        "dense/x.npy": npy("<i4", (1,), np.array([7], "<i4").tobytes()),
    }
    out = ndparse.load(npz(members))
    assert isinstance(out, dict)
    # top-level members sorted within their folder (std::set order), then the folders
    assert list(out) == ["alpha", "arg:0.weight", "zeta", "m", "r", "dense/x"]
    m, r = out["m"], out["r"]
    assert isinstance(m, ndparse.CSRArray) and m.todense().tolist() == [[1, 0, 2, 0], [0, 0, 0, 0], [0, 3, 0, 0]]
    assert isinstance(r, ndparse.RowSparseArray) and r.todense().tolist() == [[0, 0], [0, 0], [5, 6], [0, 0]]
    assert out["alpha"].dtype == np.bool_ and out["dense/x"].tolist() == [7]
    deflated = ndparse.load(npz(members, deflate=True))
    assert deflated["m"].todense().tolist() == m.todense().tolist()


def test_npz_unsupported_sparse_formats() -> None:
    members = {f"c/{k}.npy": npy("<i8", (1,), b"\0" * 8) for k in ("data", "row", "col", "shape")}
    members["c/format.npy"] = format_npy("coo")
    with pytest.raises(ndparse.NDFormatError, match="coo"):
        ndparse.load(npz(members))
    members = {f"b/{k}.npy": npy("<i8", (1,), b"\0" * 8) for k in ("data", "indptr", "indices", "shape")}
    members["b/format.npy"] = format_npy("bsr")
    with pytest.raises(ndparse.NDFormatError, match="bsr"):
        ndparse.load(npz(members))


def test_empty_npz_is_empty_list() -> None:
    assert ndparse.load(npz({})) == []


def test_zip_bomb_declared_size_refused() -> None:
    data = bytearray(npz({"a.npy": npy("<f4", (4,), b"\0" * 16)}, deflate=True))
    cd = data.rindex(b"PK\x01\x02")
    struct.pack_into("<I", data, cd + 24, 2**31)  # uncompressed size in the central directory
    with pytest.raises(ndparse.NDFormatError, match="deflate"):
        ndparse.load(bytes(data))


def _checkpoint(tmp_path: Path, keys: dict[str, np.ndarray], symbol: object = None) -> Path:
    prefix = tmp_path / "net"
    ndparse.save(f"{prefix}-0003.params", keys)
    if symbol is not None:
        Path(f"{prefix}-symbol.json").write_text(json.dumps(symbol))
    return prefix


def test_load_checkpoint_split_rule(tmp_path: Path) -> None:
    sym = {"nodes": [{"op": "null", "name": "data", "inputs": []}], "heads": [[0, 0, 0]]}
    keys = {"arg:fc1_weight": np.ones((2, 2), np.float32), "aux:bn_moving_var": np.ones(2, np.float32),
            "aux:c:d": np.zeros(1, np.float32), "foo:bar": np.zeros(1, np.float32)}
    prefix = _checkpoint(tmp_path, keys, sym)
    with pytest.warns(ndparse.NDFormatWarning, match="dropped"):
        s, arg, aux = ndparse.load_checkpoint(prefix, 3)
    assert s.raw == sym and list(arg) == ["fc1_weight"] and list(aux) == ["bn_moving_var", "c:d"]
    with pytest.warns(ndparse.NDFormatWarning):
        s2, arg2, _ = ndparse.load_checkpoint(f"{prefix}-0003.params")  # a full path works too
    assert s2.raw == sym and list(arg2) == ["fc1_weight"]
    with pytest.raises(FileNotFoundError):
        ndparse.load_checkpoint(prefix, 4)


def test_load_checkpoint_without_symbol_and_bad_keys(tmp_path: Path) -> None:
    prefix = _checkpoint(tmp_path, {"arg:w": np.ones(1, np.float32)})
    s, arg, aux = ndparse.load_checkpoint(prefix, 3)
    assert s is None and list(arg) == ["w"] and aux == {}
    p = tmp_path / "gluon.params"
    p.write_bytes(container([v2(np.ones(1, "<f4"), 0)], ["0.weight"]))
    with pytest.raises(ndparse.NDFormatError, match="no 'arg:'/'aux:'"):
        ndparse.load_checkpoint(p)
