"""Every output is whole or absent: ndparse.save, `ndparse convert` and `dpn-convert` under disk
full (ENOSPC), permission errors and a KeyboardInterrupt mid-write. An existing file is never left
half-overwritten, no temporary file is left behind, and the message is one clean line."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import ndparse
from ndparse import cli
from ndparse._atomic import atomic_write

REPO = Path(__file__).resolve().parent.parent
OLD = b"previous complete file\n"
ARRAYS = {"arg:w": np.arange(50_000, dtype="<f4"), "aux:m": np.ones(7, "<f8")}


class _FailingFile:
    """Wraps a real file; the write that crosses `after` bytes raises `exc` (after a partial write)."""

    def __init__(self, f, after: int, exc: BaseException) -> None:  # type: ignore[no-untyped-def]
        self._f, self._left, self._exc = f, after, exc

    def write(self, b) -> int:  # type: ignore[no-untyped-def]
        n = memoryview(b).nbytes
        if n >= self._left:
            self._f.write(bytes(memoryview(b).cast("B")[: self._left]))
            self._f.flush()
            raise self._exc
        self._left -= n
        return self._f.write(b)

    def __getattr__(self, name):  # type: ignore[no-untyped-def]
        return getattr(self._f, name)

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self

    def __exit__(self, *exc) -> None:  # type: ignore[no-untyped-def]
        self._f.close()


def _fail_writes(monkeypatch, after: int, exc: BaseException) -> None:  # type: ignore[no-untyped-def]
    real = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda *a, **k: _FailingFile(real(*a, **k), after, exc))


def _enospc() -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _only(folder: Path, *names: str) -> None:
    assert sorted(p.name for p in folder.iterdir()) == sorted(names), list(folder.iterdir())


@pytest.mark.parametrize("after", [0, 10, 100_000])
@pytest.mark.parametrize("exc", [_enospc(), KeyboardInterrupt(), OSError(errno.EIO, "I/O error")])
def test_save_is_whole_or_absent(tmp_path: Path, monkeypatch, after: int, exc: BaseException) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "m-0000.params"
    target.write_bytes(OLD)
    _fail_writes(monkeypatch, after, exc)
    with pytest.raises(type(exc)):
        ndparse.save(target, ARRAYS)
    assert target.read_bytes() == OLD
    _only(tmp_path, "m-0000.params")
    monkeypatch.undo()
    new = tmp_path / "new.params"
    _fail_writes(monkeypatch, after, exc)
    with pytest.raises(type(exc)):
        ndparse.save(new, ARRAYS)
    _only(tmp_path, "m-0000.params")


def test_save_fsync_failure_leaves_nothing(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "m.params"
    target.write_bytes(OLD)
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(_enospc()))
    with pytest.raises(OSError, match="No space"):
        ndparse.save(target, ARRAYS)
    assert target.read_bytes() == OLD
    _only(tmp_path, "m.params")


def test_save_into_read_only_folder(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "m.params").write_bytes(OLD)
    ro.chmod(0o555)
    try:
        if os.geteuid() == 0:  # root ignores permissions: refuse like a read-only folder would
            import tempfile

            def denied(*a, **k):  # type: ignore[no-untyped-def]
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(ro))
            monkeypatch.setattr(tempfile, "mkstemp", denied)
        with pytest.raises(PermissionError):
            ndparse.save(ro / "m.params", ARRAYS)
        assert (ro / "m.params").read_bytes() == OLD
        _only(ro, "m.params")
    finally:
        ro.chmod(0o755)


def test_save_keeps_an_existing_files_mode(tmp_path: Path) -> None:
    target = tmp_path / "m.params"
    target.write_bytes(OLD)
    target.chmod(0o640)
    ndparse.save(target, ARRAYS)
    assert target.stat().st_mode & 0o777 == 0o640
    assert ndparse.load(target)["aux:m"].tolist() == [1.0] * 7


# --- ndparse convert ----------------------------------------------------------------------
@pytest.fixture()
def src(tmp_path: Path) -> Path:
    p = tmp_path / "in-0000.params"
    ndparse.save(p, ARRAYS)
    return p


@pytest.mark.parametrize("after", [0, 5000])
def test_convert_disk_full(tmp_path: Path, src: Path, monkeypatch, capsys, after: int) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out.npz"
    out.write_bytes(OLD)
    _fail_writes(monkeypatch, after, _enospc())
    assert cli.main(["convert", str(src), str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err and "Traceback" not in err
    assert out.read_bytes() == OLD
    _only(tmp_path, "in-0000.params", "out.npz")


def test_convert_interrupted(tmp_path: Path, src: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out.npz"
    out.write_bytes(OLD)
    _fail_writes(monkeypatch, 5000, KeyboardInterrupt())
    assert cli.main(["convert", str(src), str(out)]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert out.read_bytes() == OLD
    _only(tmp_path, "in-0000.params", "out.npz")


def test_convert_permission_denied(tmp_path: Path, src: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import tempfile

    def denied(*a, **k):  # type: ignore[no-untyped-def]
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), k.get("dir"))
    monkeypatch.setattr(tempfile, "mkstemp", denied)
    out = tmp_path / "out.npz"
    assert cli.main(["convert", str(src), str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Permission denied" in err
    _only(tmp_path, "in-0000.params")


def test_convert_of_a_broken_input_writes_nothing(tmp_path: Path, src: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.params"
    bad.write_bytes(src.read_bytes()[:-300])
    out = tmp_path / "out.npz"
    out.write_bytes(OLD)
    assert cli.main(["convert", str(bad), str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "truncated" in err
    assert out.read_bytes() == OLD
    _only(tmp_path, "in-0000.params", "bad.params", "out.npz")


def test_convert_success_is_whole(tmp_path: Path, src: Path) -> None:
    out = tmp_path / "out.npz"
    out.write_bytes(OLD)
    assert cli.main(["convert", str(src), str(out)]) == 0
    with np.load(out) as z:
        assert np.array_equal(z["arg:w"], ARRAYS["arg:w"])
    _only(tmp_path, "in-0000.params", "out.npz")


# --- dpn-convert ----------------------------------------------------------------------------
DPN_FIXTURE = REPO / "fixtures" / "dpn" / "tiny68-0000.params"


@pytest.fixture()
def dpn_cli():  # type: ignore[no-untyped-def]
    pytest.importorskip("torch")
    mod = pytest.importorskip("dpn_torch.cli")
    if not DPN_FIXTURE.exists():
        pytest.skip("no DPN fixture")
    return mod


def _copy_dpn(tmp_path: Path) -> Path:
    p = tmp_path / "tiny68-0000.params"
    shutil.copyfile(DPN_FIXTURE, p)
    return p


@pytest.mark.parametrize("exc,status", [(_enospc(), 2), (OSError(errno.EIO, "I/O error"), 2)])
def test_dpn_convert_disk_full(tmp_path: Path, dpn_cli, monkeypatch, capsys, exc, status) -> None:  # type: ignore[no-untyped-def]
    import torch

    p = _copy_dpn(tmp_path)
    out = tmp_path / "tiny68.pth"
    out.write_bytes(OLD)
    real_save = torch.save

    def failing_save(obj, f, *a, **k):  # type: ignore[no-untyped-def]
        real_save(obj, f, *a, **k)
        f.flush()
        f.truncate(1000)  # a partial file on disk, then the error
        raise exc
    monkeypatch.setattr(torch, "save", failing_save)
    assert dpn_cli.main([str(p), "-o", str(out)]) == status
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "error" in err and "Traceback" not in err
    assert out.read_bytes() == OLD
    _only(tmp_path, "tiny68-0000.params", "tiny68.pth")


def test_dpn_convert_interrupted(tmp_path: Path, dpn_cli, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import torch

    p = _copy_dpn(tmp_path)
    out = tmp_path / "tiny68.pth"
    out.write_bytes(OLD)

    def interrupted(obj, f, *a, **k):  # type: ignore[no-untyped-def]
        f.write(b"PK\x03\x04partial")
        raise KeyboardInterrupt
    monkeypatch.setattr(torch, "save", interrupted)
    assert dpn_cli.main([str(p), "-o", str(out)]) == 130  # one skeleton: as ndparse, "interrupted"
    assert out.read_bytes() == OLD
    _only(tmp_path, "tiny68-0000.params", "tiny68.pth")


def test_dpn_convert_permission_denied(tmp_path: Path, dpn_cli, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import tempfile

    def denied(*a, **k):  # type: ignore[no-untyped-def]
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), k.get("dir"))
    monkeypatch.setattr(tempfile, "mkstemp", denied)
    p = _copy_dpn(tmp_path)
    assert dpn_cli.main([str(p), "-o", str(tmp_path / "x.pth")]) == 2
    assert "Permission denied" in capsys.readouterr().err
    _only(tmp_path, "tiny68-0000.params")


@pytest.mark.parametrize("cut", [0, 24, 5000, -100])
def test_dpn_convert_of_a_truncated_checkpoint(tmp_path: Path, dpn_cli, capsys, cut: int) -> None:  # type: ignore[no-untyped-def]
    data = DPN_FIXTURE.read_bytes()
    p = tmp_path / "tiny68-0000.params"
    p.write_bytes(data[:cut])
    assert dpn_cli.main([str(p), "-o", str(tmp_path / "x.pth")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    _only(tmp_path, "tiny68-0000.params")


def test_fsync_failure_during_verified_write_leaves_nothing(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """With a verify step, fsync runs beside it; its failure still stops the rename."""
    out = tmp_path / "out.bin"
    out.write_bytes(OLD)
    checked = []
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(_enospc()))
    with pytest.raises(OSError, match="No space"):
        with atomic_write(out, verify=checked.append) as f:
            f.write(b"new contents")
    assert checked and out.read_bytes() == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]
