"""Detection ops (issue 18, boxes/anchors/proposals): the greedy NMS (eager and traced forms, each overlap
rule, with and without a limit) equals a plain sequential greedy pass, box_nms and Proposal export with
their exact eager results, Proposal refuses a batch as MXNet does, the training op MultiBoxTarget is refused
at load, and a tiny detector (MXNet's example/ssd symbol with MultiBoxPrior + MultiBoxDetection) converts to
.pt2 and .onnx and passes its own --verify. MXNet's numbers themselves are checked by
tests/test_mxtorch_fixtures.py on fixtures/mxtorch/detection and fixtures/mxtorch/detnet_a."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import mxtorch  # noqa: E402
from mxtorch.cli import main as mxtorch_main  # noqa: E402
from mxtorch.ops import _common, boxes, proposal  # noqa: E402

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


def _rules() -> dict:
    return {"box_nms": boxes._nms_rule(False, 0.4, True), "box_nms_center": boxes._nms_rule(True, 0.3, False),
            "multibox": proposal._mbd_rule(False, 0.45), "multibox_force": proposal._mbd_rule(True, 0.45),
            "proposal": proposal._proposal_rule(0.5)}


def _reference(rule: _common.Suppression, b: torch.Tensor, cand: np.ndarray, cls: torch.Tensor) -> np.ndarray:
    """MXNet's loop with the rule's own pairwise test: each kept box, in order, removes later boxes."""
    f = rule.prep(b[None], cls[None])
    m = rule.sup(f, f)[0].numpy()
    keep = cand.copy()
    for i in range(len(cand)):
        if keep[i]:
            keep[i + 1:] &= ~m[i, i + 1:]
    return keep


@pytest.mark.parametrize("name", list(_rules()))
def test_eager_greedy_equals_sequential_for_every_rule(name: str) -> None:
    """Blocks of 256 against more than 512 kept boxes (several kept chunks), one NMS per class (more than
    512 candidates), NaN and -0.0 classes, a batch of 2, and limits."""
    rule = _rules()[name]
    r = np.random.RandomState(7)
    n = 1500
    scale = 100.0 if name == "proposal" else 1.0  # pixel boxes for the +1 convention
    xy = r.uniform(0, 1, (2, n, 2))
    xy[:, : n // 3] = r.uniform(0, 1, (6, 2))[r.randint(0, 6, (2, n // 3))] + r.normal(0, 0.01, (2, n // 3, 2))
    wh = r.uniform(0.005, 0.04, (2, n, 2))
    corners = np.concatenate([xy, wh if name == "box_nms_center" else xy + wh], 2)  # center form: (x, y, w, h)
    b = torch.from_numpy((corners * scale).astype(np.float32))
    cand = r.uniform(size=(2, n)) > 0.05
    cls = r.randint(0, 3, (2, n)).astype(np.float32)
    cls[r.uniform(size=cls.shape) < 0.02] = np.nan  # equal to no class: kept, removes nothing
    cls[cls == 0] = np.where(r.uniform(size=(cls == 0).sum()) < 0.5, -0.0, 0.0)  # -0 is class 0
    cls = torch.from_numpy(cls)
    got = _common.greedy_keep(b, torch.from_numpy(cand), rule, cls).numpy()
    for i in range(2):
        want = _reference(rule, b[i], cand[i], cls[i])
        assert want.sum() > 600
        np.testing.assert_array_equal(got[i], want)
        for limit in (1, 300, 700):
            lim = _common.greedy_keep(b[i:i + 1], torch.from_numpy(cand[i:i + 1]), rule, cls[i:i + 1], limit)[0]
            np.testing.assert_array_equal(np.flatnonzero(lim.numpy())[:limit], np.flatnonzero(want)[:limit])


def test_box_nms_exports_with_eager_results() -> None:
    """torch.export takes box_nms (the traced greedy pass: fixed shapes, a while_loop per block) and the
    program gives the eager answer bit for bit."""
    r = np.random.RandomState(3)
    n = 300
    xy = r.uniform(0, 1, (2, n, 2))
    rows = np.concatenate([r.randint(0, 3, (2, n, 1)), r.uniform(0, 1, (2, n, 1)), xy,
                           xy + r.uniform(0.02, 0.2, (2, n, 2))], -1).astype(np.float32)
    x = torch.from_numpy(rows)
    kw = {"overlap_thresh": 0.3, "valid_thresh": 0.1, "topk": 250, "coord_start": 2, "score_index": 1,
          "id_index": 0, "background_id": -1, "force_suppress": False, "in_center": False, "out_center": True}

    class M(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return boxes.box_nms(x, **kw)

    prog = torch.export.export(M(), (x,))
    want = boxes.box_nms(x, **kw)
    assert (want[..., 0] != -1).sum() > 100
    assert torch.equal(prog.module()(x), want)


def _proposal_graph(tmp_path: Path, op: str) -> Path:
    names = ("cls_prob", "bbox_pred", "im_info")
    graph = {"nodes": [{"op": "null", "name": n, "inputs": []} for n in names]
             + [{"op": op, "name": "rpn_prop", "inputs": [[0, 0, 0], [1, 0, 0], [2, 0, 0]],
                 "attrs": {"scales": "(8, 16)", "ratios": "(1,)", "rpn_pre_nms_top_n": "60",
                           "rpn_post_nms_top_n": "8"}}],
             "arg_nodes": [0, 1, 2], "node_row_ptr": [0, 1, 2, 3, 4], "heads": [[3, 0, 0]],
             "attrs": {"mxnet_version": ["int", 10901]}}
    path = tmp_path / f"{op}-symbol.json"
    path.write_text(json.dumps(graph))
    return path


def _proposal_inputs(batch: int) -> tuple[torch.Tensor, ...]:
    r = np.random.RandomState(5)
    cls = torch.from_numpy(r.uniform(0, 1, (batch, 4, 4, 5)).astype(np.float32))
    bbox = torch.from_numpy(r.normal(0, 0.1, (batch, 8, 4, 5)).astype(np.float32))
    info = torch.tensor([[64.0, 80.0, 1.0]] * batch)
    return cls, bbox, info


def test_proposal_refuses_a_batch_as_mxnet_does(tmp_path: Path) -> None:
    """MXNet 1.9.1's Proposal forward fails for a batch > 1 ('multiple images each device is not
    implemented'); mxtorch raises one line naming the node instead of using image 0."""
    model = mxtorch.load(_proposal_graph(tmp_path, "_contrib_Proposal"))
    assert model(*_proposal_inputs(1)).shape == (8, 5)
    with pytest.raises(ValueError, match=r"_contrib_Proposal.*'rpn_prop'.*batch of 2.*_contrib_MultiProposal"):
        model(*_proposal_inputs(2))
    multi = mxtorch.load(_proposal_graph(tmp_path, "_contrib_MultiProposal"))
    two = _proposal_inputs(2)
    out = multi(*two)
    assert out.shape == (16, 5)
    assert torch.equal(out[:8], model(*(t[:1] for t in two)))
    assert torch.equal(out[8:, 0], torch.ones(8))


def test_stable_top_equals_the_stable_sort() -> None:
    """The eager top-k shortcut picks the same indices in the same order as the full stable sort, with
    ties (equal scores keep input order, also across the k-th value), -inf and NaN (full sort)."""
    r = np.random.RandomState(11)
    for trial in range(40):
        n = int(r.choice([5, 50, 1000, 3000]))
        x = np.round(r.uniform(-1, 1, (int(r.choice([1, 3])), n)) * r.choice([4, 64, 4096])) / 8
        x[r.uniform(size=x.shape) < 0.1] = -np.inf
        if trial % 10 == 9:
            x[0, 3] = np.nan
        t = torch.from_numpy(x.astype(np.float32))
        for k in (1, 2, n // 7, n // 3, n):
            want = torch.sort(t, dim=1, descending=True, stable=True).indices[:, :k]
            assert torch.equal(_common.stable_top(t, k), want), (trial, k)


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
