"""mxtorch: run any MXNet symbol graph (``-symbol.json`` + ``.params``) with PyTorch ops, no MXNet needed.

``mxtorch.load(prefix)`` gives an `MXNetModel` (a torch.nn.Module in eval mode built as a torch.fx graph
of one call per MXNet op); ``mxtorch.from_symbol`` does the same for a Symbol and params in memory. The
supported ops and their aliases are in docs/OPS.md (generated from ``mxtorch.ops``' registry).
"""

from __future__ import annotations

from ndparse._version import __version__

from .errors import UnsupportedOpError
from .model import MXNetModel, escape_name, from_symbol, load, unescape_name
from .ops._registry import supported_ops

__all__ = ["MXNetModel", "UnsupportedOpError", "__version__", "escape_name", "from_symbol", "load",
           "supported_ops", "unescape_name"]
