"""Every mxtorch fixture (fixtures/mxtorch/*/, written by real MXNet 1.9.1, see
tools/make_mxtorch_fixtures.py and the tensor-op script beside it) loads with `mxtorch.load` and
reproduces MXNet's outputs: max|torch - MXNet| / max|MXNet| <= 1e-5 per head; integer heads, and the
heads a fixture's provenance lists under ``exact_outputs`` (indices MXNet returns as float32), exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import mxtorch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = sorted((ROOT / "fixtures" / "mxtorch").glob("*/*.expected.npz"))
REL_TOL = 1e-5  # the bound, per head; most heads are within 1e-6


def _prefix(npz: Path) -> Path:
    return npz.with_name(npz.name[: -len(".expected.npz")])


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    """max|got - want| / max|want| (absolute when MXNet's output is all zero).

    NaN and +-inf in MXNet's output (clip passing NaN, 0/0, negative ** 0.5) must be matched exactly, place
    for place (else the error is inf); the ratio is taken over the finite values."""
    bad = ~np.isfinite(want)
    if bad.any():
        same = np.array_equal(np.isnan(got), np.isnan(want)) and np.array_equal(got[np.isinf(want)], want[np.isinf(want)])
        if got.shape != want.shape or not same:
            return float("inf")
        got, want = got[~bad], want[~bad]
    scale = float(np.abs(want).max()) if want.size else 0.0
    diff = float(np.abs(got.astype(np.float64) - want.astype(np.float64)).max()) if want.size else 0.0
    return diff / scale if scale > 0 else diff


def test_fixtures_exist() -> None:
    kinds = {p.parent.name for p in FIXTURES}
    assert {"nn", "net"} <= kinds and len(FIXTURES) >= 90


@pytest.mark.parametrize("npz", FIXTURES, ids=lambda p: f"{p.parent.name}/{_prefix(p).name}")
def test_fixture_matches_mxnet(npz: Path) -> None:
    prefix = _prefix(npz)
    expected = np.load(npz)
    model = mxtorch.load(prefix)
    inputs = [torch.from_numpy(expected[f"in:{n}"]) for n in model.input_names]
    assert sorted(f"in:{n}" for n in model.input_names) == sorted(k for k in expected if k.startswith("in:"))
    with torch.inference_mode():
        out = model(*inputs)
    outs = out if isinstance(out, tuple) else (out,)
    n_out = len([k for k in expected if k.startswith("out:")])
    assert len(outs) == n_out == len(model.output_names)
    prov_path = prefix.parent / f"{prefix.name}.json"
    prov = json.loads(prov_path.read_text()) if prov_path.exists() else {}
    if "outputs" in prov:
        assert list(model.output_names) == prov["outputs"]
    exact = set(prov.get("exact_outputs", ()))  # heads of indices/ids/counts, even when MXNet gives float32
    errors = []
    for i, o in enumerate(outs):
        want = expected[f"out:{i}"]
        assert tuple(o.shape) == want.shape, f"head {i}"
        got = o.numpy()
        if want.dtype.kind in "iub" or i in exact:  # integer heads: exactly equal, dtype included
            assert got.dtype == want.dtype, f"head {i}: {got.dtype} != {want.dtype}"
            np.testing.assert_array_equal(got, want, err_msg=f"head {i}")
            errors.append(0.0)
            continue
        errors.append(relative_error(got, want))
    print(f"{prefix.parent.name}/{prefix.name}: " + " ".join(f"{e:.1e}" for e in errors))
    assert max(errors) <= REL_TOL, errors
