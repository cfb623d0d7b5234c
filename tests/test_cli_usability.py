"""What a new user tripped over (issue 12), each kept fixed: formats by extension, every shape
through every output, no leaked torch warning, no torch needed for --help, errors naming the
path typed, quiet closed pipes, diff of any two formats, --version, one shape spelling, --tree,
provenance, and a README whose synopses list every option."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

import ndparse
from ndparse import cli_support as _outputs  # the public base (was ndparse._outputs)
from ndparse import __version__
from ndparse.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures" / "ndparse"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
FORMATS = [".npz", ".params", ".pt", ".safetensors"]


def _run(*args: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "ndparse", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=ROOT)


def _read_back(path: Path) -> dict[str, np.ndarray]:
    """What the output's own library reads (not ndparse, except for .params)."""
    if path.suffix == ".npz":
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    if path.suffix == ".params":
        got = ndparse.load(path, mmap=False)
        return dict(got) if isinstance(got, dict) else {str(i): v for i, v in enumerate(got)}
    torch = pytest.importorskip("torch")
    if path.suffix == ".pt":
        return {k: _outputs.from_torch(v) for k, v in torch.load(path, weights_only=True).items()}
    from safetensors.torch import load_file

    return {k: _outputs.from_torch(v) for k, v in load_file(path).items()}


def _need(suffix: str) -> None:
    if suffix in (".pt", ".safetensors"):
        pytest.importorskip("torch")
    if suffix == ".safetensors":
        pytest.importorskip("safetensors")


# --- 1. the extension decides the format (shared rule, both CLIs) ---------------------------
@pytest.mark.parametrize("out,fmt,expected", [
    ("a.pth", None, "pth"), ("a.PT", None, "pth"), ("a.safetensors", None, "safetensors"),
    ("a.bin", "safetensors", "safetensors"), ("a.pth", "pth", "pth")])
def test_output_format_follows_the_extension(out: str, fmt: str | None, expected: str) -> None:
    assert _outputs.output_format(out, fmt) == expected


@pytest.mark.parametrize("out,fmt,needle", [
    ("a.pth", "safetensors", "contradicts the .pth extension"),
    ("a.safetensors", "pth", "contradicts the .safetensors extension"),
    ("a.bin", None, "unknown output type '.bin'"),
    ("a.npz", None, "cannot write .npz here")])
def test_output_format_refusals(out: str, fmt: str | None, needle: str) -> None:
    with pytest.raises(_outputs.OutputError, match=needle.replace(".", r"\.").replace("(", r"\(")):
        _outputs.output_format(out, fmt)


# --- 2. every shape, 0-d and zero-size included, through every output format -------------------
SHAPES = {"scalar": (), "empty": (0,), "empty2d": (3, 0, 2), "vec": (4,), "mat": (2, 3)}


@pytest.mark.parametrize("suffix", FORMATS)
def test_issue_scalar_fixture_converts(suffix: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    _need(suffix)
    out = tmp_path / ("s" + suffix)
    assert main(["convert", str(FIX / "v20_npx_save_scalar.npy"), str(out)]) == 0
    assert capsys.readouterr().err == ""
    ref = ndparse.load(FIX / "v20_npx_save_scalar.npy")[0]
    got = _read_back(out)["0"]
    assert ref.shape == got.shape == () and got.dtype == ref.dtype and got.tobytes() == ref.tobytes()


@pytest.mark.parametrize("suffix", FORMATS)
@pytest.mark.parametrize("dtype", ["float32", "int64", "uint8", "bool", "float16"])
def test_every_shape_round_trips(suffix: str, dtype: str, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    _need(suffix)
    rng = np.random.default_rng(7)
    arrays = {k: (rng.standard_normal(s) * 50).astype(dtype) for k, s in SHAPES.items()}
    src = tmp_path / "in.params"
    ndparse.save(src, arrays, np_shape=True)  # V3 records: 0-d and zero-size as MXNet 2.x writes
    out = tmp_path / ("out" + suffix)
    assert main(["convert", str(src), str(out)]) == 0, capsys.readouterr().err
    back = _read_back(out)
    assert sorted(back) == sorted(arrays)
    for k, v in arrays.items():
        assert back[k].shape == v.shape and back[k].dtype == v.dtype, k
        assert back[k].tobytes() == v.tobytes(), k
    assert main(["diff", str(src), str(out)]) == 0


# --- 3. bfloat16 to .pt / .safetensors: no torch warning for the user ------------------------
@pytest.mark.parametrize("suffix", [".pt", ".safetensors", ".params"])
def test_bfloat16_output_is_quiet_and_exact(suffix: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    _need(suffix)
    out = tmp_path / ("b" + suffix)
    src = FIX / "v2_bfloat16_mxnet.params"
    assert main(["convert", str(src), str(out)]) == 0
    err = capsys.readouterr().err
    assert "not writable" not in err and (err == "" or suffix == ".params"), err
    ref = dict(ndparse.load(src))
    back = _read_back(out)
    for k, v in ref.items():
        assert back[k].dtype == ml_dtypes.bfloat16 and back[k].tobytes() == v.tobytes()


# --- 4. no torch: --help works and is instant, a conversion names the extra --------------------
_NO_TORCH = """
import runpy, sys, types
sys.modules["torch"] = None  # import torch -> ImportError, as without torch installed
{stub}
sys.argv = ["dpn-convert", *sys.argv[1:]]
try:
    runpy.run_module("{module}", run_name="__main__")
except SystemExit as e:
    print("torch imported:", "torch" in sys.modules and sys.modules["torch"] is not None,
          file=sys.stderr)
    raise
"""
# The CLI module alone, without dpn_torch/__init__ (which imports the models, hence torch).
_STUB = (f"pkg = types.ModuleType('dpn_torch'); pkg.__path__ = [{str(ROOT / 'dpn_torch')!r}]; "
         "sys.modules['dpn_torch'] = pkg")


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_dpn_convert_help_needs_no_torch(args: list[str]) -> None:
    r = _run(*args, code=_NO_TORCH.format(stub=_STUB, module="dpn_torch.cli"))
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "torch imported: False" in r.stderr
    assert ("--format" in r.stdout) if args == ["--help"] else (r.stdout == f"dpn-convert {__version__}\n")


def test_dpn_convert_help_does_not_import_torch_even_when_installed() -> None:
    pytest.importorskip("torch")
    code = _NO_TORCH.format(stub=_STUB, module="dpn_torch.cli").replace(
        'sys.modules["torch"] = None', "pass")
    r = _run("--help", code=code)
    assert r.returncode == 0 and "torch imported: False" in r.stderr


def test_dpn_convert_without_torch_one_line_exit_2(tmp_path: Path) -> None:
    src = ROOT / "fixtures" / "dpn" / "tiny68-0000.params"
    r = _run(str(src), "-o", str(tmp_path / "x.pth"),
             code=_NO_TORCH.format(stub=_STUB, module="dpn_torch.cli"))
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines[0] == ("dpn-convert: error: converting a DPN checkpoint needs torch, which is not "
                        "installed: pip install 'ndparse[torch]'"), r.stderr
    assert list(tmp_path.iterdir()) == []


def test_python_m_dpn_torch_help_without_torch() -> None:
    """The whole `python -m dpn_torch --help` path (needs a lazy dpn_torch/__init__)."""
    probe = _run(code="import sys; sys.modules['torch'] = None; import dpn_torch")
    if probe.returncode != 0:
        pytest.skip("dpn_torch/__init__ still imports torch eagerly (made lazy on another branch)")
    r = _run("--help", code=_NO_TORCH.format(stub="", module="dpn_torch"))
    assert r.returncode == 0 and "CHECKPOINT" in r.stdout and "Traceback" not in r.stderr


def test_ndparse_pt_output_without_torch(tmp_path: Path) -> None:
    src = FIX / "v2_dtype_float32.params"
    code = ("import sys; sys.modules['torch'] = None; from ndparse.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    r = _run("convert", str(src), str(tmp_path / "o.pt"), code=code)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "pip install 'ndparse[torch]'" in r.stderr and list(tmp_path.iterdir()) == []
    ok = _run("convert", str(src), str(tmp_path / "o.npz"), code=code)
    assert ok.returncode == 0, ok.stderr


# --- 5. errors name the path typed, and the destination is checked first ----------------------
def _ndparse_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(list(args)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ".part" not in err, err
    return err


def test_convert_errors_name_the_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    src = str(FIX / "v2_dtype_float32.params")
    missing = tmp_path / "nodir" / "x.npz"
    err = _ndparse_error(capsys, "convert", src, str(missing))
    assert err == f"ndparse: error: {missing}: folder {missing.parent} does not exist\n"
    folder = tmp_path / "d.npz"
    folder.mkdir()
    err = _ndparse_error(capsys, "convert", src, str(folder))
    assert err == f"ndparse: error: {folder}: is a folder, not a file\n"
    ro = tmp_path / "ro"
    ro.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if Path(p) == ro else real(p, m))
    err = _ndparse_error(capsys, "convert", src, str(ro / "x.npz"))
    assert err.startswith(f"ndparse: error: {ro / 'x.npz'}: permission denied")


def test_atomic_write_errors_name_the_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import tempfile

    target = tmp_path / "x.npz"

    def denied(*a, **k):  # type: ignore[no-untyped-def]
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(tmp_path / ".x.npz.abc.part"))
    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(PermissionError) as e:
        with ndparse.atomic_write(target) as f:
            f.write(b"x")
    assert e.value.filename == str(target)
    monkeypatch.undo()

    def fail(tmp: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), tmp)
    with pytest.raises(OSError) as e:
        with ndparse.atomic_write(target, verify=fail) as f:
            f.write(b"x")
    assert e.value.filename == str(target) and list(tmp_path.iterdir()) == []


def test_dpn_convert_checks_the_destination_before_reading(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    from dpn_torch import cli

    src = ROOT / "fixtures" / "dpn" / "tiny68-0000.params"
    for out, why in [(tmp_path / "no" / "x.pth", "does not exist"), (tmp_path, "is a folder")]:
        assert cli.main([str(src), "-o", str(out)]) == 2
        r = capsys.readouterr()
        assert r.out == ""  # no checkpoint summary before the failure
        assert r.err.startswith(f"dpn-convert: error: {out}: ") and why in r.err


# --- 6. a closed pipe is not an error -----------------------------------------------------------
def test_inspect_into_head_is_quiet(tmp_path: Path) -> None:
    p = tmp_path / "many.params"
    ndparse.save(p, {f"arg:layer{i}_weight": np.zeros(2, np.float32) for i in range(6000)})
    proc = subprocess.Popen([sys.executable, "-m", "ndparse", "inspect", str(p)], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    head = [proc.stdout.readline() for _ in range(3)]
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait() == 0 and err == b"", err
    assert head[0].startswith(b"file:")


# --- diff of any two formats, with tolerances -----------------------------------------------------
def test_diff_across_every_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = FIX / "ckpt_fc_bn-0000.params"
    outs = []
    for suffix in FORMATS:
        if suffix in (".pt", ".safetensors"):
            try:
                _need(suffix)
            except pytest.skip.Exception:
                continue
        out = tmp_path / ("o" + suffix)
        assert main(["convert", str(src), str(out), "--strip-prefix"]) == 0
        outs.append(out)
    capsys.readouterr()
    for out in outs:
        assert main(["diff", str(src), str(out), "--strip-prefix"]) == 0
        assert capsys.readouterr().out == "identical\n"
        assert main(["diff", str(src), str(out)]) == 1  # without it, arg:fc1_weight != fc1_weight
        assert capsys.readouterr().out.endswith("16 differences\n")
    for a, b in zip(outs, outs[1:]):
        assert main(["diff", str(a), str(b)]) == 0


def test_diff_tolerances(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a.params", tmp_path / "b.params"
    ndparse.save(a, {"w": np.array([1.0, 100.0], np.float32), "n": np.array([np.nan], np.float32)})
    ndparse.save(b, {"w": np.array([1.0 + 1e-6, 100.001], np.float32), "n": np.array([np.nan], np.float32)})
    assert main(["diff", str(a), str(b)]) == 1
    assert capsys.readouterr().out == "w: max abs diff 0.000999451\n1 difference\n"
    assert main(["diff", str(a), str(b), "--atol", "1e-5"]) == 1
    capsys.readouterr()
    assert main(["diff", str(a), str(b), "--atol", "1e-5", "--rtol", "1e-5"]) == 0
    assert capsys.readouterr().out == "equal within atol=1e-05, rtol=1e-05\n"
    assert main(["diff", str(a), str(b), "--atol", "2e-3"]) == 0


@pytest.mark.parametrize("content", [b"", b"garbage\n", b"PK\x03\x04" + b"\0" * 40])
@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_diff_of_a_broken_tensor_file_is_one_line(content: bytes, suffix: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    _need(suffix)
    bad = tmp_path / ("bad" + suffix)
    bad.write_bytes(content)
    err = _ndparse_error(capsys, "diff", str(bad), str(FIX / "v0_dict.params"))
    assert err.startswith(f"ndparse: error: {bad}: not a ")


def test_convert_rewrites_v0_as_v2_params(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = FIX / "v0_dict.params"
    out = tmp_path / "v2.params"
    assert main(["convert", str(src), str(out)]) == 0
    with ndparse.open(out) as f:
        assert f.layout == "legacy container, V2 records"
    ref = ndparse.load(src)
    assert out.read_bytes() == ndparse.dumps(dict(ref))  # exactly what mx.nd.save would write
    assert main(["diff", str(src), str(out)]) == 0
    csr = FIX / "v2_csr.params"  # sparse arrays stay sparse in .params
    assert main(["convert", str(csr), str(out)]) == 0
    assert out.read_bytes() == ndparse.dumps(ndparse.load(csr))
    assert "1 array, 100 bytes of data" in capsys.readouterr().out.splitlines()[-1]


# --- --version, one shape spelling, singular/plural -----------------------------------------------
@pytest.mark.parametrize("args", [["--version"], ["inspect", "--version"], ["convert", "--version"],
                                  ["diff", "--version"]])
def test_version_everywhere(args: list[str]) -> None:
    r = _run(*args)
    assert r.returncode == 0 and r.stdout.endswith(f" {__version__}\n") and r.stdout.startswith("ndparse")


def test_shapes_as_python_prints_them_and_singulars(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "one.params"
    ndparse.save(p, {"w": np.ones(1, np.float32)})
    assert main(["inspect", str(p)]) == 0
    out = capsys.readouterr().out
    assert "(1,)" in out and out.endswith("total:  1 array, 1 parameter, 4 bytes\n")
    assert main(["inspect", str(FIX / "v20_npx_save_scalar.npy")]) == 0
    assert "  ()  " in capsys.readouterr().out
    assert main(["convert", str(p), str(tmp_path / "o.npz")]) == 0
    assert ": 1 array, 4 bytes of data" in capsys.readouterr().out


# --- inspect --tree -----------------------------------------------------------------------------
def test_inspect_tree(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(FIX / "ckpt_fc_bn-0000.params"), "--tree"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2:] == [
        "path              storage  dtype    shape   parameters",
        "/bn1/  16 parameters (8 trainable + 8 running statistics)",  # sorted, as h5ls -r lists
        "/bn1/beta         default  float32  (4,)             4",
        "/bn1/gamma        default  float32  (4,)             4",
        "/bn1/moving_mean  default  float32  (4,)             4",
        "/bn1/moving_var   default  float32  (4,)             4",
        "/fc1/  24 parameters",
        "/fc1/bias         default  float32  (4,)             4",
        "/fc1/weight       default  float32  (4, 5)          20",
        "/fc2/  15 parameters",
        "/fc2/bias         default  float32  (3,)             3",
        "/fc2/weight       default  float32  (3, 4)          12",
        "total:  8 arrays, 55 parameters: 47 trainable, 8 running statistics (BatchNorm)"]


def test_inspect_tree_nested_names_and_dpn_count(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "gluon.params"
    ndparse.save(p, {"features.0.weight": np.ones((2, 3), np.float32),
                     "features.1.running_mean": np.ones(2, np.float32),
                     "head.bias": np.ones(4, np.float32)})
    assert main(["inspect", str(p), "--tree"]) == 0
    out = capsys.readouterr().out
    assert "/features/  8 parameters (6 trainable + 2 running statistics)\n" in out
    assert "/features/0/  6 parameters\n" in out and "/features/1/running_mean" in out
    assert out.endswith("total:  3 arrays, 12 parameters: 10 trainable, 2 running statistics (BatchNorm)\n")
    dpn = ROOT / "fixtures" / "dpn" / "tiny68-0000.params"
    assert main(["inspect", str(dpn), "--tree"]) == 0
    out = capsys.readouterr().out
    # 68,914 learned parameters: what dpn-convert reports for this network (test_dpn_cli.py);
    # DPN's `c1x1-w(s/1)` keeps its slash inside one group name
    assert ": 68,914 trainable, 2,112 running statistics" in out and "/conv2_x__1_c1x1-w(s/1)__conv/" in out


# --- provenance ---------------------------------------------------------------------------------
def test_safetensors_output_has_provenance(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    safetensors = pytest.importorskip("safetensors")
    out = tmp_path / "o.safetensors"
    assert main(["convert", str(FIX / "v0_dict.params"), str(out)]) == 0
    with safetensors.safe_open(out, framework="np") as f:
        assert f.metadata() == {"source": "v0_dict.params", "source_layout": "legacy container, V0 records",
                                "converted_by": f"ndparse {__version__}"}


# --- README: honest install line, synopses that list every option ----------------------------------
def _options(parser: argparse.ArgumentParser) -> set[str]:
    opts = set()
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            for sub in a.choices.values():
                opts |= _options(sub)
        opts |= {s for s in a.option_strings if s.startswith("--") and s != "--help"}
    return opts


def test_readme_lists_every_option_and_an_honest_install_line() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ndparse_section = readme.split("## The `ndparse` command", 1)[1].split("\n## ", 1)[0]
    assert {o for o in _options(build_parser()) if o not in ndparse_section} == set()
    import importlib.util

    spec = importlib.util.spec_from_file_location("_dpn_cli_for_readme", ROOT / "dpn_torch" / "cli.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # the CLI module imports no torch
    dpn_section = readme.split("## Converting DPN checkpoints", 1)[1].split("\n## ", 1)[0]
    assert {o for o in _options(mod._parser()) if o not in dpn_section} == set()
    assert "--index-url https://download.pytorch.org/whl/cpu" in readme
    # the pin stays in the two commands (it is what works on the project's machines) and the text
    # says where it does not give a CPU build
    assert "gives you the CPU build only where a CPU wheel" in " ".join(readme.split())
    assert "any torch >= 2.1" in readme.lower()
