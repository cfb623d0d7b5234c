"""Attribute ranges checked at load (issue 23): each value MXNet itself refuses (kernel/stride/dilate < 1,
negative pads and counts, num_group not dividing num_filter, a non-finite eps, an _arange or constant
MXNet will not make ...) is one UnsupportedOpError naming the node, the attribute and the value, raised by
mxtorch.from_symbol before anything runs, never a ZeroDivisionError/OverflowError or an allocation.
The refusals were checked against MXNet 1.9.1 (each one errors there, or crashes it: num_group=0)."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ndparse  # noqa: E402
import mxtorch  # noqa: E402


def _graph(op: str, attrs: dict[str, str], inputs: tuple[str, ...] = ("data",)) -> str:
    """``op`` named ``n0`` over variables ``inputs`` (none for a constant op)."""
    nodes = [{"op": "null", "name": name, "attrs": {}, "inputs": []} for name in inputs]
    nodes.append({"op": op, "name": "n0", "attrs": attrs, "inputs": [[i, 0, 0] for i in range(len(inputs))]})
    return json.dumps({"nodes": nodes, "arg_nodes": list(range(len(inputs))), "heads": [[len(inputs), 0, 0]],
                       "attrs": {"mxnet_version": ["int", 10901]}})


W = np.zeros((4, 4, 3, 3), np.float32)
CONV = {"kernel": "(3, 3)", "num_filter": "4", "no_bias": "True"}
POOL = {"kernel": "(2, 2)", "pool_type": "max"}
PAD8 = "(0, 0, 0, 0, 1, 1, 1, 1)"

# (op, attrs, variables, params, the attribute, its value as the message shows it)
REFUSED = [
    ("Convolution", {**CONV, "kernel": "(0, 3)"}, ("data", "w"), {"w": W}, "kernel", "(0, 3)"),
    ("Convolution", {**CONV, "stride": "(0, 1)"}, ("data", "w"), {"w": W}, "stride", "(0, 1)"),
    ("Convolution", {**CONV, "dilate": "(1, 0)"}, ("data", "w"), {"w": W}, "dilate", "(1, 0)"),
    ("Convolution", {**CONV, "pad": "(-1, 0)"}, ("data", "w"), {"w": W}, "pad", "(-1, 0)"),
    ("Convolution", {**CONV, "num_group": "0"}, ("data", "w"), {"w": W}, "num_group", "0"),
    ("Convolution", {**CONV, "num_group": "-1"}, ("data", "w"), {"w": W}, "num_group", "-1"),
    ("Convolution", {**CONV, "num_group": "3"}, ("data", "w"), {"w": W}, "num_group", "3"),
    ("Convolution", {**CONV, "num_filter": "0"}, ("data", "w"), {"w": W}, "num_filter", "0"),
    ("Convolution", {**CONV, "stride": f"({2**40}, 1)"}, ("data", "w"), {"w": W}, "stride", str(2**40)),
    ("Deconvolution", {**CONV, "stride": "(0, 1)"}, ("data", "w"), {"w": W}, "stride", "(0, 1)"),
    ("Deconvolution", {**CONV, "stride": "(2, 2)", "adj": "(-1, 0)"}, ("data", "w"), {"w": W}, "adj", "(-1, 0)"),
    ("Deconvolution", {**CONV, "target_shape": "(-1, 5)"}, ("data", "w"), {"w": W}, "target_shape", "(-1, 5)"),
    ("FullyConnected", {"num_hidden": "0", "no_bias": "True"}, ("data", "w"), {"w": np.zeros((1, 4), np.float32)},
     "num_hidden", "0"),
    ("Pooling", {**POOL, "stride": "(1000000000, 0)"}, ("data",), {}, "stride", "(1000000000, 0)"),
    ("Pooling", {**POOL, "kernel": "(0, 2)"}, ("data",), {}, "kernel", "(0, 2)"),
    ("Pooling", {**POOL, "pad": "(-1, 0)"}, ("data",), {}, "pad", "(-1, 0)"),
    ("Pooling", {**POOL, "stride": "(0, 0)", "global_pool": "True"}, ("data",), {}, "stride", "(0, 0)"),
    ("BatchNorm", {"eps": "nan"}, ("data", "g", "b", "m", "v"), {}, "eps", "nan"),
    ("BatchNorm", {"eps": "inf"}, ("data", "g", "b", "m", "v"), {}, "eps", "inf"),
    ("BatchNorm", {"eps": "1e300"}, ("data", "g", "b", "m", "v"), {}, "eps", "1e+300"),
    ("LayerNorm", {"eps": "nan"}, ("data", "g", "b"), {}, "eps", "nan"),
    ("InstanceNorm", {"eps": "-inf"}, ("data", "g", "b"), {}, "eps", "-inf"),
    ("L2Normalization", {"eps": "nan"}, ("data",), {}, "eps", "nan"),
    ("_arange", {"start": "0", "stop": "9.2e21"}, (), {}, "stop", "9.2e+21"),
    ("_arange", {"start": "0", "stop": "3e9"}, (), {}, "stop", "3000000000.0"),
    ("_arange", {"start": "-1e308", "stop": "1e308"}, (), {}, "stop", "1e+308"),
    ("_arange", {"start": "0", "stop": "inf"}, (), {}, "stop", "inf"),
    ("_arange", {"start": "nan"}, (), {}, "start", "nan"),
    ("_arange", {"start": "5", "stop": "0"}, (), {}, "start", "5.0"),
    ("_arange", {"start": "0", "stop": "5", "step": "nan"}, (), {}, "step", "nan"),
    ("_arange", {"start": "0", "stop": "5", "repeat": "0"}, (), {}, "repeat", "0"),
    ("_zeros", {"shape": "(-5, 3)"}, (), {}, "shape", "(-5, 3)"),
    ("_ones", {"shape": "(0, 3)"}, (), {}, "shape", "(0, 3)"),
    ("_full", {"shape": f"({2**20}, {2**20})", "value": "1"}, (), {}, "shape", f"({2**20}, {2**20})"),
    ("tile", {"reps": "(-1, 1)"}, ("data",), {}, "reps", "(-1, 1)"),
    ("repeat", {"repeats": "-1"}, ("data",), {}, "repeats", "-1"),
    ("repeat", {"repeats": str(2**40)}, ("data",), {}, "repeats", str(2**40)),
    ("broadcast_to", {"shape": "(-3, 4)"}, ("data",), {}, "shape", "(-3, 4)"),
    ("broadcast_axis", {"axis": "(0,)", "size": "(-1,)"}, ("data",), {}, "size", "(-1,)"),
    ("Reshape", {"shape": "(-7, 4)"}, ("data",), {}, "shape", "(-7, 4)"),
    ("Reshape", {"target_shape": "(-2, 4)"}, ("data",), {}, "target_shape", "(-2, 4)"),
    ("UpSampling", {"scale": "0", "sample_type": "nearest", "num_args": "1"}, ("data",), {}, "scale", "0"),
    ("UpSampling", {"scale": str(2**40), "sample_type": "nearest", "num_args": "1"}, ("data",), {}, "scale",
     str(2**40)),
    ("Pad", {"mode": "constant", "pad_width": "(0, 0, 0, 0, -1, 1, 1, 1)"}, ("data",), {}, "pad_width", "-1"),
    ("Pad", {"mode": "constant", "pad_width": f"(0, 0, 0, 0, {2**40}, 1, 1, 1)"}, ("data",), {}, "pad_width",
     str(2**40)),
    ("one_hot", {"depth": "-1"}, ("data",), {}, "depth", "-1"),
    ("Embedding", {"input_dim": "0", "output_dim": "3"}, ("data", "w"), {"w": np.zeros((1, 3), np.float32)},
     "input_dim", "0"),
    ("Dropout", {"p": "2", "mode": "always"}, ("data",), {}, "p", "2.0"),
    ("Crop", {"num_args": "1", "h_w": "(-2, 2)"}, ("data",), {}, "h_w", "(-2, 2)"),
]


@pytest.mark.parametrize(("op", "attrs", "variables", "params", "key", "value"), REFUSED,
                         ids=[f"{r[0]}-{r[4]}={r[5]}" for r in REFUSED])
def test_refused_at_load(op: str, attrs: dict, variables: tuple, params: dict, key: str, value: str) -> None:
    with pytest.raises(ndparse.NDFormatError) as info:
        mxtorch.from_symbol(_graph(op, attrs, variables), params, {})
    err = info.value
    msg = str(err)
    assert type(err) is mxtorch.UnsupportedOpError, msg
    assert "\n" not in msg and "'n0'" in msg and f"{key}=" in msg and value in msg, msg


def test_pad_width_is_named_whole() -> None:
    """A negative or huge pad width names the whole pad_width (the value the graph holds)."""
    with pytest.raises(mxtorch.UnsupportedOpError, match=r"pad_width=\(0, 0, 0, 0, -1, 1, 1, 1\)"):
        mxtorch.from_symbol(_graph("Pad", {"mode": "constant", "pad_width": "(0, 0, 0, 0, -1, 1, 1, 1)"}), {}, {})


# values MXNet accepts stay accepted (the edges of each range)
ACCEPTED = [
    ("Convolution", {**CONV, "pad": "(0, 0)", "stride": "(1, 1)", "dilate": "(1, 1)", "num_group": "1"},
     ("data", "w"), {"w": W}),
    ("Convolution", {**CONV, "num_group": "4"}, ("data", "w"), {"w": np.zeros((4, 1, 3, 3), np.float32)}),
    ("Pooling", {"kernel": "(1, 1)", "global_pool": "True", "pool_type": "avg"}, ("data",), {}),
    ("BatchNorm", {"eps": "0"}, ("data", "g", "b", "m", "v"), {}),
    ("_arange", {"start": "0", "stop": "5", "step": "inf"}, (), {}),
    ("_arange", {"start": "5", "stop": "0", "step": "-1", "repeat": "2"}, (), {}),
    ("_arange", {"start": "4"}, (), {}),
    ("repeat", {"repeats": "0"}, ("data",), {}),
    ("tile", {"reps": "(0, 2)"}, ("data",), {}),
    ("broadcast_to", {"shape": "(0, 4)"}, ("data",), {}),
]


@pytest.mark.parametrize(("op", "attrs", "variables", "params"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_accepted_at_load(op: str, attrs: dict, variables: tuple, params: dict) -> None:
    aux = {"m": np.zeros(4, np.float32), "v": np.ones(4, np.float32)} if op == "BatchNorm" else {}
    args = {**params, **({"g": np.ones(4, np.float32), "b": np.zeros(4, np.float32)} if op == "BatchNorm" else {})}
    mxtorch.from_symbol(_graph(op, attrs, variables), args, aux)


def test_arange_values() -> None:
    """The checks keep _arange's values: [0, start) without stop, a negative step, repeat."""
    m = mxtorch.from_symbol(_graph("_arange", {"start": "5", "stop": "0", "step": "-2", "repeat": "2"}, ()), {}, {})
    assert m().tolist() == [5, 5, 3, 3, 1, 1]
    m = mxtorch.from_symbol(_graph("_arange", {"start": "3"}, ()), {}, {})
    assert m().tolist() == [0, 1, 2]
