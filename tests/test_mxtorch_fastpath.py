"""The default model's fast inference path (mxtorch.fastpath): the same values as the plain ops (within
float32 rounding, 1e-5 relative), caches that cannot go stale, and nothing of it under autograd, export or
for other dtypes. Nothing here times anything (bench/bench_vs_mxnet.py does)."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import mxtorch
from mxtorch.export import relative_error
from mxtorch.fastpath import FusedConv

ROOT = Path(__file__).resolve().parent.parent
NETS = sorted((ROOT / "fixtures" / "mxtorch" / "net").glob("*.expected.npz"))
TOL = 1e-5  # fast vs plain: folded BatchNorm and oneDNN's summation order (measured 1e-7 .. 2e-6)

pytestmark = pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="no oneDNN in this torch")


def _prefix(npz: Path) -> Path:
    return npz.with_name(npz.name[: -len(".expected.npz")])


def _heads(out) -> list[torch.Tensor]:
    return list(out) if isinstance(out, tuple) else [out]


def _plain(model: mxtorch.MXNetModel, *xs: torch.Tensor) -> list[torch.Tensor]:
    model.fast_path = False
    try:
        with torch.inference_mode():
            return _heads(model(*xs))
    finally:
        model.fast_path = True


def _fast(model: mxtorch.MXNetModel, *xs: torch.Tensor) -> list[torch.Tensor]:
    with torch.inference_mode():
        return _heads(model(*xs))


def _close(got: list[torch.Tensor], want: list[torch.Tensor], tol: float = TOL) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        assert g.is_contiguous()  # heads leave in row-major order
        assert relative_error(g.numpy(), w.numpy()) <= tol


@pytest.mark.parametrize("npz", NETS, ids=lambda p: _prefix(p).name)
def test_fast_path_matches_plain_and_mxnet(npz: Path) -> None:
    model = mxtorch.load(_prefix(npz))
    with np.load(npz) as z:
        xs = tuple(torch.from_numpy(z[f"in:{n}"]) for n in model.input_names)
        want = [torch.from_numpy(z[f"out:{i}"]) for i in range(len(model.output_names))]
    got = _fast(model, *xs)
    assert model._fast is not None and model._fast.fused > 0
    _close(got, _plain(model, *xs))
    for g, w in zip(got, want):
        assert relative_error(g.numpy(), w.numpy()) <= TOL


# ---- small hand-built graphs ----------------------------------------------------------------------------------


def _graph(nodes: list[tuple], heads: list[int]) -> str:
    out = [{"op": op, "name": name, "attrs": {k: str(v) for k, v in attrs.items()},
            "inputs": [[i, 0, 0] for i in ins]} for op, name, ins, attrs in nodes]
    return json.dumps({"nodes": out, "arg_nodes": [i for i, n in enumerate(out) if n["op"] == "null"],
                       "heads": [[h, 0, 0] for h in heads], "attrs": {"mxnet_version": ["int", 10901]}})


def _resblock(add_shape_of_data: bool = True):
    """data -> conv(3x3, bias) -> BN -> relu -> conv(no bias) -> BN -> add(data) -> relu, and a clip(0, 6) head."""
    nodes = [("null", "data", [], {}),
             ("null", "c1_weight", [], {}), ("null", "c1_bias", [], {}),
             ("Convolution", "c1", [0, 1, 2], {"kernel": "(3, 3)", "num_filter": 4, "pad": "(1, 1)"}),  # 3
             ("null", "bn1_gamma", [], {}), ("null", "bn1_beta", [], {}), ("null", "bn1_moving_mean", [], {}),
             ("null", "bn1_moving_var", [], {}),
             ("BatchNorm", "bn1", [3, 4, 5, 6, 7], {"eps": 1e-3, "fix_gamma": False}),  # 8
             ("Activation", "r1", [8], {"act_type": "relu"}),  # 9
             ("null", "c2_weight", [], {}),
             ("Convolution", "c2", [9, 10], {"kernel": "(3, 3)", "num_filter": 4, "pad": "(1, 1)",
                                             "no_bias": True}),  # 11
             ("null", "bn2_gamma", [], {}), ("null", "bn2_beta", [], {}), ("null", "bn2_moving_mean", [], {}),
             ("null", "bn2_moving_var", [], {}),
             ("BatchNorm", "bn2", [11, 12, 13, 14, 15], {"eps": 1e-5, "fix_gamma": True}),  # 16
             ("elemwise_add" if add_shape_of_data else "broadcast_add", "add", [16, 0], {}),  # 17
             ("Activation", "r2", [17], {"act_type": "relu"}),  # 18
             ("null", "c3_weight", [], {}), ("null", "c3_bias", [], {}),
             ("Convolution", "c3", [18, 19, 20], {"kernel": "(1, 1)", "num_filter": 2, "num_group": 2}),  # 21
             ("clip", "six", [21], {"a_min": 0, "a_max": 6})]  # 22
    g = torch.Generator().manual_seed(0)
    arg = {"c1_weight": torch.randn(4, 4, 3, 3, generator=g) * 0.3, "c1_bias": torch.randn(4, generator=g),
           "bn1_gamma": torch.rand(4, generator=g) + 0.5, "bn1_beta": torch.randn(4, generator=g),
           "c2_weight": torch.randn(4, 4, 3, 3, generator=g) * 0.3,
           "bn2_gamma": torch.rand(4, generator=g) + 0.5, "bn2_beta": torch.randn(4, generator=g),
           "c3_weight": torch.randn(2, 2, 1, 1, generator=g) * 3, "c3_bias": torch.randn(2, generator=g)}
    aux = {"bn1_moving_mean": torch.randn(4, generator=g), "bn1_moving_var": torch.rand(4, generator=g) + 0.5,
           "bn2_moving_mean": torch.randn(4, generator=g), "bn2_moving_var": torch.rand(4, generator=g) + 0.5}
    model = mxtorch.from_symbol(_graph(nodes, [22, 18]), arg, aux)
    return model, torch.randn(2, 4, 9, 7, generator=g)


def test_fuses_bn_relu_add_and_clip() -> None:
    model, x = _resblock()
    x0 = x.clone()
    got = _fast(model, x)
    assert torch.equal(x, x0)  # the residual add's other operand (the input) is not written
    fused = [st for st in model._fast.plan.steps if isinstance(st.fn, FusedConv)]
    assert len(fused) == 3
    assert not any(st.op in ("BatchNorm", "Activation", "elemwise_add", "clip") for st in model._fast.plan.steps)
    _close(got, _plain(model, x))
    fresh, _ = _resblock()
    sd, want = model.state_dict(), fresh.state_dict()  # state untouched: MXNet names, unfolded values
    assert list(sd) == list(want) and all(torch.equal(sd[k], want[k]) for k in want)
    assert all(t.is_contiguous() for t in sd.values())


def test_broadcast_add_falls_back_per_call() -> None:
    model, x = _resblock(add_shape_of_data=False)
    _close(_fast(model, x), _plain(model, x))
    y = x[:, :, :1, :]  # a (2, 4, 1, 7) input: the add broadcasts -> the plain add, still the same values
    _close(_fast(model, y), _plain(model, y))


@pytest.mark.parametrize("change", ["copy_", "load_state_dict", "new_parameter", "data", "buffer"])
def test_changed_parameters_are_seen(change: str) -> None:
    model, x = _resblock()
    before = _fast(model, x)
    g = torch.Generator().manual_seed(5)
    if change == "copy_":
        with torch.no_grad():
            model.c1_weight.mul_(-1.5)
    elif change == "load_state_dict":
        sd = {k: v.clone() for k, v in model.state_dict().items()}
        sd["c2_weight"] = torch.randn(sd["c2_weight"].shape, generator=g)
        sd["bn2_moving_var"] = sd["bn2_moving_var"] * 3
        model.load_state_dict(sd)
    elif change == "new_parameter":
        model.c3_bias = torch.nn.Parameter(torch.randn(2, generator=g), requires_grad=False)
    elif change == "data":
        model.c1_weight.data = torch.randn(4, 4, 3, 3, generator=g)
    else:
        model.bn1_moving_mean += 1.0  # a buffer changed in place
    after = _fast(model, x)
    want = _plain(model, x)
    _close(after, want)
    assert any(relative_error(a.numpy(), b.numpy()) > 1e-3 for a, b in zip(after, before))


def test_inplace_change_under_inference_mode_seen() -> None:
    model, x = _resblock()
    _fast(model, x)
    with torch.inference_mode():
        model.c3_weight.mul_(2)  # a parameter (not an inference tensor) changed in place under inference mode
    _close(_fast(model, x), _plain(model, x))


def test_autograd_takes_the_plain_ops() -> None:
    model, x = _resblock()
    for p in model.parameters():
        p.requires_grad_(True)
    out = model(x)
    assert model._fast is None  # never built: gradients need the plain ops
    sum(o.sum() for o in out).backward()
    assert model.c1_weight.grad is not None and model.c1_weight.grad.abs().sum() > 0
    xg = x.clone().requires_grad_(True)
    for p in model.parameters():
        p.requires_grad_(False)
    sum(o.sum() for o in model(xg)).backward()
    assert xg.grad is not None and model._fast is None
    with torch.no_grad():  # no grad mode: the fast path, values as before
        _close(_heads(model(x)), _plain(model, x))
    assert model._fast is not None


def test_other_dtypes_take_the_plain_ops() -> None:
    model, x = _resblock()
    _fast(model, x)
    model.double()
    got = _fast(model, x.double())
    assert all(o.dtype == torch.float64 for o in got)
    _close(got, _plain(model, x.double()), tol=1e-12)


def test_export_traces_the_plain_ops() -> None:
    model, x = _resblock()
    _fast(model, x)  # a built fast path must not leak into the traced graph
    ep = torch.export.export(model, (x,))
    text = str(ep.graph)
    assert "mkldnn" not in text and "batch_norm" in text
    got = _heads(ep.module()(x))
    _close(got, _plain(model, x), tol=1e-6)


def test_deepcopy_and_save_load_a_used_model() -> None:
    model, x = _resblock()
    want = _fast(model, x)
    twin = copy.deepcopy(model)
    _close(_fast(twin, x), want, tol=0.0)
    with torch.no_grad():
        twin.c1_weight.mul_(2)
    _close(_fast(model, x), want, tol=0.0)  # the copy's change is not the original's
    buf = io.BytesIO()
    torch.save(model, buf)
    buf.seek(0)
    back = torch.load(buf, weights_only=False)
    _close(_fast(back, x), want, tol=0.0)


def test_packed_weight_per_input_shape() -> None:
    model, x = _resblock()
    for shape in ((1, 4, 9, 7), (3, 4, 5, 6), (1, 4, 9, 7)):
        y = torch.randn(shape)
        _close(_fast(model, y), _plain(model, y))
    conv = next(st.fn for st in model._fast.plan.steps if isinstance(st.fn, FusedConv))
    assert len(conv._packed) == 2


def test_fast_path_off() -> None:
    model, x = _resblock()
    model.fast_path = False
    _fast(model, x)
    assert model._fast is None


def _preact():
    """data -> BN -> relu -> conv, and a second BN (fix_gamma, no relu) on the data as a head."""
    nodes = [("null", "data", [], {}),
             ("null", "bn_gamma", [], {}), ("null", "bn_beta", [], {}), ("null", "bn_moving_mean", [], {}),
             ("null", "bn_moving_var", [], {}),
             ("BatchNorm", "bn", [0, 1, 2, 3, 4], {"eps": 1e-3, "fix_gamma": False}),  # 5
             ("Activation", "r", [5], {"act_type": "relu"}),  # 6
             ("null", "c_weight", [], {}),
             ("Convolution", "c", [6, 7], {"kernel": "(3, 3)", "num_filter": 2, "no_bias": True}),  # 8
             ("BatchNorm", "bn2", [0, 1, 2, 3, 4], {"eps": 1e-5, "fix_gamma": True})]  # 9
    g = torch.Generator().manual_seed(2)
    arg = {"bn_gamma": torch.rand(3, generator=g) + 0.5, "bn_beta": torch.randn(3, generator=g),
           "c_weight": torch.randn(2, 3, 3, 3, generator=g)}
    aux = {"bn_moving_mean": torch.randn(3, generator=g), "bn_moving_var": torch.rand(3, generator=g) + 0.5}
    return mxtorch.from_symbol(_graph(nodes, [8, 9]), arg, aux), torch.randn(2, 3, 8, 8, generator=g)


def test_preactivation_batchnorm_relu_as_one_pass() -> None:
    from mxtorch.fastpath import FusedBN

    model, x = _preact()
    _close(_fast(model, x), _plain(model, x))
    kinds = [type(st.fn).__name__ for st in model._fast.plan.steps]
    assert kinds.count("FusedBN") == 2 and kinds.count("FusedConv") == 1
    assert not any(st.op in ("BatchNorm", "Activation") for st in model._fast.plan.steps)
    with torch.no_grad():
        model.bn_moving_var.mul_(4)  # the shared statistics change: both BatchNorms see it
        model.bn_beta.add_(1)
    _close(_fast(model, x), _plain(model, x))
    assert all(isinstance(st.fn, FusedBN) for st in model._fast.plan.steps if st.op == "BatchNorm(fused)")


def test_graph_without_convolutions_runs_the_plain_plan() -> None:
    nodes = [("null", "data", [], {}), ("Activation", "r", [0], {"act_type": "relu"}),
             ("Pooling", "p", [1], {"kernel": "(2, 2)", "stride": "(2, 2)", "pool_type": "max"})]
    model = mxtorch.from_symbol(_graph(nodes, [2]), {}, {})
    x = torch.randn(1, 2, 4, 4)
    _close(_fast(model, x), _plain(model, x), tol=0.0)
    assert model._fast is not None and not model._fast.useful


def test_no_fast_path_while_jit_tracing(monkeypatch: pytest.MonkeyPatch) -> None:
    # a jit trace would record oneDNN calls on packed weights as constants: the plain ops instead
    model, x = _resblock()
    monkeypatch.setattr(torch.jit, "is_tracing", lambda: True)
    _close(_fast(model, x), _plain(model, x), tol=0.0)
    assert model._fast is None


def test_loaded_under_inference_mode() -> None:
    with torch.inference_mode():
        model, x = _resblock()
        assert not any(t.is_inference() for t in model.state_dict().values())  # ordinary, version-counted
        got = _heads(model(x))
    assert model._fast is not None and model._fast.useful
    _close(got, _plain(model, x))
    with torch.inference_mode():  # a state tensor that is an inference tensor: the plain ops for its steps
        model.c1_weight = torch.nn.Parameter(torch.randn(4, 4, 3, 3), requires_grad=False)
    assert model.c1_weight.is_inference()
    _close(_fast(model, x), _plain(model, x))


def test_detector_runs_fast_with_its_value_dependent_steps_checked(monkeypatch) -> None:
    """A detector (NMS: a step the memory budget checks at run time) takes the fast path, each run-time check
    still runs before its step, and the heads agree with MXNet (class ids exactly)."""
    from mxtorch import budget, fastpath

    prefix = ROOT / "fixtures" / "mxtorch" / "detnet_a" / "ssd_mobilenet_tiny"
    z = np.load(f"{prefix}.expected.npz")
    model = mxtorch.load(prefix)
    x = torch.from_numpy(z["in:data"])
    calls = {"fast": 0, "checks": 0}
    fast_call, check_call = fastpath.FastRunner.__call__, budget.StepCheck.__call__

    def counting_fast(self, values, before=None):
        calls["fast"] += 1
        return fast_call(self, values, before)

    def counting_check(self, st, args):
        calls["checks"] += 1
        return check_call(self, st, args)

    monkeypatch.setattr(fastpath.FastRunner, "__call__", counting_fast)
    monkeypatch.setattr(budget.StepCheck, "__call__", counting_check)
    with torch.inference_mode():
        out = model(x)
    assert model._guard.pending and calls["fast"] == 1 and calls["checks"] == len(model._guard.pending)
    assert np.array_equal(out[0].numpy(), z["out:0"])
    for i in (1, 2):
        assert relative_error(out[i].numpy(), z[f"out:{i}"]) <= 1e-5


def test_fused_batchnorm_copies_without_its_cache() -> None:
    """deepcopy/pickle of a FusedBN keeps its configuration and starts with an empty cache (it raised
    KeyError('_weight') when it borrowed FusedConv's state rule)."""
    import pickle

    from mxtorch.fastpath import FusedBN
    from mxtorch.graph import Step
    from mxtorch.ops import norm

    st = Step(norm.batch_norm, (), {"fix_gamma": False, "eps": 1e-5, "axis": 1}, 0, (), "BatchNorm", "bn")
    b = FusedBN(st, None)
    b._packed[(1, 2, 3, 3)] = "packed"
    for c in (copy.deepcopy(b), pickle.loads(pickle.dumps(b))):
        assert c.unary == "none" and c._packed == {} and c._finite and c.bn.kwargs["eps"] == 1e-5
