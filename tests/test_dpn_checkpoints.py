"""dpn-convert and dpn_torch find checkpoints with ndparse.locate_checkpoint (issue 21 part 1), and a
verification that could not run or saw non-finite values is not a pass (issue 22 items 9, 10)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ndparse  # noqa: E402

import dpn_torch  # noqa: E402
from dpn_torch import cli  # noqa: E402

import checkpoint_archives as arch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DPN = ROOT / "fixtures" / "dpn"


def _copy(tmp: Path, src: str, name: str, epoch: int, symbol: bool = True) -> Path:
    prefix = tmp / name
    if symbol:
        shutil.copy(DPN / f"{src}-symbol.json", f"{prefix}-symbol.json")
    shutil.copy(DPN / f"{src}-0000.params", f"{prefix}-{epoch:04d}.params")
    return prefix


def _symbol_line(out: str) -> str:
    return next(ln for ln in out.splitlines() if ln.startswith("symbol graph:"))


def test_verify_an_epoch_other_than_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prefix = _copy(tmp_path, "tiny68", "tiny68", 3)
    out = tmp_path / "a.pth"
    # was: the graph check re-derived tiny68-0000.params and failed (no such file)
    assert cli.main([f"{prefix}-0003.params", "-o", str(out), "--verify"]) == 0
    assert _symbol_line(capsys.readouterr().out).endswith(" ok")
    # another -0000.params beside it (other weights): the check still uses the file given
    shutil.copy(DPN / "tiny92-0000.params", tmp_path / "tiny68-0000.params")
    assert cli.main([f"{prefix}-0003.params", "-o", str(tmp_path / "b.pth"), "--verify"]) == 0  # was MISMATCH
    assert _symbol_line(capsys.readouterr().out).endswith(" ok")


def test_the_only_epoch_and_the_python_api(tmp_path: Path) -> None:
    prefix = _copy(tmp_path, "tiny68", "tiny68", 5)
    model = dpn_torch.load_mxnet(prefix)  # no -0000: the only -NNNN.params
    check = dpn_torch.verify.verify_against_symbol(model, prefix)  # `import dpn_torch` is enough
    assert check.ok and check.finite
    assert dpn_torch.verify.verify_against_symbol(model, f"{prefix}-0005.params").ok


def test_convert_an_archive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = arch.mms_model(DPN / "tiny68", tmp_path / "tiny68.model", [1, 3, 224, 224])
    assert cli.main([str(path), "--verify"]) == 0
    out = capsys.readouterr().out
    assert _symbol_line(out).endswith(" ok") and (tmp_path / "tiny68.pth").is_file()


def _nan_checkpoint(tmp: Path, symbol: bool) -> Path:
    prefix = _copy(tmp, "tiny68", "nan", 0, symbol)
    arrays = ndparse.load(f"{prefix}-0000.params")
    key = next(k for k in arrays if k.startswith("arg:fc6") and k.endswith("bias"))
    arrays[key] = np.full_like(arrays[key], np.nan)
    ndparse.save(f"{prefix}-0000.params", arrays)
    return prefix


@pytest.mark.parametrize("symbol", [True, False])
def test_nan_logits_are_not_a_pass(tmp_path: Path, symbol: bool, capsys: pytest.CaptureFixture[str]) -> None:
    prefix = _nan_checkpoint(tmp_path, symbol)
    out = tmp_path / "nan.pth"
    assert cli.main([str(prefix), "-o", str(out), "--verify"]) == 1  # was 0
    captured = capsys.readouterr()
    assert not out.exists()
    if symbol:
        assert _symbol_line(captured.out).endswith("NOT FINITE") and "not all finite" in captured.err
    else:
        assert "finite False" in captured.out and "verification failed" in captured.err


def _missing(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n in names else real(n, *a))


def _never_read(monkeypatch: pytest.MonkeyPatch) -> None:
    import dpn_torch.convert as conv

    def fail(*a, **k):  # type: ignore[no-untyped-def]
        raise AssertionError("the checkpoint was read before the output was checked")
    monkeypatch.setattr(conv, "convert_checkpoint", fail)


@pytest.mark.parametrize("out, missing, needle", [
    ("t.onnx", ("onnxruntime",), "--verify of an .onnx file needs onnxruntime"),
    ("t.onnx", ("onnx",), "needs the onnx extra"),
    ("t.safetensors", ("safetensors",), "needs the safetensors package"),
])
def test_output_checked_before_the_checkpoint_is_read(tmp_path: Path, out: str, missing: tuple[str, ...],
                                                      needle: str, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    _missing(monkeypatch, *missing)
    _never_read(monkeypatch)
    assert cli.main([str(DPN / "tiny68"), "-o", str(tmp_path / out), "--verify"]) == 2  # .onnx: was 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err, err


def test_extension_error_offers_what_it_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    _never_read(monkeypatch)
    assert cli.main([str(DPN / "tiny68"), "-o", str(tmp_path / "t.pt2")]) == 2
    err = capsys.readouterr().err
    assert ".onnx" in err and ".pt2," not in err and "use .pt2" not in err, err
    _missing(monkeypatch, "onnx")
    assert cli.main([str(DPN / "tiny68"), "-o", str(tmp_path / "t.model"), "--format", "onnx"]) == 2
    assert "onnx extra" in capsys.readouterr().err
    assert cli.main(["--help"]) == 0
    assert "onnx" in capsys.readouterr().out.split("--format")[1].split("--arch")[0]


def test_negative_epoch_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([str(DPN / "tiny68"), "--epoch", "-1"]) == 2
    assert "--epoch: expected a non-negative integer" in capsys.readouterr().err


def test_the_python_api_takes_an_archive(tmp_path: Path) -> None:
    path = arch.sagemaker(DPN / "tiny68", tmp_path / "model.tar.gz", [1, 3, 224, 224])
    conv = dpn_torch.convert_checkpoint(path)  # was: "use ndparse.locate_checkpoint"
    assert conv.path == path
    model = dpn_torch.convert_from_mxnet(dpn_torch.load_mxnet(path), path)
    assert dpn_torch.verify.verify_against_symbol(model, path).ok
