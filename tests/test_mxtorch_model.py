"""The mxtorch API: inputs/outputs, state_dict names and strict reload, dtype/device moves, inference
mode, batch sizes, torch.export, and UnsupportedOpError at load time."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import ndparse  # noqa: E402
import mxtorch  # noqa: E402

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "mxtorch"
DETECTOR = FIX / "net" / "detector_multihead"  # 3 heads: PReLU, SoftmaxActivation(channel), L2Normalization
BN = FIX / "nn" / "bn_nofix_eps"
SOFTMAX = FIX / "nn" / "softmaxoutput_2d"


def _expected(prefix: Path) -> dict[str, np.ndarray]:
    return dict(np.load(prefix.parent / f"{prefix.name}.expected.npz"))


def _graph(nodes: list[dict], heads: list[list[int]]) -> str:
    """A 1.9.1-style symbol JSON from nodes given as {op, name, attrs, inputs: [ids]}."""
    out = []
    for n in nodes:
        out.append({"op": n.get("op", "null"), "name": n["name"], "attrs": n.get("attrs", {}),
                    "inputs": [[i, 0, 0] for i in n.get("inputs", [])]})
    return json.dumps({"nodes": out, "arg_nodes": [i for i, n in enumerate(out) if n["op"] == "null"],
                       "heads": [[h, 0, 0] for h in heads], "attrs": {"mxnet_version": ["int", 10901]}})


def _conv_graph(layout: str | None = None, weight: str = "c_weight") -> str:
    attrs = {"kernel": "(3, 3)", "num_filter": "2", "no_bias": "True"}
    if layout:
        attrs["layout"] = layout
    return _graph([{"name": "data"}, {"name": weight},
                   {"op": "Convolution", "name": "c", "attrs": attrs, "inputs": [0, 1]}], [2])


def test_inputs_outputs_and_heads() -> None:
    model = mxtorch.load(DETECTOR)
    assert model.input_names == ("data",)
    assert model.output_names == ("prob1_output", "conv4_2_output", "emb_norm_output")
    assert not model.training
    e = _expected(DETECTOR)
    with torch.inference_mode():
        a = model(torch.from_numpy(e["in:data"]))
        b = model(data=torch.from_numpy(e["in:data"]))
    assert isinstance(a, tuple) and len(a) == 3
    for x, y in zip(a, b):
        assert torch.equal(x, y)


def test_loss_label_is_not_an_input() -> None:
    model = mxtorch.load(SOFTMAX)
    assert model.input_names == ("data",)
    assert model.output_names == ("softmax_output",)
    out = model(torch.from_numpy(_expected(SOFTMAX)["in:data"]))
    assert isinstance(out, torch.Tensor)
    torch.testing.assert_close(out.sum(-1), torch.ones(3), rtol=0, atol=1e-6)


def test_wrong_arguments() -> None:
    model = mxtorch.load(SOFTMAX)
    x = torch.zeros(3, 7)
    with pytest.raises(TypeError, match="input"):
        model()
    with pytest.raises(TypeError, match="unknown input"):
        model(x, label=x)
    with pytest.raises(TypeError, match="given twice"):
        model(x, data=x)


def test_state_dict_keys_kinds_and_strict_reload() -> None:
    model = mxtorch.load(BN)
    _, args, aux = ndparse.load_checkpoint(BN, 0)
    sd = model.state_dict()
    assert set(sd) == set(args) | set(aux)
    assert {n for n, _ in model.named_buffers()} == set(aux)
    assert {n for n, _ in model.named_parameters()} == set(args)
    for name, arr in {**args, **aux}.items():
        assert np.array_equal(sd[name].numpy(), arr)
    fresh = mxtorch.load(BN)
    zeroed = {k: torch.zeros_like(v) for k, v in sd.items()}
    fresh.load_state_dict(zeroed, strict=True)  # params are writable memory (no read-only map)
    assert all(float(v.abs().sum()) == 0 for v in fresh.state_dict().values())
    fresh.load_state_dict(sd, strict=True)
    x = torch.from_numpy(_expected(BN)["in:data"])
    assert torch.equal(fresh(x), model(x))
    with pytest.raises(RuntimeError, match="Missing key"):
        fresh.load_state_dict({k: v for k, v in sd.items() if k != "bn_gamma"}, strict=True)


@pytest.mark.parametrize("name", ["features.0.weight", "training", "100%", "forward", ""])
def test_names_torch_refuses_are_escaped_reversibly(name: str) -> None:
    key = mxtorch.escape_name(name)
    assert "." not in key and key != ""
    assert mxtorch.unescape_name(key) == name
    if name not in ("features.0.weight", "100%") and name:
        assert key != name
    if name == "features.0.weight":
        model = mxtorch.from_symbol(_conv_graph(weight=name),
                                    {name: np.ones((2, 1, 3, 3), np.float32)}, {})
        assert list(model.state_dict()) == ["features%2E0%2Eweight"]
        model.load_state_dict(model.state_dict(), strict=True)
        assert float(model(torch.ones(1, 1, 4, 4)).sum()) == 2 * 4 * 9


def test_to_float64_and_inference_mode() -> None:
    model = mxtorch.load(DETECTOR).to(torch.float64)
    e = _expected(DETECTOR)
    with torch.inference_mode():
        outs = model(torch.from_numpy(e["in:data"]).double())
    for i, o in enumerate(outs):
        assert o.dtype == torch.float64
        want = e[f"out:{i}"]
        assert np.abs(o.numpy() - want).max() <= 1e-5 * np.abs(want).max()


@pytest.mark.parametrize("batch", [1, 3, 5])
def test_batch_sizes(batch: int) -> None:
    model = mxtorch.load(DETECTOR)
    x = torch.from_numpy(_expected(DETECTOR)["in:data"])
    xs = x.repeat((batch + 1) // 2 + 1, 1, 1, 1)[:batch]
    with torch.inference_mode():
        full = model(x.repeat(3, 1, 1, 1))
        part = model(xs)
    for f, p in zip(full, part):
        assert p.shape[0] == batch
        torch.testing.assert_close(p, f[:batch], rtol=1e-5, atol=1e-6)


def test_torch_export_with_dynamic_batch() -> None:
    model = mxtorch.load(DETECTOR)
    x = torch.from_numpy(_expected(DETECTOR)["in:data"])
    batch = torch.export.Dim("batch", min=1, max=64)
    ep = torch.export.export(model, (x,), dynamic_shapes=(({0: batch},),))  # forward(*inputs)
    x3 = torch.cat([x, x[:1]])
    model.fast_path = False  # the export holds the plain ops: the same values, bit for bit nearly
    for got, want in zip(ep.module()(x3), model(x3)):
        torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-7)


def test_graph_is_one_call_per_op() -> None:
    model = mxtorch.load(DETECTOR)
    calls = [n for n in model.graph_module.graph.nodes if n.op == "call_function"]
    ops = [n.meta.get("mxnet_op") for n in calls if "mxnet_op" in n.meta]
    assert len(ops) == 10 and ops.count("Convolution") == 4  # 4 conv, 2 prelu, pool, softmax, fc, l2


def test_missing_parameter_is_an_error() -> None:
    with pytest.raises(ndparse.NDFormatError, match="c_weight"):
        mxtorch.from_symbol(_conv_graph(), {}, {})


def test_a_rejected_input_names_the_mxnet_node() -> None:
    # torch's own message says nothing of the graph: the failing op's node is added as a note and an attribute
    g = _graph([{"name": "data"}, {"op": "Activation", "name": "act", "inputs": [0], "attrs": {"act_type": "relu"}},
                {"op": "SliceChannel", "name": "five_parts", "inputs": [1], "attrs": {"num_outputs": "5"}}], [2])
    model = mxtorch.from_symbol(g, {}, {})
    assert tuple(model(torch.ones(1, 10, 2)).shape) == (1, 2, 2)  # the head is part 0 of 5
    with pytest.raises(ValueError, match="5 does not divide 3") as info:
        model(torch.ones(1, 3, 2))
    assert info.value.mxnet_node == ("SliceChannel", "five_parts")
    assert info.value.__notes__ == ["in MXNet SliceChannel node 'five_parts'"]
    conv = mxtorch.from_symbol(_conv_graph(), {"c_weight": np.ones((2, 1, 3, 3), np.float32)}, {})
    with pytest.raises(RuntimeError) as info:
        conv(torch.ones(1, 4, 5, 5))
    assert info.value.mxnet_node == ("Convolution", "c")


def test_missing_params_file_is_named(tmp_path: Path) -> None:
    sym = tmp_path / "net-symbol.json"
    sym.write_text(_conv_graph())
    with pytest.raises(ndparse.NDFormatError, match="c_weight") as info:
        mxtorch.load(sym)
    assert str(tmp_path / "net-0000.params") in str(info.value) and info.value.file == str(sym)
    with pytest.raises(FileNotFoundError, match="net-0003.params") as missing:  # an epoch asked for
        mxtorch.load(sym, epoch=3)
    assert "params files there: none" in str(missing.value)
    plain = tmp_path / "plain-symbol.json"  # a graph without parameters needs no params file
    plain.write_text(_graph([{"name": "data"}, {"op": "relu", "name": "r", "inputs": [0]}], [1]))
    assert torch.equal(mxtorch.load(plain)(torch.tensor([-1.0, 2.0])), torch.tensor([0.0, 2.0]))


@pytest.mark.parametrize("graph, value", [
    (_graph([{"name": "data"}, {"op": "FooBar", "name": "foo", "inputs": [0]}], [1]), "FooBar"),
    (_graph([{"name": "data"}, {"op": "Custom", "name": "cu", "attrs": {"op_type": "myop"},
                                "inputs": [0]}], [1]), "Custom"),
    (_conv_graph(layout="NHWC"), "layout='NHWC'"),
    (_graph([{"name": "data"}, {"op": "Pooling", "name": "p", "inputs": [0],
                                "attrs": {"kernel": "(3,)", "pooling_convention": "same"}}], [1]),
     "pooling_convention='same'"),
    (_graph([{"name": "data"}, {"op": "Activation", "name": "a", "inputs": [0],
                                "attrs": {"act_type": "softrelu"}},
             {"op": "LeakyReLU", "name": "r", "inputs": [1], "attrs": {"act_type": "rrelu"}}], [2]),
     None),
])
def test_unsupported_at_load_time(graph: str, value: str | None) -> None:
    params = {"c_weight": np.ones((2, 1, 3, 3), np.float32)}
    if value is None:  # a supported graph, for contrast
        assert mxtorch.from_symbol(graph, params, {}).input_names == ("data",)
        return
    with pytest.raises(mxtorch.UnsupportedOpError) as info:
        mxtorch.from_symbol(graph, params, {})
    err = info.value
    assert isinstance(err, ndparse.NDFormatError)
    msg = str(err)
    assert value in msg and repr(err.node) in msg and "supported" in msg and err.supported


def test_rrelu_mask_output_is_refused() -> None:
    g = json.loads(_graph([{"name": "data"}, {"op": "LeakyReLU", "name": "r", "inputs": [0],
                                              "attrs": {"act_type": "rrelu"}}], [1]))
    g["heads"] = [[1, 1, 0]]
    with pytest.raises(mxtorch.UnsupportedOpError, match="output 1"):
        mxtorch.from_symbol(json.dumps(g), {}, {})


def test_dropout_always_is_random_at_inference() -> None:
    g = _graph([{"name": "data"}, {"op": "Dropout", "name": "d", "inputs": [0],
                                   "attrs": {"p": "0.25", "mode": "always"}}], [1])
    model = mxtorch.from_symbol(g, {}, {})
    torch.manual_seed(0)
    y = model(torch.ones(200, 100))
    kept = y[y != 0]
    assert torch.allclose(kept, torch.full_like(kept, 1 / 0.75))
    assert 0.22 < float((y == 0).float().mean()) < 0.28
