"""The npz fast path (one struct pass over a plain zip's central directory) against zipfile.

`ndparse._npy._plain_central_directory` reads a plain archive itself and hands anything else to
zipfile; both roads must give the same index for every npz MXNet wrote, and the same outcome (the
same records, or an NDFormatError) for every corrupted one.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import ndparse
import ndparse._npy as npy

ROOT = Path(__file__).resolve().parents[1]
NPZ = sorted((ROOT / "fixtures" / "ndparse").glob("*.npz"))
MUTANTS_PER_FILE = 60


def _outcome(data: bytes) -> object:
    try:
        with ndparse.open(data) as f:
            return [(r.name, r.stype, str(r.dtype), r.shape,
                     tuple((p.role, p.offset, p.nbytes, p.member) for p in r.parts)) for r in f.records]
    except ndparse.NDFormatError as exc:
        return ("NDFormatError", type(exc).__name__)


def _both(data: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    fast = _outcome(data)
    with monkeypatch.context() as m:
        m.setattr(npy, "_plain_central_directory", lambda buf, size: None)
        slow = _outcome(data)
    return fast, slow


def test_fixtures_exist() -> None:
    assert len(NPZ) >= 5


@pytest.mark.parametrize("path", NPZ, ids=lambda p: p.name)
def test_same_index_as_zipfile(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = _both(path.read_bytes(), monkeypatch)
    assert fast == slow and not isinstance(fast, tuple)


@pytest.mark.parametrize("path", NPZ, ids=lambda p: p.name)
def test_same_outcome_as_zipfile_on_corrupted_copies(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = path.read_bytes()
    rng = random.Random(path.name)
    for _ in range(MUTANTS_PER_FILE):
        b = bytearray(data)
        kind = rng.randrange(3)
        if kind == 0:  # a byte of the central directory or a local header, most likely
            pos = rng.randrange(max(1, len(b) - 200), len(b)) if rng.random() < 0.7 else rng.randrange(len(b))
            b[pos] = rng.randrange(256)
        elif kind == 1:
            del b[rng.randrange(len(b)):]
        else:
            pos = rng.randrange(len(b))
            b[pos:pos + 4] = rng.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff"])
        fast, slow = _both(bytes(b), monkeypatch)
        assert fast == slow, (len(b), kind)
