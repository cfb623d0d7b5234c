"""Helpers for the dpn_torch tests: fixture paths, manifests, random weights, V0/V2 writers.

The V0 writer follows FORMAT.md §2 and §4.1 byte by byte (u32 ndim, u32 dims, context, type flag,
data; names after all records), as cypw's MXNet 0.7 fork wrote the original DPN checkpoints.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from pathlib import Path

import numpy as np

import ndparse

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dpn"
MANIFESTS = FIXTURES / "manifests"

LIST_MAGIC = 0x112
TYPE_FLOAT32 = 0
CPU_CONTEXT = (1, 0)


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
    """Write ``arrays`` as a V0 ``.params`` file; returns the path."""
    with open(path, "wb") as f:
        f.write(struct.pack("<QQQ", LIST_MAGIC, 0, len(arrays)))
        for a in arrays.values():
            a = np.ascontiguousarray(a, dtype="<f4")
            f.write(struct.pack(f"<I{a.ndim}I", a.ndim, *a.shape))
            f.write(struct.pack("<iii", *CPU_CONTEXT, TYPE_FLOAT32))
            f.write(memoryview(a).cast("B"))
        f.write(struct.pack("<Q", len(arrays)))
        for name in arrays:
            raw = name.encode()
            f.write(struct.pack("<Q", len(raw)) + raw)
    return path


def write_v2(path: Path, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write ``arrays`` with ndparse's writer (V2 records, what mx.nd.save writes)."""
    ndparse.save(path, dict(arrays))
    return path


def rel_err(got: np.ndarray, want: np.ndarray) -> float:
    """max|got - want| / max|want|."""
    return float(np.abs(got - want).max() / np.abs(want).max())
