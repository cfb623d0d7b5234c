"""ndparse: read and write Apache MXNet NDArray files (`.params`, `.nd`, 2.x `.npy`/`.npz`)
with numpy alone, exactly as MXNet reads them. No MXNet, no torch.

    ndparse.load(path)              # {name: array} or [array, ...], as mx.nd.load
    with ndparse.open(path) as f:   # lazy: f.keys(), f.info(name), f[name]
    ndparse.save(path, arrays)      # as mx.nd.save, written atomically

What only writing or sparse arrays need is imported on first use, so that `import ndparse`
costs little more than `import numpy`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._index import Part, RecordInfo
from ._version import __version__
from .errors import NDFormatError, NDFormatWarning
from .reader import NDFile, load, load_checkpoint, open, resolve_params_path

if TYPE_CHECKING:
    from ._atomic import atomic_write
    from .sparse import CSRArray, RowSparseArray
    from .writer import dumps, save

# name -> module of the attributes imported on first use (PEP 562)
_LAZY = {"CSRArray": "sparse", "RowSparseArray": "sparse", "dumps": "writer", "save": "writer",
         "atomic_write": "_atomic"}  # atomic_write: not public API, kept for old imports


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
    "NDFile",
    "NDFormatError",
    "NDFormatWarning",
    "Part",
    "RecordInfo",
    "RowSparseArray",
    "dumps",
    "load",
    "load_checkpoint",
    "open",
    "resolve_params_path",
    "save",
]
