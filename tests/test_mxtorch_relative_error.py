"""mxtorch.export.relative_error: the figure every --verify and fixture comparison reports."""

import numpy as np
import pytest


def test_relative_error_non_finite_entries():
    """A head with inf/NaN in the same places on both sides compares on its finite entries (a YOLO box head
    overflows to inf with random weights); a non-finite entry on one side only is an infinite error."""
    from mxtorch.export import relative_error

    ref = np.array([1.0, np.inf, -np.inf, np.nan, 4.0], dtype=np.float32)
    got = np.array([1.0, np.inf, -np.inf, np.nan, 4.0 + 4e-6], dtype=np.float32)
    assert relative_error(got, ref) == pytest.approx(abs(np.float32(4.0 + 4e-6) - 4.0) / 4.0)
    assert relative_error(ref, ref) == 0.0
    assert relative_error(np.array([1.0, -np.inf, 0, np.nan, 4]), ref) == float("inf")  # inf sign
    assert relative_error(np.array([1.0, np.inf, 0, 0, 4]), ref[[0, 1, 2, 4, 4]]) == float("inf")  # place
    assert relative_error(np.array([np.inf, np.inf]), np.array([np.inf, np.inf])) == 0.0
