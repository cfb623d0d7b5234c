"""Test archives in the layouts users download MXNet models in, built from a fixture checkpoint.

- SageMaker built-in algorithms (image classification): ``model.tar.gz`` holding
  ``image-classification-symbol.json``, ``image-classification-NNNN.params`` and ``model-shapes.json``
  (``[{"shape": [1, 3, 224, 224], "name": "data"}]``).
- MXNet Model Server 0.x: a ``.model`` zip with ``MANIFEST.json`` (``Model.Symbol``,
  ``Model.Parameters``, ``Model.Signature``) and ``signature.json`` (``inputs``: ``data_name``,
  ``data_shape`` with 0 for "any batch").
- Model Server 1.0: a ``.mar`` zip with ``MAR-INF/MANIFEST.json`` (``model.serializedFile``) and the
  model files beside it (the symbol found by its name).
"""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path


def _files(prefix: Path, epoch: int) -> tuple[bytes, bytes]:
    sym = Path(f"{prefix}-symbol.json").read_bytes()
    params = Path(f"{prefix}-0000.params").read_bytes()
    return sym, params


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def sagemaker(prefix: Path, out: Path, shape: list[int], *, epoch: int = 10, name: str = "image-classification",
              extra: dict[str, bytes] | None = None) -> Path:
    """``model.tar.gz`` as SageMaker's image classification algorithm writes it."""
    sym, params = _files(prefix, epoch)
    with tarfile.open(out, "w:gz") as tar:
        _add(tar, f"{name}-symbol.json", sym)
        _add(tar, f"{name}-{epoch:04d}.params", params)
        _add(tar, "model-shapes.json", json.dumps([{"shape": shape, "name": "data"}]).encode())
        for k, v in (extra or {}).items():
            _add(tar, k, v)
    return out


def mms_model(prefix: Path, out: Path, shape: list[int], *, manifest: dict | None = None) -> Path:
    """A Model Server 0.x ``.model`` zip (MANIFEST.json names the files; signature.json the shapes)."""
    sym, params = _files(prefix, 0)
    name = prefix.name
    doc = manifest or {"Engine": {"MXNet": 1.9}, "Model-Archive-Version": 0.2,
                       "Model": {"Symbol": f"{name}-symbol.json", "Parameters": f"{name}-0000.params",
                                 "Signature": "signature.json", "Model-Name": name, "Service": "mxnet_vision_service.py"}}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("MANIFEST.json", json.dumps(doc))
        z.writestr(f"{name}-symbol.json", sym)
        z.writestr(f"{name}-0000.params", params)
        z.writestr("signature.json", json.dumps({"input_type": "image/jpeg", "inputs": [
            {"data_name": "data", "data_shape": [0, *shape[1:]]}], "outputs": [{"data_name": "softmax"}]}))
        z.writestr("synset.txt", "a\nb\n")
    return out


def mar(prefix: Path, out: Path) -> Path:
    """A Model Server 1.0 ``.mar`` zip: MAR-INF/MANIFEST.json plus the model files."""
    sym, params = _files(prefix, 0)
    name = prefix.name
    doc = {"runtime": "python", "model": {"modelName": name, "serializedFile": f"{name}-0000.params",
                                          "handler": "mxnet_vision_service:handle", "modelVersion": "1.0"},
           "modelServerVersion": "1.0", "implementationVersion": "1.0", "specificationVersion": "1.0"}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("MAR-INF/MANIFEST.json", json.dumps(doc))
        z.writestr(f"{name}-symbol.json", sym)
        z.writestr(f"{name}-0000.params", params)
        z.writestr("mxnet_vision_service.py", "# handler\n")
    return out
