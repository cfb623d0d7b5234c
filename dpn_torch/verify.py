"""Prove a converted DPN against the original MXNet graph, without MXNet.

The original DPN releases ship ``PREFIX-symbol.json`` beside the weights. :func:`verify_against_symbol`
runs that graph with mxtorch (every op with MXNet's own semantics: BatchNorm eps and ``fix_gamma``,
pooling conventions, ...) on a seeded input, runs the converted dpn_torch model on the same input, and
compares the logits. Key and shape checks cannot see a graph whose BatchNorm eps or pooling differs from
what the converter assumed; this check does.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

import ndparse

__all__ = ["SYMBOL_TOLERANCE", "SymbolCheck", "symbol_path_for", "verify_against_symbol"]

SYMBOL_TOLERANCE = 1e-4  # max|dpn_torch - graph| / max|graph| on the logits
# Heads that turn logits into probabilities: the check compares what feeds them.
_PROBABILITY_HEADS = frozenset({"SoftmaxOutput", "SoftmaxActivation", "softmax", "log_softmax"})


@dataclass(frozen=True)
class SymbolCheck:
    """What :func:`verify_against_symbol` measured.

    ``error`` is ``max|model - graph| / max|graph|`` over the logits, ``symbol`` the graph file, ``head``
    the graph output compared (the input of a final softmax, when the graph ends in one), ``shape`` the
    input shape used, ``finite`` whether both sides' logits are all finite (NaN or infinity on
    either side is no proof, whatever the error).
    """

    symbol: Path
    head: str
    shape: tuple[int, ...]
    error: float
    tolerance: float = SYMBOL_TOLERANCE
    finite: bool = True

    @property
    def ok(self) -> bool:
        return self.finite and self.error <= self.tolerance

    def describe(self) -> str:
        from mxtorch.export import VERIFY_SEED

        verdict = "ok" if self.ok else "MISMATCH" if self.finite else "NOT FINITE"
        return (f"symbol graph: {self.symbol.name} ({self.head}) vs the converted model on N(0,1) "
                f"{'x'.join(map(str, self.shape))} (seed {VERIFY_SEED}): max relative error "
                f"{self.error:.3g} (tolerance {self.tolerance:g}) {verdict}")


def symbol_path_for(prefix_or_path: str | os.PathLike[str]) -> Path:
    """The ``-symbol.json`` of a checkpoint: ``prefix`` -> ``prefix-symbol.json``; a ``.params`` path
    ``P-0003.params`` -> ``P-symbol.json``; a ``-symbol.json`` path is returned as it is (the file
    need not exist). `ndparse.locate_checkpoint` finds the pair; this only names the graph."""
    from ndparse.checkpoint import symbol_path

    p = Path(prefix_or_path)
    return p if p.name.endswith("-symbol.json") else symbol_path(p)


def _logits_symbol(sym: Any, symbol_file: Path) -> tuple[Any, str]:
    """The graph with a final softmax head replaced by its input (the logits), and that head's name."""
    if len(sym.heads) != 1:
        raise ValueError(f"{symbol_file}: a DPN graph has one head, this one has {len(sym.heads)}")
    node = sym.nodes[sym.heads[0][0]]
    if node.op not in _PROBABILITY_HEADS:
        return sym, sym.list_outputs()[0]
    doc = json.loads(sym.tojson())
    src, out = node.inputs[0]
    doc["heads"] = [[src, out, 0]]
    cut = ndparse.load_symbol_json(json.dumps(doc), file=str(symbol_file))
    return cut, cut.list_outputs()[0]


def verify_against_symbol(model: torch.nn.Module,
                          prefix_or_path: str | os.PathLike[str] | ndparse.Checkpoint, *,
                          epoch: int | None = None, size: int = 224, batch: int = 1,
                          tolerance: float = SYMBOL_TOLERANCE) -> SymbolCheck:
    """Run the checkpoint's own ``-symbol.json`` with mxtorch and compare it with ``model``.

    ``prefix_or_path`` is anything `ndparse.locate_checkpoint` takes (a prefix, a ``-NNNN.params``
    or ``-symbol.json`` path, an archive) or a located `ndparse.Checkpoint`: the graph and the
    weights are that checkpoint's pair (``epoch`` picks among several ``-NNNN.params``). ``model`` is
    a dpn_torch DPN (its logits are compared with the graph's, before any final softmax). Returns a
    :class:`SymbolCheck`; raises ``FileNotFoundError`` when there is no symbol or params file,
    ``ndparse.NDFormatError`` (``mxtorch.UnsupportedOpError`` included) when the graph cannot be
    read or run. It does not raise on a mismatch: check ``.ok``.
    """
    if isinstance(prefix_or_path, ndparse.Checkpoint):
        return _verify(model, prefix_or_path, size, batch, tolerance)
    with ndparse.locate_checkpoint(prefix_or_path, epoch=epoch) as ckpt:
        return _verify(model, ckpt, size, batch, tolerance)


def _verify(model: torch.nn.Module, ckpt: ndparse.Checkpoint, size: int, batch: int,
            tolerance: float) -> SymbolCheck:
    import mxtorch
    from mxtorch.export import VERIFY_SEED, relative_error

    if ckpt.symbol is None:
        raise FileNotFoundError(f"no symbol file {ckpt.prefix}-symbol.json for {ckpt.source}")
    if ckpt.params is None:
        raise FileNotFoundError(f"no params file {ckpt.prefix}-NNNN.params for {ckpt.source}")
    symbol_file = ckpt.symbol if ckpt.archive is None else Path(ckpt.symbol.name)
    sym, arg_params, aux_params = ndparse.load_checkpoint(ckpt.symbol, params=ckpt.params)
    assert sym is not None
    sym, head = _logits_symbol(sym, symbol_file)
    graph = mxtorch.from_symbol(sym, arg_params, aux_params)
    shape = (batch, 3, size, size)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(VERIFY_SEED))
    with torch.inference_mode():
        ref = graph(x)
        got = model.eval()(x)
    ref = ref[0] if isinstance(ref, tuple) else ref
    finite = bool(torch.isfinite(ref).all()) and bool(torch.isfinite(got).all())
    # a conv classifier's (N, K, 1, 1) against a linear one's (N, K): compared per sample
    error = relative_error(got.reshape(batch, -1).numpy(), ref.reshape(batch, -1).numpy())
    return SymbolCheck(symbol=symbol_file, head=head, shape=shape, error=error, tolerance=tolerance,
                       finite=finite)
