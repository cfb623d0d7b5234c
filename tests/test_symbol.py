"""ndparse.symbol: graphs read as MXNet 1.9.1 reads them (truth recorded from MXNet in fixtures/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ndparse
from ndparse.symbol import op_def

ROOT = Path(__file__).resolve().parent.parent
EXISTING = sorted((ROOT / "fixtures").glob("*/*-symbol.json"))

# docs/SYMBOL.md section 2's 0.8-era example; MXNet 1.9.1 lists these names for it
ERA08 = {"nodes": [
    {"op": "null", "param": {}, "name": "data", "inputs": [], "backward_source_id": -1},
    {"op": "null", "param": {}, "name": "bn_gamma", "inputs": [], "backward_source_id": -1,
     "attr": {"lr_mult": "2"}},
    {"op": "null", "param": {}, "name": "bn_beta", "inputs": [], "backward_source_id": -1},
    {"op": "BatchNorm", "param": {"eps": "0.001", "fix_gamma": "True"}, "name": "bn",
     "inputs": [[0, 0], [1, 0], [2, 0]], "backward_source_id": -1,
     "attr": {"ctx_group": "dev1", "beta_wd_mult": "0"}}],
    "arg_nodes": [0, 1, 2], "heads": [[3, 0]]}


def test_era08_upgrade_adds_moving_stats_and_moves_hidden_keys():
    s = ndparse.load_symbol_json(json.dumps(ERA08))
    assert s.version == 800
    assert s.list_arguments() == ["data", "bn_gamma", "bn_beta"]
    assert s.list_auxiliary_states() == ["bn_moving_mean", "bn_moving_var"]
    assert s.list_outputs() == ["bn_output"]
    bn = s.nodes[-1]
    assert bn.op == "BatchNorm" and bn.inputs == ((0, 0), (1, 0), (2, 0), (3, 0), (4, 0))
    assert bn.attrs["eps"] == 0.001 and bn.attrs["fix_gamma"] is True
    assert bn.attrs["output_mean_var"] is False and bn.attrs["axis"] == 1
    assert bn.extra == {"__ctx_group__": "dev1"}
    assert s.nodes[1].extra == {"__lr_mult__": "2"}
    assert s.nodes[2].extra == {"__wd_mult__": "0"}
    assert s.nodes[3].raw_attrs["__init__"] == '["zero", {}]'
    assert s.nodes[4].raw_attrs["__init__"] == '["one", {}]'


@pytest.mark.parametrize("path", EXISTING, ids=lambda p: p.name)
def test_existing_fixture_graphs_load(path):
    s = ndparse.load_symbol(path)
    assert s.nodes and s.heads
    for n in s.nodes:
        assert all(src < n.index for src, _ in n.inputs)


def test_op_table_lookup():
    d = op_def("Softmax")
    assert d is op_def("SoftmaxOutput") and d.name == "SoftmaxOutput" and d.label_inputs == (1,)
    assert op_def("Convolution").input_names({"no_bias": True}) == ["data", "weight"]
    assert op_def("BatchNorm").aux_inputs == (3, 4)
    assert op_def("BatchNorm").params["eps"][1] == 0.0010000000474974513
    assert op_def("no_such_op") is None
