"""dpn-convert (dpn_torch.cli.main): output written atomically, re-loaded, reported; bad input -> exit 2."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ndparse  # noqa: E402
from ndparse import _outputs  # noqa: E402  (only to make its bit check fail on purpose)

from dpn_torch import cli, convert_checkpoint  # noqa: E402

from helpers import FIXTURES, tiny_names  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NAME = tiny_names()[0]


@pytest.fixture
def ckpt(tmp_path: Path) -> Path:
    """A copy of a tiny MXNet checkpoint (V2 and V0) in tmp_path; returns the prefix."""
    shutil.copy(FIXTURES / f"{NAME}-0000.params", tmp_path / f"{NAME}-0000.params")
    shutil.copy(FIXTURES / f"{NAME}_v0-0000.params", tmp_path / f"{NAME}_v0-0000.params")
    return tmp_path / NAME


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("dpn-convert: error:") and "Traceback" not in err
    return lines[0]


def test_convert_default_output_and_verify(ckpt: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([str(ckpt), "--verify"]) == 0
    out = capsys.readouterr()
    assert out.err == ""
    pth = ckpt.with_name(f"{NAME}.pth")
    assert pth.is_file()
    for needle in ("legacy container, V2 records", "10 classes", "classifier fc6", "68,914",
                   "every tensor equal", "verify:", "finite True"):
        assert needle in out.out, needle
    loaded = torch.load(pth, weights_only=True)
    ref = convert_checkpoint(ckpt).state_dict
    assert list(loaded) == list(ref)
    assert all(torch.equal(loaded[k], v) for k, v in ref.items())
    assert [p.name for p in ckpt.parent.iterdir() if p.name.endswith((".tmp", ".part"))] == []


def test_convert_v0_params_path_and_output(ckpt: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sub" / "converted.pth"
    out.parent.mkdir()
    src = ckpt.with_name(f"{NAME}_v0-0000.params")
    assert cli.main([str(src), "-o", str(out), "--arch", "auto"]) == 0
    assert "legacy container, V0 records" in capsys.readouterr().out
    assert out.is_file() and sorted(p.name for p in out.parent.iterdir()) == ["converted.pth"]


def test_arch_mismatch_exit_2_no_output(ckpt: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([str(ckpt), "--arch", "dpn92"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "dpn92" in line and "missing" in line
    assert not ckpt.with_name(f"{NAME}.pth").exists()


@pytest.mark.parametrize("make", ["missing", "text", "not_dpn", "truncated", "float64"])
def test_bad_input_exit_2(make: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad-0000.params"
    if make == "text":
        path.write_text('{"nodes": []}')
    elif make == "not_dpn":
        ndparse.save(path, {"arg:w": np.zeros(3, np.float32)})
    elif make == "truncated":
        path.write_bytes((FIXTURES / f"{NAME}-0000.params").read_bytes()[:1000])
    elif make == "float64":
        arrays = dict(ndparse.load(FIXTURES / f"{NAME}-0000.params"))
        arrays["arg:fc6_bias"] = arrays["arg:fc6_bias"].astype(np.float64)
        ndparse.save(path, arrays)
    assert cli.main([str(tmp_path / "bad")]) == 2
    line = _one_error_line(capsys.readouterr().err)
    if make == "float64":
        assert "arg:fc6_bias" in line and "float64" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ([] if make == "missing" else [path.name])


def test_usage_error_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["x", "--arch", "resnet50"]) == 2
    _one_error_line(capsys.readouterr().err)
    assert cli.main([]) == 2
    _one_error_line(capsys.readouterr().err)


def test_safetensors_format(ckpt: Path, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        import safetensors  # noqa: F401
    except ImportError:
        assert cli.main([str(ckpt), "--format", "safetensors"]) == 2
        assert "safetensors" in _one_error_line(capsys.readouterr().err)
        assert list(ckpt.parent.glob("*.safetensors")) == []
        return
    from safetensors.torch import load_file

    assert cli.main([str(ckpt), "--format", "safetensors"]) == 0
    loaded = load_file(ckpt.with_name(f"{NAME}.safetensors"))
    ref = convert_checkpoint(ckpt).state_dict
    assert set(loaded) == set(ref) and all(torch.equal(loaded[k], v) for k, v in ref.items())


def test_failed_write_leaves_nothing(ckpt: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = ckpt.with_name(f"{NAME}.pth")
    out.write_bytes(b"previous")

    def broken_save(obj: object, f: Any) -> None:
        f.write(b"half")  # a file object of the temporary output
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    assert cli.main([str(ckpt)]) == 2
    assert "disk full" in _one_error_line(capsys.readouterr().err)
    assert out.read_bytes() == b"previous"
    assert [p.name for p in ckpt.parent.iterdir() if p.name.endswith((".tmp", ".part"))] == []


def test_python_dash_m(ckpt: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    ok = subprocess.run([sys.executable, "-m", "dpn_torch", str(ckpt), "-o", str(ckpt) + ".pt"],
                        capture_output=True, text=True, env=env, cwd=ROOT)
    assert ok.returncode == 0, ok.stderr
    assert "every tensor equal" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "dpn_torch", str(ckpt) + "-nope"],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    assert bad.returncode == 2 and bad.stdout == ""
    _one_error_line(bad.stderr)


def test_failed_check_replaces_nothing_and_mode_is_normal(ckpt: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = ckpt.with_name(f"{NAME}.pth")
    out.write_bytes(b"previous")
    monkeypatch.setattr(_outputs, "_bit_equal", lambda a, b: False)
    assert cli.main([str(ckpt)]) == 2
    assert "differs" in _one_error_line(capsys.readouterr().err)
    assert out.read_bytes() == b"previous"  # the check ran before the rename
    monkeypatch.undo()
    out.unlink()
    umask = os.umask(0o022)
    try:
        assert cli.main([str(ckpt)]) == 0
    finally:
        os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o644


def test_the_extension_decides_the_format(ckpt: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 12.1: -o x.safetensors is safetensors, -o x.pth --format safetensors is an error."""
    safetensors = pytest.importorskip("safetensors")
    from safetensors.torch import load_file

    ref = convert_checkpoint(ckpt).state_dict
    st = tmp_path / "out.safetensors"
    assert cli.main([str(ckpt), "-o", str(st)]) == 0
    loaded = load_file(st)
    assert set(loaded) == set(ref) and all(torch.equal(loaded[k], v) for k, v in ref.items())
    with safetensors.safe_open(st, framework="pt") as f:
        meta = f.metadata()
    assert meta["source"] == f"{NAME}-0000.params" and meta["converted_by"] == f"dpn-convert {ndparse.__version__}"
    assert meta["source_layout"] == "legacy container, V2 records" and "10 classes" in meta["variant"]
    capsys.readouterr()
    for args, needle in [(["-o", str(tmp_path / "a.pth"), "--format", "safetensors"], "contradicts"),
                         (["-o", str(tmp_path / "a.safetensors"), "--format", "pth"], "contradicts"),
                         (["-o", str(tmp_path / "a.bin")], "--format")]:
        assert cli.main([str(ckpt), *args]) == 2
        r = capsys.readouterr()
        assert needle in _one_error_line(r.err) and r.out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"{NAME}-0000.params", f"{NAME}_v0-0000.params", "out.safetensors"])
    pt = tmp_path / "a.pt"
    assert cli.main([str(ckpt), "-o", str(pt)]) == 0
    assert list(torch.load(pt, weights_only=True)) == list(ref)  # .pt is torch.save too
    other = tmp_path / "a.bin"
    assert cli.main([str(ckpt), "-o", str(other), "--format", "safetensors"]) == 0
    assert set(load_file(other)) == set(ref)


def test_cli_choices_match_the_package() -> None:
    """The CLI offers exactly the package's arch and classifier names (from the torch-free config)."""
    from dpn_torch.config import CLASSIFIER_NAMES, MODEL_CONFIGS

    assert cli.ARCHS == tuple(MODEL_CONFIGS) and cli.CLASSIFIERS == tuple(CLASSIFIER_NAMES)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out == f"dpn-convert {ndparse.__version__}\n"
