"""ndparse: read and write Apache MXNet NDArray files (`.params`, `.nd`, 2.x `.npy`/`.npz`)
with numpy alone, exactly as MXNet reads them. No MXNet, no torch.

    ndparse.load(path)              # {name: array} or [array, ...], as mx.nd.load
    with ndparse.open(path) as f:   # lazy: f.keys(), f.info(name), f[name]
    ndparse.save(path, arrays)      # as mx.nd.save, written atomically
    ndparse.load_symbol(path)       # a -symbol.json graph, upgraded as MXNet 1.9.1 upgrades it
    ndparse.load_checkpoint(prefix, epoch)   # (Symbol, arg_params, aux_params), as mx.model's
    ndparse.locate_checkpoint(path)          # which files make a checkpoint (prefix, file, archive)

What only writing or sparse arrays need is imported on first use, so that `import ndparse`
costs little more than `import numpy`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._index import Part, RecordInfo
from ._version import __version__
from .errors import NDFormatError, NDFormatWarning, SymbolFormatError
from .reader import NDFile, load, open, resolve_params_path

if TYPE_CHECKING:
    from ._atomic import atomic_write
    from .checkpoint import check_checkpoint, load_checkpoint
    from .locate import Checkpoint, locate_checkpoint
    from .sparse import CSRArray, RowSparseArray
    from .symbol import Symbol, load_symbol, load_symbol_json
    from .writer import dumps, save

# name -> module of the attributes imported on first use (PEP 562): writing, sparse arrays and
# symbol graphs are not needed to open a file.
_LAZY = {
    "CSRArray": "sparse", "RowSparseArray": "sparse",
    "dumps": "writer", "save": "writer",
    "Symbol": "symbol", "load_symbol": "symbol", "load_symbol_json": "symbol",
    "check_checkpoint": "checkpoint", "load_checkpoint": "checkpoint",
    "Checkpoint": "locate", "locate_checkpoint": "locate",
    "atomic_write": "_atomic",  # not public API; kept for old imports
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "CSRArray",
    "Checkpoint",
    "NDFile",
    "NDFormatError",
    "NDFormatWarning",
    "Part",
    "RecordInfo",
    "RowSparseArray",
    "Symbol",
    "SymbolFormatError",
    "check_checkpoint",
    "dumps",
    "load",
    "load_checkpoint",
    "load_symbol",
    "load_symbol_json",
    "locate_checkpoint",
    "open",
    "resolve_params_path",
    "save",
]
