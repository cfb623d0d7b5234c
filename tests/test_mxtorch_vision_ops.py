"""Load-time refusals of the vision ops (issue 17): attribute values MXNet itself refuses, or that mxtorch
cannot honour, stop at load with one error naming the node (the values MXNet accepts are covered by the
fixtures under fixtures/mxtorch/vision/)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
import mxtorch  # noqa: E402
from ndparse import NDFormatError  # noqa: E402


def _load(tmp_path, op: str, attrs: dict, n_inputs: int = 1):
    nodes = [{"op": "null", "name": f"in{i}", "inputs": []} for i in range(n_inputs)]
    nodes.append({"op": op, "name": "node", "attrs": {k: str(v) for k, v in attrs.items()},
                  "inputs": [[i, 0, 0] for i in range(n_inputs)]})
    sym = {"nodes": nodes, "arg_nodes": list(range(n_inputs)), "node_row_ptr": list(range(len(nodes) + 1)),
           "heads": [[n_inputs, 0, 0]], "attrs": {"mxnet_version": ["int", 10901]}}
    p = tmp_path / "g-symbol.json"
    p.write_text(json.dumps(sym))
    return mxtorch.load(str(p))


@pytest.mark.parametrize("op, attrs, n", [
    ("reverse", {"axis": "(-1,)"}, 1),
    ("reverse", {"axis": "(1, 1)"}, 1),
    ("pick", {"axis": "None"}, 2),
    ("LRN", {"nsize": 4}, 1),
    ("LRN", {"nsize": 0}, 1),
    ("_contrib_BilinearResize2D", {"mode": "odd_scale"}, 1),
    ("_contrib_BilinearResize2D", {"scale_height": 2.0}, 1),
    ("_contrib_BilinearResize2D", {"scale_height": -1.0, "scale_width": 2.0}, 1),
    ("_contrib_AdaptiveAvgPooling2D", {"output_size": "(0, 2)"}, 1),
    ("depth_to_space", {"block_size": 0}, 1),
    ("scatter_nd", {"shape": "(-1, 2)"}, 2),
    ("_split_v2", {"indices": "(0, 3, 1)", "sections": 0}, 1),
    ("_linalg_gemm2", {"axis": -1}, 2),
])
def test_refused_at_load(tmp_path, op, attrs, n):
    with pytest.raises(NDFormatError, match="node"):
        _load(tmp_path, op, attrs, n)


def test_topk_value_hidden_output(tmp_path):
    """topk(ret_typ='value') has one visible output, like MXNet's list_outputs."""
    m = _load(tmp_path, "topk", {"ret_typ": "value", "k": 2})
    assert len(m.output_names) == 1
