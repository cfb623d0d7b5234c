"""The region and deformable ops (mxtorch/ops/roi.py, deformable.py) trace under torch.export with a
symbolic number of rois and give the eager result; their attributes are validated at load. MXNet's own
numbers are checked by the fixtures in fixtures/mxtorch/regions/ (tests/test_mxtorch_fixtures.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import mxtorch  # noqa: E402
from mxtorch.ops import deformable, roi  # noqa: E402
from mxtorch.ops._common import mx_round  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REGIONS = ROOT / "fixtures" / "mxtorch" / "regions"


def _rois(r: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(r)
    xy = torch.rand(r, 2, generator=g) * 20 - 4
    wh = torch.rand(r, 2, generator=g) * 12
    return torch.cat([torch.zeros(r, 1), xy, xy + wh], 1)


CASES = {
    "roi_pooling": (roi.roi_pooling, {"pooled_size": (3, 2), "spatial_scale": 0.5}, 3),
    "roi_align_adaptive": (roi.roi_align, {"pooled_size": (2, 2), "spatial_scale": 1.0, "sample_ratio": -1,
                                           "position_sensitive": False, "aligned": False}, 3),
    "psroi_pooling": (roi.psroi_pooling, {"spatial_scale": 0.5, "output_dim": 2, "pooled_size": 2,
                                          "group_size": 2}, 8),
    "dpsroi_pooling": (deformable.deformable_psroi_pooling,
                       {"spatial_scale": 0.5, "output_dim": 2, "group_size": 2, "pooled_size": 2, "part_size": 2,
                        "sample_per_part": 2, "trans_std": 0.1, "no_trans": True}, 8),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_export_symbolic_rois(name: str) -> None:
    fn, kw, c = CASES[name]

    class M(torch.nn.Module):
        def forward(self, data, rois):
            return fn(data, rois, **kw)

    data = torch.randn(1, c, 7, 9)
    n = torch.export.Dim("n", min=2, max=4096)
    prog = torch.export.export(M(), (data, _rois(5)), dynamic_shapes=({}, {0: n}))
    for r in (3, 11):
        torch.testing.assert_close(prog.module()(data, _rois(r)), M()(data, _rois(r)), rtol=0, atol=0)


def test_export_deformable_conv_dynamic_batch() -> None:
    class M(torch.nn.Module):
        def forward(self, x, off, mask, w):
            return deformable.modulated_deformable_convolution(
                x, off, mask, w, kernel=(3, 3), stride=(1, 1), pad=(1, 1), dilate=(1, 1), num_group=1,
                num_deformable_group=2)

    args = (torch.randn(2, 4, 5, 6), torch.randn(2, 36, 5, 6) * 2, torch.rand(2, 18, 5, 6), torch.randn(3, 4, 3, 3))
    b = torch.export.Dim("b", min=2, max=64)
    prog = torch.export.export(M(), args, dynamic_shapes=({0: b}, {0: b}, {0: b}, {}))
    torch.testing.assert_close(prog.module()(*args), M()(*args), rtol=0, atol=0)


def _graph(op: str, attrs: dict, inputs: list[str]) -> dict:
    nodes = [{"op": "null", "name": n, "inputs": []} for n in inputs]
    nodes.append({"op": op, "name": "x", "attrs": {k: str(v) for k, v in attrs.items()},
                  "inputs": [[i, 0, 0] for i in range(len(inputs))]})
    return {"nodes": nodes, "arg_nodes": list(range(len(inputs))), "node_row_ptr": list(range(len(nodes) + 1)),
            "heads": [[len(inputs), 0, 0]], "attrs": {"mxnet_version": ["int", 10901]}}


@pytest.mark.parametrize("op,attrs,inputs", [
    ("ROIPooling", {"pooled_size": "(0, 2)", "spatial_scale": "1"}, ["data", "rois"]),
    ("_contrib_ROIAlign", {"pooled_size": "(2, 2)", "spatial_scale": "2"}, ["data", "rois"]),
    ("_contrib_PSROIPooling", {"pooled_size": "0", "output_dim": "2", "spatial_scale": "1"}, ["data", "rois"]),
    ("_contrib_DeformableConvolution", {"kernel": "(3,)", "num_filter": "2", "no_bias": "True"},
     ["data", "offset"]),
    ("_contrib_ModulatedDeformableConvolution", {"kernel": "(3, 3)", "num_filter": "3", "num_group": "2",
                                                 "no_bias": "True"}, ["data", "offset", "mask"]),
    ("_contrib_DeformablePSROIPooling", {"spatial_scale": "1", "output_dim": "2", "group_size": "2",
                                         "pooled_size": "2", "sample_per_part": "0", "no_trans": "True"},
     ["data", "rois"]),
])
def test_bad_attributes_refused_at_load(tmp_path: Path, op: str, attrs: dict, inputs: list[str]) -> None:
    (tmp_path / "m-symbol.json").write_text(json.dumps(_graph(op, attrs, inputs)))
    with pytest.raises(mxtorch.UnsupportedOpError, match=op):
        mxtorch.load(tmp_path / "m")


def test_region_fixtures_cover_every_op() -> None:
    ops = set()
    for p in REGIONS.glob("*-symbol.json"):
        ops |= {n["op"] for n in json.loads(p.read_text())["nodes"]}
    assert {"ROIPooling", "_contrib_ROIAlign", "_contrib_PSROIPooling", "_contrib_DeformableConvolution",
            "_contrib_ModulatedDeformableConvolution", "_contrib_DeformablePSROIPooling"} <= ops


def test_round_half_away() -> None:
    x = torch.tensor([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49999997, 2.4], dtype=torch.float32)
    np.testing.assert_array_equal(mx_round(x).numpy(), [-3, -2, -1, 1, 2, 3, 0, 2])


def test_tiny_detector_converts_and_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A whole detector (GluonCV CenterNet: DCNv2 layers, heatmap top-k, class ids) goes to .pt2 and .onnx
    and each artifact reproduces the in-memory model (mxtorch convert --verify)."""
    from mxtorch.cli import main

    prefix = ROOT / "fixtures" / "mxtorch" / "detnet_b" / "center_net_tiny_dcnv2"
    for ext in (".pt2", ".onnx"):
        out = tmp_path / f"detector{ext}"
        assert main(["convert", str(prefix), "--input", "data=1,3,64,96", "-o", str(out), "--verify"]) == 0
        assert out.stat().st_size > 0
    text = capsys.readouterr().out
    assert text.count("verify:") == 6, text
