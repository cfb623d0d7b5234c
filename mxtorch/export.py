"""Export a model to a self-contained artifact and prove it computes what the model computes.

Formats, chosen by the output's extension (:data:`FORMATS`):

- ``.pt2``: a ``torch.export`` ExportedProgram; ``torch.export.load(path).module()`` runs it with
  torch alone.
- ``.onnx``: torch's ONNX exporter (opset :data:`ONNX_OPSET`); onnxruntime runs it with numpy alone.
- ``.pth`` / ``.safetensors``: the state_dict under its MXNet names.

Every artifact is written through ndparse's atomic writer: the complete temporary file is checked
before it replaces anything. For ``.pt2`` and ``.onnx`` the check runs the artifact in a separate
Python process in which mxtorch, ndparse and dpn_torch cannot be imported (for ONNX, torch cannot
either), on the same seeded inputs as the in-memory model, and compares every head: the relative
error ``max|artifact - model| / max|model|`` must stay within the tolerance, or nothing is written.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import logging
import os
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ndparse.cli_support import OutputError, atomic_write, output_format

__all__ = [
    "FORMATS",
    "ONNX_OPSET",
    "VERIFY_SEED",
    "VERIFY_TOLERANCE",
    "ExportCheck",
    "ExportError",
    "VerificationError",
    "export",
    "format_of",
    "relative_error",
    "seeded_inputs",
    "write_state_dict",
]

FORMATS = ("pt2", "onnx", "pth", "safetensors")  # by extension: GRAPH_EXTENSIONS + ndparse's tensor files
GRAPH_EXTENSIONS = {".pt2": "pt2", ".onnx": "onnx"}  # the files only mxtorch writes
ONNX_OPSET = 18
VERIFY_SEED = 0
VERIFY_TOLERANCE = 1e-5
# Packages that must not be importable when an artifact is checked: the proof that it stands alone.
_OURS = ("mxtorch", "ndparse", "dpn_torch", "mxnet")


class ExportError(RuntimeError):
    """torch's exporter could not turn the model into the asked format (nothing was written)."""


class VerificationError(RuntimeError):
    """The written artifact does not compute what the in-memory model computes (nothing was written)."""

    def __init__(self, message: str, check: ExportCheck | None = None) -> None:
        super().__init__(message)
        self.check = check


@dataclass
class ExportCheck:
    """What the check of an artifact measured: per head, ``max|artifact - model| / max|model|``."""

    fmt: str
    errors: dict[str, float] = field(default_factory=dict)
    batches: tuple[int, ...] = ()
    tolerance: float = VERIFY_TOLERANCE

    @property
    def worst(self) -> float:
        return max(self.errors.values(), default=0.0)

    @property
    def ok(self) -> bool:
        return self.worst <= self.tolerance


def format_of(path: str | os.PathLike[str]) -> str:
    """The artifact format an output path asks for, by its extension; ValueError when unknown."""
    try:
        return output_format(path, None, FORMATS, GRAPH_EXTENSIONS)
    except OutputError as exc:
        raise ValueError(str(exc).replace(", or say which with --format", "")) from None


def relative_error(got: np.ndarray, ref: np.ndarray) -> float:
    """``max|got - ref| / max|ref|`` in float64 (the absolute error when ``ref`` is all zero)."""
    if got.shape != ref.shape:
        return float("inf")
    if ref.size == 0:
        return 0.0
    g = got.astype(np.float64)
    r = ref.astype(np.float64)
    scale = float(np.max(np.abs(r)))
    diff = float(np.max(np.abs(g - r)))
    if not np.isfinite(scale) or not np.isfinite(diff):
        same = np.array_equal(np.isnan(g), np.isnan(r)) and np.array_equal(g[~np.isnan(g)], r[~np.isnan(r)])
        return 0.0 if same else float("inf")
    return diff / scale if scale > 0 else diff


def seeded_inputs(shapes: Sequence[Sequence[int]], *, seed: int = VERIFY_SEED,
                  dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, ...]:
    """One N(0, 1) tensor per shape, from ``torch.Generator().manual_seed(seed)``, in order."""
    gen = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(*shape, generator=gen).to(dtype) for shape in shapes)


def _with_batch(inputs: Sequence[torch.Tensor], batch: int, seed: int) -> tuple[torch.Tensor, ...]:
    shapes = [(batch, *t.shape[1:]) for t in inputs]
    fresh = seeded_inputs(shapes, seed=seed + batch)
    return tuple(f.to(t.dtype) for f, t in zip(fresh, inputs))


def _batch_of(inputs: Sequence[torch.Tensor]) -> int:
    return int(inputs[0].shape[0]) if inputs and inputs[0].dim() > 0 else 1


def _outputs(model: torch.nn.Module, inputs: Sequence[torch.Tensor]) -> list[np.ndarray]:
    with torch.inference_mode():
        out = model(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o.detach().cpu().numpy() for o in outs]


def _unique_names(names: Sequence[str], taken: set[str]) -> list[str]:
    """ONNX value names must not repeat a parameter's or an input's name: add a suffix where they do."""
    result: list[str] = []
    for name in names:
        candidate, n = name, 1
        while candidate in taken:
            candidate, n = f"{name}__{n}", n + 1
        taken.add(candidate)
        result.append(candidate)
    return result


@contextlib.contextmanager
def _quiet_exporters() -> Iterator[None]:
    """torch's exporters log and warn about things that are not the user's concern (torchvision)."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "torch._dynamo",
                                              "torch.fx.experimental.symbolic_shapes", "onnxscript")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with contextlib.redirect_stdout(io.StringIO()):
                yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _dynamic_shapes(model: torch.nn.Module, n_inputs: int, dynamic_batch: bool) -> tuple[Any, ...] | None:
    """Dim 0 of every input dynamic, shaped like ``model.forward``'s signature (``MXNetModel.forward``
    takes ``*inputs``: one nested tuple; an ordinary ``forward(x)``: one spec per argument)."""
    if not dynamic_batch:
        return None
    specs = tuple({0: torch.export.Dim.DYNAMIC} for _ in range(n_inputs))
    params = list(inspect.signature(model.forward).parameters.values())
    if params and params[0].kind is inspect.Parameter.VAR_POSITIONAL:
        return (specs,)
    return specs


def _exported_program(model: torch.nn.Module, inputs: tuple[torch.Tensor, ...],
                      dynamic_batch: bool) -> torch.export.ExportedProgram:
    with _quiet_exporters():
        return torch.export.export(model, inputs, dynamic_shapes=_dynamic_shapes(model, len(inputs), dynamic_batch))


def _onnx_bytes(model: torch.nn.Module, inputs: tuple[torch.Tensor, ...], input_names: Sequence[str],
                output_names: Sequence[str], dynamic_batch: bool, opset: int) -> bytes:
    with _quiet_exporters():
        program = torch.onnx.export(model, inputs, dynamo=True, opset_version=opset,
                                    input_names=list(input_names), output_names=list(output_names),
                                    dynamic_shapes=_dynamic_shapes(model, len(inputs), dynamic_batch),
                                    verbose=False)
        return program.model_proto.SerializeToString()


def _export_failure(exc: BaseException, fmt: str, dynamic_batch: bool) -> str:
    """One sentence from an exporter's multi-page error."""
    text = " ".join(str(exc).split())
    for marker in ("Exception summary", "<class"):
        if marker in text:
            text = text.split(marker, 1)[1]
    text = text.split("For more information", 1)[0].split("The error above", 1)[0].strip(" :>'")
    if len(text) > 300:
        text = text[:297] + "..."
    hint = ""
    if dynamic_batch and any(k in text for k in ("Constraints violated", "specializ", "batch", "dim")):
        hint = " (the graph fixes its batch size: export without --dynamic-batch)"
    return f"cannot export to {fmt}: {type(exc).__name__}: {text}{hint}"


# Runs in a separate process: our packages are made unimportable first, so the artifact is proven
# to run with torch alone (.pt2) or with onnxruntime and numpy alone (.onnx).
_RUNNER = r"""
import sys
blocked = sys.argv[4].split(",")
for name in blocked:
    sys.modules[name] = None
import numpy as np
fmt, artifact, io_path = sys.argv[1], sys.argv[2], sys.argv[3]
data = np.load(io_path)
n = int(data["n_inputs"])
batches = [int(b) for b in data["batches"]]
result = {}
if fmt == "pt2":
    import torch
    module = torch.export.load(artifact).module()
    for b in batches:
        ins = [torch.from_numpy(data[f"in{b}_{i}"]) for i in range(n)]
        with torch.inference_mode():
            out = module(*ins)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        for j, o in enumerate(outs):
            result[f"out{b}_{j}"] = o.detach().numpy()
else:
    import onnxruntime as ort
    session = ort.InferenceSession(artifact, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    for b in batches:
        outs = session.run(None, {names[i]: data[f"in{b}_{i}"] for i in range(n)})
        for j, o in enumerate(outs):
            result[f"out{b}_{j}"] = o
np.savez(sys.argv[5], **result)
"""


def _run_isolated(fmt: str, artifact: str, feeds: Mapping[int, Sequence[np.ndarray]]) -> dict[int, list[np.ndarray]]:
    blocked = list(_OURS) + (["torch"] if fmt == "onnx" else [])
    with tempfile.TemporaryDirectory(prefix="mxtorch-check-") as tmp:
        io_path = os.path.join(tmp, "inputs.npz")
        out_path = os.path.join(tmp, "outputs.npz")
        arrays: dict[str, np.ndarray] = {"n_inputs": np.array(len(next(iter(feeds.values())))),
                                         "batches": np.array(sorted(feeds))}
        for b, ins in feeds.items():
            for i, a in enumerate(ins):
                arrays[f"in{b}_{i}"] = a
        np.savez(io_path, **arrays)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        proc = subprocess.run([sys.executable, "-c", _RUNNER, fmt, artifact, io_path, ",".join(blocked),
                               out_path], capture_output=True, text=True, env=env, cwd=tmp)
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
            runtime = "onnxruntime" if fmt == "onnx" else "torch.export.load"
            raise VerificationError(f"the written {fmt} file does not run under {runtime} alone: {tail}")
        with np.load(out_path) as got:
            return {b: [got[k] for k in sorted((k for k in got.files if k.startswith(f"out{b}_")),
                                                key=lambda k: int(k.rsplit("_", 1)[1]))]
                    for b in feeds}


def export(model: torch.nn.Module, path: str | os.PathLike[str], example_inputs: Sequence[torch.Tensor] = (), *,
           input_names: Sequence[str] | None = None, output_names: Sequence[str] | None = None,
           dynamic_batch: bool = False, verify: bool = True, tolerance: float = VERIFY_TOLERANCE,
           opset: int = ONNX_OPSET) -> ExportCheck | None:
    """Write ``model`` to ``path`` in the format its extension names; return what the check measured.

    ``example_inputs`` are the inputs export traces with (and the check runs on, with a second batch
    size when ``dynamic_batch``); ``input_names`` / ``output_names`` name the ONNX graph's values
    (default: the model's own ``input_names`` / ``output_names``, as an `MXNetModel` has them, else
    ``input_0, ...`` / ``output_0, ...``). ``.pth``/``.safetensors`` hold the state_dict (see
    `write_state_dict`; weights, not a graph, so there is nothing to run and no input is needed).
    Returns ``None`` when nothing was run (``verify=False`` or a weights-only format). Raises
    ``ValueError`` for an unknown extension, ``VerificationError`` when the artifact's outputs
    differ from the model's by more than ``tolerance`` (``path`` is then untouched), ``ExportError``
    when the model cannot be exported.
    """
    out = Path(path)
    fmt = format_of(out)
    if fmt in ("pth", "safetensors"):
        write_state_dict(model, out, fmt)
        return None
    if input_names is None:
        input_names = getattr(model, "input_names", None) or [f"input_{i}" for i in range(len(example_inputs))]
    if output_names is None:
        output_names = getattr(model, "output_names", None) or [
            f"output_{i}" for i in range(len(_outputs(model.eval(), tuple(example_inputs))))]
    model = model.eval()
    inputs = tuple(example_inputs)
    # torch.export specialises a dimension whose example size is 1: trace a dynamic batch with 2
    traced = _with_batch(inputs, 2, VERIFY_SEED) if dynamic_batch and _batch_of(inputs) == 1 else inputs
    try:
        if fmt == "pt2":
            program = _exported_program(model, traced, dynamic_batch)
            buf = io.BytesIO()
            torch.export.save(program, buf)
            payload = buf.getvalue()
        else:
            taken = set(input_names) | {k for k, _ in model.named_parameters()} | {k for k, _ in model.named_buffers()}
            names_out = _unique_names(output_names, taken)
            payload = _onnx_bytes(model, traced, input_names, names_out, dynamic_batch, opset)
    except Exception as exc:  # torch's exporters raise many types; the user needs one line
        raise ExportError(_export_failure(exc, fmt, dynamic_batch)) from exc

    check = ExportCheck(fmt=fmt, tolerance=tolerance)
    batch = _batch_of(inputs)

    def run_check(tmp: str) -> None:
        feeds: dict[int, tuple[torch.Tensor, ...]] = {batch: inputs}
        if dynamic_batch:
            feeds[batch + 1] = _with_batch(inputs, batch + 1, VERIFY_SEED)
        expected = {b: _outputs(model, ins) for b, ins in feeds.items()}
        got = _run_isolated(fmt, tmp, {b: [t.detach().cpu().numpy() for t in ins] for b, ins in feeds.items()})
        check.batches = tuple(sorted(feeds))
        for b in feeds:
            if len(got[b]) != len(expected[b]):
                raise VerificationError(f"{out}: the artifact returns {len(got[b])} outputs, the model "
                                        f"{len(expected[b])}", check)
            for name, g, e in zip(output_names, got[b], expected[b]):
                check.errors[name] = max(check.errors.get(name, 0.0), relative_error(g, e))
        if not check.ok:
            worst = max(check.errors, key=check.errors.__getitem__)
            raise VerificationError(f"{out}: the written {fmt} differs from the model: head {worst} has "
                                    f"relative error {check.errors[worst]:.3g} > {tolerance:g}; "
                                    "nothing was written", check)

    with atomic_write(out, verify=run_check if verify else None) as f:
        f.write(payload)
    return check if verify else None


def write_state_dict(model: torch.nn.Module, path: str | os.PathLike[str], fmt: str | None = None, *,
                     source: str | None = None) -> dict[str, torch.Tensor]:
    """Write ``model``'s state_dict as ``.pth``/``.safetensors`` (by extension, or ``fmt``), re-read
    and compared bit for bit before it replaces anything; returns what was written.

    An `MXNetModel`'s keys are written as the MXNet variable names (``unescape_name``); safetensors
    metadata records ``source`` (when given), the format and the writer.
    """
    from ndparse.cli_support import __version__, write_checked

    from .model import MXNetModel, unescape_name

    fmt = fmt or format_of(path)
    plain = not isinstance(model, MXNetModel)
    state = {(key if plain else unescape_name(key)): t.detach() for key, t in model.state_dict().items()}
    meta = {"format": "state_dict" + ("" if plain else " with MXNet variable names"),
            "converted_by": f"mxtorch {__version__}"}
    if source is not None:
        meta = {"source": source, **meta}
    write_checked(path, state, fmt, metadata=meta if fmt == "safetensors" else None)
    return state


def describe(check: ExportCheck) -> list[str]:
    """One line per head: ``verify: <head> max relative error <e> (batch sizes ...)``."""
    sizes = ", ".join(str(b) for b in check.batches)
    return [f"verify: {name}: max relative error {err:.3g} ({check.fmt} vs the model in memory, "
            f"batch {sizes}, tolerance {check.tolerance:g})" for name, err in check.errors.items()]


