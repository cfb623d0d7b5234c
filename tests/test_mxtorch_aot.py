"""`export(..., aot=True)` / `mxtorch convert --aot`: one .pt2 holding the torch.export program and its
AOTInductor compilation for CPU. Both read back with torch alone and compute what MXNet computed; the compiled
one runs the frozen, fused oneDNN convolutions that make it as fast as the eager model (bench/ times that)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch._inductor

import mxtorch
from mxtorch.cli import main
from mxtorch.export import export, relative_error

ROOT = Path(__file__).resolve().parent.parent
NET = ROOT / "fixtures" / "mxtorch" / "net" / "resnet_v2"


def test_aot_pt2_holds_program_and_compiled_model(tmp_path: Path) -> None:
    model = mxtorch.load(NET)
    with np.load(f"{NET}.expected.npz") as z:
        x = z["in:data"]
        want = z["out:0"]
    out = tmp_path / "net.pt2"
    check = export(model, out, (torch.from_numpy(x),), dynamic_batch=True, aot=True)
    assert check is not None and check.ok and check.batches == (2, 3)
    assert set(check.compiled) == set(check.errors) == set(model.output_names)
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        wrapper = "".join(zf.read(n).decode() for n in names if n.endswith(".wrapper.cpp"))
    assert any(n.endswith(".json") and "/models/" in n for n in names)  # the portable program
    assert any(n.endswith(".so") for n in names)  # the compiled one
    # frozen weights: the convolutions are oneDNN's with their weights packed, not plain aten convolutions
    assert "mkldnn__convolution_pointwise" in wrapper and "aoti_torch_cpu_convolution(" not in wrapper

    compiled = torch._inductor.aoti_load_package(str(out))
    program = torch.export.load(out).module()
    xb = np.concatenate([x, -x[:1]])  # a batch of 3 through the dynamic batch axis
    with torch.inference_mode():
        got_c = compiled(torch.from_numpy(xb)).numpy()  # the same output structure as the program
        got_p = program(torch.from_numpy(xb)).numpy()
    assert got_c.shape == got_p.shape == (3, *want.shape[1:])
    assert relative_error(got_c[:2], want) <= 1e-5  # MXNet 1.9.1's output on the fixture's input
    assert relative_error(got_c, got_p) <= 1e-5


def test_aot_other_format_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = mxtorch.load(NET)
    with pytest.raises(ValueError, match=r"net\.onnx: ahead-of-time compilation \(aot\) writes a \.pt2"):
        export(model, tmp_path / "net.onnx", (torch.zeros(1, 3, 8, 8),), aot=True)
    code = main(["convert", str(NET), "--input", "data=1,3,8,8", "-o", str(tmp_path / "net.onnx"), "--aot"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--aot compiles a .pt2 file, not .onnx" in err[0]
    assert not (tmp_path / "net.onnx").exists()


def test_aot_compiled_model_checks_shapes_with_torchs_switch(tmp_path: Path) -> None:
    """The compiled model checks its inputs only with AOTI_RUNTIME_CHECK_INPUTS=1 (read once per process, so
    in a process of its own): a wrong channel count is then refused, not answered."""
    import os
    import subprocess
    import sys

    out = tmp_path / "net.pt2"
    model = mxtorch.load(NET)
    export(model, out, (torch.zeros(1, 3, 8, 8),), verify=False, aot=True)
    code = ("import sys, torch, torch._inductor\n"
            "m = torch._inductor.aoti_load_package(sys.argv[1])\n"
            "print(tuple(m(torch.zeros(1, 3, 8, 8)).shape))\n"
            "try:\n    m(torch.zeros(2, 3, 8, 8))\nexcept RuntimeError as e:\n    print('refused:', e)\n")
    env = {**os.environ, "AOTI_RUNTIME_CHECK_INPUTS": "1"}
    proc = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True, env=env)
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 0 and lines[0] == "(1, 5)"
    assert lines[1].startswith("refused:") and "expected: 1, but got: 2" in lines[1]
