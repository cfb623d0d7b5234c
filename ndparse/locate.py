"""Which files make a checkpoint: the one answer every command and API of the house uses.

`locate_checkpoint(path, epoch=None, params=None)` takes what a user types -- a prefix (``model``),
a ``model-symbol.json``, a ``model-0003.params``, or a downloaded archive (SageMaker ``model.tar.gz``,
MXNet Model Server ``.model`` or ``.mar``) -- and returns a `Checkpoint`: the symbol file, the params
file, the epoch, the prefix and, from an archive's manifest, the input shapes.

The rules, in order:

- ``-NNNN.params`` names its own epoch (a contradicting ``epoch=`` is an error); the symbol is
  ``PREFIX-symbol.json`` beside it, when there is one.
- ``-symbol.json`` (or any ``.json`` file) is the graph; a prefix is the prefix.
- The params file: ``params=`` when given; else ``PREFIX-{epoch:04d}.params`` for an ``epoch=``;
  else ``PREFIX-0000.params`` when it exists; else the one ``PREFIX-NNNN.params`` there is. Several
  and no epoch: an error naming them. None: ``params`` is None (a graph without weights may ship
  without a params file) -- unless there is no symbol either (FileNotFoundError).
- An archive is found by its first bytes (gzip/tar, zip). The members are found by the manifest
  (``MANIFEST.json``'s ``Model.Symbol``/``Model.Parameters``, ``MAR-INF/MANIFEST.json``'s
  ``model.serializedFile``) or by their names, by the same rules; the input shapes come from
  ``model-shapes.json`` (SageMaker) or ``signature.json`` (Model Server). Only the two members are
  extracted, size-checked, into a private temporary folder under names of our own (a member name
  never becomes a path), removed by `Checkpoint.close()` (or ``with``, or garbage collection).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tarfile
import tempfile
import weakref
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from . import constants as C
from .errors import NDFormatError

__all__ = ["ARCHIVE_MEMBER_MAX_BYTES", "Checkpoint", "locate_checkpoint"]

ARCHIVE_MEMBER_MAX_BYTES = 8 << 30
"""The largest archive member extracted (8 GiB; the biggest MXNet zoo params are under 1 GiB)."""
_MANIFEST_MAX_BYTES = 1 << 20  # a manifest or shapes file is a few hundred bytes
_EPOCH_NAME = re.compile(r"-([0-9]+)\.params$")


@dataclass(frozen=True)
class Checkpoint:
    """The files of one checkpoint, found by `locate_checkpoint`.

    ``symbol``/``params``: the ``-symbol.json`` and ``.params`` paths (None when the checkpoint has
    none); ``epoch``: the epoch of the params file's name (None when its name carries none);
    ``prefix``: the checkpoint prefix (for an archive, the member names' prefix); ``input_shapes``:
    name -> shape from an archive's manifest (None elsewhere); ``archive``: the archive the files were
    extracted from. Files extracted from an archive live until `close()` (``with`` closes too).
    """

    symbol: Path | None
    params: Path | None
    epoch: int | None
    prefix: str
    input_shapes: dict[str, tuple[int, ...]] | None = None
    archive: Path | None = None
    _cleanup: Any = field(default=None, repr=False, compare=False)

    def close(self) -> None:
        """Remove what was extracted from an archive (nothing to do for plain files)."""
        if self._cleanup is not None:
            self._cleanup()

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def source(self) -> str:
        """What the user named, for messages: the archive, else the params or symbol file."""
        return os.fspath(self.archive or self.params or self.symbol or self.prefix)


def _check_epoch(epoch: int | None) -> None:
    if epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0):
        raise ValueError(f"epoch must be a non-negative integer, not {epoch!r}")


def _epochs_beside(prefix: str) -> list[tuple[int, Path]]:
    """(epoch, path) of every ``PREFIX-NNNN.params`` that exists, by epoch."""
    p = Path(prefix)
    folder = p.parent
    found = []
    try:
        names = os.listdir(folder if str(folder) else ".")
    except OSError:
        return []
    for name in names:
        split = C.split_params_file_name(name)
        if split is not None and split[0] == p.name and (folder / name).is_file():
            found.append((split[1], folder / name))
    return sorted(found)


def _pick_params(prefix: str, epoch: int | None, shown: str) -> tuple[Path | None, int | None]:
    """The params file of a prefix on disk by the rules of the module docstring."""
    if epoch is not None:
        path = Path(C.params_file_name(prefix, epoch))
        if path.is_file():
            return path, epoch
        there = _epochs_beside(prefix)
        have = ", ".join(q.name for _, q in there) or "none"
        raise FileNotFoundError(f"no params file {path} (epoch {epoch}) for {shown}; "
                                f"params files there: {have}")
    zero = Path(C.params_file_name(prefix, 0))
    if zero.is_file():
        return zero, 0
    there = _epochs_beside(prefix)
    if len(there) == 1:
        return there[0][1], there[0][0]
    if there:
        raise NDFormatError(f"{len(there)} params files and no epoch given: "
                            + ", ".join(q.name for _, q in there), file=shown,
                            hint="give the epoch (--epoch N) or the params file")
    return None, None


def locate_checkpoint(path: str | os.PathLike[str], *, epoch: int | None = None,
                      params: str | os.PathLike[str] | None = None) -> Checkpoint:
    """The `Checkpoint` a user means by ``path`` (see the module docstring for the rules).

    ``path``: a prefix, a ``-symbol.json``, a ``-NNNN.params`` (or any params file), or a SageMaker
    ``model.tar.gz`` / Model Server ``.model`` / ``.mar`` archive. ``epoch``: which
    ``PREFIX-NNNN.params`` (non-negative). ``params``: the params file, whatever its name.
    Raises FileNotFoundError (naming the params files that do exist), ValueError for a negative
    epoch, NDFormatError for several candidates and no epoch, an archive without a checkpoint, or
    a member too large or unsafe.
    """
    _check_epoch(epoch)
    shown = os.fspath(path)
    p = Path(path)
    if p.is_file() and _is_archive(p):
        if params is not None:
            raise NDFormatError("an archive holds its own params file; give the archive alone, or "
                                "the extracted files", file=shown)
        return _from_archive(p, epoch)
    if params is not None:
        params_path = Path(params)
        if not params_path.is_file():
            raise FileNotFoundError(f"no params file {os.fspath(params)}")
        split = C.split_params_file_name(params_path.name)
        params_epoch = split[1] if split else None
    if p.is_file() and not p.name.endswith(".json"):  # a params file
        split = C.split_params_file_name(p.name)
        if split is None:
            prefix = os.fspath(p.with_suffix("")) if p.suffix == ".params" else shown
            return Checkpoint(None, p, None, prefix)
        name_prefix, name_epoch = split
        if epoch is not None and epoch != name_epoch:
            raise NDFormatError(f"the file is epoch {name_epoch}, but epoch {epoch} was asked for",
                                file=shown)
        prefix = os.fspath(p.with_name(name_prefix))
        sym = Path(f"{prefix}-symbol.json")
        if params is not None:
            raise NDFormatError("give the params file once (as the path or as params=)", file=shown)
        return Checkpoint(sym if sym.is_file() else None, p, name_epoch, prefix)
    if p.is_file():  # a graph: -symbol.json, or another .json name
        sym = p
        prefix = shown[: -len("-symbol.json")] if shown.endswith("-symbol.json") else shown[: -len(".json")]
    else:
        if shown.endswith((".json", ".params")) and not Path(f"{shown}-symbol.json").is_file():
            raise FileNotFoundError(f"no such file {shown}")
        prefix = shown
        candidate = Path(f"{prefix}-symbol.json")
        sym = candidate if candidate.is_file() else None
    if params is not None:
        return Checkpoint(sym, params_path, params_epoch if epoch is None else epoch, prefix)
    found, found_epoch = _pick_params(prefix, epoch, shown)
    if found is None and sym is None:
        raise FileNotFoundError(f"no checkpoint at {shown}: no symbol file {prefix}-symbol.json "
                                f"and no params file {prefix}-NNNN.params")
    return Checkpoint(sym, found, found_epoch, prefix)


# --- archives -------------------------------------------------------------------------------
def _is_archive(p: Path) -> bool:
    with open(p, "rb") as f:
        head = f.read(512)
    if head[:2] == b"\x1f\x8b":
        return True
    if len(head) >= 262 and head[257:262] == b"ustar":
        return True
    if head[:4] == C.ZIP_LOCAL_MAGIC and not p.name.endswith((".npz", ".params")):
        return True
    return False


class _Members:
    """Name -> size of an archive's regular-file members, and reading one (size-checked)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sizes: dict[str, int] = {}
        self._zip: zipfile.ZipFile | None = None
        self._tar: tarfile.TarFile | None = None
        try:
            if zipfile.is_zipfile(path):
                self._zip = zipfile.ZipFile(path)
                for info in self._zip.infolist():
                    if not info.is_dir():
                        if info.compress_size and info.file_size > info.compress_size * C.DEFLATE_MAX_RATIO:
                            raise self.error(f"member {info.filename!r} claims {info.file_size:,} bytes "
                                             f"from {info.compress_size:,} (more than deflate can expand)")
                        self.sizes[info.filename] = info.file_size
            else:
                self._tar = tarfile.open(path, "r:*")
                for m in self._tar.getmembers():
                    if m.isreg():
                        self.sizes[m.name] = m.size
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
            if isinstance(exc, OSError) and not isinstance(exc, (tarfile.TarError, EOFError)) \
                    and exc.filename is not None:
                raise
            self.close()
            raise self.error(f"not a readable archive ({' '.join(str(exc).split()) or type(exc).__name__})") from None
        except BaseException:
            self.close()
            raise

    def error(self, message: str, **kw: Any) -> NDFormatError:
        return NDFormatError(message, file=self.path, **kw)

    def names(self) -> list[str]:
        """Member names, without leading ``./`` (a tar made with ``tar czf x.tar.gz .``)."""
        return list(self.sizes)

    def find(self, name: str) -> str | None:
        """The member whose name, without a leading ``./``, is ``name``."""
        for m in self.sizes:
            if m.removeprefix("./") == name:
                return m
        return None

    def _open(self, member: str) -> IO[bytes]:
        if self._zip is not None:
            return self._zip.open(member)
        assert self._tar is not None
        f = self._tar.extractfile(member)
        if f is None:
            raise self.error(f"member {member!r} is not a regular file")
        return f

    def read(self, member: str, limit: int = _MANIFEST_MAX_BYTES) -> bytes:
        size = self.sizes[member]
        if size > limit:
            raise self.error(f"member {member!r} is {size:,} bytes", expected=f"at most {limit:,}")
        with self._open(member) as f:
            data = f.read(limit + 1)
        if len(data) != size:
            raise self.error(f"member {member!r} holds {len(data):,} bytes, its header says {size:,}")
        return data

    def extract(self, member: str, dest: Path) -> None:
        size = self.sizes[member]
        if size > ARCHIVE_MEMBER_MAX_BYTES:
            raise self.error(f"member {member!r} is {size:,} bytes",
                             expected=f"at most {ARCHIVE_MEMBER_MAX_BYTES:,}")
        written = 0
        with self._open(member) as src, open(dest, "xb") as out:
            while True:
                chunk = src.read(min(1 << 20, size + 1 - written))
                if not chunk:
                    break
                written += len(chunk)
                if written > size:
                    break
                out.write(chunk)
        if written != size:
            raise self.error(f"member {member!r} holds another size than its header says ({size:,})")

    def close(self) -> None:
        for h in (self._zip, self._tar):
            if h is not None:
                h.close()


def _json(members: _Members, member: str) -> Any:
    try:
        return json.loads(members.read(member).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise members.error(f"member {member!r} is not JSON ({exc})") from None


def _safe_name(members: _Members, name: Any, what: str) -> str:
    """A member named by a manifest: a relative path without ``..`` that exists."""
    if not isinstance(name, str) or not name:
        raise members.error(f"the manifest's {what} is {name!r}", expected="a file name")
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts:
        raise members.error(f"the manifest's {what} {name!r} points outside the archive")
    found = members.find(str(pure))
    if found is None:
        raise members.error(f"the manifest names {what} {name!r}, which the archive does not hold",
                            found=", ".join(members.names()[:10]) or "no files")
    return found


def _shapes(members: _Members, doc: Any, member: str) -> dict[str, tuple[int, ...]]:
    """Input shapes from ``model-shapes.json`` (``[{"name", "shape"}]``, SageMaker) or
    ``signature.json`` (``{"inputs": [{"data_name", "data_shape"}]}``, Model Server). A 0 batch
    (Model Server's "any") becomes 1."""
    rows = doc.get("inputs") if isinstance(doc, dict) and "inputs" in doc else doc
    out: dict[str, tuple[int, ...]] = {}
    if isinstance(rows, dict):  # {"data": [1, 3, 224, 224]}
        rows = [{"name": k, "shape": v} for k, v in rows.items()]
    if not isinstance(rows, list):
        raise members.error(f"member {member!r} holds no list of inputs")
    for row in rows:
        name = row.get("name", row.get("data_name")) if isinstance(row, dict) else None
        shape = row.get("shape", row.get("data_shape")) if isinstance(row, dict) else None
        if (not isinstance(name, str) or not isinstance(shape, list)
                or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):
            raise members.error(f"member {member!r}: an input entry is {row!r}",
                                expected='{"name": ..., "shape": [non-negative ints]}')
        dims = tuple(shape)
        if dims and dims[0] == 0:
            dims = (1, *dims[1:])
        out[name] = dims
    return out


def _from_archive(path: Path, epoch: int | None) -> Checkpoint:
    members = _Members(path)
    try:
        return _extract(members, path, epoch)
    finally:
        members.close()


def _extract(members: _Members, path: Path, epoch: int | None) -> Checkpoint:
    symbol_member = params_member = None
    shapes: dict[str, tuple[int, ...]] | None = None
    manifest = members.find("MANIFEST.json") or members.find("MAR-INF/MANIFEST.json")
    signature = None
    if manifest is not None:
        doc = _json(members, manifest)
        model = doc.get("Model") if isinstance(doc, dict) else None
        if isinstance(model, dict):  # Model Server 0.x .model
            if "Symbol" in model:
                symbol_member = _safe_name(members, model["Symbol"], "symbol")
            if "Parameters" in model:
                params_member = _safe_name(members, model["Parameters"], "params")
            if "Signature" in model:
                signature = _safe_name(members, model["Signature"], "signature")
        model = doc.get("model") if isinstance(doc, dict) else None
        if isinstance(model, dict) and str(model.get("serializedFile", "")).endswith(".params"):
            params_member = _safe_name(members, model["serializedFile"], "params")  # .mar
    if symbol_member is None:
        syms = [m for m in members.names() if PurePosixPath(m).name.endswith("-symbol.json")]
        if params_member is not None:
            split = C.split_params_file_name(PurePosixPath(params_member).name)
            same = [m for m in syms if split and PurePosixPath(m).name == split[0] + "-symbol.json"]
            syms = same or syms
        if len(syms) > 1:
            raise members.error(f"{len(syms)} symbol files in the archive: {', '.join(syms)}",
                                expected="one checkpoint")
        symbol_member = syms[0] if syms else None
    if params_member is None:
        want = None
        if symbol_member is not None:
            sp = PurePosixPath(symbol_member)
            want = (str(sp.parent), sp.name[: -len("-symbol.json")])
        cands = []
        for m in members.names():
            mp = PurePosixPath(m)
            split = C.split_params_file_name(mp.name)
            if split is not None and (want is None or (str(mp.parent), split[0]) == want):
                cands.append((split[1], m))
        cands = sorted(set(cands))
        if epoch is not None:
            chosen = [m for e, m in cands if e == epoch]
            if not chosen:
                raise members.error(f"no params file of epoch {epoch} in the archive",
                                    found=", ".join(m for _, m in cands) or "no params files")
            params_member = chosen[0]
        elif len(cands) == 1:
            params_member = cands[0][1]
        elif cands:
            zero = [m for e, m in cands if e == 0]
            if len(zero) == 1:
                params_member = zero[0]
            else:
                raise members.error(f"{len(cands)} params files in the archive and no epoch given: "
                                    + ", ".join(m for _, m in cands), hint="give the epoch")
    if symbol_member is None and params_member is None:
        raise members.error("the archive holds no MXNet checkpoint",
                            expected="a -symbol.json and a -NNNN.params (or a MANIFEST.json naming them)",
                            found=", ".join(members.names()[:10]) or "no files")
    if signature is None:
        signature = members.find("signature.json") or members.find("model-shapes.json")
    if signature is not None:
        shapes = _shapes(members, _json(members, signature), signature)
    params_epoch = None
    if params_member is not None:
        split = C.split_params_file_name(PurePosixPath(params_member).name)
        params_epoch = split[1] if split else None
        if epoch is not None and params_epoch is not None and params_epoch != epoch:
            raise members.error(f"the archive's params file {params_member} is epoch {params_epoch}, "
                                f"but epoch {epoch} was asked for")
    base = PurePosixPath(symbol_member or params_member or "model").name
    stem = re.sub(r"(-symbol\.json|-[0-9]+\.params|\.params|\.json)$", "", base)
    stem = re.sub(r"[^A-Za-z0-9_.+=-]", "_", stem).lstrip(".") or "model"
    tmp = tempfile.mkdtemp(prefix="ndparse-ckpt-")
    try:
        prefix = os.path.join(tmp, stem)
        sym_path = params_path = None
        if symbol_member is not None:
            sym_path = Path(f"{prefix}-symbol.json")
            members.extract(symbol_member, sym_path)
        if params_member is not None:
            params_path = Path(C.params_file_name(prefix, params_epoch) if params_epoch is not None
                               else f"{prefix}.params")
            members.extract(params_member, params_path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    ckpt = Checkpoint(sym_path, params_path, params_epoch, prefix, shapes, path)
    object.__setattr__(ckpt, "_cleanup", weakref.finalize(ckpt, shutil.rmtree, tmp, True))
    return ckpt
