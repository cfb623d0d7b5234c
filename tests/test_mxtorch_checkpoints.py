"""mxtorch.load and the mxtorch command find checkpoints with ndparse.locate_checkpoint: every form
(issue 21 part 1; issue 22 items 4 and 11; archives as downloaded)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import mxtorch  # noqa: E402
from mxtorch.cli import main  # noqa: E402

import checkpoint_archives as arch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NET = ROOT / "fixtures" / "mxtorch" / "net" / "resnet_v1"
X = torch.from_numpy(np.load(f"{NET}.expected.npz")["in:data"])
WANT = np.load(f"{NET}.expected.npz")["out:0"]


def _same(model: mxtorch.MXNetModel) -> bool:
    with torch.inference_mode():
        got = model(X).numpy()
    return mxtorch.export.relative_error(got, WANT) <= 1e-5


def _copy(tmp: Path, name: str, epoch: int) -> Path:
    prefix = tmp / name
    shutil.copy(f"{NET}-symbol.json", f"{prefix}-symbol.json")
    shutil.copy(f"{NET}-0000.params", f"{prefix}-{epoch:04d}.params")
    return prefix


@pytest.mark.parametrize("form", ["prefix", "symbol", "params"])
def test_load_takes_every_form(form: str) -> None:
    arg = {"prefix": NET, "symbol": f"{NET}-symbol.json", "params": f"{NET}-0000.params"}[form]
    assert _same(mxtorch.load(arg))  # params: was "no symbol file ...-0000.params-symbol.json"


def test_load_finds_the_only_epoch(tmp_path: Path) -> None:
    prefix = _copy(tmp_path, "mtcnn_det1", 1)  # MTCNN's files are -0001.params
    assert _same(mxtorch.load(prefix))  # was: "stem_conv_weight ... is not in the params"
    assert _same(mxtorch.load(prefix, epoch=1))


@pytest.mark.parametrize("kind", ["sagemaker", "model", "mar"])
def test_load_takes_an_archive(tmp_path: Path, kind: str) -> None:
    shape = list(X.shape)
    path = {"sagemaker": lambda: arch.sagemaker(NET, tmp_path / "model.tar.gz", shape),
            "model": lambda: arch.mms_model(NET, tmp_path / "r.model", shape),
            "mar": lambda: arch.mar(NET, tmp_path / "r.mar")}[kind]()
    assert _same(mxtorch.load(path))


def test_run_takes_a_params_path_and_the_only_epoch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", f"{NET}-0000.params", "--input", "data=1,3,29,31"]) == 0  # was exit 2
    assert capsys.readouterr().out.startswith("softmax_output: float32 (1, 5)")
    prefix = _copy(tmp_path, "det1", 1)
    assert main(["run", str(prefix), "--input", "data=1,3,29,31"]) == 0
    capsys.readouterr()
    _copy(tmp_path, "det1", 4)
    assert main(["run", str(prefix), "--input", "data=1,3,29,31"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "det1-0001.params, det1-0004.params" in err, err


def test_negative_epoch_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(NET), "--epoch", "-1", "--input", "data=1,3,29,31"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--epoch: expected a non-negative integer" in err, err


def test_run_an_archive_with_its_own_input_shapes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = arch.sagemaker(NET, tmp_path / "model.tar.gz", [1, 3, 29, 31])
    assert main(["run", str(path)]) == 0  # no --input: model-shapes.json has it
    assert capsys.readouterr().out.startswith("softmax_output: float32 (1, 5)")
    out = tmp_path / "w.safetensors"
    pytest.importorskip("safetensors")
    assert main(["convert", str(arch.mms_model(NET, tmp_path / "r.model", [1, 3, 29, 31])), "-o", str(out)]) == 0


def test_bugs_are_not_one_line_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """run_main catches the project's error family, not every ValueError/RuntimeError."""
    import mxtorch.cli as cli

    def broken(args):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug")
    monkeypatch.setattr(cli, "cmd_run", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["run", str(NET), "--input", "data=1,3,29,31"])


def test_verify_and_no_verify_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(NET), "-o", "x.pt2", "--verify", "--no-verify"]) == 2
    assert main(["convert", str(NET), "-o", "x.pt2", "--tolerance", "-1"]) == 2
    err = capsys.readouterr().err
    assert "not allowed with argument" in err and "--tolerance: expected a finite number >= 0" in err


def test_output_folder_is_named_as_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(NET), "-o", str(tmp_path), "--input", "data=1,3,29,31"]) == 2
    err = capsys.readouterr().err
    assert "is a folder" in err and "no extension" not in err, err


def test_readme_export_call_works_as_written(tmp_path: Path) -> None:
    small = ROOT / "fixtures" / "mxtorch" / "nn" / "act_relu"
    x = torch.from_numpy(np.load(f"{small}.expected.npz")["in:data"])
    assert mxtorch.export.export(mxtorch.load(small), tmp_path / "m.pt2", (x,), verify=False) is None
    assert (tmp_path / "m.pt2").is_file()  # no input_names/output_names: the model's own
    model = mxtorch.load(NET)
    state = mxtorch.export.export(model, tmp_path / "m.pth")  # weights only: no inputs needed
    assert state is None and (tmp_path / "m.pth").is_file()


def test_check_takes_every_form_and_archives(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prefix = _copy(tmp_path, "only1", 1)
    assert main(["check", f"{prefix}-0001.params"]) == 0  # was: "no symbol file ...params-symbol.json"
    assert main(["check", str(prefix)]) == 0
    assert main(["check", str(arch.mar(NET, tmp_path / "r.mar"))]) == 0
    capsys.readouterr()


def test_warnings_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prefix = _copy(tmp_path, "odd", 0)
    params = Path(f"{prefix}-0000.params")
    params.write_bytes(params.read_bytes() + b"\0" * 8)  # trailing bytes: MXNet reads it, with a warning
    assert main(["run", str(prefix), "--input", "data=1,3,29,31"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("mxtorch: warning: ") and err.count("\n") == 1, err  # was: file:line: + source
