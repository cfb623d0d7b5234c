"""Dual Path Networks in PyTorch, and an MXNet-free converter of the original MXNet DPN checkpoints.

Models: :func:`dpn68`, :func:`dpn68b`, :func:`dpn92`, :func:`dpn98`, :func:`dpn107`, :func:`dpn131`
and the generic :class:`DPN`; ``state_dict`` keys are those of rw/timm ``dpn.py``.
Conversion: :func:`load_mxnet` (variant inferred from the file), :func:`convert_from_mxnet`
(rw's signature), :func:`export_to_mxnet` (the reverse). Inputs: RGB, normalised with
:data:`DPN_MEAN` / :data:`DPN_STD` (not the ImageNet values), 224x224 (320 with test-time pooling).
"""

from ndparse._version import __version__

from .convert import (
    CLASSIFIER_NAMES,
    KEY_RULES,
    Conversion,
    DPNConversionError,
    KeyRule,
    convert_checkpoint,
    convert_from_mxnet,
    describe_config,
    export_to_mxnet,
    infer_config,
    load_mxnet,
    model_from_state_dict,
    mxnet_key_to_torch,
    mxnet_state_dict,
    resolve_params_path,
    torch_key_to_mxnet,
    variant_name,
)
from .model import (
    BN_EPS,
    DPN,
    DPN_MEAN,
    DPN_STD,
    INPUT_SIZE,
    MODEL_CONFIGS,
    PREPROCESSING,
    DPNConfig,
    Preprocessing,
    dpn68,
    dpn68b,
    dpn92,
    dpn98,
    dpn107,
    dpn131,
)

__all__ = [
    "__version__",
    "BN_EPS", "CLASSIFIER_NAMES", "Conversion", "DPN", "DPNConfig", "DPNConversionError", "DPN_MEAN",
    "DPN_STD", "INPUT_SIZE", "KEY_RULES", "KeyRule", "MODEL_CONFIGS", "PREPROCESSING", "Preprocessing",
    "convert_checkpoint", "convert_from_mxnet", "describe_config", "dpn68", "dpn68b", "dpn92", "dpn98",
    "dpn107", "dpn131", "export_to_mxnet", "infer_config", "load_mxnet", "model_from_state_dict",
    "mxnet_key_to_torch", "mxnet_state_dict", "resolve_params_path", "torch_key_to_mxnet",
    "variant_name",
]
