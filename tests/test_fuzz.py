"""Fuzz harness: property-based round trips of every layout, and mutation fuzzing of every valid
file we have (fixtures, real-world files, generated files). See tools/fuzz.py for the engine.

The only acceptable outcomes for a mutated file are a correct load or NDFormatError with an offset
and expected/found; never another exception, a hang, or an allocation out of proportion to the
file. In CI this is bounded by input counts, not the clock (a fixed input stream, derandomized
hypothesis: the same coverage on every machine); `pytest tests/test_fuzz.py --fuzz-minutes 30` or
`python tools/fuzz.py --minutes 30` is the long run for release checks.
"""

from __future__ import annotations

import io
import json
import struct

import fuzz
import ml_dtypes
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ndparse
from ndbytes import bits_equal, container, none_v0, none_v1, none_v2, v0, v1, v2

SETTINGS = dict(derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# every dtype with an MXNet type code (§6), bfloat16 included
DTYPES = [np.dtype(x) for x in ("<f4", "<f8", "<f2", "u1", "<i4", "i1", "<i8", "?", "<i2", "<u2",
                                "<u4", "<u8")] + [np.dtype(ml_dtypes.bfloat16)]
LEGACY_CODES = {np.dtype("<f4"): 0, np.dtype("<f8"): 1, np.dtype("<f2"): 2, np.dtype("u1"): 3,
                np.dtype("<i4"): 4, np.dtype("i1"): 5, np.dtype("<i8"): 6}


@st.composite
def dense(draw, min_dims: int = 0, dtypes=DTYPES) -> np.ndarray:  # type: ignore[no-untyped-def]
    dtype = draw(st.sampled_from(dtypes))
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=min_dims, max_size=4)))
    n = int(np.prod(shape))
    raw = draw(st.binary(min_size=n * dtype.itemsize, max_size=n * dtype.itemsize))
    if dtype.kind == "b":
        raw = bytes(b & 1 for b in raw)
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()  # NaN payloads, -0.0 included


@st.composite
def row_sparse(draw):  # type: ignore[no-untyped-def]
    dtype = draw(st.sampled_from(DTYPES))
    rows = draw(st.integers(1, 6))
    tail = tuple(draw(st.lists(st.integers(0, 3), max_size=2)))
    idx = sorted(draw(st.sets(st.integers(0, rows - 1))))
    data = np.frombuffer(draw(st.binary(min_size=len(idx) * int(np.prod(tail)) * dtype.itemsize,
                                        max_size=len(idx) * int(np.prod(tail)) * dtype.itemsize)),
                         dtype=dtype).reshape((len(idx),) + tail)
    if dtype.kind == "b":
        data = data.view(np.uint8).__and__(1).view(dtype)
    return ndparse.RowSparseArray(data.copy(), np.array(idx, np.int64), (rows,) + tail)


@st.composite
def csr_matrix(draw):  # type: ignore[no-untyped-def]
    dtype = draw(st.sampled_from([d for d in DTYPES if d.kind != "b"]))
    rows, cols = draw(st.integers(0, 5)), draw(st.integers(1, 6))
    per_row = [sorted(draw(st.sets(st.integers(0, cols - 1), max_size=cols))) for _ in range(rows)]
    indptr = np.cumsum([0] + [len(r) for r in per_row]).astype(np.int64)
    indices = np.array([c for r in per_row for c in r], np.int64)
    data = np.frombuffer(draw(st.binary(min_size=indices.size * dtype.itemsize,
                                        max_size=indices.size * dtype.itemsize)), dtype=dtype)
    return ndparse.CSRArray(data.copy(), indptr, indices, (rows, cols))


NAMES = st.text(st.characters(blacklist_categories=["Cs"]), max_size=12)


def _same(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and bits_equal(a, b)
    if isinstance(a, ndparse.RowSparseArray):
        return (isinstance(b, ndparse.RowSparseArray) and a.shape == b.shape
                and bits_equal(a.data, b.data) and np.array_equal(a.indices, b.indices)
                and bits_equal(a.todense(), b.todense()))
    if isinstance(a, ndparse.CSRArray):
        return (isinstance(b, ndparse.CSRArray) and a.shape == b.shape and bits_equal(a.data, b.data)
                and np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
                and bits_equal(a.todense(), b.todense()))
    return a is None and b is None


def _check_round_trip(original, data: bytes) -> None:  # type: ignore[no-untyped-def]
    back = ndparse.load(data, mmap=False)
    if isinstance(original, dict) and not original:
        original = []  # an empty dict is written exactly like an empty list (FORMAT.md §2)
    if isinstance(original, dict):
        assert isinstance(back, dict) and list(back) == list(original)
        pairs = [(original[k], back[k]) for k in original]
    else:
        assert isinstance(back, list) and len(back) == len(original)
        pairs = list(zip(original, back))
    for a, b in pairs:
        assert _same(a, b), (a, b)


# --- round trips: writer -> reader, every layout ------------------------------------------
@settings(max_examples=120, **SETTINGS)
@given(st.one_of(st.dictionaries(NAMES, st.one_of(dense(min_dims=1), row_sparse(), csr_matrix()),
                                 max_size=5),
                 st.lists(st.one_of(dense(min_dims=1), row_sparse(), csr_matrix()), max_size=5)))
def test_round_trip_v2_dense_and_sparse(arrays) -> None:  # type: ignore[no-untyped-def]
    _check_round_trip(arrays, ndparse.dumps(arrays))


@settings(max_examples=80, **SETTINGS)
@given(st.dictionaries(NAMES, dense(min_dims=0), max_size=5))
def test_round_trip_v3_scalars_and_zero_size(arrays) -> None:  # type: ignore[no-untyped-def]
    _check_round_trip(arrays, ndparse.dumps(arrays, np_shape=True))


@settings(max_examples=25, **SETTINGS)
@given(st.dictionaries(NAMES, dense(min_dims=1), max_size=3))
def test_round_trip_through_a_file(tmp_path_factory, arrays) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path_factory.mktemp("rt") / "x.params"
    ndparse.save(p, arrays)
    assert p.read_bytes() == ndparse.dumps(arrays)
    with ndparse.open(p) as f:  # mmap path
        assert list(f.keys()) == list(arrays)
        for k, v in arrays.items():
            assert bits_equal(np.asarray(f.get(k)), v)


@settings(max_examples=60, **SETTINGS)
@given(st.lists(st.one_of(dense(min_dims=1, dtypes=list(LEGACY_CODES)).map(lambda a: ("v0", a)),
                          dense(min_dims=1, dtypes=list(LEGACY_CODES)).map(lambda a: ("v1", a)),
                          dense(min_dims=1, dtypes=list(LEGACY_CODES)).map(lambda a: ("v2", a)),
                          st.sampled_from([("none0", None), ("none1", None), ("none2", None)])),
                max_size=6), st.booleans())
def test_round_trip_hand_made_v0_v1_mixed(items, named: bool) -> None:  # type: ignore[no-untyped-def]
    recs = []
    for kind, a in items:
        if kind == "v0":
            recs.append(v0(a, LEGACY_CODES[a.dtype]))
        elif kind == "v1":
            recs.append(v1(a, LEGACY_CODES[a.dtype]))
        elif kind == "v2":
            recs.append(v2(a, LEGACY_CODES[a.dtype]))
        else:
            recs.append({"none0": none_v0, "none1": none_v1, "none2": none_v2}[kind]())
    names = [f"n{i}" for i in range(len(items))] if named and items else None
    data = container(recs, names)
    values = [a for _, a in items]
    _check_round_trip(dict(zip(names, values)) if names else values, data)


@settings(max_examples=60, **SETTINGS)
@given(st.dictionaries(st.text("abcxyz_.:", min_size=1, max_size=8),
                       dense(min_dims=0, dtypes=DTYPES[:-1]), max_size=4), st.booleans(), st.booleans())
def test_round_trip_npz_and_npy(arrays, compressed: bool, fortran: bool) -> None:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    back = ndparse.load(buf.getvalue(), mmap=False)
    assert set(back) == set(arrays)
    for k, v in arrays.items():
        assert bits_equal(back[k], v)
    for v in arrays.values():
        w = np.asfortranarray(v) if fortran else v
        buf = io.BytesIO()
        np.save(buf, w)
        (got,) = ndparse.load(buf.getvalue(), mmap=False)
        assert bits_equal(got, np.array(w, order="C"))  # asfortranarray makes a 0-d array 1-d


# --- mutations ---------------------------------------------------------------------------
CORPUS = fuzz.corpus()
SMALL = {k: v for k, v in CORPUS.items() if len(v) <= 4096}


def _assert_acceptable(label: str, data: bytes) -> None:
    out = fuzz.run_one(data)
    assert out.kind != "wrong", f"{label} ({len(data)} bytes): {out.detail}"


def test_corpus_is_every_layout() -> None:
    assert len(CORPUS) >= 15
    kinds: set[str] = set()
    for name, b in CORPUS.items():
        fm = fuzz.field_map(b)
        assert fm.fields, f"{name}: the fuzzer found no field to mutate"
        kinds |= {kind for _, _, kind in fm.fields}
    # every structural field of FORMAT.md's layouts is mutated somewhere
    assert kinds >= {"header", "reserved", "count", "magic", "stype", "ndim", "dim", "context",
                     "type", "index", "namelen", "zip", "npyver", "npyhlen"}, kinds
    heads = {b[:4] for b in CORPUS.values()}
    assert b"\x93NUM" in heads and b"PK\x03\x04" in heads and struct.pack("<I", 0x112) in heads
    versions = set()
    for b in CORPUS.values():
        with ndparse.open(b) as f:
            versions |= set(f.record_versions)
    assert versions == {0, 1, 2, 3}


def test_every_small_seed_truncated_at_every_byte() -> None:
    n = 0
    for name, b in SMALL.items():
        for cut in range(len(b)):
            _assert_acceptable(f"{name} cut at {cut}", b[:cut])
            n += 1
    assert n > 10_000


@settings(max_examples=300, **SETTINGS)
@given(st.sampled_from(sorted(SMALL)), st.integers(0, 10**6), st.sampled_from([1, 2, 4, 8]),
       st.sampled_from(fuzz.H64 + [2**64 - 2**31, 0xF993FAC9, 0x112]))
def test_hostile_value_at_any_offset(name: str, where: int, width: int, value: int) -> None:
    b = SMALL[name]
    off = where % max(len(b) - width + 1, 1)
    _assert_acceptable(f"{name} {value:#x} at {off}", fuzz._put(b, off, width, value))


CAMPAIGN_INPUTS = 40_000


def test_bounded_mutation_campaign(request: pytest.FixtureRequest) -> None:
    """Every structural field of every seed with hostile values, dim-product overflows, npy
    header and npz member corruption, truncations and random edits, round-robin over seeds."""
    minutes = request.config.getoption("--fuzz-minutes")
    if minutes:
        rep = fuzz.campaign(seconds=minutes * 60, n_random=3000)
    else:  # by count, not by the clock: the same inputs on every machine
        rep = fuzz.campaign(CAMPAIGN_INPUTS, n_random=400)
    summary = rep.summary()
    print("\nfuzz:", json.dumps({k: summary[k] for k in (
        "inputs", "ok", "NDFormatError", "wrong", "slowest_ms", "slowest_size", "slowest_input",
        "peak_alloc_bytes", "peak_alloc_file_size", "max_alloc_ratio_files_over_1k")}))
    assert not rep.wrong, json.dumps(rep.wrong[:10], indent=1)
    if minutes:
        assert rep.inputs >= 1000
    else:
        # exactly CAMPAIGN_INPUTS inputs: the seeds and impostors unmodified, then mutants
        assert rep.inputs == CAMPAIGN_INPUTS and rep.error > rep.inputs // 4 and rep.ok > 0
        # every strategy ran: field overwrites (named by field), overflows, npy/npz header and
        # zip size edits, truncations, random edits
        assert {"magic", "dim", "namelen", "index", "zip", "npyhlen", "overflow", "npy", "npz",
                "zipsizes", "truncate", "random"} <= set(rep.by_strategy), rep.by_strategy
