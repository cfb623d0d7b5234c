"""MXNet-free conversion between the original MXNet DPN checkpoints (cypw/DPNs) and PyTorch.

The ``.params`` files are read and written with ``ndparse`` (numpy only; never MXNet); the names are
translated by the rules of :mod:`dpn_torch.keys`. One path serves every way in: the file is indexed
once, validated from the index (names, dtypes, shapes) before any weight bytes are read, matched
key by key against a model (strict: every model key needs a source, every checkpoint key must be
used, shapes must agree, every array must be float32), then the arrays fill the model: adopted
without a copy by a model built on the meta device, or copied into the tensors of a real one.
Anything that does not fit raises :class:`~dpn_torch.config.DPNConversionError`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

import ndparse
from ndparse.cli_support import to_torch

from .config import (
    CLASSIFIER_NAMES,
    DPNConfig,
    DPNConversionError,
    describe_config,
    name_list,
    safe_name,
    variant_name,
)
from .keys import (
    NO_SOURCE_SUFFIX,
    Entry,
    choose_classifier,
    config_of,
    infer_entries,
    is_b,
    plan,
    torch_rule,
    translate,
)
from .model import DPN

__all__ = ["Conversion", "convert_checkpoint", "convert_from_mxnet", "export_to_mxnet", "load_mxnet",
           "model_from_state_dict", "mxnet_state_dict"]

_STATISTICS = (".running_mean", ".running_var")


# ---------------------------------------------------------------------------------------------------
# MXNet -> PyTorch: one path
# ---------------------------------------------------------------------------------------------------


@contextmanager
def _about(path: Path, variant: str | None = None, assumed: str | None = None) -> Iterator[None]:
    """Complete the DPNConversionErrors raised inside: the file, and what was assumed if unsaid."""
    try:
        yield
    except DPNConversionError as exc:
        exc.path = exc.path or os.fspath(path)
        if assumed is not None and exc.assumed is None:
            exc.variant, exc.assumed = variant, assumed
        raise


@contextmanager
def _located(prefix_or_path: str | os.PathLike[str], epoch: int | None) -> Iterator[tuple[Path, Path]]:
    """(the params file to read, the path to name in messages) of a checkpoint, found by
    ndparse.locate_checkpoint; an archive's extracted file lives until the block ends."""
    with ndparse.locate_checkpoint(prefix_or_path, epoch=epoch) as ckpt:
        if ckpt.params is None:
            raise FileNotFoundError(f"no params file for {os.fspath(prefix_or_path)} "
                                    f"(no {ckpt.prefix}-NNNN.params)")
        yield ckpt.params, ckpt.archive or ckpt.params


@contextmanager
def _indexed(path: Path, shown: Path | None = None) -> Iterator[tuple[ndparse.NDFile, list[Entry]]]:
    """The open file and its translated entries; refuses unnamed files and non-float32 arrays.
    Errors name ``shown`` (the archive a file came from) when given."""
    # mmap=False: the index comes from the mapping (header pages only); load_all() then reads every
    # payload once into writable memory of its own, which the tensors take over without a copy.
    with _about(shown or path), ndparse.open(path, mmap=False) as reader:
        names = reader.keys()
        if not names or not all(isinstance(k, str) for k in names):
            raise DPNConversionError("not a DPN checkpoint: the file stores no array names")
        shapes: dict[str, tuple[int, ...]] = {}
        bad: dict[str, str] = {}  # name -> what it is instead
        for name in names:
            info = reader.info(name)
            dtype = None if info.dtype is None else np.dtype(info.dtype)
            if info.stype != "default":
                bad[name] = info.stype
            elif dtype is None or dtype.kind != "f" or dtype.itemsize != 4:
                bad[name] = "none" if dtype is None else dtype.name
            shapes[name] = tuple(info.shape or ())
        if bad:
            raise DPNConversionError(
                f"only dense float32 arrays can be converted; found {len(bad):,} other(s): "
                + name_list(f"{safe_name(name)} ({kind})" for name, kind in bad.items()),
                mismatched=list(bad))
        yield reader, translate(shapes)


def _read_all(reader: ndparse.NDFile) -> Mapping[str, np.ndarray]:
    """Every array of an indexed file (opened with ``mmap=False``), read into memory of its own
    (one read, no second index)."""
    arrays = reader.load_all()
    assert isinstance(arrays, dict)
    return arrays


def _fill(model: torch.nn.Module, reader: ndparse.NDFile, entries: list[Entry], *,
          classifier: str | None) -> str:
    """Match ``entries`` against ``model`` key by key and load the arrays into it; returns the
    classifier used. A model with tensors on the meta device adopts the file's arrays (no copy);
    any other model gets them copied into its own tensors (any device, dtype, memory format)."""
    target = model.state_dict(keep_vars=True)
    fc = choose_classifier(entries, classifier)
    expected = {k: tuple(t.shape) for k, t in target.items()}
    sources = plan(entries, expected, b=is_b(target), classifier=fc)
    adopt = any(t.is_meta for t in target.values())
    arrays = _read_all(reader) if adopt else None
    adopted: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for key, t in target.items():
            if key.endswith(NO_SOURCE_SUFFIX):
                if adopt:
                    adopted[key] = torch.zeros((), dtype=torch.int64)
                else:
                    t.zero_()
            elif arrays is not None:
                adopted[key] = to_torch(arrays[sources[key].stored]).reshape(t.shape)  # no copy if it can
            else:  # a read-only view of the mapped file, copied once, into the model
                src = np.asarray(reader.get(sources[key].stored)).reshape(tuple(t.shape))
                if t.device.type == "cpu" and t.dtype == torch.float32:
                    np.copyto(t.detach().numpy(), src)
                else:
                    t.copy_(torch.from_numpy(np.array(src, dtype=np.float32)))
    if adopt:
        model.load_state_dict(adopted, strict=True, assign=True)
    return fc


def _meta_model(cfg: DPNConfig) -> DPN:
    """A DPN of ``cfg`` on the meta device: shapes only, ready to adopt tensors."""
    with torch.device("meta"):
        return DPN(**asdict(cfg))


@dataclass
class Conversion:
    """A converted checkpoint: the model, its state_dict and what was found in the file.

    ``model`` is a :class:`~dpn_torch.model.DPN` in eval mode whose tensors ARE those of
    ``state_dict`` (the file's arrays, read once); ``path`` is the ``.params`` file read (the
    archive, for a checkpoint read from one).
    """

    model: DPN
    state_dict: dict[str, torch.Tensor]
    classifier: str
    path: Path
    record_layout: str  # e.g. "legacy container, V0 records"
    num_arrays: int

    @property
    def config(self) -> DPNConfig:
        """The configuration of the converted network."""
        return self.model.config

    @property
    def variant(self) -> str | None:
        """The variant (``dpn68b``, ...), or None for a custom network."""
        return variant_name(self.config)

    @property
    def description(self) -> str:
        """For people, e.g. ``dpn68b, 1000 classes, classifier fc6-1k``."""
        return describe_config(self.config, self.classifier)

    @property
    def num_params(self) -> int:
        """Learned parameters (BatchNorm statistics and ``num_batches_tracked`` not counted)."""
        return sum(t.numel() for k, t in self.state_dict.items()
                   if not k.endswith((NO_SOURCE_SUFFIX, *_STATISTICS)))


def convert_checkpoint(prefix_or_path: str | os.PathLike[str], *, epoch: int | None = None,
                       arch: str | None = None, classifier: str | None = None) -> Conversion:
    """Read an MXNet DPN checkpoint into a DPN and a complete state_dict (rw/timm keys and order).

    ``prefix_or_path``: what ``ndparse.locate_checkpoint`` takes (a prefix: ``dpn92-extra`` ->
    ``dpn92-extra-0000.params`` or the only ``-NNNN.params``; ``epoch`` picks another)
    or a ``.params`` path. ``arch``: None or ``"auto"`` infers the configuration from the file, a
    variant name (``dpn68``, ...) expects that network (the class count still comes from the file).
    ``classifier``: ``fc6`` or ``fc6-1k``, needed only when the file has both.
    Returns a :class:`Conversion`; its tensors share memory with the arrays read (no second copy).
    Raises FileNotFoundError, ``ndparse.NDFormatError`` for a broken file, and
    :class:`~dpn_torch.config.DPNConversionError` when the file is not a DPN checkpoint of that kind.
    """
    with _located(prefix_or_path, epoch) as (params, path), _indexed(params, path) as (reader, entries):
        cfg, fc = config_of(entries, arch=arch, classifier=classifier)
        with _about(path, variant_name(cfg), describe_config(cfg, fc)):
            try:
                model = _meta_model(cfg)
            except (ValueError, RuntimeError) as exc:  # e.g. widths not divisible by groups
                raise DPNConversionError(f"the inferred network cannot be built: {exc}") from exc
            try:
                _fill(model, reader, entries, classifier=fc)
            except DPNConversionError as exc:
                if arch not in (None, "auto"):
                    _suggest(exc, entries, fc)
                raise
        return Conversion(model.eval(), model.state_dict(), fc, path, reader.layout, len(entries))


def _suggest(exc: DPNConversionError, entries: list[Entry], classifier: str) -> None:
    """Add what the file looks like to an error about a network the caller chose."""
    try:
        cfg, fc = infer_entries(entries, classifier)
    except DPNConversionError:
        return
    exc.args = (f"{exc.args[0]}; the file looks like {describe_config(cfg, fc)}",)


def model_from_state_dict(state_dict: Mapping[str, torch.Tensor], cfg: DPNConfig, *,
                          test_time_pool: bool = False) -> DPN:
    """A DPN of ``cfg`` whose tensors ARE those of ``state_dict`` (assigned, not copied), in eval mode.

    Raises RuntimeError (from ``load_state_dict``) when a key or a shape does not fit.
    """
    model = _meta_model(cfg)
    model.test_time_pool = test_time_pool
    model.load_state_dict(state_dict, strict=True, assign=True)
    return model.eval()


def load_mxnet(prefix_or_path: str | os.PathLike[str], *, epoch: int | None = None, arch: str | None = None,
               classifier: str | None = None, test_time_pool: bool = False) -> DPN:
    """The DPN an MXNet checkpoint describes, loaded, in eval mode.

    Parameters and errors as :func:`convert_checkpoint`; ``test_time_pool`` turns on cypw's mean-max
    head (eval mode, inputs above 224).
    """
    model = convert_checkpoint(prefix_or_path, epoch=epoch, arch=arch, classifier=classifier).model
    model.test_time_pool = test_time_pool
    return model


def convert_from_mxnet(model: torch.nn.Module, checkpoint_prefix: str | os.PathLike[str], *,
                       epoch: int | None = None, classifier: str | None = None) -> torch.nn.Module:
    """Fill ``model`` from an MXNet checkpoint and return it (the signature of rw's converter,
    ``convert_from_mxnet(model, checkpoint_prefix)``, which this one replaces).

    ``model``: any module with rw/timm DPN keys (ours, timm's, rw's), on any device; on the meta
    device it adopts the file's arrays instead. ``checkpoint_prefix``: a prefix or a ``.params``
    path, as ``prefix_or_path`` elsewhere. Raises as :func:`convert_checkpoint`, naming every
    missing, unexpected or wrongly shaped key.
    """
    with _located(checkpoint_prefix, epoch) as (params, path):
        cfg = getattr(model, "config", None)
        if isinstance(cfg, DPNConfig):
            about = _about(path, variant_name(cfg), describe_config(cfg))
        else:
            blocks = "b" if is_b(model.state_dict()) else "non-b"
            about = _about(path, None, f"{type(model).__name__} with {blocks} blocks")
        with _indexed(params, path) as (reader, entries), about:
            _fill(model, reader, entries, classifier=classifier)
    return model


# ---------------------------------------------------------------------------------------------------
# PyTorch -> MXNet
# ---------------------------------------------------------------------------------------------------


def mxnet_state_dict(model_or_state_dict: torch.nn.Module | Mapping[str, torch.Tensor], *,
                     classifier: str = "fc6") -> dict[str, np.ndarray]:
    """The MXNet checkpoint arrays of a PyTorch DPN (a module or a state_dict with rw/timm keys).

    ``classifier``: the MXNet name of the classifier, ``fc6`` or ``fc6-1k``. Returns ``arg:`` keys
    then ``aux:`` keys, float32 numpy arrays. Raises ValueError for another classifier name and
    :class:`~dpn_torch.config.DPNConversionError` for keys without an MXNet name or non-float32 tensors.
    """
    if classifier not in CLASSIFIER_NAMES:
        raise ValueError(f"classifier must be one of {CLASSIFIER_NAMES}, not {classifier!r}")
    sd = (model_or_state_dict.state_dict() if isinstance(model_or_state_dict, torch.nn.Module)
          else dict(model_or_state_dict))
    b = is_b(sd)
    arrays: dict[str, dict[str, np.ndarray]] = {"arg": {}, "aux": {}}
    unknown, bad_type = [], []
    for key, tensor in sd.items():
        rule = None if key.endswith(NO_SOURCE_SUFFIX) else torch_rule(key, b)
        if rule is None:
            if not key.endswith(NO_SOURCE_SUFFIX):
                unknown.append(key)
            continue
        if tensor.dtype != torch.float32:
            bad_type.append(key)
            continue
        array = tensor.detach().cpu().contiguous().numpy()
        mx_key = rule.to_mxnet(key, classifier)
        assert mx_key is not None
        arrays[rule.kind][mx_key] = array.reshape(rule.mxnet_shape(array.shape))
    assumed = f"{'b' if b else 'non-b'} DPN state_dict"
    if unknown:
        raise DPNConversionError(f"keys without an MXNet name: {name_list(map(safe_name, unknown))}",
                                 assumed=assumed, unexpected=unknown)
    if bad_type:
        raise DPNConversionError("only float32 tensors can be exported: "
                                 + name_list(f"{safe_name(k)} ({sd[k].dtype})" for k in bad_type),
                                 assumed=assumed, mismatched=bad_type)
    return {**arrays["arg"], **arrays["aux"]}


def export_to_mxnet(model: torch.nn.Module | Mapping[str, torch.Tensor],
                    path: str | os.PathLike[str], *, classifier: str = "fc6") -> Path:
    """Write a PyTorch DPN as an MXNet ``.params`` checkpoint (ndparse's atomic writer, V2 records).

    ``model``: a module or a state_dict with rw/timm keys; ``classifier``: stored as ``fc6`` (C, F)
    unless ``"fc6-1k"``. Returns the path. Raises as :func:`mxnet_state_dict`; nothing is written then.
    """
    ndparse.save(path, mxnet_state_dict(model, classifier=classifier))
    return Path(path)
