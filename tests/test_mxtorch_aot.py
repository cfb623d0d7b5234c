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
