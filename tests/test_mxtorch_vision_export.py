"""The vision ops export (issue 17): a miniature segmentation head (adaptive pooling, bilinear resizes whose
sizes come from the input, topk) written by MXNet 1.9.1 goes to .pt2 and .onnx and passes the check, and
under torch.export with a dynamic height and width the resize sizes stay symbolic (the exported program
run at another input size equals the eager model). Whole tiny GluonCV networks are exported by
tools/check_zoo_vision.py (each takes close to a minute)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import mxtorch  # noqa: E402
from mxtorch.export import export  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HEAD = ROOT / "fixtures" / "mxtorch" / "vision" / "seg_head_graph"


def _model_and_input():
    model = mxtorch.load(HEAD)
    x = torch.from_numpy(np.load(str(HEAD) + ".expected.npz")["in:data"])
    return model, x


@pytest.mark.parametrize("ext", ["pt2", "onnx"])
def test_seg_head_exports_and_verifies(tmp_path, ext):
    pytest.importorskip("onnxruntime") if ext == "onnx" else None
    model, x = _model_and_input()
    check = export(model, tmp_path / f"head.{ext}", [x], input_names=model.input_names,
                   output_names=model.output_names)
    assert check is not None and check.ok, check


def test_resize_sizes_stay_symbolic():
    model, x = _model_and_input()
    h, w = torch.export.Dim("h", min=4, max=64), torch.export.Dim("w", min=4, max=64)
    ep = torch.export.export(model, (x,), dynamic_shapes=(({2: h, 3: w},),))  # forward(*inputs)
    y = torch.randn(1, 3, 12, 11)
    model.fast_path = False  # the export holds the plain ops: equal to them exactly
    with torch.inference_mode():
        want = model(y)
    got = ep.module()(y)
    assert got[0].shape == (1, 4, 12, 12)  # to_even_up of 12 x 11, from the new input
    for g, e in zip(got, want):
        assert torch.equal(g, e)
