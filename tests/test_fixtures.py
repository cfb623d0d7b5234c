"""Parity with real MXNet: every fixture in fixtures/ndparse/ against what MXNet read back.

Each `<case>.expected.json` (schema in fixtures/ndparse/README.md) records the entries MXNet
returned, with the arrays bit for bit in `<case>.expected.npz`. The writer is checked too: for
files MXNet itself wrote in the legacy container, `ndparse.dumps` of what we read must give
the same bytes.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

import ndparse

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ndparse"
CASES = sorted(FIXTURES.glob("*.expected.json"))


def _case_id(p: Path) -> str:
    return p.name[: -len(".expected.json")]


def _expected(p: Path) -> tuple[dict, dict[str, np.ndarray]]:
    meta = json.loads(p.read_text(encoding="utf-8"))
    npz = p.with_name(_case_id(p) + ".expected.npz")
    arrays: dict[str, np.ndarray] = {}
    if npz.exists():
        with np.load(npz, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    return meta, arrays


def _bits(a: np.ndarray) -> tuple[tuple[int, ...], bytes]:
    a = np.ascontiguousarray(a)
    if a.dtype == np.dtype(ml_dtypes.bfloat16):
        a = a.view("<u2")
    if a.dtype.names:  # MXNet 1.9.1's structured bfloat16 [('bfloat16', '<u2')]
        a = a.view("<u2")
    return a.shape, a.tobytes()


def _check_entry(got: object, entry: dict, arrays: dict[str, np.ndarray], where: str) -> None:
    stype = entry["stype"]
    if stype == "none":
        assert got is None, where
        return
    dtype = entry["dtype"]
    want_dtype = ml_dtypes.bfloat16 if dtype == "bfloat16" else np.dtype(dtype)
    refs = entry.get("arrays", {})
    if stype == "default":
        assert isinstance(got, np.ndarray), where
        assert got.dtype == np.dtype(want_dtype), (where, got.dtype, dtype)
        assert list(got.shape) == entry["shape"], where
        assert _bits(got) == _bits(arrays[refs["data"]].reshape(got.shape)), where
        return
    cls = ndparse.RowSparseArray if stype == "row_sparse" else ndparse.CSRArray
    assert isinstance(got, cls), where
    assert list(got.shape) == entry["shape"] and got.dtype == np.dtype(want_dtype), where
    for part, key in refs.items():
        mine = getattr(got, part)
        ref = arrays[key]
        if part == "data":
            assert _bits(mine) == _bits(ref.reshape(mine.shape)), (where, part)
        else:
            assert mine.tolist() == ref.tolist(), (where, part)


@pytest.mark.parametrize("use_mmap", [True, False], ids=["mmap", "read"])
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_fixture_matches_mxnet(case: Path, use_mmap: bool) -> None:
    meta, arrays = _expected(case)
    src = FIXTURES / meta["file"]
    if meta["kind"] == "error":
        with pytest.raises(ndparse.NDFormatError) as ei:
            ndparse.load(src, mmap=use_mmap)
        assert meta["file"] in str(ei.value)  # the message names the file
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ndparse.NDFormatWarning)
        got = ndparse.load(src, mmap=use_mmap)
    entries = meta["entries"]
    if meta["kind"] == "list":
        assert isinstance(got, list) and len(got) == len(entries)
        for i, (g, e) in enumerate(zip(got, entries)):
            _check_entry(g, e, arrays, f"{case.name}[{i}]")
    else:
        assert isinstance(got, dict)
        names = [e["name"] for e in entries]
        if src.suffix == ".npz" or src.read_bytes()[:2] == b"PK":
            assert sorted(got) == sorted(names)  # MXNet's npz folder order is a hash map's
        else:
            assert list(got) == names
        for e in entries:
            _check_entry(got[e["name"]], e, arrays, f"{case.name}[{e['name']!r}]")


def _mxnet_written_legacy(meta: dict) -> bool:
    who = meta.get("written_by", "")
    return meta["kind"] != "error" and who.startswith("mxnet") and "patched" not in who \
        and "hand" not in who


@pytest.mark.parametrize("case", [c for c in CASES if _mxnet_written_legacy(_expected(c)[0])],
                         ids=_case_id)
def test_writer_reproduces_mxnet_bytes(case: Path) -> None:
    meta, _ = _expected(case)
    src = FIXTURES / meta["file"]
    raw = src.read_bytes()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # before open: its warnings are what is looked for
        f = ndparse.open(src)
    with f:
        if caught:
            pytest.skip(f"oddities MXNet's writer does not make: {caught[0].message}")
        vs = f.record_versions
        if f.container != "legacy" or len(vs) > 1 or (vs and vs[0] < 2):
            pytest.skip(f"{f.layout}: the writer writes V2/V3 legacy containers only")
        if any(r.stype == "none" for r in f.records) or raw[8:16] != b"\0" * 8:
            pytest.skip("none records or a patched header")
        names = [r.name for r in f.records] if f.named else None
        if names is not None and len(set(names)) != len(names):
            pytest.skip("duplicate names cannot come from a dict")
        np_shape = vs == (3,)
        data = f.load_all()
    assert ndparse.dumps(data, np_shape=np_shape) == raw


def test_fixtures_are_present() -> None:
    assert len(CASES) >= 30, "fixtures/ndparse/ is missing: run tools/make_ndparse_fixtures.py"


@pytest.mark.parametrize("case", [c for c in CASES if _expected(c)[0]["kind"] != "error"], ids=_case_id)
def test_open_index_agrees_with_mxnet(case: Path) -> None:
    """ndparse.open's index (no payload read) and get() give what MXNet read, entry by entry."""
    meta, arrays = _expected(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ndparse.NDFormatWarning)
        f = ndparse.open(FIXTURES / meta["file"])
    with f:
        assert len(f) == len(meta["entries"])
        keys = f.keys()
        for i, e in enumerate(meta["entries"]):
            key = e["name"] if meta["kind"] == "dict" else i
            assert key in f and key in keys
            info = f.info(key)
            assert info.stype == e["stype"]
            if e["stype"] != "none":
                assert list(info.shape) == e["shape"] and info.type_name == e["dtype"]
            _check_entry(f.get(key), e, arrays, f"{case.name}[{key!r}] via open")
