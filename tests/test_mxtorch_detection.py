"""Detection ops (issue 18, boxes/anchors/proposals): the blocked greedy NMS equals a plain sequential
greedy pass, the training op MultiBoxTarget is refused at load, and a tiny detector (MXNet's example/ssd
symbol with MultiBoxPrior + MultiBoxDetection) converts to .pt2 and .onnx and passes its own --verify.
MXNet's numbers themselves are checked by tests/test_mxtorch_fixtures.py on fixtures/mxtorch/detection
and fixtures/mxtorch/detnet_a."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import mxtorch  # noqa: E402
from mxtorch.cli import main as mxtorch_main  # noqa: E402
from mxtorch.ops import _common, boxes  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DETNET = ROOT / "fixtures" / "mxtorch" / "detnet_a"


def _sequential_keep(b: np.ndarray, cand: np.ndarray, cls: np.ndarray, thresh: float) -> np.ndarray:
    """MXNet's loop: each kept box, in order, removes the later boxes of its class above the threshold."""
    keep = cand.copy()
    rule = boxes._nms_rule(False, thresh, True)
    f = rule.prep(torch.from_numpy(b)[None], torch.from_numpy(cls)[None])
    m = rule.sup(f, f)[0].numpy()
    for i in range(len(b)):
        if keep[i]:
            keep[i + 1:] &= ~m[i, i + 1:]
    return keep


@pytest.mark.parametrize("seed", range(4))
def test_blocked_greedy_equals_sequential(seed: int) -> None:
    r = np.random.RandomState(seed)
    n = 300  # three blocks and a partial one
    centres = r.uniform(0, 1, (20, 2))
    xy = centres[r.randint(0, 20, n)] + r.normal(0, 0.02, (n, 2))
    b = np.concatenate([xy, xy + r.uniform(0.05, 0.2, (n, 2))], 1).astype(np.float32)
    cand = r.uniform(size=n) > 0.1
    cls = r.randint(0, 2, n).astype(np.float32)
    want = _sequential_keep(b, cand, cls, 0.4)
    got = _common.greedy_keep(torch.from_numpy(b)[None], torch.from_numpy(cand)[None],
                              boxes._nms_rule(False, 0.4, True), torch.from_numpy(cls)[None])[0].numpy()
    np.testing.assert_array_equal(got, want)
    # with a limit, the first `limit` kept boxes are the same
    lim = _common.greedy_keep(torch.from_numpy(b)[None], torch.from_numpy(cand)[None],
                              boxes._nms_rule(False, 0.4, True), torch.from_numpy(cls)[None], limit=20)[0].numpy()
    np.testing.assert_array_equal(np.flatnonzero(lim)[:20], np.flatnonzero(want)[:20])


def test_stable_order_traced_form_matches() -> None:
    x = torch.tensor([[3.0, 1.0, 3.0, float("-inf"), 1.0, 2.0, 3.0]])
    want = torch.sort(x, dim=1, descending=True, stable=True).indices
    real = _common.tracing
    try:
        _common.tracing = lambda: True  # type: ignore[assignment]
        got = _common.stable_order(x)
        got_asc = _common.stable_order(x, descending=False)
    finally:
        _common.tracing = real  # type: ignore[assignment]
    assert got.tolist() == want.tolist()
    assert got_asc.tolist() == torch.sort(x, dim=1, stable=True).indices.tolist()


def test_multibox_target_is_refused(tmp_path: Path) -> None:
    graph = {"nodes": [{"op": "null", "name": n, "inputs": []} for n in ("anchor", "label", "cls_pred")]
             + [{"op": "_contrib_MultiBoxTarget", "name": "target", "inputs": [[0, 0, 0], [1, 0, 0], [2, 0, 0]]}],
             "arg_nodes": [0, 1, 2], "node_row_ptr": [0, 1, 2, 3, 6], "heads": [[3, 0, 0]],
             "attrs": {"mxnet_version": ["int", 10901]}}
    path = tmp_path / "t-symbol.json"
    path.write_text(json.dumps(graph))
    with pytest.raises(mxtorch.UnsupportedOpError, match="_contrib_MultiBoxTarget.*target"):
        mxtorch.load(path)


@pytest.mark.parametrize("ext", ["pt2", "onnx"])
def test_tiny_ssd_converts_and_verifies(tmp_path: Path, ext: str) -> None:
    out = tmp_path / f"ssd.{ext}"
    assert mxtorch_main(["convert", str(DETNET / "mx_example_ssd_tiny"), "--input", "data=1,3,96,96",
                         "-o", str(out)]) == 0
    assert out.stat().st_size > 0
