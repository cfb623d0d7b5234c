"""Issue 22 (what a new user hit): slim-install convert, input dtype and rank, the unsupported-op report,
`mxtorch check`, custom ops, dynamic axes, progress lines. Each test failed before its fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
NET = ROOT / "fixtures" / "mxtorch" / "net"


def _py(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd)


# --- 22.1: convert without torch says which extra, like run --------------------------------------

@pytest.mark.parametrize("out", ["m.pt2", "m.onnx", "m.safetensors"])
def test_convert_without_torch_names_the_extra(tmp_path: Path, out: str) -> None:
    code = ("import sys; sys.modules['torch'] = None\n"
            "from mxtorch.cli import main\n"
            f"sys.exit(main(['convert', {str(NET / 'resnet_v1')!r}, '--input', 'data=1,3,32,32', "
            f"'-o', {out!r}]))\n")
    proc = _py(code, tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == ("mxtorch: error: converting an MXNet graph needs torch, which is not "
                                   "installed: pip install 'ndparse[torch]'")
    assert not (tmp_path / out).exists()
