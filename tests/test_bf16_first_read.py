"""bfloat16 records read bit-exactly (every one of the 65,536 patterns, NaN payloads included), whichever
ml_dtypes provides the dtype (pyproject caps it below 0.7 for its import cost: bench/startup.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

import ndparse

ROOT = Path(__file__).resolve().parent.parent


def test_bf16_every_bit_pattern_round_trips(tmp_path: Path) -> None:
    import ml_dtypes

    bits = np.arange(1 << 16, dtype=np.uint16).reshape(256, 256)
    p = tmp_path / "bf16.params"
    ndparse.save(p, {"arg:w": bits.view(ml_dtypes.bfloat16)})
    raw = p.read_bytes()
    assert bits.astype("<u2").tobytes() in raw  # the payload is the bits, little-endian, unchanged
    got = ndparse.load(p)["arg:w"]
    assert got.dtype == np.dtype(ml_dtypes.bfloat16)
    assert np.array_equal(got.view(np.uint16), bits)
    with ndparse.open(p) as f:
        assert np.array_equal(np.asarray(f["arg:w"]).view(np.uint16), bits)


def test_ml_dtypes_imported_only_by_a_bf16_read(tmp_path: Path) -> None:
    import ml_dtypes

    f32, bf = tmp_path / "f32.params", tmp_path / "bf.params"
    ndparse.save(f32, {"arg:w": np.ones(3, np.float32)})
    ndparse.save(bf, {"arg:w": np.ones(3, ml_dtypes.bfloat16)})
    code = ("import sys, ndparse\nndparse.load(sys.argv[1])\nprint('ml_dtypes' in sys.modules)\n"
            "ndparse.load(sys.argv[2])\nprint('ml_dtypes' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(f32), str(bf)], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.split()
    assert out == ["False", "True"]
