"""Export a model to a self-contained artifact and prove it computes what the model computes.

Formats, chosen by the output's extension (:data:`FORMATS`):

- ``.pt2``: a ``torch.export`` ExportedProgram; ``torch.export.load(path).module()`` runs it with
  torch alone. With ``aot=True`` the same file also holds the program compiled ahead of time by
  AOTInductor for this CPU (weights frozen into it: BatchNorm folded, oneDNN convolutions with their
  activations and residual adds fused, as the eager model's fast path runs them);
  ``torch._inductor.aoti_load_package(path)`` runs that one, also with torch alone and no compiler. The
  plain program runs every aten op unfused, slower than the eager model on CPU; the compiled one runs at
  its speed. Compiling needs a C++ compiler and takes tens of seconds per model. The compiled model
  checks its input shapes only when ``AOTI_RUNTIME_CHECK_INPUTS=1`` is in the environment (torch's
  switch; the check here sets it): without dynamic axes, feed it the exported shapes.
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
import re
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
    batches: tuple[int, ...] = ()       # the batch sizes run (dim 0 of the first input)
    tolerance: float = VERIFY_TOLERANCE
    shapes: tuple[str, ...] = ()        # every input shape set run, e.g. "data=1x3x12x12"
    dynamic: dict[str, tuple[int, ...]] = field(default_factory=dict)  # input -> its dynamic axes
    axis_names: dict[str, str] = field(default_factory=dict)  # "input:axis" -> the ONNX/exported name
    compiled: dict[str, float] = field(default_factory=dict)  # the same for the AOT-compiled model (aot=True)

    @property
    def worst(self) -> float:
        return max([*self.errors.values(), *self.compiled.values()], default=0.0)

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
    """``max|got - ref| / max|ref|`` in float64 over the finite entries (the absolute error when ``ref`` is
    all zero). Non-finite entries must match exactly: the same infinity, or NaN against NaN, at the same
    place (a detector's box head can overflow to inf in both); any other mismatch is an infinite error."""
    if got.shape != ref.shape:
        return float("inf")
    if ref.size == 0:
        return 0.0
    g = got.astype(np.float64)
    r = ref.astype(np.float64)
    fin_g, fin_r = np.isfinite(g), np.isfinite(r)
    if not (fin_g.all() and fin_r.all()):
        if not np.array_equal(fin_g, fin_r):
            return float("inf")
        odd = ~fin_r
        same = (np.isnan(g[odd]) & np.isnan(r[odd])) | (g[odd] == r[odd])
        if not same.all():
            return float("inf")
        g, r = g[fin_r], r[fin_r]
        if r.size == 0:
            return 0.0
    scale = float(np.max(np.abs(r)))
    diff = float(np.max(np.abs(g - r)))
    return diff / scale if scale > 0 else diff


def seeded_inputs(shapes: Sequence[Sequence[int]], *, seed: int = VERIFY_SEED,
                  dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, ...]:
    """One N(0, 1) tensor per shape, from ``torch.Generator().manual_seed(seed)``, in order."""
    gen = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(*shape, generator=gen).to(dtype) for shape in shapes)


def _batch_of(inputs: Sequence[torch.Tensor]) -> int:
    return int(inputs[0].shape[0]) if inputs and inputs[0].dim() > 0 else 1


def _outputs(model: torch.nn.Module, inputs: Sequence[torch.Tensor]) -> list[np.ndarray]:
    """The model's outputs as numpy, with ties of topk/sort/argsort in position order: the order an exported
    program computes (the in-memory model replays MXNet's CPU order, which a traced graph cannot)."""
    from .ops.indexing import position_order_ties

    with torch.inference_mode(), position_order_ties():
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


def resolve_dynamic(input_names: Sequence[str], ranks: Sequence[int], dynamic_batch: bool = False,
                    dynamic: Mapping[str, Sequence[int]] | None = None) -> dict[str, tuple[int, ...]]:
    """The dynamic axes of each input: ``dynamic`` ({input name: axes}, negative axes counted from the
    end) plus axis 0 of every input for ``dynamic_batch``. Raises ValueError for an unknown input or
    an axis the input does not have."""
    out: dict[str, set[int]] = {}
    if dynamic_batch:
        for name, rank in zip(input_names, ranks):
            if rank > 0:
                out.setdefault(name, set()).add(0)
    for name, axes in (dynamic or {}).items():
        if name not in input_names:
            raise ValueError(f"dynamic axes for {name!r}: the model has no input {name!r} "
                             f"(its inputs: {', '.join(input_names)})")
        rank = ranks[list(input_names).index(name)]
        for a in ([axes] if isinstance(axes, int) else axes):
            if isinstance(a, bool) or not isinstance(a, int) or not -rank <= a < rank:
                raise ValueError(f"dynamic axis {a!r} of input {name!r}: it has {rank} dimensions")
            out.setdefault(name, set()).add(a % rank)
    return {n: tuple(sorted(out[n])) for n in input_names if out.get(n)}


def _dynamic_shapes(model: torch.nn.Module, input_names: Sequence[str],
                    dyn: Mapping[str, tuple[int, ...]]) -> tuple[Any, ...] | None:
    """torch.export's ``dynamic_shapes`` for the axes in ``dyn``, shaped like ``model.forward``'s
    signature (``MXNetModel.forward`` takes ``*inputs``: one nested tuple; an ordinary
    ``forward(x)``: one spec per argument)."""
    if not dyn:
        return None
    specs = tuple({a: torch.export.Dim.DYNAMIC for a in dyn[n]} if n in dyn else None for n in input_names)
    params = list(inspect.signature(model.forward).parameters.values())
    if params and params[0].kind is inspect.Parameter.VAR_POSITIONAL:
        return (specs,)
    return specs


def _exported_program(model: torch.nn.Module, inputs: tuple[torch.Tensor, ...], input_names: Sequence[str],
                      dyn: Mapping[str, tuple[int, ...]]) -> torch.export.ExportedProgram:
    oblivious = contextlib.nullcontext()
    config = getattr(getattr(torch.fx, "experimental", None), "_config", None)
    if dyn and config is not None and hasattr(config, "backed_size_oblivious"):
        # no guard "this size is (not) 1" from torch's contiguity checks: the program stays valid for
        # every size, also where a computed size is 1 (a P-Net's output at 12x12)
        oblivious = config.patch(backed_size_oblivious=True)
    with _quiet_exporters(), oblivious:
        return torch.export.export(model, inputs, dynamic_shapes=_dynamic_shapes(model, input_names, dyn))


def _axis_symbols(program: torch.export.ExportedProgram, input_names: Sequence[str],
                  dyn: Mapping[str, tuple[int, ...]]) -> dict[tuple[str, int], str]:
    """(input, axis) -> the exporter's symbol for that size (``s33``); equal sizes share a symbol."""
    user = list(program.graph_signature.user_inputs)
    vals = {n.name: n.meta.get("val") for n in program.graph.nodes if n.op == "placeholder"}
    out: dict[tuple[str, int], str] = {}
    for name, ph in zip(input_names, user):
        shape = getattr(vals.get(ph), "shape", None)
        for a in dyn.get(name, ()):
            if shape is not None and a < len(shape):
                out[(name, a)] = str(shape[a])
    return out


def _axis_names(symbols: Mapping[tuple[str, int], str]) -> dict[str, str]:
    """The exporter's symbol -> a readable name: ``batch`` for axis 0, else ``<input>_dim<axis>`` of
    the first input using it."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for (name, axis), sym in sorted(symbols.items(), key=lambda kv: (kv[0][1] != 0, kv[0][1])):
        if sym in names or not re.fullmatch(r"s\d+", sym):
            continue
        ident = re.sub(r"\W", "_", name)
        base = "batch" if axis == 0 else f"{ident}_dim{axis}"
        cand, k = base, 2
        while cand in taken:
            cand, k = f"{base}{k}", k + 1
        taken.add(cand)
        names[sym] = cand
    return names


def _rename_onnx_dims(proto: Any, names: Mapping[str, str]) -> None:
    """Replace the exporter's size symbols (``s33``, also inside ``((s69//2)) - 5``) by their names
    in every value's shape of the ONNX graph."""
    if not names:
        return
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")

    def fix(values: Any) -> None:
        for v in values:
            t = v.type.tensor_type if v.type.HasField("tensor_type") else None
            if t is None or not t.HasField("shape"):
                continue
            for d in t.shape.dim:
                if d.dim_param:
                    d.dim_param = pattern.sub(lambda m: names[m.group(1)], d.dim_param)

    g = proto.graph
    fix(g.input)
    fix(g.output)
    fix(g.value_info)


def _onnx_bytes(program: torch.export.ExportedProgram, inputs: tuple[torch.Tensor, ...],
                input_names: Sequence[str], output_names: Sequence[str], opset: int,
                dim_names: Mapping[str, str]) -> bytes:
    with _quiet_exporters():
        onnx_program = torch.onnx.export(program, inputs, dynamo=True, opset_version=opset,
                                         input_names=list(input_names), output_names=list(output_names),
                                         verbose=False)
        proto = onnx_program.model_proto
    _rename_onnx_dims(proto, dim_names)
    return proto.SerializeToString()


@contextlib.contextmanager
def _progress(label: str, enabled: bool) -> Iterator[None]:
    """``label ... 12 s`` on stderr, rewritten each second while the block runs, then erased (only
    when ``enabled``: the CLI enables it when stderr is a terminal)."""
    if not enabled:
        yield
        return
    import threading
    import time
    stop = threading.Event()
    start = time.monotonic()
    stream = sys.stderr

    def tick() -> None:
        while not stop.wait(1.0):
            stream.write(f"\r{label} ... {time.monotonic() - start:.0f} s")
            stream.flush()

    stream.write(f"\r{label} ...")
    stream.flush()
    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        stream.write("\r\033[K")
        stream.flush()


_SPECIALIZED = ("Constraints violated", "specializ", "Not all values of", "marked", "Guard failed",
                "inconsistent")


def _clipped(text: str, limit: int = 240) -> str:
    """``text`` on one line (runs of whitespace as one space), at most ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _export_failure(exc: BaseException, fmt: str, dyn: Mapping[str, tuple[int, ...]],
                    input_names: Sequence[str]) -> str:
    """One line from an exporter's multi-page error, naming the MXNet node when an op refused, with a
    hint when the graph fixes a size that was asked to be dynamic."""
    text = " ".join(str(exc).split())
    for marker in ("Exception summary", "<class"):
        if marker in text:
            text = text.split(marker, 1)[1]
    text = text.split("For more information", 1)[0].split("The error above", 1)[0].strip(" :>'")
    symbolic = re.search(r"\bs\d+\b", text) is not None
    text = _clipped(re.sub(r"\bs\d+\b", "N", text))  # the exporter's size symbols mean nothing to the user
    cause: BaseException | None = exc
    node = None
    while cause is not None and node is None:
        node = getattr(cause, "mxnet_node", None)
        cause = cause.__cause__ or cause.__context__
    where = f" at {node[0]} node {node[1]!r}" if node else ""
    hint = ""
    if dyn and (symbolic or any(k in text for k in _SPECIALIZED)):
        axes = "; ".join(f"{n}: axis {', '.join(map(str, a))}" for n, a in dyn.items())
        flags = "without --dynamic-batch" if all(a == (0,) for a in dyn.values()) else \
            "without --dynamic-batch, or with fewer --dynamic axes"
        hint = f" (the graph fixes a size asked to be dynamic ({axes}): export {flags})"
    return f"cannot export to {fmt}{where}: {type(exc).__name__}: {text}{hint}"


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
n_feeds = int(data["n_feeds"])
result = {}
if fmt in ("pt2", "aoti"):
    import torch
    if fmt == "pt2":
        module = torch.export.load(artifact).module()
    else:
        import torch._inductor
        module = torch._inductor.aoti_load_package(artifact)
    for f in range(n_feeds):
        ins = [torch.from_numpy(data[f"in{f}_{i}"]) for i in range(n)]
        with torch.inference_mode():
            out = module(*ins)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        for j, o in enumerate(outs):
            result[f"out{f}_{j}"] = o.detach().numpy()
else:
    import onnxruntime as ort
    session = ort.InferenceSession(artifact, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    for f in range(n_feeds):
        outs = session.run(None, {names[i]: data[f"in{f}_{i}"] for i in range(n)})
        for j, o in enumerate(outs):
            result[f"out{f}_{j}"] = o
np.savez(sys.argv[5], **result)
"""


def _aot_package(program: torch.export.ExportedProgram, freeze: bool = True) -> bytes:
    """A .pt2 archive holding ``program`` and its AOTInductor compilation for CPU under one model name, so
    that ``torch.export.load`` and ``torch._inductor.aoti_load_package`` each find theirs. Weights are frozen
    (inductor folds them into constants and packs convolution weights for oneDNN), which inductor does only
    outside autograd."""
    import torch._inductor
    from torch.export.pt2_archive._package import package_pt2

    try:
        with torch.no_grad(), _quiet_exporters():
            files = torch._inductor.aot_compile(program.module(check_guards=False), *program.example_inputs,
                                                options={"aot_inductor.package": True, "freezing": freeze})
    except Exception as exc:  # inductor and the C++ toolchain raise many types; the user needs one line
        text = _clipped(str(exc)) or type(exc).__name__
        hint = " (ahead-of-time compilation needs a C++ compiler: install g++ or set CXX)" if \
            re.search(r"compiler|g\+\+|c\+\+|CXX", text, re.IGNORECASE) else ""
        raise ExportError(f"cannot compile the .pt2 ahead of time: {type(exc).__name__}: {text}{hint}") from exc
    buf = io.BytesIO()
    with _quiet_archive():
        package_pt2(buf, exported_programs={"model": program}, aoti_files={"model": files})
    return buf.getvalue()


@contextlib.contextmanager
def _quiet_archive() -> Iterator[None]:
    """torch's .pt2 writer warns about weights "not on CPU" when a weight is a non-contiguous view (an
    optimized model's channels_last weights); every weight here is on the CPU and is stored whole."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No complete tensor found")
        yield


def _run_isolated(fmt: str, artifact: str, feeds: Sequence[Sequence[np.ndarray]]) -> list[list[np.ndarray]]:
    blocked = list(_OURS) + (["torch"] if fmt == "onnx" else [])
    with tempfile.TemporaryDirectory(prefix="mxtorch-check-") as tmp:
        io_path = os.path.join(tmp, "inputs.npz")
        out_path = os.path.join(tmp, "outputs.npz")
        arrays: dict[str, np.ndarray] = {"n_inputs": np.array(len(feeds[0])), "n_feeds": np.array(len(feeds))}
        for f, ins in enumerate(feeds):
            for i, a in enumerate(ins):
                arrays[f"in{f}_{i}"] = a
        np.savez(io_path, **arrays)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["AOTI_RUNTIME_CHECK_INPUTS"] = "1"  # a compiled model refuses shapes it was not compiled for
        proc = subprocess.run([sys.executable, "-c", _RUNNER, fmt, artifact, io_path, ",".join(blocked),
                               out_path], capture_output=True, text=True, env=env, cwd=tmp)
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
            runtime = {"onnx": "onnxruntime", "pt2": "torch.export.load"}.get(fmt, "torch._inductor.aoti_load_package")
            raise VerificationError(f"the written {fmt} file does not run under {runtime} alone: {tail}")
        with np.load(out_path) as got:
            return [[got[k] for k in sorted((k for k in got.files if k.startswith(f"out{f}_")),
                                            key=lambda k: int(k.rsplit("_", 1)[1]))]
                    for f in range(len(feeds))]


def _resized(inputs: Sequence[torch.Tensor], sizes: Mapping[tuple[int, int], int], seed: int) -> tuple[torch.Tensor, ...]:
    """Fresh seeded inputs like ``inputs`` with the sizes ``{(input index, axis): size}`` changed."""
    shapes = []
    for k, t in enumerate(inputs):
        shape = list(t.shape)
        for (i, a), n in sizes.items():
            if i == k:
                shape[a] = n
        shapes.append(shape)
    fresh = seeded_inputs(shapes, seed=seed)
    return tuple(f.to(t.dtype) for f, t in zip(fresh, inputs))


def _shape_text(names: Sequence[str], inputs: Sequence[torch.Tensor]) -> str:
    return ", ".join(f"{n}={'x'.join(map(str, t.shape))}" for n, t in zip(names, inputs))


def export(model: torch.nn.Module, path: str | os.PathLike[str], example_inputs: Sequence[torch.Tensor] = (), *,
           input_names: Sequence[str] | None = None, output_names: Sequence[str] | None = None,
           dynamic_batch: bool = False, dynamic: Mapping[str, Sequence[int]] | None = None,
           verify: bool = True, tolerance: float = VERIFY_TOLERANCE, opset: int = ONNX_OPSET,
           progress: bool = False, aot: bool = False) -> ExportCheck | None:
    """Write ``model`` to ``path`` in the format its extension names; return what the check measured.

    ``example_inputs`` are the inputs export traces with (and the check runs on); ``input_names`` /
    ``output_names`` name the ONNX graph's values (default: the model's own ``input_names`` /
    ``output_names``, as an `MXNetModel` has them, else ``input_0, ...`` / ``output_0, ...``).
    Dynamic sizes: ``dynamic={input name: (axes...)}`` (e.g. ``{"data": (0, 2, 3)}`` for a fully
    convolutional net) and/or ``dynamic_batch`` (axis 0 of every input); the ONNX graph names them
    (``batch``, ``data_dim2``, ...) and the check runs the artifact at a second size of each.
    ``.pth``/``.safetensors`` hold the state_dict (see `write_state_dict`; weights, not a graph, so
    there is nothing to run and no input is needed). ``progress``: a progress line on stderr while
    exporting and checking (the CLI sets it when stderr is a terminal). ``aot`` (``.pt2`` only): the file
    also holds the program compiled by AOTInductor for CPU (see the module docstring), checked like the
    program when ``verify``; it runs only at the traced shapes unless they are dynamic. Returns ``None`` when nothing
    was run (``verify=False`` or a weights-only format). Raises ``ValueError`` for an unknown
    extension or dynamic axis, ``ExportError`` when torch cannot export the model (one line, with a
    hint when the graph fixes a size asked to be dynamic), and ``VerificationError`` when the
    artifact's outputs differ from the model's by more than ``tolerance`` (``path`` is then untouched).
    """
    out = Path(path)
    fmt = format_of(out)
    if aot and fmt != "pt2":
        raise ValueError(f"{out}: ahead-of-time compilation (aot) writes a .pt2 file, not .{fmt}")
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
    names = list(input_names)
    dyn = resolve_dynamic(names, [t.dim() for t in inputs], dynamic_batch, dynamic)
    index = {n: k for k, n in enumerate(names)}
    # torch.export specialises a dynamic size whose example is 0 or 1: trace a batch of 1 with 2 (sizes
    # computed from the inputs, e.g. a fully convolutional net's 1x1 output, are kept general by
    # tracing size-obliviously, see _exported_program)
    bump = {(index[n], 0): 2 for n, axes in dyn.items() if 0 in axes and inputs[index[n]].shape[0] < 2}
    traced = _resized(inputs, bump, VERIFY_SEED + 2) if bump else inputs
    check = ExportCheck(fmt=fmt, tolerance=tolerance, dynamic=dict(dyn))
    try:
        with _progress(f"mxtorch: exporting to .{fmt}", progress):
            program = _exported_program(model, traced, names, dyn)
            symbols = _axis_symbols(program, names, dyn)
            dim_names = _axis_names(symbols)
            check.axis_names = {f"{n}:{a}": dim_names.get(sym, sym) for (n, a), sym in symbols.items()}
            if fmt == "pt2" and not aot:
                buf = io.BytesIO()
                with _quiet_archive():
                    torch.export.save(program, buf)
                payload = buf.getvalue()
            else:
                taken = set(names) | {k for k, _ in model.named_parameters()} | {k for k, _ in model.named_buffers()}
                names_out = _unique_names(output_names, taken)
                payload = _onnx_bytes(program, traced, names, names_out, opset, dim_names)
    except Exception as exc:  # torch's exporters raise many types; the user needs one line
        raise ExportError(_export_failure(exc, fmt, dyn, names)) from exc
    if aot:
        with _progress("mxtorch: compiling the .pt2 ahead of time (AOTInductor)", progress):
            payload = _aot_package(program)

    # the check: the example inputs, then for each distinct dynamic size (inputs sharing a size
    # change together) a second size: batch + 1, other axes 2n + 1 (another parity)
    feeds: list[tuple[torch.Tensor, ...]] = [inputs]
    groups: dict[str, list[tuple[int, int]]] = {}
    for (n, a), sym in symbols.items():
        groups.setdefault(sym, []).append((index[n], a))
    for members in groups.values():
        i0, a0 = members[0]
        base = int(inputs[i0].shape[a0])
        new = base + 1 if a0 == 0 else 2 * base + 1
        feeds.append(_resized(inputs, {m: new for m in members}, VERIFY_SEED + len(feeds)))

    def compare(runtime: str, tmp: str, expected: list[list[np.ndarray]], errors: dict[str, float]) -> None:
        got = _run_isolated(runtime, tmp, [[t.detach().cpu().numpy() for t in ins] for ins in feeds])
        for g_outs, e_outs in zip(got, expected):
            if len(g_outs) != len(e_outs):
                raise VerificationError(f"{out}: the artifact returns {len(g_outs)} outputs, the model "
                                        f"{len(e_outs)}", check)
            for name, g, e in zip(output_names, g_outs, e_outs):
                errors[name] = max(errors.get(name, 0.0), relative_error(g, e))

    def run_check(tmp: str) -> None:
        check.batches = tuple(sorted({_batch_of(ins) for ins in feeds}))
        check.shapes = tuple(_shape_text(names, ins) for ins in feeds)
        with _progress(f"mxtorch: verifying the .{fmt} file", progress):
            expected = [_outputs(model, ins) for ins in feeds]
            compare(fmt, tmp, expected, check.errors)
        if aot:
            with _progress("mxtorch: verifying the AOT-compiled model in the .pt2 file", progress):
                compare("aoti", tmp, expected, check.compiled)
        if not check.ok:
            which, errors = ("", check.errors) if check.worst in check.errors.values() else \
                ("the AOT-compiled model of ", check.compiled)
            worst = max(errors, key=errors.__getitem__)
            raise VerificationError(f"{out}: {which}the written {fmt} differs from the model: head {worst} has "
                                    f"relative error {errors[worst]:.3g} > {tolerance:g}; "
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
    """One line per head: ``verify: <head> max relative error <e> (batch sizes ...)``, or the input
    shapes run when an axis other than the batch is dynamic."""
    if any(a != 0 for axes in check.dynamic.values() for a in axes):
        sizes = "shapes " + "; ".join(check.shapes)
    else:
        sizes = "batch " + ", ".join(str(b) for b in check.batches)
    lines = [f"verify: {name}: max relative error {err:.3g} ({check.fmt} vs the model in memory, "
             f"{sizes}, tolerance {check.tolerance:g})" for name, err in check.errors.items()]
    return lines + [f"verify: {name}: max relative error {err:.3g} (the AOT-compiled {check.fmt} vs the model in "
                    f"memory, {sizes}, tolerance {check.tolerance:g})" for name, err in check.compiled.items()]


