"""The ndparse command: inspect (text and --json), convert with re-read check, diff; exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ndparse
from ndparse.cli import main, sanitize

REALWORLD = Path(__file__).resolve().parent.parent / "fixtures" / "dpn"


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    p = tmp_path / "m-0000.params"
    ndparse.save(p, {"arg:w": np.arange(6, dtype=np.float32).reshape(2, 3),
                     "aux:m": np.array([1.5, -2.0], np.float64),
                     "arg:i": np.array([1, 2, 3], np.int64)})
    return p


def test_inspect_text(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(sample), "--stats"]) == 0
    out = capsys.readouterr().out
    assert "legacy container, V2 records" in out and "arg:w" in out and "(2, 3)" in out
    assert "total:  3 arrays, 11 parameters, 64 bytes" in out


def test_inspect_json(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(sample), "--json", "--stats"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["container"] == "legacy" and doc["record_versions"] == [2] and doc["named"]
    assert [a["name"] for a in doc["arrays"]] == ["arg:w", "aux:m", "arg:i"]
    w = doc["arrays"][0]
    assert w["dtype"] == "float32" and w["shape"] == [2, 3] and w["bytes"] == 24
    assert w["stats"] == {"min": 0.0, "max": 5.0, "mean": 2.5, "std": pytest.approx(1.707825127659933),
                          "nan": 0}
    assert doc["totals"] == {"arrays": 3, "parameters": 11, "bytes": 64}


def test_names_are_sanitised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "evil.params"
    ndparse.save(p, {"a\x1b[31mred\x07\nx": np.ones(1, np.float32)})
    assert main(["inspect", str(p)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\\x1b[31mred" in out
    assert sanitize("ok name/é") == "ok name/é"


@pytest.mark.parametrize("suffix", [".npz", ".pt", ".safetensors"])
def test_convert(sample: Path, tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]) -> None:
    if suffix == ".pt":
        torch = pytest.importorskip("torch")
    if suffix == ".safetensors":
        pytest.importorskip("safetensors")
    out = tmp_path / ("out" + suffix)
    assert main(["convert", str(sample), str(out), "--strip-prefix"]) == 0
    assert "verified identical" in capsys.readouterr().out
    if suffix == ".npz":
        with np.load(out) as z:
            assert sorted(z.files) == ["i", "m", "w"] and z["m"].tolist() == [1.5, -2.0]
    elif suffix == ".pt":
        sd = torch.load(out, weights_only=True)
        assert sd["w"].dtype == torch.float32 and sd["i"].tolist() == [1, 2, 3]


def test_convert_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import ml_dtypes

    p = tmp_path / "b.params"
    ndparse.save(p, {"b": np.array([1, 2], np.float32).astype(ml_dtypes.bfloat16),
                     "s": ndparse.RowSparseArray(np.ones((1, 2), np.float32), np.array([1]), (3, 2))})
    out = tmp_path / "o.npz"
    assert main(["convert", str(p), str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bfloat16" in err and not out.exists()
    assert main(["convert", str(p), str(out), "--bfloat16", "float32"]) == 2
    assert "--sparse dense" in capsys.readouterr().err
    assert main(["convert", str(p), str(out), "--bfloat16", "float32", "--sparse", "dense"]) == 0
    with np.load(out) as z:
        assert z["b"].tolist() == [1.0, 2.0] and z["s"].tolist() == [[0, 0], [1, 1], [0, 0]]
    assert main(["convert", str(p), str(tmp_path / "o.txt")]) == 2


def test_diff(sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.params"
    d = ndparse.load(sample)
    assert main(["diff", str(sample), str(sample)]) == 0
    assert capsys.readouterr().out.strip() == "identical"
    ndparse.save(other, {"arg:w": d["arg:w"] + 0.5, "aux:m": d["aux:m"].astype(np.float32),
                         "new": np.zeros(1, np.float32)})
    assert main(["diff", str(sample), str(other)]) == 1
    out = capsys.readouterr().out
    assert "only in A: arg:i" in out and "only in B: new" in out
    assert "arg:w: max abs diff 0.5" in out and "aux:m: default float64" in out


@pytest.mark.parametrize("content", [b"", b"version https://git-lfs.github.com/spec/v1\n", b"\x12\x01" + b"\0" * 20])
def test_bad_input_one_line_exit_2(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "bad.params"
    p.write_bytes(content)
    for args in (["inspect", str(p)], ["diff", str(p), str(p)], ["convert", str(p), str(tmp_path / "x.npz")]):
        r = subprocess.run([sys.executable, "-m", "ndparse", *args], capture_output=True, text=True)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr and "bad.params" in r.stderr
    r = subprocess.run([sys.executable, "-m", "ndparse", "inspect", str(tmp_path / "missing")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1


def test_inspect_shipped_dpn_fixture(capsys: pytest.CaptureFixture[str]) -> None:
    p = REALWORLD / "tiny68_v0-0000.params"
    if not p.exists():
        pytest.skip("DPN fixtures not generated")
    assert main(["inspect", str(p), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["layout"] == "legacy container, V0 records"
    assert doc["totals"]["parameters"] == sum(a["parameters"] for a in doc["arrays"])


def test_readme_inspect_example_is_current() -> None:
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    cmd = "$ ndparse inspect fixtures/ndparse/ckpt_fc_bn-0000.params --stats\n"
    shown = readme.split(cmd, 1)[1].split("```", 1)[0]
    r = subprocess.run([sys.executable, "-m", "ndparse", "inspect",
                        "fixtures/ndparse/ckpt_fc_bn-0000.params", "--stats"],
                       capture_output=True, text=True, cwd=root, check=True)
    assert r.stdout == shown


def test_huge_sparse_densify_is_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "huge.params"
    rs = ndparse.RowSparseArray(np.ones((1, 2**20), np.float32), np.array([0]), (2**40, 2**20))
    ndparse.save(p, {"rs": rs})
    assert main(["convert", str(p), str(tmp_path / "o.npz"), "--sparse", "dense"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "memory" in err and not (tmp_path / "o.npz").exists()
