"""The one helper module of the tests (test modules import nothing from each other): FORMAT.md's
worked example E1 and type-code table, and for the dpn_torch tests fixture paths, manifests,
random weights and the V0/V2 checkpoint writers. Bytes themselves are built by tools/ndbytes.py
(on sys.path through conftest.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import ml_dtypes
import numpy as np

import ndbytes
import ndparse

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dpn"
MANIFESTS = FIXTURES / "manifests"

# FORMAT.md example E1: a list file holding one V2 float32 (2, 3) array arange(6)
E1 = bytes.fromhex(
    "1201000000000000" "0000000000000000" "0100000000000000"
    "c9fa93f9" "00000000" "02000000" "0200000000000000" "0300000000000000"
    "0100000000000000" "00000000"
    "00000000" "0000803f" "00000040" "00004040" "00008040" "0000a040"
    "0000000000000000")

# every MXNet type code (FORMAT.md §6) -> the numpy dtype ndparse returns for it
ALL_CODES = {0: "<f4", 1: "<f8", 2: "<f2", 3: "u1", 4: "<i4", 5: "i1", 6: "<i8", 7: "?",
             8: "<i2", 9: "<u2", 10: "<u4", 11: "<u8", 12: ml_dtypes.bfloat16}


def tiny_names() -> list[str]:
    """Tiny MXNet-made fixtures present on disk (the fixture set may grow)."""
    found = sorted(p.name[: -len(".expected.npz")] for p in FIXTURES.glob("*.expected.npz"))
    return found


def fixture_inputs(meta: Mapping) -> dict[str, np.ndarray]:
    """The inputs the tiny fixtures' logits were computed on, regenerated from their seed.

    np.random.RandomState streams are frozen across numpy versions (NEP 19), so they are not
    stored; the fixture records their sha256, checked here before anything uses them."""
    import hashlib

    rng = np.random.RandomState(meta["provenance"]["seed_inputs"])
    out = {}
    for key, size in (("input_224", 224), ("input_320", 320)):
        x = (np.round(rng.normal(0.0, 1.0, (2, 3, size, size)) * 8) / 8).astype(np.float32)
        assert hashlib.sha256(x.tobytes()).hexdigest() == meta["inputs_sha256"][key], key
        out[key] = x
    return out


def manifest_names() -> list[str]:
    """Prefixes of the full-size key manifests (dpn68, dpn68-extra, ...)."""
    return sorted(p.stem for p in MANIFESTS.glob("*.json"))


def load_manifest(prefix: str) -> dict:
    """A full-size manifest: names, shapes, config, counts of one released checkpoint."""
    return json.loads((MANIFESTS / f"{prefix}.json").read_text())


def random_arrays(keys: list, seed: int = 0) -> dict[str, np.ndarray]:
    """Float32 random arrays for ``[[mxnet_key, shape], ...]``, in that order; running vars positive."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in keys:
        a = rng.standard_normal(tuple(shape), dtype=np.float32)
        if name.endswith("_moving_var"):
            np.abs(a, out=a)
            a += 0.5
        out[name] = a
    return out


def write_v0(path: Path, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write float32 ``arrays`` as a named V0 ``.params`` file (FORMAT.md §2, §4.1), as cypw's
    MXNet 0.7 fork wrote the original DPN checkpoints; returns the path."""
    ndbytes.write_v0(path, {k: np.asarray(a, dtype="<f4") for k, a in arrays.items()})
    return path


def write_v2(path: Path, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write ``arrays`` with ndparse's writer (V2 records, what mx.nd.save writes)."""
    ndparse.save(path, dict(arrays))
    return path


def rel_err(got: np.ndarray, want: np.ndarray) -> float:
    """max|got - want| / max|want|."""
    return float(np.abs(got - want).max() / np.abs(want).max())
