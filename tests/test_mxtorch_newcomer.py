"""Issue 22 (what a new user hit): slim-install convert, input dtype and rank, the unsupported-op report,
`mxtorch check`, custom ops, dynamic axes, progress lines. Each test failed before its fix."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import mxtorch
import ndparse

ROOT = Path(__file__).resolve().parent.parent
NET = ROOT / "fixtures" / "mxtorch" / "net"


def _py(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd)


# --- 22.1: convert without torch says which extra, like run --------------------------------------

@pytest.mark.parametrize("out", ["m.pt2", "m.onnx", "m.safetensors"])
def test_convert_without_torch_names_the_extra(tmp_path: Path, out: str) -> None:
    code = ("import sys; sys.modules['torch'] = None\n"
            "from mxtorch.cli import main\n"
            f"sys.exit(main(['convert', {str(NET / 'resnet_v1')!r}, '--input', 'data=1,3,32,32', "
            f"'-o', {out!r}]))\n")
    proc = _py(code, tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == ("mxtorch: error: converting an MXNet graph needs torch, which is not "
                                   "installed: pip install 'ndparse[torch]'")
    assert not (tmp_path / out).exists()


# --- small graphs --------------------------------------------------------------------------------

def graph(nodes: list[dict], heads: list[int]) -> str:
    """A 1.9.1-style symbol JSON from nodes given as {op, name, attrs, inputs: [ids]}."""
    out = [{"op": n.get("op", "null"), "name": n["name"], "attrs": n.get("attrs", {}),
            "inputs": [[i, 0, 0] for i in n.get("inputs", [])]} for n in nodes]
    return json.dumps({"nodes": out, "arg_nodes": [i for i, n in enumerate(out) if n["op"] == "null"],
                       "heads": [[h, 0, 0] for h in heads], "attrs": {"mxnet_version": ["int", 10901]}})


def pnet(tmp: Path, name: str = "pnet") -> Path:
    """An MTCNN P-Net shaped, fully convolutional net (tiny widths, seeded weights) written as a
    checkpoint: conv-PReLU-pool-conv-PReLU-conv-PReLU, then a 2-way channel softmax and 4 box values."""
    rng = np.random.default_rng(12)
    nodes: list[dict] = [{"name": "data"}]
    params: dict[str, np.ndarray] = {}

    def var(n: str, shape: tuple[int, ...]) -> int:
        nodes.append({"name": n})
        params[f"arg:{n}"] = rng.standard_normal(shape).astype(np.float32) * 0.3
        return len(nodes) - 1

    def conv(n: str, x: int, cin: int, cout: int, k: int) -> int:
        w, b = var(f"{n}_weight", (cout, cin, k, k)), var(f"{n}_bias", (cout,))
        nodes.append({"op": "Convolution", "name": n, "inputs": [x, w, b],
                      "attrs": {"kernel": f"({k}, {k})", "num_filter": str(cout)}})
        return len(nodes) - 1

    def prelu(n: str, x: int, c: int) -> int:
        g = var(f"{n}_gamma", (c,))
        nodes.append({"op": "LeakyReLU", "name": n, "inputs": [x, g], "attrs": {"act_type": "prelu"}})
        return len(nodes) - 1

    x = prelu("prelu1", conv("conv1", 0, 3, 4, 3), 4)
    nodes.append({"op": "Pooling", "name": "pool1", "inputs": [x],
                  "attrs": {"kernel": "(2, 2)", "stride": "(2, 2)", "pool_type": "max",
                            "pooling_convention": "full"}})
    x = prelu("prelu2", conv("conv2", len(nodes) - 1, 4, 4, 3), 4)
    x = prelu("prelu3", conv("conv3", x, 4, 6, 3), 6)
    c41 = conv("conv4_1", x, 6, 2, 1)
    nodes.append({"op": "SoftmaxActivation", "name": "prob1", "inputs": [c41], "attrs": {"mode": "channel"}})
    prob = len(nodes) - 1
    c42 = conv("conv4_2", x, 6, 4, 1)
    prefix = tmp / name
    (tmp / f"{name}-symbol.json").write_text(graph(nodes, [prob, c42]))
    ndparse.save(tmp / f"{name}-0000.params", params)
    return prefix


def _cli(*argv: str) -> tuple[int, str, str]:
    import contextlib
    import io

    from mxtorch.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


# --- 22.2: input dtype ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "uint8", "int64", "float16"])
def test_numeric_npy_input_is_cast_with_one_warning(tmp_path: Path, dtype: str) -> None:
    prefix = pnet(tmp_path)
    x = (np.random.default_rng(0).random((1, 3, 12, 12)) * 200).astype(dtype)
    np.save(tmp_path / "x.npy", x)
    code, out, err = _cli("run", str(prefix), "--input", f"data={tmp_path / 'x.npy'}", "-o",
                          str(tmp_path / "o.npz"))
    assert code == 0, err
    assert err == f"mxtorch: warning: input 'data' is {dtype}: cast to float32, the graph's input dtype\n"
    model = mxtorch.load(prefix)
    want = model(torch.from_numpy(x.astype(np.float32)))
    with np.load(tmp_path / "o.npz") as got:
        np.testing.assert_array_equal(got["prob1_output"], want[0].numpy())


def test_library_casts_a_float64_tensor_and_warns_once(tmp_path: Path) -> None:
    model = mxtorch.load(pnet(tmp_path))
    x = torch.randn(1, 3, 12, 12, dtype=torch.float64)
    with pytest.warns(UserWarning, match="input 'data' is float64: cast to float32"):
        a = model(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        b = model(x)
    assert torch.equal(a[0], b[0]) and torch.equal(a[0], model(x.float())[0])


def test_bool_input_is_refused_naming_the_dtype(tmp_path: Path) -> None:
    prefix = pnet(tmp_path)
    np.save(tmp_path / "x.npy", np.ones((1, 3, 12, 12), bool))
    code, _, err = _cli("run", str(prefix), "--input", f"data={tmp_path / 'x.npy'}")
    assert code == 2 and err.count("\n") == 1
    assert "bool" in err and "shape" not in err, err


def test_graph_dtype_from_the_variable(tmp_path: Path) -> None:
    g = json.loads(graph([{"name": "data"}, {"op": "relu", "name": "r", "inputs": [0]}], [1]))
    g["nodes"][0]["attrs"] = {"__dtype__": "1"}  # float64
    model = mxtorch.from_symbol(json.dumps(g), {}, {})
    with pytest.warns(UserWarning, match="float32: cast to float64"):
        assert model(torch.ones(2)).dtype == torch.float64


# --- 22.3: an input missing its batch dimension ----------------------------------------------------

def test_missing_batch_dimension_is_said_at_the_input(tmp_path: Path) -> None:
    code, _, err = _cli("run", str(pnet(tmp_path)), "--input", "data=3,12,12")
    assert code == 2
    assert err == ("mxtorch: error: input 'data' has shape (3, 12, 12) (3 dimensions), but its first "
                   "consumer, Convolution node 'conv1', needs 4 (N, C, H, W) (the batch dimension is "
                   "missing? e.g. 1,3,12,12)\n")


@pytest.mark.parametrize("first, consumer", [
    ({"op": "BatchNorm", "name": "bn", "attrs": {"fix_gamma": "False"}}, "Pooling node 'pool'"),
    ({"op": "Activation", "name": "act", "attrs": {"act_type": "relu"}}, "Pooling node 'pool'"),
])
def test_rank_is_checked_through_rank_keeping_ops(first: dict, consumer: str) -> None:
    nodes = [{"name": "data"}]
    params = {}
    if first["op"] == "BatchNorm":
        for p in ("bn_gamma", "bn_beta", "bn_moving_mean", "bn_moving_var"):
            nodes.append({"name": p})
            params[p] = np.ones(112, np.float32)
        first["inputs"] = [0, 1, 2, 3, 4]
    else:
        first["inputs"] = [0]
    nodes.append(first)
    nodes.append({"op": "Pooling", "name": "pool", "inputs": [len(nodes) - 1],
                  "attrs": {"kernel": "(2, 2)", "stride": "(2, 2)"}})
    arg = {k: v for k, v in params.items() if "moving" not in k}
    aux = {k: v for k, v in params.items() if "moving" in k}
    model = mxtorch.from_symbol(graph(nodes, [len(nodes) - 1]), arg, aux)
    with pytest.raises(ValueError, match=f"first consumer, {consumer}, needs 4"):
        model(torch.ones(112, 12, 12))
    assert model(torch.ones(1, 112, 12, 12)).shape == (1, 112, 6, 6)


# --- 22.5: the unsupported-op report and mxtorch check ---------------------------------------------

def _custom_graph(tmp: Path) -> Path:
    nodes = [{"name": "data"},
             {"op": "Convolution", "name": "c1", "inputs": [0], "attrs": {"kernel": "(3, 3)", "num_filter": "2",
                                                                        "no_bias": "True"}},
             {"op": "Custom", "name": "rpn_proposal", "inputs": [1], "attrs": {"op_type": "proposal"}},
             {"op": "Custom", "name": "rpn_proposal2", "inputs": [2], "attrs": {"op_type": "proposal"}},
             {"op": "MyFancyOp", "name": "fancy", "inputs": [3]},
             {"op": "Pooling", "name": "bad_pool", "inputs": [4], "attrs": {"kernel": "(2, 2)",
                                                                           "pooling_convention": "same"}}]
    g = json.loads(graph(nodes, [5]))
    g["nodes"].insert(1, {"op": "null", "name": "c1_weight", "inputs": []})
    for n in g["nodes"][2:]:
        n["inputs"] = [[i[0] + 1, 0, 0] for i in n["inputs"]]
    g["nodes"][2]["inputs"].append([1, 0, 0])
    g["arg_nodes"] = [0, 1]
    g["heads"] = [[6, 0, 0]]
    (tmp / "cu-symbol.json").write_text(json.dumps(g))
    ndparse.save(tmp / "cu-0000.params", {"arg:c1_weight": np.ones((2, 3, 3, 3), np.float32)})
    return tmp / "cu"


def test_unsupported_ops_are_all_named_in_a_few_lines(tmp_path: Path) -> None:
    with pytest.raises(mxtorch.UnsupportedOpError) as info:
        mxtorch.load(_custom_graph(tmp_path))
    lines = str(info.value).splitlines()
    assert len(lines) == 4 and max(map(len, lines)) < 250, lines
    assert lines[1:3] == ["  Custom:proposal: 2 nodes, e.g. 'rpn_proposal'", "  MyFancyOp: 1 node, e.g. 'fancy'"]
    assert "docs/OPS.md" in lines[3]
    assert info.value.missing == {"Custom:proposal": ("rpn_proposal", "rpn_proposal2"), "MyFancyOp": ("fancy",)}


def test_check_lists_every_op_and_refused_values_without_loading_weights(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = _custom_graph(tmp_path)

    def no_load(*a: object, **k: object) -> None:
        raise AssertionError("check must not load the weights")
    monkeypatch.setattr(ndparse, "load", no_load)
    code, out, err = _cli("check", str(prefix))
    assert code == 1, err
    assert "  Custom:proposal     2  NOT SUPPORTED (e.g. node 'rpn_proposal')" in out
    assert "  MyFancyOp           1  NOT SUPPORTED (e.g. node 'fancy')" in out
    assert "  Convolution         1  ok" in out
    assert "  Pooling             1  refused at 1 node" in out
    assert "refused: op 'Pooling' (node 'bad_pool'): pooling_convention='same' is not supported" in out
    assert out.rstrip().endswith("result: 3 problems")


def test_check_ok_graph_exit_0_and_memory(tmp_path: Path) -> None:
    prefix = pnet(tmp_path)
    code, out, _ = _cli("check", str(prefix), "--input", "data=1,3,37,53")
    assert code == 0 and out.rstrip().endswith("result: ok")
    assert "memory: a forward on data=(1, 3, 37, 53) keeps at most" in out
    code, out, _ = _cli("check", str(prefix), "--input", "data=1,3,3700,5300", "--max-memory", "64M")
    assert code == 1 and "memory: " in out and "over the memory budget of 64 MiB" in out


# --- 22.7 / 22.8: dynamic sizes ----------------------------------------------------------------------

def _fixed_batch(tmp: Path) -> Path:
    nodes = [{"name": "data"}, {"op": "Reshape", "name": "flat", "inputs": [0], "attrs": {"shape": "(1, 3, 4, 4)"}},
             {"op": "relu", "name": "r", "inputs": [1]}]
    (tmp / "fixed-symbol.json").write_text(graph(nodes, [2]))
    return tmp / "fixed"


@pytest.mark.parametrize("out", ["f.pt2", "f.onnx"])
def test_fixed_batch_with_dynamic_batch_is_one_line_with_the_hint(tmp_path: Path, out: str) -> None:
    argv = ["convert", str(_fixed_batch(tmp_path)), "--input", "data=1,3,4,4", "-o", str(tmp_path / out),
            "--dynamic-batch"]
    if out.endswith(".pt2"):  # in a process of its own: nothing of torch's logging reaches stderr
        proc = subprocess.run([sys.executable, "-m", "mxtorch", *argv], capture_output=True, text=True,
                              cwd=tmp_path)
        code, stdout, err = proc.returncode, proc.stdout, proc.stderr
    else:
        code, stdout, err = _cli(*argv)
    assert code == 2 and stdout == ""
    assert err.count("\n") == 1, err  # no torch logging, no traceback
    assert err.startswith(f"mxtorch: error: cannot export to {out[2:]} at Reshape node 'flat': ")
    assert err.rstrip().endswith("(the graph fixes a size asked to be dynamic (data: axis 0): "
                                 "export without --dynamic-batch)")
    assert "s33" not in err and not (tmp_path / out).exists()


def test_fully_convolutional_net_exported_at_12x12_runs_at_37x53_onnx(tmp_path: Path) -> None:
    import onnx
    import onnxruntime as ort
    prefix = pnet(tmp_path)
    out = tmp_path / "p.onnx"
    code, stdout, err = _cli("convert", str(prefix), "--input", "data=1,3,12,12", "--dynamic", "data=0,2,3",
                             "-o", str(out))
    assert code == 0, err
    assert "dynamic axes data: 0,2,3" in stdout
    assert "shapes data=1x3x12x12; data=2x3x12x12; data=1x3x25x12; data=1x3x12x25" in stdout  # two sizes each
    dims = [d.dim_param or d.dim_value for d in onnx.load(out).graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 3, "data_dim2", "data_dim3"]
    model = mxtorch.load(prefix)
    x = np.random.default_rng(3).standard_normal((2, 3, 37, 53)).astype(np.float32)
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"data": x})
    for g, w in zip(got, model(torch.from_numpy(x))):
        assert g.shape == tuple(w.shape) == ((2, 2, 14, 22) if g.shape[1] == 2 else (2, 4, 14, 22))
        np.testing.assert_allclose(g, w.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_export_api_dynamic_axes_pt2(tmp_path: Path) -> None:
    from mxtorch.export import export
    model = mxtorch.load(pnet(tmp_path))
    out = tmp_path / "p.pt2"
    assert export(model, out, (torch.randn(1, 3, 12, 12),), input_names=model.input_names,
                  output_names=model.output_names, dynamic={"data": (2, 3)}, verify=False) is None
    program = torch.export.load(out).module()
    x = torch.randn(1, 3, 37, 53)
    for g, w in zip(program(x), model(x)):
        torch.testing.assert_close(g, w)


@pytest.mark.parametrize("spec, message", [
    ("pixels=0", "the graph has no data input 'pixels'"),
    ("data=7", "dynamic axis 7 of input 'data': it has 4 dimensions"),
    ("data=", "expected axes like data=0,2,3"),
])
def test_bad_dynamic_axes_are_one_line(tmp_path: Path, spec: str, message: str) -> None:
    code, _, err = _cli("convert", str(pnet(tmp_path)), "--input", "data=1,3,12,12", "--dynamic", spec,
                        "-o", str(tmp_path / "p.pt2"))
    assert code == 2 and err.count("\n") == 1 and message in err, err


def test_progress_line_only_on_a_terminal() -> None:
    import io

    from mxtorch.export import _progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True
    buf = Tty()
    old, sys.stderr = sys.stderr, buf
    try:
        with _progress("mxtorch: exporting to .pt2", True):
            pass
        with _progress("quiet", False):
            pass
    finally:
        sys.stderr = old
    assert buf.getvalue() == "\rmxtorch: exporting to .pt2 ...\r\033[K"


def test_check_an_archive_takes_its_input_shapes(tmp_path: Path) -> None:
    import checkpoint_archives as arch
    lenet = ROOT / "fixtures" / "symbol" / "lenet_bn"
    path = arch.sagemaker(lenet, tmp_path / "model.tar.gz", [2, 3, 28, 28])
    code, out, err = _cli("check", str(path))
    assert code == 0, out + err
    assert out.startswith(f"graph: {path}: ")
    assert "memory: a forward on data=(2, 3, 28, 28) keeps at most" in out


def test_inputs_sharing_a_dynamic_size_change_together(tmp_path: Path) -> None:
    """BERT-like: token ids and types share batch and sequence length; the check changes each shared
    size in both inputs at once."""
    from mxtorch.export import export
    g = graph([{"name": "data0"}, {"name": "data1"},
               {"op": "elemwise_add", "name": "add", "inputs": [0, 1]}], [2])
    model = mxtorch.from_symbol(g, {}, {})
    check = export(model, tmp_path / "b.pt2", (torch.randn(2, 5), torch.randn(2, 5)), input_names=model.input_names,
                   output_names=model.output_names, dynamic={"data0": (0, 1), "data1": (0, 1)})
    assert check is not None and check.ok
    assert check.shapes == ("data0=2x5, data1=2x5", "data0=3x5, data1=3x5", "data0=2x11, data1=2x11")
    assert check.axis_names == {"data0:0": "batch", "data1:0": "batch", "data0:1": "data0_dim1",
                                "data1:1": "data0_dim1"}
