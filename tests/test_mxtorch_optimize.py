"""mxtorch.optimize: the rewritten model computes what the loaded one does (within 1e-5), exports, and folds a
BatchNorm only where that is legal. Nothing here times anything (bench/bench_vs_mxnet.py does)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import mxtorch
from mxtorch.export import export, relative_error
from mxtorch.optimization import optimize

ROOT = Path(__file__).resolve().parent.parent
NETS = sorted((ROOT / "fixtures" / "mxtorch" / "net").glob("*.expected.npz"))


def _prefix(npz: Path) -> Path:
    return npz.with_name(npz.name[: -len(".expected.npz")])


def _inputs(model: mxtorch.MXNetModel, npz: Path) -> tuple[torch.Tensor, ...]:
    with np.load(npz) as z:
        return tuple(torch.from_numpy(z[f"in:{n}"]) for n in model.input_names)


def _heads(out) -> list[np.ndarray]:
    return [o.numpy() for o in (out if isinstance(out, tuple) else (out,))]


@pytest.mark.parametrize("npz", NETS, ids=lambda p: _prefix(p).name)
@pytest.mark.parametrize("channels_last", [True, False])
def test_optimize_keeps_outputs(npz: Path, channels_last: bool) -> None:
    model = mxtorch.load(_prefix(npz))
    xs = _inputs(model, npz)
    fast = optimize(model, xs, channels_last=channels_last)
    with torch.inference_mode():
        want, got = _heads(model(*xs)), _heads(fast(*xs))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        assert relative_error(g, w) <= 1e-5
        assert g.flags.c_contiguous or not w.flags.c_contiguous  # heads in the memory order the model gives
    with np.load(npz) as z:  # and still MXNet's answer
        for i, g in enumerate(got):
            assert relative_error(g, z[f"out:{i}"]) <= 1e-5


def test_optimize_folds_the_zoo_batchnorms() -> None:
    model = mxtorch.load(ROOT / "fixtures" / "mxtorch" / "net" / "resnet_v1")
    fast = optimize(model)
    report = fast.optimize_report
    n_bn = sum(st.op == "BatchNorm" for st in model._plan.steps)
    assert report["bn_folded"] == n_bn > 0 and report["bn_kept"] == 0
    assert not any(st.op == "BatchNorm" and st.fn.__name__ == "batch_norm" for st in fast._plan.steps)
    assert len(fast.state_dict()) < len(model.state_dict())  # BatchNorm statistics no longer held
    weights = {k for k in fast.state_dict() if k.endswith("weight")}
    assert weights == {k for k in model.state_dict() if k.endswith("weight")}  # folded weights keep their names
    assert {k for k in fast.state_dict() if k not in model.state_dict()} <= {  # a bias where there was none
        f"{st.name}_bias" for st in model._plan.steps if st.op == "Convolution"}
    assert len(model.state_dict()) == len(mxtorch.load(ROOT / "fixtures" / "mxtorch" / "net" / "resnet_v1").state_dict())


def test_load_optimize_and_export(tmp_path: Path) -> None:
    npz = ROOT / "fixtures" / "mxtorch" / "net" / "resnet_v2.expected.npz"
    plain = mxtorch.load(_prefix(npz))
    fast = mxtorch.load(_prefix(npz), optimize=True)
    assert fast.optimize_report["bn_folded"] > 0
    xs = _inputs(fast, npz)
    fused = optimize(plain, xs)  # with example inputs: oneDNN steps for the calls, the plain plan for export
    for m, name in ((fast, "fast.pt2"), (fused, "fused.pt2")):
        check = export(m, tmp_path / name, xs, input_names=m.input_names, output_names=m.output_names,
                       dynamic_batch=True)
        assert check is not None and check.ok
        program = torch.export.load(tmp_path / name).module()
        assert "mkldnn" not in str(program.graph)
        with torch.inference_mode():
            assert relative_error(_heads(program(*xs))[0], _heads(plain(*xs))[0]) <= 1e-5


# ---- legality, on small hand-built graphs --------------------------------------------------------------------


def _graph(nodes: list[tuple], heads: list[int]) -> str:
    """Symbol JSON from ``(op, name, [input indices], attrs)`` tuples (op "null" = a variable)."""
    out = [{"op": op, "name": name, "attrs": {k: str(v) for k, v in attrs.items()},
            "inputs": [[i, 0, 0] for i in ins]} for op, name, ins, attrs in nodes]
    return json.dumps({"nodes": out, "arg_nodes": [i for i, n in enumerate(out) if n["op"] == "null"],
                       "heads": [[h, 0, 0] for h in heads], "attrs": {"mxnet_version": ["int", 10901]}})


def _conv_bn(extra: list[tuple], heads: list[int], bn_attrs: dict | None = None, bn_op: str = "BatchNorm"):
    nodes = [("null", "data", [], {}), ("null", "c_weight", [], {}), ("null", "c_bias", [], {}),
             ("Convolution", "c", [0, 1, 2], {"kernel": "(3, 3)", "num_filter": 4, "pad": "(1, 1)"}),
             ("null", "bn_gamma", [], {}), ("null", "bn_beta", [], {}), ("null", "bn_moving_mean", [], {}),
             ("null", "bn_moving_var", [], {}),
             (bn_op, "bn", [3, 4, 5, 6, 7], {"eps": 1e-3, "fix_gamma": False, **(bn_attrs or {})})]  # node 8
    g = torch.Generator().manual_seed(0)
    arg = {"c_weight": torch.randn(4, 3, 3, 3, generator=g), "c_bias": torch.randn(4, generator=g),
           "bn_gamma": torch.rand(4, generator=g) + 0.5, "bn_beta": torch.randn(4, generator=g)}
    aux = {"bn_moving_mean": torch.randn(4, generator=g), "bn_moving_var": torch.rand(4, generator=g) + 0.5}
    model = mxtorch.from_symbol(_graph(nodes + extra, heads), arg, aux)
    x = torch.randn(2, 3, 7, 7, generator=g)
    return model, x


def _same(model, fast, x) -> None:
    with torch.inference_mode():
        for g, w in zip(_heads(fast(x)), _heads(model(x))):
            assert relative_error(g, w) <= 1e-5


def test_bn_folded_when_only_reader() -> None:
    model, x = _conv_bn([("Activation", "r", [8], {"act_type": "relu"})], [9])
    fast = optimize(model)
    assert fast.optimize_report["bn_folded"] == 1
    _same(model, fast, x)


def test_bn_output_read_twice_still_folds() -> None:
    # the BatchNorm's own output may have many readers: the folded convolution writes that same value
    model, x = _conv_bn([("Activation", "r", [8], {"act_type": "relu"}), ("elemwise_add", "s", [8, 9], {})], [10])
    fast = optimize(model)
    assert fast.optimize_report["bn_folded"] == 1
    _same(model, fast, x)


def test_conv_output_read_twice_not_folded() -> None:
    # the convolution's output feeds the BatchNorm AND the add: folding would change what the add reads
    model, x = _conv_bn([("elemwise_add", "s", [8, 3], {})], [9])
    fast = optimize(model)
    assert fast.optimize_report["bn_folded"] == 0 and fast.optimize_report["bn_kept"] == 1
    _same(model, fast, x)


def test_conv_output_as_head_not_folded() -> None:
    model, x = _conv_bn([], [3, 8])
    fast = optimize(model)
    assert fast.optimize_report["bn_folded"] == 0
    _same(model, fast, x)


def test_bn_other_axis_or_mean_var_not_folded() -> None:
    for attrs in ({"axis": -3}, {"output_mean_var": True}):  # -3: channels, but the rank is unknown here
        model, x = _conv_bn([], [8], attrs)
        fast = optimize(model)
        assert fast.optimize_report["bn_folded"] == 0, attrs
        _same(model, fast, x)


def test_bn_fix_gamma_and_bn_relu_fold() -> None:
    for attrs, op in (({"fix_gamma": True}, "BatchNorm"), ({}, "_contrib_BatchNormWithReLU")):
        model, x = _conv_bn([], [8], attrs, op)
        fast = optimize(model)
        assert fast.optimize_report["bn_folded"] == 1, op
        _same(model, fast, x)


def test_bn_after_fully_connected_folds() -> None:
    nodes = [("null", "data", [], {}), ("null", "f_weight", [], {}), ("null", "f_bias", [], {}),
             ("FullyConnected", "f", [0, 1, 2], {"num_hidden": 5}),
             ("null", "g", [], {}), ("null", "b", [], {}), ("null", "m", [], {}), ("null", "v", [], {}),
             ("BatchNorm", "bn", [3, 4, 5, 6, 7], {"fix_gamma": False})]
    g = torch.Generator().manual_seed(1)
    arg = {"f_weight": torch.randn(5, 12, generator=g), "f_bias": torch.randn(5, generator=g),
           "g": torch.rand(5, generator=g) + 0.5, "b": torch.randn(5, generator=g)}
    aux = {"m": torch.randn(5, generator=g), "v": torch.rand(5, generator=g) + 0.5}
    model = mxtorch.from_symbol(_graph(nodes, [8]), arg, aux)
    fast = optimize(model)
    assert fast.optimize_report["bn_folded"] == 1
    _same(model, fast, torch.randn(3, 3, 2, 2, generator=g))


def test_constant_subgraph_folded() -> None:
    # a weight scaled by an op of its own (parameters only) runs once, at optimize time
    nodes = [("null", "data", [], {}), ("null", "w", [], {}), ("_mul_scalar", "w2", [1], {"scalar": 0.5}),
             ("FullyConnected", "f", [0, 2], {"num_hidden": 3, "no_bias": True})]
    g = torch.Generator().manual_seed(2)
    model = mxtorch.from_symbol(_graph(nodes, [3]), {"w": torch.randn(3, 4, generator=g)}, {})
    fast = optimize(model)
    assert fast.optimize_report["constants_folded"] == 1
    assert [st.op for st in fast._plan.steps if st.op not in ("channels_last", "contiguous")] == ["FullyConnected"]
    _same(model, fast, torch.randn(2, 4, generator=g))


def test_mkldnn_steps_other_batch_and_dtype() -> None:
    model = mxtorch.load(ROOT / "fixtures" / "mxtorch" / "net" / "resnet_v1")
    npz = ROOT / "fixtures" / "mxtorch" / "net" / "resnet_v1.expected.npz"
    xs = _inputs(model, npz)
    fast = optimize(model, xs)
    if not torch.backends.mkldnn.is_available():
        pytest.skip("no oneDNN in this torch")
    assert fast.optimize_report["mkldnn_fused"] > 0
    x3 = torch.cat([xs[0]] * 3)  # packed for batch 1, called with 3
    with torch.inference_mode():
        _same(model, fast, x3)
        got, want = fast.double()(x3.double()), model.double()(x3.double())  # float64: the plain path
    assert relative_error(got.numpy(), want.numpy()) <= 1e-5


def test_optimize_refuses_other_modules() -> None:
    with pytest.raises(TypeError, match="MXNetModel"):
        optimize(torch.nn.Linear(2, 2))  # type: ignore[arg-type]


def test_mxtorch_optimize_stays_the_function_after_the_module_is_imported() -> None:
    """``mxtorch.optimize`` is the function even once its module (mxtorch.optimization) has been imported
    (a module named like the function would shadow it on the package)."""
    import importlib

    import mxtorch

    importlib.import_module("mxtorch.optimization")
    assert callable(mxtorch.optimize) and mxtorch.optimize.__name__ == "optimize"


# ---- compile=True: AOTInductor ---------------------------------------------------------------------------------


def test_compile_runs_the_aot_compiled_forward(tmp_path: Path) -> None:
    """optimize(compile=True): the forward at the example shapes is AOTInductor's compiled code (frozen
    weights), MXNet's outputs within 1e-5; the model still exports its plain plan."""
    from mxtorch.optimization import CompiledForward

    npz = ROOT / "fixtures" / "mxtorch" / "net" / "resnet_v2.expected.npz"
    model = mxtorch.load(_prefix(npz))
    xs = _inputs(model, npz)
    fast = optimize(model, xs, compile=True)
    comp = fast._compiled
    assert isinstance(comp, CompiledForward) and fast.optimize_report["compile_s"] > 0
    assert list(comp.compile_s) == [((tuple(xs[0].shape), torch.float32),)] and len(comp._runners) == 1
    with np.load(npz) as z:
        want = z["out:0"]
    with torch.inference_mode():
        got = fast(*xs)
    assert isinstance(got, torch.Tensor) and relative_error(got.numpy(), want) <= 1e-5
    assert len(comp.compile_s) == 1  # no second compilation for the same shapes
    check = export(fast, tmp_path / "fast.pt2", xs)
    assert check is not None and check.ok
    assert "mkldnn" not in str(torch.export.load(tmp_path / "fast.pt2").graph)


def test_compiled_forward_recompiles_after_a_weight_change(monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiled code froze the weights: a changed weight must compile again, never answer with the old
    ones; other shapes compile on first use; autograd runs the plain path. (Compilation stubbed: it records
    the weights it would freeze.)"""
    from mxtorch.optimization import CompiledForward

    model, x = _conv_bn([], [8])
    fast = optimize(model, None, compile=True)
    frozen: list[torch.Tensor] = []

    def fake_compile(self, m, inputs):  # what the compiled code computes: the model with the weights of now
        frozen.append(m.c_weight.detach().clone())
        n = float(len(frozen))
        return lambda *ins: torch.full((1,), n)

    monkeypatch.setattr(CompiledForward, "_compile", fake_compile)
    with torch.inference_mode():
        assert float(fast(x)[0]) == 1.0 and float(fast(x)[0]) == 1.0
        assert float(fast(x[:1])[0]) == 2.0  # a new signature
        assert float(fast(x)[0]) == 1.0
    with torch.no_grad():
        fast.c_weight.mul_(2)
    with torch.inference_mode():
        assert float(fast(x)[0]) == 3.0  # compiled again, with the new weight
    assert torch.equal(frozen[-1], fast.c_weight.detach())
    x.requires_grad_(True)
    fast.c_weight.requires_grad_(True)
    out = fast(x)  # autograd: not the compiled code
    assert out.shape == model(x.detach()).shape and out.requires_grad
