"""Dual Path Networks in PyTorch, and an MXNet-free converter of the original MXNet DPN checkpoints.

Models: :func:`dpn68`, :func:`dpn68b`, :func:`dpn92`, :func:`dpn98`, :func:`dpn107`, :func:`dpn131`
and the generic :class:`DPN`; ``state_dict`` keys are those of rw/timm ``dpn.py``.
Conversion: :func:`load_mxnet` is the primary (the model, its configuration inferred from the file);
:func:`convert_from_mxnet` the drop-in for rw's converter (fills a model you built);
:func:`convert_checkpoint` is ``load_mxnet`` plus what was found (what ``dpn-convert`` reports);
:func:`export_to_mxnet` the reverse. Each takes what ``ndparse.locate_checkpoint`` takes.
:mod:`dpn_torch.verify` proves a conversion against the checkpoint's own ``-symbol.json``. Inputs: RGB, normalised with :data:`DPN_MEAN` / :data:`DPN_STD` (not the ImageNet
values), 224x224 (320 with test-time pooling). Reference: docs/DPN.md.

Importing the package imports neither torch nor numpy: each name is loaded from its module on
first use (``dpn_torch.config`` and ``dpn_torch.keys`` need no torch; ``dpn_torch.model`` and
``dpn_torch.convert`` do).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ndparse import __version__

    from .config import MODEL_CONFIGS, DPNConfig, DPNConversionError
    from .convert import Conversion, convert_checkpoint, convert_from_mxnet, export_to_mxnet, load_mxnet
    from .model import DPN, DPN_MEAN, DPN_STD, PREPROCESSING, dpn68, dpn68b, dpn92, dpn98, dpn107, dpn131

_HOME = {  # public name -> the module that defines it
    **dict.fromkeys(("DPNConfig", "DPNConversionError", "MODEL_CONFIGS"), ".config"),
    **dict.fromkeys(("Conversion", "convert_checkpoint", "convert_from_mxnet", "export_to_mxnet",
                     "load_mxnet"), ".convert"),
    **dict.fromkeys(("DPN", "DPN_MEAN", "DPN_STD", "PREPROCESSING", "dpn68", "dpn68b", "dpn92", "dpn98",
                     "dpn107", "dpn131"), ".model"),
    "__version__": "ndparse",
}
_SUBMODULES = ("cli", "config", "convert", "keys", "model", "verify")

__all__ = [
    "__version__",
    "DPN", "DPNConfig", "DPNConversionError", "DPN_MEAN", "DPN_STD", "MODEL_CONFIGS", "PREPROCESSING",
    "Conversion", "convert_checkpoint", "convert_from_mxnet", "export_to_mxnet", "load_mxnet",
    "dpn68", "dpn68b", "dpn92", "dpn98", "dpn107", "dpn131",
]


def __getattr__(name: str) -> Any:
    """Load a public name (or a submodule) on first use, so that ``import dpn_torch`` stays cheap."""
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBMODULES})
