"""ndparse: read and write Apache MXNet NDArray files (`.params`, `.nd`, 2.x `.npy`/`.npz`)
with numpy alone, exactly as MXNet reads them. No MXNet, no torch.
"""

from __future__ import annotations

from ._atomic import atomic_write
from ._index import Part, RecordInfo
from .errors import NDFormatError, NDFormatWarning
from .reader import NDFile, load, load_checkpoint, open, resolve_params_path
from .sparse import CSRArray, RowSparseArray
from .writer import dumps, save

from ._version import __version__

__all__ = [
    "CSRArray",
    "NDFile",
    "NDFormatError",
    "NDFormatWarning",
    "Part",
    "RecordInfo",
    "RowSparseArray",
    "atomic_write",
    "dumps",
    "load",
    "load_checkpoint",
    "open",
    "resolve_params_path",
    "save",
]
