"""mxtorch: run any MXNet symbol graph (``-symbol.json`` + ``.params``) with PyTorch ops, no MXNet needed."""

from __future__ import annotations

from ndparse._version import __version__

from .errors import UnsupportedOpError

__all__ = ["UnsupportedOpError", "__version__"]
