"""ndparse: read and write Apache MXNet NDArray files (`.params`, `.nd`, 2.x `.npy`/`.npz`)
with numpy alone, exactly as MXNet reads them. No MXNet, no torch.
"""

from __future__ import annotations

from ._atomic import atomic_write
from ._index import Part, RecordInfo
from .errors import NDFormatError, NDFormatWarning, SymbolFormatError
from .reader import NDFile, load, load_checkpoint, open, resolve_params_path
from .sparse import CSRArray, RowSparseArray
from .writer import dumps, save

from ._version import __version__

# The symbol-graph API loads on first use, so `import ndparse` stays cheap.
_LAZY = {
    "Symbol": "symbol",
    "load_symbol": "symbol",
    "load_symbol_json": "symbol",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ndparse' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "CSRArray",
    "NDFile",
    "NDFormatError",
    "NDFormatWarning",
    "Part",
    "RecordInfo",
    "RowSparseArray",
    "Symbol",
    "SymbolFormatError",
    "atomic_write",
    "dumps",
    "load",
    "load_checkpoint",
    "load_symbol",
    "load_symbol_json",
    "open",
    "resolve_params_path",
    "save",
]
