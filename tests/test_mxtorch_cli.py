"""`mxtorch convert` / `mxtorch run` and dpn-convert's proof against the original graph (issue 11).

Truth is what MXNet 1.9.1 computed (the fixtures' expected.npz): every artifact is compared with it,
not only with mxtorch's own in-memory graph.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mxtorch.cli import main as mxtorch_main
from mxtorch.export import relative_error

ROOT = Path(__file__).resolve().parents[1]
NET = ROOT / "fixtures" / "mxtorch" / "net"
DPN = ROOT / "fixtures" / "dpn"
MXNET_TOLERANCE = 1e-5  # max|artifact - MXNet| / max|MXNet| per head


def _expected(prefix: Path) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    with np.load(f"{prefix}.expected.npz") as f:
        inputs = {k[3:]: f[k] for k in f.files if k.startswith("in:")}
        outs = [f[f"out:{i}"] for i in range(sum(k.startswith("out:") for k in f.files))]
    return inputs, outs


def _shape_arg(inputs: dict[str, np.ndarray]) -> list[str]:
    args: list[str] = []
    for name, a in inputs.items():
        args += ["--input", f"{name}={','.join(map(str, a.shape))}"]
    return args


# Runs an artifact where our packages cannot be imported: the proof that it stands alone.
_PT2_RUNNER = """
import sys
for m in ("mxtorch", "ndparse", "dpn_torch", "mxnet"):
    sys.modules[m] = None
import numpy as np, torch
ep = torch.export.load(sys.argv[1])
with np.load(sys.argv[2]) as f:
    ins = [torch.from_numpy(f[k]) for k in sorted(f.files, key=lambda k: int(k[2:]))]
out = ep.module()(*ins)
outs = out if isinstance(out, (tuple, list)) else (out,)
np.savez(sys.argv[3], **{f"out{i}": o.detach().numpy() for i, o in enumerate(outs)})
"""

_ONNX_RUNNER = """
import sys
for m in ("mxtorch", "ndparse", "dpn_torch", "mxnet", "torch"):
    sys.modules[m] = None
import numpy as np, onnxruntime as ort
s = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
with np.load(sys.argv[2]) as f:
    feeds = {i.name: f[f"in{n}"] for n, i in enumerate(s.get_inputs())}
outs = s.run(None, feeds)
np.savez(sys.argv[3], **{f"out{i}": o for i, o in enumerate(outs)})
"""


def _run_alone(runner: str, artifact: Path, inputs: list[np.ndarray], tmp: Path) -> list[np.ndarray]:
    np.savez(tmp / "ins.npz", **{f"in{i}": a for i, a in enumerate(inputs)})
    proc = subprocess.run([sys.executable, "-c", runner, str(artifact), str(tmp / "ins.npz"),
                           str(tmp / "outs.npz")], capture_output=True, text=True, cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    with np.load(tmp / "outs.npz") as f:
        return [f[f"out{i}"] for i in range(len(f.files))]


def test_pt2_dynamic_batch_runs_with_torch_alone_and_matches_mxnet(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    prefix = NET / "detector_multihead"
    inputs, want = _expected(prefix)
    out = tmp_path / "det.pt2"
    assert mxtorch_main(["convert", str(prefix), *_shape_arg(inputs), "-o", str(out), "--dynamic-batch"]) == 0
    text = capsys.readouterr().out
    heads = json.loads((NET / "detector_multihead.json").read_text())["outputs"]
    for head in heads:  # one verify line per head, with its measured error
        line = next(ln for ln in text.splitlines() if ln.startswith(f"verify: {head}: max relative error"))
        assert float(line.split("max relative error ")[1].split()[0]) <= 1e-5
    x = inputs["data"]
    got = _run_alone(_PT2_RUNNER, out, [x], tmp_path)
    assert len(got) == len(want) == 3
    for g, w in zip(got, want):
        assert g.shape == w.shape and relative_error(g, w) <= MXNET_TOLERANCE
    # the batch is dynamic: one more sample gives the same per-sample results
    got3 = _run_alone(_PT2_RUNNER, out, [np.concatenate([x, x[:1]])], tmp_path)
    for g3, w in zip(got3, want):
        assert g3.shape[0] == w.shape[0] + 1 and relative_error(g3[: w.shape[0]], w) <= MXNET_TOLERANCE


def test_onnx_runs_with_onnxruntime_alone_and_matches_mxnet(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("onnxruntime")
    prefix = NET / "resnet_v1"
    inputs, want = _expected(prefix)
    out = tmp_path / "resnet.onnx"
    assert mxtorch_main(["convert", str(prefix), *_shape_arg(inputs), "-o", str(out)]) == 0
    assert "ONNX opset 18" in capsys.readouterr().out
    got = _run_alone(_ONNX_RUNNER, out, [inputs["data"]], tmp_path)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape and relative_error(g, w) <= MXNET_TOLERANCE
    import onnx
    assert onnx.load(str(out)).opset_import[0].version == 18


@pytest.mark.parametrize("ext", [".pth", ".safetensors"])
def test_state_dict_outputs_keep_mxnet_names(tmp_path: Path, ext: str) -> None:
    import ndparse
    prefix = NET / "resnet_v1"
    _, arg, aux = ndparse.load_checkpoint(str(prefix), 0)
    out = tmp_path / f"w{ext}"
    assert mxtorch_main(["convert", str(prefix), "-o", str(out)]) == 0
    if ext == ".pth":
        state = torch.load(out, weights_only=True)
    else:
        from safetensors import safe_open
        from safetensors.torch import load_file
        state = load_file(out)
        with safe_open(str(out), "pt") as f:
            meta = f.metadata()
        assert meta["source"] == "resnet_v1" and meta["converted_by"].startswith("mxtorch ")
    assert set(state) == set(arg) | set(aux)
    for name, t in state.items():
        src = arg.get(name, aux.get(name))
        assert np.array_equal(t.numpy(), src)


def test_run_saves_every_head_as_mxnet_computed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prefix = NET / "detector_multihead"
    inputs, want = _expected(prefix)
    np.save(tmp_path / "x.npy", inputs["data"])
    out = tmp_path / "heads.npz"
    assert mxtorch_main(["run", str(prefix), "--input", f"data={tmp_path / 'x.npy'}", "-o", str(out)]) == 0
    heads = json.loads((NET / "detector_multihead.json").read_text())["outputs"]
    with np.load(out) as f:
        assert f.files == heads
        for name, w in zip(heads, want):
            assert relative_error(f[name], w) <= MXNET_TOLERANCE
    assert f"wrote: {out} (3 heads)" in capsys.readouterr().out


_DROPOUT_ALWAYS = {
    "nodes": [{"op": "null", "name": "data", "inputs": []},
              {"op": "Dropout", "name": "drop", "attrs": {"p": "0.5", "mode": "always"}, "inputs": [[0, 0, 0]]}],
    "arg_nodes": [0], "node_row_ptr": [0, 1, 3], "heads": [[1, 0, 0]],
    "attrs": {"mxnet_version": ["int", 10901]}}


@pytest.mark.parametrize("ext", [".pt2", ".onnx"])
def test_an_artifact_that_computes_something_else_is_refused(tmp_path: Path, ext: str,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Dropout(mode=always) stays random at inference in MXNet, so no artifact can reproduce the
    in-memory run: the check must catch it, exit 1 and leave nothing behind."""
    if ext == ".onnx":
        pytest.importorskip("onnxruntime")
    sym = tmp_path / "drop-symbol.json"
    sym.write_text(json.dumps(_DROPOUT_ALWAYS))
    out = tmp_path / f"drop{ext}"
    assert mxtorch_main(["convert", str(sym), "--input", "data=4,64", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "verification failed" in err and "nothing was written" in err
    assert list(tmp_path.iterdir()) == [sym]


@pytest.mark.parametrize("argv, message", [
    (["run", "NOPE"], "no symbol file"),
    (["run", str(NET / "resnet_v1"), "--input", "data=1,5,32,32"],
     "the graph rejects inputs data=(1, 5, 32, 32) at Convolution node 'stem_conv': "),
    (["run", str(NET / "resnet_v1"), "--input", "pixels=1,3,32,32"], "no data input 'pixels'"),
    (["run", str(NET / "resnet_v1")], "missing --input for data"),
    (["convert", str(NET / "resnet_v1"), "-o", "x.bin"], "unknown output type '.bin'"),
    (["convert", str(NET / "resnet_v1"), "--input", "data=1,3,32,32", "-o", "/nonexistent/x.pt2"],
     "/nonexistent/x.pt2: folder /nonexistent does not exist"),
])
def test_bad_input_is_one_line_and_exit_2(argv: list[str], message: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert mxtorch_main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mxtorch: error: ") and message in err, err


def test_symbol_without_its_params_file_names_the_missing_file(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    sym = tmp_path / "lonely-symbol.json"
    shutil.copy(NET / "resnet_v1-symbol.json", sym)
    assert mxtorch_main(["run", str(sym), "--input", "data=1,3,32,32"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'stem_conv_weight'" in err, err
    assert f"there is no params file {tmp_path / 'lonely-0000.params'} beside the symbol" in err, err


def test_unsupported_op_is_a_few_lines_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = {"nodes": [{"op": "null", "name": "data", "inputs": []},
                     {"op": "Custom", "name": "roi", "attrs": {"op_type": "proposal"}, "inputs": [[0, 0, 0]]}],
           "arg_nodes": [0], "heads": [[1, 0, 0]], "attrs": {"mxnet_version": ["int", 10901]}}
    sym = tmp_path / "custom-symbol.json"
    sym.write_text(json.dumps(doc))
    assert mxtorch_main(["run", str(sym), "--input", "data=1,3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 3 and "Custom:proposal: 1 node, e.g. 'roi'" in err and "docs/OPS.md" in err
    assert err.startswith(f"mxtorch: error: {sym}: 1 op of the graph is not supported") and len(err) < 500


def test_version_and_python_m() -> None:
    proc = subprocess.run([sys.executable, "-m", "mxtorch", "--version"], capture_output=True, text=True)
    import ndparse
    assert proc.returncode == 0 and proc.stdout.strip() == f"mxtorch {ndparse.__version__}"


# --- dpn-convert proves the conversion against the checkpoint's own graph ---------------------------
def _copy_checkpoint(tmp: Path, name: str) -> Path:
    for f in DPN.glob(f"{name}-*"):
        shutil.copy(f, tmp / f.name)
    return tmp / name


def test_dpn_convert_verify_runs_the_symbol_graph(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dpn_torch.cli import main as dpn_main
    prefix = _copy_checkpoint(tmp_path, "tiny92")
    assert dpn_main([str(prefix), "-o", str(tmp_path / "m.pth"), "--verify"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("symbol graph:"))
    assert "tiny92-symbol.json (fc6_output)" in line and line.endswith(" ok")
    assert float(line.split("max relative error ")[1].split()[0]) <= 1e-5


def test_dpn_convert_refuses_a_graph_that_computes_something_else(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A graph whose BatchNorm eps differs from what the converter assumes: keys and shapes all fit,
    only running the graph shows it. Exit 1, no output file."""
    from dpn_torch.cli import main as dpn_main
    prefix = _copy_checkpoint(tmp_path, "tiny92")
    sym = Path(f"{prefix}-symbol.json")
    doc = json.loads(sym.read_text())
    for node in doc["nodes"]:
        if node["op"] == "BatchNorm":
            node["attrs"]["eps"] = "0.5"
    sym.write_text(json.dumps(doc))
    out = tmp_path / "m.pth"
    assert dpn_main([str(prefix), "-o", str(out), "--verify"]) == 1
    captured = capsys.readouterr()
    line = next(ln for ln in captured.out.splitlines() if ln.startswith("symbol graph:"))
    assert line.endswith("MISMATCH") and float(line.split("max relative error ")[1].split()[0]) > 1e-4
    assert "nothing was written" in captured.err and not out.exists()


def test_dpn_convert_without_a_symbol_says_the_graph_check_was_skipped(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dpn_torch.cli import main as dpn_main
    params = tmp_path / "tiny68_v0-0000.params"
    shutil.copy(DPN / params.name, params)
    assert dpn_main([str(params), "-o", str(tmp_path / "m.pth"), "--verify"]) == 0
    assert "symbol graph: skipped (no tiny68_v0-symbol.json beside the checkpoint)" in capsys.readouterr().out


def test_verify_against_symbol_from_python() -> None:
    import dpn_torch
    from dpn_torch.verify import verify_against_symbol
    model = dpn_torch.load_mxnet(DPN / "tiny68b-extra")
    check = verify_against_symbol(model, DPN / "tiny68b-extra", epoch=0)
    assert check.ok and check.error <= 1e-5 and check.head == "fc6-1k_output"
    assert check.shape == (1, 3, 224, 224)


def test_dpn_convert_to_onnx_dynamic_batch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("onnxruntime")
    from dpn_torch.cli import main as dpn_main
    out = tmp_path / "t92.onnx"
    assert dpn_main([str(DPN / "tiny92"), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "(ONNX, dynamic batch" in text
    assert float(text.split("verify: logits: max relative error ")[1].split()[0]) <= 1e-5
    # logits of MXNet 1.9.1 for the fixture's own input (regenerated from its seed), through onnxruntime
    from helpers import fixture_inputs  # the one helper module of the tests
    meta = json.loads((DPN / "tiny92.json").read_text())
    x = fixture_inputs(meta)["input_224"]
    with np.load(DPN / "tiny92.expected.npz") as f:
        logits = f["logits_224"]
    got = _run_alone(_ONNX_RUNNER, out, [x], tmp_path)[0]
    assert relative_error(got, logits) <= MXNET_TOLERANCE


def test_dynamic_batch_from_a_batch_of_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """torch.export specialises a size-1 dimension; the exporter traces with 2 and checks 1 and 2."""
    prefix = NET / "resnet_v1"
    inputs, want = _expected(prefix)
    x1 = inputs["data"][:1]
    out = tmp_path / "r.pt2"
    assert mxtorch_main(["convert", str(prefix), "--input", "data=" + ",".join(map(str, x1.shape)),
                         "-o", str(out), "--dynamic-batch"]) == 0
    assert "batch 1, 2," in capsys.readouterr().out
    got = _run_alone(_PT2_RUNNER, out, [inputs["data"]], tmp_path)[0]
    assert relative_error(got, want[0]) <= MXNET_TOLERANCE


def test_without_torch_help_works_and_a_run_says_which_extra(tmp_path: Path) -> None:
    code = ("import sys; sys.modules['torch'] = None\n"
            "from mxtorch.cli import main\n"
            "assert main(['--version']) == 0\n"
            f"sys.exit(main(['run', {str(NET / 'resnet_v1')!r}, '--input', 'data=1,3,32,32']))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == ("mxtorch: error: running an MXNet graph needs torch, which is not "
                                   "installed: pip install 'ndparse[torch]'")
