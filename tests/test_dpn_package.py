"""dpn_torch as a package: what importing it costs (no torch for the vocabulary) and its public names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Runs with torch blocked: `import torch` raises ImportError, as on a machine without torch.
WITHOUT_TORCH = """
import sys
sys.modules["torch"] = None
import dpn_torch
import dpn_torch.config
import dpn_torch.keys
from dpn_torch import MODEL_CONFIGS, DPNConfig, DPNConversionError
from dpn_torch.config import CLASSIFIER_NAMES
from dpn_torch.keys import infer_config, torch_key_to_mxnet
assert MODEL_CONFIGS["dpn68b"].b and isinstance(MODEL_CONFIGS["dpn92"], DPNConfig)
assert issubclass(DPNConversionError, ValueError) and CLASSIFIER_NAMES == ("fc6", "fc6-1k")
assert torch_key_to_mxnet("classifier.weight", b=False) == "arg:fc6_weight"
print("numpy" in sys.modules)
try:
    dpn_torch.dpn92
except ImportError:
    print("dpn92 needs torch")
"""


def _run(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)


def test_vocabulary_imports_without_torch_or_numpy() -> None:
    done = _run(WITHOUT_TORCH)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["False", "dpn92 needs torch"]


def test_public_names_resolve_lazily() -> None:
    pytest.importorskip("torch")
    code = ("import sys, dpn_torch\n"
            "assert 'torch' not in sys.modules and 'dpn_torch.model' not in sys.modules\n"
            "from dpn_torch import dpn92, load_mxnet, DPN\n"
            "assert 'torch' in sys.modules and dpn92 is dpn_torch.model.dpn92\n"
            "print(sorted(n for n in dpn_torch.__all__ if getattr(dpn_torch, n) is None))\n"
            "print(dpn_torch.keys.KEY_RULES is dpn_torch.keys.KEY_RULES, 'keys' in dir(dpn_torch))\n")
    done = _run(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["[]", "True True"]


def test_unknown_and_removed_names() -> None:
    import dpn_torch

    for name in ("nothing_here", "KEY_RULES", "resolve_params_path"):  # the last: ndparse's own
        with pytest.raises(AttributeError, match=name):
            getattr(dpn_torch, name)
    assert set(dpn_torch.__all__) <= set(dir(dpn_torch))
    assert len(dpn_torch.__all__) == len(set(dpn_torch.__all__)) == 19
