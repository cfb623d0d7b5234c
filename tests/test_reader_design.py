"""The reader's design: an index that reads no payload byte and stays small, NDFile as a
read-only Mapping, one sniff table, one type-code table, messages that say what the file is,
warnings that point at the caller's line, and what `import ndparse` loads."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import tracemalloc
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

import ndparse
from ndbytes import V3, container, csr, none_v0, none_v2, row_sparse, v0, v1, v2
from ndparse import constants as C
from ndparse._legacy import parse_container


class PayloadGuard:
    """Bytes whose payload ranges raise when a slice touches them (the index may read only
    headers, counts and names)."""

    def __init__(self, data: bytes, payloads: list[tuple[int, int]]) -> None:
        self.data = data
        self.payloads = payloads
        self.reads = 0

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, s: slice) -> bytes:
        assert isinstance(s, slice), "the index reads the buffer by slices only"
        a, b, _ = s.indices(len(self.data))
        for lo, hi in self.payloads:
            if a < hi and lo < b and a < b:
                raise AssertionError(f"payload bytes {lo}..{hi} read (slice {a}:{b})")
        self.reads += 1
        return self.data[s]


def _guarded_file() -> tuple[bytes, list[tuple[int, int]], list[tuple[int, int]]]:
    """A container of every record kind; (bytes, payload ranges, (record start, payload start))."""
    a = np.arange(12, dtype="<f4").reshape(3, 4)
    recs = [  # (record bytes, payload bytes at its end)
        (v0(a, 0), a.nbytes),
        (v1(np.ones(5, "<f8"), 1), 40),
        (v2(np.arange(7, dtype="u1"), 3), 7),
        (v2(np.array(2.5, "<f4"), 0, magic=V3), 4),
        (none_v0(), 0),
        (none_v2(), 0),
        (row_sparse(np.ones((2, 3), "<f4"), [1, 4], (6, 3)), 24 + 16),
        (csr(np.ones(3, "<f4"), [0, 2, 3], [1, 3, 0], (2, 5)), 12 + 24 + 24),
    ]
    data = container([r for r, _ in recs], [f"n{i}" for i in range(len(recs))])
    pos, ranges, where = 24, [], []
    for rec, n in recs:
        ranges.append((pos + len(rec) - n, pos + len(rec)))
        where.append((pos, pos + len(rec) - n))
        pos += len(rec)
    return data, [r for r in ranges if r[0] < r[1]], where


def test_index_reads_no_payload_byte() -> None:
    data, payloads, where = _guarded_file()
    guard = PayloadGuard(data, payloads)
    with pytest.raises(AssertionError, match="payload"):  # the guard works
        guard[payloads[0][0]:payloads[0][0] + 1]
    records = parse_container(guard, "guarded.params")
    assert guard.reads > 0 and len(records) == len(where)
    infos = list(records)
    assert [r.name for r in infos] == [f"n{i}" for i in range(len(where))]
    assert [r.offset for r in infos] == [w[0] for w in where]
    assert [r.stype for r in infos] == ["default"] * 4 + ["none"] * 2 + ["row_sparse", "csr"]
    assert [r.shape for r in infos[:4]] == [(3, 4), (5,), (7,), ()]
    assert [r.version for r in infos] == [0, 1, 2, 3, 0, 2, 2, 2]
    for r, (_, payload_at) in zip(infos, where):
        if r.parts:
            assert r.parts[0].offset == payload_at
    # and the same bytes, read for real, give the arrays
    out = ndparse.load(data)
    assert out["n0"].tolist() == np.arange(12).reshape(3, 4).tolist() and out["n4"] is None


def _none_file(n: int) -> bytes:
    """The worst case for an index: n 4-byte V0 none records and no names."""
    return struct.pack("<QQQ", 0x112, 0, n) + b"\0" * (4 * n) + struct.pack("<Q", 0)


def test_index_of_none_records_is_a_few_times_the_file() -> None:
    data = _none_file(200_000)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        f = ndparse.open(data)
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(f) == 200_000 and f[199_999] is None and f.info(5).stype == "none"
    assert (held - base) <= 8 * len(data), (held - base) / len(data)
    assert (peak - base) <= 8 * len(data), (peak - base) / len(data)


# --- NDFile is a read-only Mapping ---------------------------------------------------------
def test_ndfile_is_a_read_only_mapping(tmp_path: Path) -> None:
    p = tmp_path / "m.params"
    p.write_bytes(container([v2(np.arange(3, dtype="<f4"), 0), v2(np.ones(2, "<i8"), 6),
                             v2(np.zeros(1, "<f4"), 0)], ["a", "b", "a"]))
    with ndparse.open(p) as f:
        assert isinstance(f, Mapping)
        assert f.keys() == ["a", "b"] and list(f) == ["a", "b"] and len(f) == 2
        assert f["a"].tolist() == [0.0]  # the last of duplicate names wins, as in MXNet
        assert f["b"].dtype == np.int64 and "b" in f and "z" not in f and 0 not in f
        assert f.get("z") is None and f.get("z", 7) == 7 and f.get("b").tolist() == [1, 1]
        with pytest.raises(KeyError, match="m.params"):
            f["z"]
        assert {k: v.tolist() for k, v in f.items()} == {"a": [0.0], "b": [1, 1]}
        assert f != ndparse.open(p) and f == f
        with pytest.raises(TypeError):
            f["a"] = np.zeros(1)  # type: ignore[index]
    assert f.info("b").shape == (2,)  # the index outlives close()
    with pytest.raises(ValueError, match="closed"):
        f["a"]


def test_unnamed_list_is_addressed_by_position() -> None:
    with ndparse.open(container([v2(np.ones(2, "<f4"), 0), none_v0()])) as f:
        assert f.keys() == [0, 1] and f[1] is None and f[np.int64(0)].tolist() == [1, 1]
        assert 2 not in f and -1 not in f and "0" not in f and f.get(2, "x") == "x"


def test_load_is_open_then_load_all(tmp_path: Path) -> None:
    p = tmp_path / "x.params"
    ndparse.save(p, {"w": np.arange(4, dtype="<f4")})
    for mmap in (True, False):
        with ndparse.open(p, mmap=mmap) as f:
            one = f["w"]
            assert one.flags.writeable is (not mmap) and one.tolist() == [0, 1, 2, 3]
            assert f.load_all()["w"].tolist() == ndparse.load(p, mmap=mmap)["w"].tolist()


# --- sniffing and messages -----------------------------------------------------------------
GOOD = container([v2(np.arange(6, dtype="<f4"), 0)], ["w"])


def _np_bytes(save, *args, **kw) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    save(buf, *args, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("data,container_name", [
    (GOOD, "legacy"), (GOOD[24:24 + 56], "record"),
    (_np_bytes(np.save, np.ones(3, "<f4")), "npy"),
    (_np_bytes(np.savez, w=np.ones(3, "<f4")), "npz"),
])
def test_one_sniff_table(data: bytes, container_name: str) -> None:
    with ndparse.open(data) as f:
        assert f.container == container_name


@pytest.mark.parametrize("cut", [1, 7, 24, 30])
def test_a_cut_file_is_called_truncated(cut: int, tmp_path: Path) -> None:
    p = tmp_path / "cut.params"
    p.write_bytes(GOOD[:cut])
    with pytest.raises(ndparse.NDFormatError) as ei:
        ndparse.load(p)
    msg = str(ei.value)
    assert "truncated" in msg and "not an MXNet" not in msg and str(p) in msg
    assert ei.value.hint == ndparse.errors.TRUNCATED_HINT and msg.endswith(ei.value.hint)


@pytest.mark.parametrize("data", [b"", b"\0" * 64, b"<html><body>404</body></html>",
                                  b"\x1f\x8b\x08\x00" + b"\0" * 20, b"plain text\n",
                                  b"\xde\xad\xbe\xef" * 8])
def test_impostor_message_is_one_sentence(data: bytes) -> None:
    with pytest.raises(ndparse.NDFormatError) as ei:
        ndparse.load(data)
    msg = str(ei.value)
    assert msg.lower().count("not an mxnet ndarray file") == 1, msg
    assert msg.count("expected an MXNet") == 0 and ei.value.offset == 0


# --- warnings point at the caller --------------------------------------------------------
def _warned_here(fn) -> warnings.WarningMessage:  # type: ignore[no-untyped-def]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    ours = [w for w in caught if issubclass(w.category, ndparse.NDFormatWarning)]
    assert ours, "no NDFormatWarning"
    return ours[0]


@pytest.mark.parametrize("how", ["load", "open_get", "values", "dumps"])
def test_warnings_name_the_callers_line(how: str) -> None:
    odd = container([v2(np.ones(2, "<f4"), 0)], reserved=5)
    unsorted = container([row_sparse(np.ones((2, 2), "<f4"), [3, 3], (5, 2))])
    calls = {
        "load": lambda: ndparse.load(odd),
        "open_get": lambda: ndparse.open(unsorted)[0],
        "values": lambda: list(ndparse.open(unsorted).values()),
        "dumps": lambda: ndparse.dumps([np.ones(2, "<u2")]),
    }
    w = _warned_here(calls[how])
    assert w.filename == __file__, w.filename


# --- tables and names ----------------------------------------------------------------------
def test_one_type_code_table() -> None:
    import ml_dtypes

    assert C.TYPE_DTYPES[C.TypeFlag.BFLOAT16] == np.dtype(ml_dtypes.bfloat16) == C.BFLOAT16
    for code in range(13):
        assert C.dtype_to_type_flag(C.TYPE_DTYPES[code]) == code
    assert C.dtype_to_type_flag(np.dtype([("bfloat16", "<u2")])) == C.TypeFlag.BFLOAT16
    with pytest.raises(KeyError):
        C.TYPE_DTYPES[13]
    with pytest.raises(KeyError):
        C.dtype_to_type_flag(np.dtype("complex64"))


def test_params_names() -> None:
    assert C.params_file_name("models/dpn92", 3) == "models/dpn92-0003.params"
    assert C.split_params_file_name("dpn92-0000.params") == ("dpn92", 0)
    assert C.split_params_file_name("a-b-12.params") == ("a-b", 12)
    assert C.split_params_file_name("dpn92.params") is None
    assert C.split_params_file_name("x-1.params.bak") is None


def test_resolve_params_path(tmp_path: Path) -> None:
    (tmp_path / "m-0002.params").write_bytes(GOOD)
    prefix = tmp_path / "m"
    assert ndparse.resolve_params_path(prefix, epoch=2) == tmp_path / "m-0002.params"
    assert ndparse.resolve_params_path(tmp_path / "m-0002.params") == tmp_path / "m-0002.params"
    # no epoch, no -0000, exactly one -NNNN.params: that one (issue 21 part 1)
    assert ndparse.resolve_params_path(prefix) == tmp_path / "m-0002.params"
    (tmp_path / "m-0005.params").write_bytes(GOOD)
    with pytest.raises(ndparse.NDFormatError, match="m-0002.params, m-0005.params"):
        ndparse.resolve_params_path(prefix)
    with pytest.raises(FileNotFoundError, match="m-0002.params, m-0005.params"):
        ndparse.resolve_params_path(prefix, epoch=3)
    with pytest.raises(TypeError):  # epoch is keyword-only
        ndparse.resolve_params_path(prefix, 2)  # type: ignore[misc]


def test_public_surface() -> None:
    assert "atomic_write" not in ndparse.__all__
    from ndparse import atomic_write  # still importable for old callers
    from ndparse._atomic import atomic_write as the_one

    assert atomic_write is the_one
    for name in ndparse.__all__:
        assert getattr(ndparse, name) is not None
    for fn in (ndparse.load, ndparse.open, ndparse.resolve_params_path, ndparse.locate_checkpoint):
        doc = fn.__doc__ or ""
        assert "Raises" in doc or "raises" in doc.lower(), fn.__name__
    assert "path" in (ndparse.load.__doc__ or "") and "bytes-like" in (ndparse.open.__doc__ or "")
    from ndparse import cli_support  # what mxtorch and dpn_torch share: public, documented

    for name in cli_support.__all__:
        assert getattr(cli_support, name) is not None
        obj = getattr(cli_support, name)
        assert not callable(obj) or obj.__doc__, name


def test_no_package_imports_another_private_module() -> None:
    """mxtorch and dpn_torch use ndparse's public surface (issue 21 part 2)."""
    import re

    root = Path(__file__).resolve().parent.parent
    found = []
    for pkg, others in (("mxtorch", ("ndparse", "dpn_torch")), ("dpn_torch", ("ndparse", "mxtorch")),
                        ("ndparse", ("mxtorch", "dpn_torch"))):
        for f in sorted((root / pkg).rglob("*.py")):
            for i, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
                if re.search(rf"\b({'|'.join(others)})\.(_(?!_)\w+)|from ({'|'.join(others)}) import _(?!_)", line):
                    found.append(f"{f.relative_to(root)}:{i}: {line.strip()}")
    assert found == []


def test_import_loads_only_what_opening_needs() -> None:
    code = ("import sys, ndparse; f = ndparse.open(ndparse.reader.NDFile.__module__ and "
            f"{GOOD!r}); f.keys(); f['w'];"
            "print(' '.join(m for m in ('tempfile', 'zipfile', 'ml_dtypes', 'ndparse.writer', "
            "'ndparse.sparse', 'ndparse._npy', 'ndparse._atomic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.split() == [], out.stdout
