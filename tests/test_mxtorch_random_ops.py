"""MXNet's samplers in mxtorch (issue 17): values cannot equal MXNet's generator, so shapes, dtypes and the
distributions are checked (moments of large samples, within several standard errors)."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import mxtorch  # noqa: E402
from ndparse import NDFormatError  # noqa: E402


def _graph(tmp_path, op: str, attrs: dict, with_data: bool, name: str = "g", dtype_code: int | None = None):
    data = {"op": "null", "name": "data", "inputs": []}
    if dtype_code is not None:  # the input's declared dtype (mshadow code), as MXNet writes __dtype__
        data["attrs"] = {"__dtype__": str(dtype_code)}
    nodes = [data] if with_data else []
    nodes.append({"op": op, "name": "s", "attrs": {k: str(v) for k, v in attrs.items()},
                  "inputs": [[0, 0, 0]] if with_data else []})
    n = len(nodes)
    sym = {"nodes": nodes, "arg_nodes": [0] if with_data else [], "node_row_ptr": list(range(n + 1)),
           "heads": [[n - 1, i, 0] for i in range(2 if attrs.get("get_prob") else 1)],
           "attrs": {"mxnet_version": ["int", 10901]}}
    p = tmp_path / f"{name}-symbol.json"
    p.write_text(json.dumps(sym))
    return mxtorch.load(str(p))


def _run(model, *xs):
    with torch.inference_mode():
        return model(*xs)


@pytest.mark.parametrize("dtype, want", [(None, torch.float32), ("float64", torch.float64), ("float16", torch.float16)])
def test_uniform(tmp_path, dtype, want):
    attrs = {"low": -1.5, "high": 2.5, "shape": (200, 300)}
    if dtype:
        attrs["dtype"] = dtype
    y = _run(_graph(tmp_path, "_random_uniform", attrs, False))
    assert y.shape == (200, 300) and y.dtype == want
    v = y.double()
    assert v.min() >= -1.5 and v.max() <= 2.5
    n = v.numel()
    assert abs(v.mean() - 0.5) < 5 * 4 / np.sqrt(12 * n)
    assert abs(v.var() - 16 / 12) < 0.05
    # the uniform's quartiles
    q = torch.quantile(v.float().reshape(-1)[:50000], torch.tensor([0.25, 0.5, 0.75]))
    assert torch.allclose(q, torch.tensor([-0.5, 0.5, 1.5]), atol=0.06)


def test_normal(tmp_path):
    y = _run(_graph(tmp_path, "_random_normal", {"loc": 3.0, "scale": 0.5, "shape": (400, 250)}, False))
    assert y.shape == (400, 250) and y.dtype == torch.float32
    n = y.numel()
    assert abs(float(y.mean()) - 3.0) < 5 * 0.5 / np.sqrt(n)
    assert abs(float(y.std()) - 0.5) < 0.01
    z = (y - 3.0) / 0.5
    assert abs(float((z.abs() < 1).double().mean()) - 0.6827) < 0.01  # the normal's 1-sigma mass
    assert abs(float((z ** 3).mean())) < 0.05


@pytest.mark.parametrize("op, attrs", [("_random_uniform_like", {"low": 2.0, "high": 4.0}),
                                       ("_random_normal_like", {"loc": -1.0, "scale": 2.0})])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_like(tmp_path, op, attrs, dtype):
    x = torch.zeros(300, 400, dtype=dtype)
    y = _run(_graph(tmp_path, op, attrs, True, dtype_code={torch.float32: 0, torch.float64: 1}[dtype]), x)
    assert y.shape == x.shape and y.dtype == dtype
    if op == "_random_uniform_like":
        assert y.min() >= 2.0 and y.max() <= 4.0 and abs(float(y.mean()) - 3.0) < 0.01
    else:
        assert abs(float(y.mean()) + 1.0) < 0.02 and abs(float(y.std()) - 2.0) < 0.02


@pytest.mark.parametrize("shape, dtype, get_prob", [((), "int32", False), ((2000,), "int32", True),
                                                    ((40, 50), "float32", False), ((7,), "uint8", True)])
def test_multinomial(tmp_path, shape, dtype, get_prob):
    p = torch.tensor([[0.1, 0.2, 0.3, 0.4], [0.7, 0.0, 0.2, 0.1], [0.0, 0.0, 0.0, 1.0]], dtype=torch.float32)
    attrs = {"shape": shape, "dtype": dtype, "get_prob": get_prob}
    out = _run(_graph(tmp_path, "_sample_multinomial", attrs, True), p)
    s, logp = out if get_prob else (out, None)
    assert tuple(s.shape) == (3, *shape) and s.dtype == getattr(torch, dtype)
    idx = s.long().reshape(3, -1)
    assert int(idx.min()) >= 0 and int(idx.max()) <= 3
    assert bool((idx[1] != 1).all()) and bool((idx[2] == 3).all())  # zero-probability classes never drawn
    if idx.shape[1] >= 2000:
        freq = torch.bincount(idx[0], minlength=4).double() / idx.shape[1]
        assert torch.allclose(freq, p[0].double(), atol=0.04)
    if get_prob:
        assert logp.dtype == torch.float32 and logp.shape == s.shape
        want = torch.log(torch.gather(p, 1, idx)).reshape(logp.shape)
        assert torch.equal(logp, want)


def test_multinomial_unnormalised_row_gives_k(tmp_path):
    """MXNet's rule: a draw beyond the row's total finds no index and returns k (one past the end)."""
    p = torch.tensor([[0.0, 0.0]])
    s = _run(_graph(tmp_path, "_sample_multinomial", {"shape": (50,)}, True), p)
    assert bool((s == 2).all())


@pytest.mark.parametrize("op, attrs", [("_random_uniform", {}), ("_random_uniform", {"shape": (2,), "low": 2, "high": 1}),
                                       ("_random_normal", {"shape": (2,), "scale": -1}),
                                       ("_random_uniform", {"shape": (2,), "dtype": "int32"})])
def test_refused(tmp_path, op, attrs):
    """Shapes MXNet cannot infer, empty ranges, negative scales, non-float dtypes: one error at load."""
    with pytest.raises(NDFormatError):
        _graph(tmp_path, op, attrs, False)
