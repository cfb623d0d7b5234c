"""ndparse.open: the index without payloads, lazy zero-copy get."""

from __future__ import annotations

import os
import struct

import numpy as np
import pytest

import ndparse
from ndbytes import container, v0, v2


def _sparse_big_file(path, n_arrays: int, elems: int) -> None:  # type: ignore[no-untyped-def]
    """A legacy file with big float32 payloads left as holes: headers only are real bytes."""
    with open(path, "wb") as f:
        f.write(struct.pack("<QQQ", 0x112, 0, n_arrays))
        for _ in range(n_arrays):
            f.write(struct.pack("<Iii", 0xF993FAC9, 0, 1) + struct.pack("<q", elems)
                    + struct.pack("<iii", 1, 0, 0))
            f.seek(4 * elems, os.SEEK_CUR)
        f.write(struct.pack("<Q", n_arrays))
        for i in range(n_arrays):
            name = f"w{i}".encode()
            f.write(struct.pack("<Q", len(name)) + name)


def test_lazy_get_of_a_huge_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Indexing reads no payload byte (proved in test_reader_design with a buffer whose payload
    slices raise); here a 1 GiB file of holes is indexed and one array read as a mapped view."""
    p = tmp_path / "big.params"
    elems = 64 * 1024 * 1024  # 256 MiB per array, 1 GiB in all
    _sparse_big_file(p, 4, elems)
    assert os.path.getsize(p) > 2**30
    with ndparse.open(p) as f:
        keys = f.keys()
        infos = [f.info(k) for k in keys]
        assert keys == ["w0", "w1", "w2", "w3"]
        assert [i.shape for i in infos] == [(elems,)] * 4 and infos[0].nbytes == 4 * elems
        x = f["w2"]
        assert x.shape == (elems,) and not x.flags.writeable and x.base is not None
        assert float(x[12345]) == 0.0  # a hole reads as zeros


def test_info_fields_and_views(tmp_path) -> None:  # type: ignore[no-untyped-def]
    a = np.arange(12, dtype="<f4").reshape(3, 4)
    data = container([v0(a, 0), v2(np.array([1, 2, 3], "u1"), 3), v2(np.array([2.5], "<f8"), 1)],
                     ["a", "b", "c"])
    p = tmp_path / "x.params"
    p.write_bytes(data)
    with ndparse.open(p) as f:
        assert len(f) == 3 and "b" in f and "z" not in f and list(f) == ["a", "b", "c"]
        ia = f.info("a")
        assert (ia.name, ia.stype, ia.dtype, ia.shape, ia.version, ia.offset, ia.nbytes) == \
            ("a", "default", np.dtype("<f4"), (3, 4), 0, 24, 48)
        assert f.info("c").version == 2 and f.layout == "legacy container, V0/V2 records"
        got = f.get("a")
        assert not got.flags.writeable and np.shares_memory(got, np.frombuffer(f._buf, np.uint8))
        c = f.get("c")  # unaligned payload: a correct, aligned copy
        assert c.flags.aligned and c.tolist() == [2.5]
        with pytest.raises(KeyError):
            f.info("nope")


def test_list_files_are_addressed_by_position() -> None:
    data = container([v2(np.ones(2, "<f4"), 0), v2(np.zeros(3, "<f4"), 0)])
    with ndparse.open(data) as f:
        assert f.keys() == [0, 1] and not f.named
        assert f.get(1).tolist() == [0, 0, 0]


def test_npz_and_npy_lazy(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "m.npz"
    np.savez(p, b=np.arange(5, dtype="<i8"), a=np.ones((2, 2), "<f2"))
    with ndparse.open(p) as f:
        assert f.container == "npz" and set(f.keys()) == {"a", "b"}
        assert f.info("b").shape == (5,) and f.get("b").tolist() == [0, 1, 2, 3, 4]
    q = tmp_path / "c.npz"
    np.savez_compressed(q, w=np.arange(100, dtype="<f4"))
    with ndparse.open(q) as f:
        assert f.get("w").tolist() == list(range(100))
    r = tmp_path / "one.npy"
    np.save(r, np.arange(6, dtype=">i4").reshape(2, 3, order="F"))
    out = ndparse.load(r)
    assert isinstance(out, list) and out[0].tolist() == [[0, 2, 4], [1, 3, 5]]
    assert out[0].dtype == np.dtype("<i4")
    f_order = tmp_path / "f.npy"
    np.save(f_order, np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3)))
    assert ndparse.load(f_order)[0].tolist() == [[0, 1, 2], [3, 4, 5]]


def test_many_small_arrays_read_whole(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Over 4096 small payloads: load(mmap=False) reads the file at once; values, alignment and
    writability are the same as for the scatter read, unaligned payloads included."""
    rng = np.random.default_rng(5)
    arrays = {}
    for i in range(5000):
        arrays[f"u{i}"] = rng.integers(0, 255, size=3, dtype=np.uint8)   # leaves the next unaligned
        arrays[f"d{i}"] = rng.standard_normal(2)
    p = tmp_path / "many.params"
    ndparse.save(p, arrays)
    eager = ndparse.load(p, mmap=False)
    mapped = ndparse.load(p, mmap=True)
    assert list(eager) == list(arrays)
    for k, v in arrays.items():
        assert eager[k].dtype == v.dtype and eager[k].tobytes() == v.tobytes() == mapped[k].tobytes()
        assert eager[k].flags.aligned and eager[k].flags.writeable
