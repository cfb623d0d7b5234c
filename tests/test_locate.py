"""ndparse.locate_checkpoint: one answer to "which files make this checkpoint" (issue 21 part 1,
issue 22 item 4 and "their downloads load as downloaded"), and the ndparse command on top of it."""

from __future__ import annotations

import gc
import io
import json
import shutil
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

import ndparse
from ndparse.cli import main

import checkpoint_archives as arch

ROOT = Path(__file__).resolve().parent.parent
SYM = ROOT / "fixtures" / "symbol"
LENET = SYM / "lenet_bn"


def _copy(tmp: Path, name: str = "net", epochs: tuple[int, ...] = (0,), symbol: bool = True) -> Path:
    prefix = tmp / name
    if symbol:
        shutil.copy(f"{LENET}-symbol.json", f"{prefix}-symbol.json")
    for e in epochs:
        shutil.copy(f"{LENET}-0000.params", f"{prefix}-{e:04d}.params")
    return prefix


# --- the three forms on disk ------------------------------------------------------------------
def test_prefix_symbol_and_params_forms_name_the_same_pair(tmp_path: Path) -> None:
    prefix = _copy(tmp_path, epochs=(0,))
    want = ndparse.Checkpoint(Path(f"{prefix}-symbol.json"), Path(f"{prefix}-0000.params"), 0, str(prefix))
    for form in (prefix, f"{prefix}-symbol.json", f"{prefix}-0000.params"):
        assert ndparse.locate_checkpoint(form) == want, form


def test_the_only_epoch_beside_the_symbol_is_the_one(tmp_path: Path) -> None:
    prefix = _copy(tmp_path, "mtcnn_det1", epochs=(1,))  # MTCNN ships -0001.params
    for form in (prefix, f"{prefix}-symbol.json"):
        ckpt = ndparse.locate_checkpoint(form)
        assert ckpt.params == Path(f"{prefix}-0001.params") and ckpt.epoch == 1
    sym, arg, aux = ndparse.load_checkpoint(prefix)
    assert sym is not None and "conv1_weight" in arg


def test_several_epochs_and_none_given_names_them(tmp_path: Path) -> None:
    prefix = _copy(tmp_path, epochs=(3, 7))
    with pytest.raises(ndparse.NDFormatError, match=r"2 params files and no epoch given: net-0003.params, "
                       r"net-0007.params") as info:
        ndparse.locate_checkpoint(prefix)
    assert "\n" not in str(info.value)
    assert ndparse.locate_checkpoint(prefix, epoch=7).params == Path(f"{prefix}-0007.params")
    (tmp_path / "net-0000.params").write_bytes(Path(f"{prefix}-0003.params").read_bytes())
    assert ndparse.locate_checkpoint(prefix).epoch == 0  # -0000 first, as save_checkpoint(prefix, 0)


def test_a_missing_epoch_names_the_files_there(tmp_path: Path) -> None:
    prefix = _copy(tmp_path, epochs=(1,))
    with pytest.raises(FileNotFoundError, match=r"net-0002.params .*params files there: net-0001.params"):
        ndparse.locate_checkpoint(prefix, epoch=2)


@pytest.mark.parametrize("epoch", [-1, True, 1.0])
def test_a_negative_or_odd_epoch_is_refused(tmp_path: Path, epoch: object) -> None:
    prefix = _copy(tmp_path)
    with pytest.raises(ValueError, match="non-negative integer"):
        ndparse.locate_checkpoint(prefix, epoch=epoch)  # type: ignore[arg-type]


def test_a_params_path_keeps_its_epoch_and_finds_its_symbol(tmp_path: Path) -> None:
    prefix = _copy(tmp_path, epochs=(0, 3))
    ckpt = ndparse.locate_checkpoint(f"{prefix}-0003.params")
    assert ckpt.epoch == 3 and ckpt.symbol == Path(f"{prefix}-symbol.json")
    with pytest.raises(ndparse.NDFormatError, match="epoch 3, but epoch 0"):
        ndparse.locate_checkpoint(f"{prefix}-0003.params", epoch=0)


def test_params_given_apart(tmp_path: Path) -> None:
    prefix = _copy(tmp_path, epochs=())
    other = tmp_path / "weights.params"
    shutil.copy(f"{LENET}-0000.params", other)
    ckpt = ndparse.locate_checkpoint(f"{prefix}-symbol.json", params=other)
    assert ckpt.params == other and ckpt.symbol == Path(f"{prefix}-symbol.json")
    assert ndparse.load_checkpoint(f"{prefix}-symbol.json", params=other)[1]


def test_a_graph_without_params_and_nothing_at_all(tmp_path: Path) -> None:
    prefix = _copy(tmp_path, epochs=())
    assert ndparse.locate_checkpoint(prefix).params is None
    with pytest.raises(FileNotFoundError, match="no symbol file .*nope-symbol.json"):
        ndparse.locate_checkpoint(tmp_path / "nope")


def test_load_checkpoint_takes_a_symbol_path(tmp_path: Path) -> None:
    sym, arg, aux = ndparse.load_checkpoint(f"{LENET}-symbol.json")  # was: FileNotFoundError
    assert sym is not None and sym.list_outputs() == ["softmax_output"] and arg and aux


# --- archives ---------------------------------------------------------------------------------
def _archives(tmp: Path) -> dict[str, Path]:
    return {"sagemaker": arch.sagemaker(LENET, tmp / "model.tar.gz", [1, 1, 28, 28]),
            "model": arch.mms_model(LENET, tmp / "lenet.model", [1, 1, 28, 28]),
            "mar": arch.mar(LENET, tmp / "lenet.mar")}


@pytest.mark.parametrize("kind", ["sagemaker", "model", "mar"])
def test_archives_load_as_downloaded(tmp_path: Path, kind: str) -> None:
    path = _archives(tmp_path)[kind]
    with ndparse.locate_checkpoint(path) as ckpt:
        assert ckpt.archive == path and ckpt.symbol is not None and ckpt.params is not None
        assert ckpt.symbol.read_bytes() == Path(f"{LENET}-symbol.json").read_bytes()
        assert ckpt.params.read_bytes() == Path(f"{LENET}-0000.params").read_bytes()
        assert ckpt.epoch == (10 if kind == "sagemaker" else 0)
        assert ckpt.input_shapes == (None if kind == "mar" else {"data": (1, 1, 28, 28)})
        folder = ckpt.symbol.parent
        assert str(folder) != str(tmp_path) and folder.is_dir()
    assert not folder.exists()  # closed: the extracted files are gone
    sym, arg, aux = ndparse.load_checkpoint(path)
    want = ndparse.load_checkpoint(LENET)
    assert sym.tojson() == want[0].tojson()
    assert all(np.array_equal(arg[k], want[1][k]) for k in want[1])


def test_archive_files_go_with_the_checkpoint(tmp_path: Path) -> None:
    ckpt = ndparse.locate_checkpoint(_archives(tmp_path)["model"])
    folder = ckpt.params.parent  # type: ignore[union-attr]
    del ckpt
    gc.collect()
    assert not folder.exists()


def test_archive_manifest_pointing_outside_is_refused(tmp_path: Path) -> None:
    bad = arch.mms_model(LENET, tmp_path / "bad.model", [1, 1, 28, 28], manifest={
        "Model": {"Symbol": "../../etc/passwd", "Parameters": "lenet_bn-0000.params"}})
    with pytest.raises(ndparse.NDFormatError, match="points outside the archive"):
        ndparse.locate_checkpoint(bad)
    missing = arch.mms_model(LENET, tmp_path / "m.model", [1], manifest={"Model": {"Symbol": "x-symbol.json"}})
    with pytest.raises(ndparse.NDFormatError, match="does not hold"):
        ndparse.locate_checkpoint(missing)


def test_archive_members_are_size_checked_and_links_ignored(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "model.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        link = tarfile.TarInfo("evil-symbol.json")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
        for name in ("net-symbol.json", "net-0000.params"):
            data = Path(f"{LENET}{name[3:]}").read_bytes()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with ndparse.locate_checkpoint(path) as ckpt:  # the link is not a member we read
        assert ckpt.symbol is not None and ckpt.symbol.name == "net-symbol.json"
    import ndparse.locate as L
    monkeypatch.setattr(L, "ARCHIVE_MEMBER_MAX_BYTES", 100)
    made: list[str] = []
    real_mkdtemp = L.tempfile.mkdtemp
    monkeypatch.setattr(L.tempfile, "mkdtemp", lambda **kw: made.append(real_mkdtemp(**kw)) or made[-1])
    with pytest.raises(ndparse.NDFormatError, match="expected at most 100"):
        ndparse.locate_checkpoint(path)
    assert made and not Path(made[0]).exists()  # a failed extraction leaves nothing behind


def test_archive_without_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "photos.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("cat.jpg", b"\xff\xd8")
    with pytest.raises(ndparse.NDFormatError, match="holds no MXNet checkpoint"):
        ndparse.locate_checkpoint(path)
    two = arch.sagemaker(LENET, tmp_path / "two.tar.gz", [1], extra={
        "image-classification-0020.params": Path(f"{LENET}-0000.params").read_bytes()})
    with pytest.raises(ndparse.NDFormatError, match="2 params files in the archive and no epoch"):
        ndparse.locate_checkpoint(two)
    with ndparse.locate_checkpoint(two, epoch=20) as ckpt:
        assert ckpt.epoch == 20


def test_resolve_params_path_refuses_an_archive(tmp_path: Path) -> None:
    with pytest.raises(ndparse.NDFormatError, match="locate_checkpoint"):
        ndparse.resolve_params_path(_archives(tmp_path)["mar"])


# --- the ndparse command ----------------------------------------------------------------------
def test_inspect_an_archive_and_an_epoch_other_than_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(_archives(tmp_path)["sagemaker"])]) == 0
    out = capsys.readouterr().out
    assert "params:    " in out and "model.tar.gz" in out and "the arrays fit the graph" in out
    prefix = _copy(tmp_path, "m", epochs=(1, 2))
    assert main(["inspect", str(prefix)]) == 2  # two epochs: say which exist (was: silently the last)
    assert "m-0001.params, m-0002.params" in capsys.readouterr().err


def test_inspect_params_dot_uses_the_symbol_beside_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", f"{LENET}-0000.params", "--dot"]) == 0  # was: "symbol file is not UTF-8 text"
    assert capsys.readouterr().out.startswith("digraph symbol {")
    lonely = tmp_path / "lonely-0000.params"
    shutil.copy(f"{LENET}-0000.params", lonely)
    assert main(["inspect", str(lonely), "--dot"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no lonely-symbol.json beside it" in err


@pytest.mark.parametrize("argv, needle", [
    (["--tree"], "--tree does not apply to a symbol graph"),
    (["--stats"], "--stats does not apply to a symbol graph"),
    (["--json", "--tree"], "--tree is a text view"),
    (["--json", "--dot"], "--dot and --json"),
    (["--params", f"{LENET}-symbol.json"], "--params applies to a symbol graph"),
])
def test_options_that_do_not_apply_are_refused(argv: list[str], needle: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    target = f"{LENET}-0000.params" if "--params" in argv else f"{LENET}-symbol.json"
    assert main(["inspect", target, *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err, err


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ndparse inspect: error:"), err
    assert main(["diff", "a", "b", "--atol", "-1"]) == 2
    assert "--atol: expected a finite number >= 0" in capsys.readouterr().err


def test_inspect_reads_what_convert_writes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("safetensors")
    out = tmp_path / "w.safetensors"
    assert main(["convert", f"{LENET}-0000.params", str(out)]) == 0
    capsys.readouterr()
    assert main(["inspect", str(out), "--stats"]) == 0  # was: "this is a safetensors file"
    text = capsys.readouterr().out
    assert "format: safetensors, named" in text and "arg:conv1_weight" in text and "total:  14 arrays" in text


def test_dot_labels_show_pooling_convention_full(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = {"nodes": [{"op": "null", "name": "data", "inputs": []},
                     {"op": "Pooling", "name": "pool", "inputs": [[0, 0, 0]],
                      "attrs": {"kernel": "(3, 3)", "stride": "(2, 2)", "pooling_convention": "full"}}],
           "arg_nodes": [0], "heads": [[1, 0, 0]], "attrs": {"mxnet_version": ["int", 10901]}}
    p = tmp_path / "p-symbol.json"
    p.write_text(json.dumps(doc))
    assert main(["inspect", str(p), "--dot"]) == 0
    assert "pooling_convention=full" in capsys.readouterr().out


def test_a_graph_with_no_outputs_is_refused() -> None:
    with pytest.raises(ndparse.SymbolFormatError, match="no outputs"):
        ndparse.load_symbol_json('{"nodes": [], "heads": []}')


def test_reading_safetensors_without_the_package_says_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    p = tmp_path / "b.safetensors"
    p.write_bytes(b"\x10" + b"\0" * 7 + b'{"__metadata__":{}}')
    monkeypatch.setitem(sys.modules, "safetensors", None)  # a slim install
    assert main(["diff", f"{LENET}-0000.params", str(p)]) == 2
    err = capsys.readouterr().err
    assert "reading .safetensors needs the safetensors package" in err and "output" not in err, err


def test_warnings_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "odd.params"
    p.write_bytes(Path(f"{LENET}-0000.params").read_bytes() + b"\0" * 8)  # trailing bytes: a warning
    assert main(["inspect", str(p)]) == 0
    err = capsys.readouterr().err
    assert err.startswith("ndparse: warning: ") and err.count("\n") == 1, err
