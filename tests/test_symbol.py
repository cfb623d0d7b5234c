"""ndparse.symbol: graphs read as MXNet 1.9.1 reads them (truth recorded from MXNet in fixtures/)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
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


def test_op_table_marks_learnt_inputs():
    """The table says which inputs are learnt ($), auxiliary (@) or labels (%); every reader asks it."""
    from ndparse._opdefs import learnt_input_names

    conv = op_def("Convolution")
    assert conv.param_names({"no_bias": False}) == ["weight", "bias"]
    assert conv.param_names({"no_bias": True}) == ["weight"]
    bn = op_def("BatchNorm")
    assert bn.input_roles({}) == ["data", "param", "param", "aux", "aux"]
    assert bn.param_names({}) == ["gamma", "beta"]
    assert op_def("SoftmaxOutput").input_roles({}) == ["data", "label"]
    assert op_def("LeakyReLU").param_names({"act_type": "prelu"}) == ["gamma"]
    assert op_def("LeakyReLU").param_names({"act_type": "leaky"}) == []
    assert op_def("UpSampling").input_roles({"sample_type": "bilinear", "num_args": 1}) == ["data", "param"]
    # the fused RNN's parameters are learnt; its begin states are data (GluonNLP feeds them)
    rnn = op_def("RNN").input_roles({"mode": "lstm", "use_sequence_length": False})
    assert rnn == ["data", "param", "data", "data"]
    assert learnt_input_names(aux=True) == {"moving_mean", "moving_var", "moving_avg"}
    assert {"weight", "bias", "gamma", "beta", "parameters"} <= learnt_input_names(aux=False)
    assert "state" not in learnt_input_names()


SYMBOL_FIXTURES = ROOT / "fixtures" / "symbol"
CASES = sorted(p.name[: -len(".expected.json")] for p in SYMBOL_FIXTURES.glob("*.expected.json"))


def _expected(case):
    return json.loads((SYMBOL_FIXTURES / f"{case}.expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES)
def test_lists_match_mxnet(case):
    exp = _expected(case)
    s = ndparse.load_symbol(SYMBOL_FIXTURES / exp["file"])
    assert s.list_arguments() == exp["list_arguments"]
    assert s.list_auxiliary_states() == exp["list_auxiliary_states"]
    assert s.list_outputs() == exp["list_outputs"]
    assert s.list_inputs() == exp["list_inputs"]


@pytest.mark.parametrize("case", [c for c in CASES if (SYMBOL_FIXTURES / f"{c}.tojson.json").exists()])
def test_tojson_is_byte_identical_to_mxnet(case):
    exp = _expected(case)
    s = ndparse.load_symbol(SYMBOL_FIXTURES / exp["file"])
    want = (SYMBOL_FIXTURES / f"{case}.tojson.json").read_text(encoding="utf-8")
    assert s.tojson() == want


def test_tojson_round_trips():
    for case in CASES:
        s = ndparse.load_symbol(SYMBOL_FIXTURES / _expected(case)["file"])
        again = ndparse.load_symbol_json(s.tojson())
        assert [(n.op, n.name, n.inputs, n.raw_attrs) for n in again.nodes] == \
            [(n.op, n.name, n.inputs, n.raw_attrs) for n in s.nodes]
        assert again.list_outputs() == s.list_outputs()


CHECKPOINTS = sorted(p.name[: -len("-0000.params")] for p in SYMBOL_FIXTURES.glob("*-0000.params"))


@pytest.mark.parametrize("case", CHECKPOINTS)
def test_checkpoints_fit_their_graphs(case):
    s, arg, aux = ndparse.load_checkpoint(SYMBOL_FIXTURES / case, 0)
    assert isinstance(s, ndparse.Symbol)
    assert ndparse.check_checkpoint(s, arg, aux) == []
    assert set(arg) | set(aux) <= set(s.list_inputs())


def test_check_checkpoint_reports_missing_unused_and_shapes():
    import numpy as np
    s, arg, aux = ndparse.load_checkpoint(SYMBOL_FIXTURES / "lenet_bn", 0)
    arg = dict(arg)
    aux = dict(aux)
    del arg["conv1_weight"]
    arg["conv2_weight"] = np.zeros((8, 8, 3, 3), np.float32)  # num_group=2: C/num_group is 4
    arg["stray"] = np.zeros(1, np.float32)
    aux["bn1_moving_var"] = np.zeros(7, np.float32)
    problems = ndparse.check_checkpoint(s, arg, aux)
    assert problems == [
        "argument 'conv1_weight' has no array (used by Convolution 'conv1' input weight)",
        "array arg:stray is not used by the graph",
        "array 'bn1_moving_var' has shape (7,), but BatchNorm 'bn1' expects (8,)",
        "array 'conv2_weight' has shape (8, 8, 3, 3), but Convolution 'conv2' expects (8, 4, 3, 3)",
    ]


def test_label_names_and_data_inputs():
    from ndparse.checkpoint import data_inputs
    s = ndparse.load_symbol(SYMBOL_FIXTURES / "losses-symbol.json")
    assert s.label_names() == ["lin_label", "logit_label", "mae_label", "svm_label"]
    assert data_inputs(s) == ["data", "y"]


def test_num_outputs():
    s = ndparse.load_symbol(SYMBOL_FIXTURES / "multi_head-symbol.json")
    by_name = {n.name: n for n in s.nodes}
    assert s.num_outputs(by_name["bnm"]) == 3
    assert s.num_outputs(by_name["split"]) == 2
    assert s.num_outputs(by_name["rrelu"]) == 2
    assert s.num_outputs(by_name["ln"]) == 3
    assert s.num_outputs(by_name["data"]) == 1


def test_cli_inspect_symbol(tmp_path):
    import subprocess
    import sys
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    run = lambda *a: subprocess.run([sys.executable, "-m", "ndparse", "inspect", *a],
                                    capture_output=True, text=True, env=env, cwd=SYMBOL_FIXTURES)
    r = run("lenet_bn")
    assert r.returncode == 0, r.stderr
    assert "inputs:    data\n" in r.stdout and "check:     the arrays fit the graph" in r.stdout
    r = run("lenet_bn-symbol.json", "--json")
    doc = json.loads(r.stdout)
    assert doc["outputs"] == ["softmax_output"] and doc["op_histogram"]["BatchNorm"] == 2
    r = run("lenet_bn-symbol.json", "--params", "mlp_softmax-0000.params")
    assert r.returncode == 1 and "argument 'conv1_weight' has no array" in r.stdout
    assert "params:    mlp_softmax-0000.params: 4 arrays, none used by the graph\n" in r.stdout
    assert "params:    lenet_bn-0000.params: 14 arrays, 674 parameters\n" in run("lenet_bn").stdout
    part = tmp_path / "part-0000.params"  # the lenet_bn arrays and one stranger
    arrays = ndparse.load(SYMBOL_FIXTURES / "lenet_bn-0000.params")
    ndparse.save(part, {**{k: arrays[k] for k in arrays}, "arg:stranger": np.zeros(3, np.float32)})
    r = run("lenet_bn-symbol.json", "--params", str(part))
    assert "part-0000.params: 15 arrays (14 used by the graph, 674 parameters)\n" in r.stdout
    r = run("mlp_softmax-symbol.json", "--dot")
    assert r.stdout.startswith("digraph symbol {") and "n3 -> n4;" in r.stdout
    bad = tmp_path / "bad-symbol.json"
    bad.write_text('{"nodes": [], "heads": [[0, 0]]}')
    r = run(str(bad))
    assert r.returncode == 2 and "head 0 refers to node 0" in r.stderr
