"""mxtorch: run any MXNet symbol graph (``-symbol.json`` + ``.params``) with PyTorch ops, no MXNet needed.

``mxtorch.load(prefix)`` gives an `MXNetModel` (a torch.nn.Module in eval mode, the graph lowered once
to one torch call per MXNet op; ``model.graph_module`` is the same as a torch.fx GraphModule);
``mxtorch.from_symbol`` does the same for a Symbol and params in memory. The supported ops and their
aliases are in docs/OPS.md (generated from ``mxtorch.ops``' registry).

Importing the package does not import torch: the names that need it load on first use, so that
``mxtorch --help`` is instant and, without torch, ``mxtorch run`` can say which extra to install.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ndparse import __version__

from .errors import MissingParameterError, UnsupportedOpError, UnsupportedOpsError

if TYPE_CHECKING:
    from . import attrs
    from .custom import register_op, registered_ops, unregister_op
    from .model import MXNetModel, escape_name, from_symbol, load, unescape_name
    from .optimization import optimize
    from .ops._registry import Lowered, supported_ops, unsupported

_LAZY = {  # public name -> the module that defines it (these import torch)
    **dict.fromkeys(("MXNetModel", "escape_name", "from_symbol", "load", "unescape_name"), ".model"),
    **dict.fromkeys(("Lowered", "supported_ops", "unsupported"), ".ops._registry"),
    **dict.fromkeys(("register_op", "registered_ops", "unregister_op"), ".custom"),
    "optimize": ".optimization",
    "attrs": ".attrs", "check": ".check", "export": ".export", "budget": ".budget",
}
_MODULES = frozenset({"attrs", "check", "export", "budget"})  # submodules, imported on first use


_SUBMODULES = ("cli", "errors", "export", "graph", "model", "ops")  # mxtorch.export.export(...)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:  # `import mxtorch; mxtorch.export` as the README writes it
        return importlib.import_module(f".{name}", __name__)
    home = _LAZY.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(home, __name__)
    value = module if name in _MODULES else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, *_SUBMODULES})


__all__ = ["Lowered", "MXNetModel", "MissingParameterError", "UnsupportedOpError", "UnsupportedOpsError",
           "__version__", "attrs", "escape_name", "from_symbol", "load", "optimize", "register_op", "registered_ops",
           "supported_ops", "unescape_name", "unregister_op", "unsupported"]
