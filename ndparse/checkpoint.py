"""Checkpoints as MXNet loads them (`load_checkpoint` with a Symbol) and checking one against its
graph without running it (`check_checkpoint`)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Mapping

from . import constants as C
from .errors import NDFormatError, NDFormatWarning
from .reader import load
from .symbol import Node, Symbol, load_symbol

__all__ = ["check_checkpoint", "load_checkpoint", "split_checkpoint_params", "symbol_path"]

def symbol_path(params: str | os.PathLike[str], prefix: str | os.PathLike[str] | None = None) -> Path:
    """`PREFIX-symbol.json` beside `PREFIX-EPOCH.params` (or `prefix + "-symbol.json"`): where
    `locate_checkpoint` looks for the graph of a params file. The file need not exist."""
    p = Path(params)
    split = C.split_params_file_name(p.name)
    if split is not None:
        return p.with_name(split[0] + "-symbol.json")
    return Path(f"{os.fspath(prefix if prefix is not None else params)}-symbol.json")


def load_checkpoint(prefix: str | os.PathLike[str], epoch: int | None = None, *,
                    params: str | os.PathLike[str] | None = None
                    ) -> tuple[Symbol | None, dict[str, Any], dict[str, Any]]:
    """`(symbol, arg_params, aux_params)` like `mx.model.load_checkpoint`.

    `prefix` is anything `ndparse.locate_checkpoint` takes (a prefix, a `-symbol.json`, a
    `.params` path, a SageMaker / Model Server archive); `epoch` and `params` pick the params file
    as there (without them: `-0000`, else the only `-NNNN.params`). `symbol` is the graph (None
    when there is none); keys are split at their first ':' and types other than `arg`/`aux`
    dropped (with a warning), as MXNet does. Raises NDFormatError (SymbolFormatError for the
    graph) for broken files, FileNotFoundError when there is no params file.
    """
    from .locate import locate_checkpoint

    with locate_checkpoint(prefix, epoch=epoch, params=params) as ckpt:
        if ckpt.params is None:
            raise FileNotFoundError(f"no params file for {os.fspath(prefix)} "
                                    f"(no {ckpt.prefix}-NNNN.params)")
        symbol = load_symbol(ckpt.symbol) if ckpt.symbol is not None else None
        # an archive's extracted files go when the Checkpoint closes: read those into memory
        data = load(ckpt.params, mmap=ckpt.archive is None)
        arg_params, aux_params = split_checkpoint_params(data, ckpt.params)
    return symbol, arg_params, aux_params


def split_checkpoint_params(data: dict[str, Any] | list[Any], file: str | os.PathLike[str]
                            ) -> tuple[dict[str, Any], dict[str, Any]]:
    """`(arg_params, aux_params)` of what `ndparse.load` returned for a `save_checkpoint` file.

    Keys are split at their first ':'; types other than `arg`/`aux` are dropped with a warning, as
    MXNet does. Raises NDFormatError when the file has no names or a key has no type.
    """
    if isinstance(data, list):
        if data:
            raise NDFormatError("file has no names, so it is not a checkpoint (use ndparse.load)",
                                file=file, offset=0, expected="arg:/aux: names",
                                found=f"an unnamed list of {len(data)}")
        warnings.warn(NDFormatWarning(f"{os.fspath(file)}: checkpoint holds no arrays"), stacklevel=3)
        return {}, {}
    arg_params: dict[str, Any] = {}
    aux_params: dict[str, Any] = {}
    dropped = []
    for key, value in data.items():
        kind, sep, name = key.partition(":")
        if not sep:
            raise NDFormatError(f"key {key!r} has no 'arg:'/'aux:' type, so this is not a "
                                "save_checkpoint file (use ndparse.load)", file=file,
                                expected="keys like 'arg:fc1_weight'", found=repr(key))
        if kind == "arg":
            arg_params[name] = value
        elif kind == "aux":
            aux_params[name] = value
        else:
            dropped.append(key)
    if dropped:
        warnings.warn(NDFormatWarning(f"{os.fspath(file)}: {len(dropped)} keys of neither 'arg' nor "
                                      f"'aux' type were dropped, as MXNet does: {dropped[:5]}"),
                      stacklevel=3)
    return arg_params, aux_params


def _param_uses(symbol: Symbol) -> dict[int, list[tuple[Node, int, str, bool]]]:
    """variable index -> [(consumer, slot, input name, learnt)] for every use of a variable; `learnt`
    when the op table marks that input a learnt parameter or auxiliary state (`$`/`@`)."""
    uses: dict[int, list[tuple[Node, int, str, bool]]] = {}
    for n in symbol.nodes:
        d = n.op_def
        names = d.input_names(n.attrs) if d is not None else []
        roles = d.input_roles(n.attrs) if d is not None else []
        for slot, (src, _) in enumerate(n.inputs):
            if symbol.nodes[src].is_variable:
                known = slot < len(names)
                uses.setdefault(src, []).append((n, slot, names[slot] if known else "",
                                                 known and roles[slot] in ("param", "aux")))
    return uses


def data_inputs(symbol: Symbol) -> list[str]:
    """Arguments that are neither learned parameters (fed into a weight/bias/gamma/... slot of a
    known op) nor loss labels: the inputs a user supplies."""
    uses = _param_uses(symbol)
    labels = set(symbol.label_names())
    aux = set(symbol.list_auxiliary_states())
    out = []
    for n in symbol.nodes:
        if not n.is_variable or n.name in labels or n.name in aux:
            continue
        if not any(learnt for *_, learnt in uses.get(n.index, [])):
            out.append(n.name)
    return out


def _channels(symbol: Symbol, arrays: Mapping[str, Any]) -> list[int | None]:
    """Channel count (axis 1) of each node's first output where the graph states it."""
    ch: list[int | None] = [None] * len(symbol.nodes)
    keep = {"BatchNorm", "BatchNorm_v1", "_contrib_SyncBatchNorm", "_contrib_BatchNormWithReLU",
            "Activation", "LeakyReLU", "Pooling", "Pooling_v1", "Dropout", "relu", "sigmoid",
            "tanh", "_copy", "BlockGrad", "InstanceNorm", "L2Normalization", "elemwise_add",
            "elemwise_sub", "elemwise_mul", "elemwise_div", "_plus_scalar", "_minus_scalar",
            "_mul_scalar", "_div_scalar", "_rminus_scalar", "_rdiv_scalar", "clip", "Cast",
            "_maximum_scalar", "_minimum_scalar", "SoftmaxActivation", "add_n"}
    for n in symbol.nodes:
        a = n.attrs
        if n.op in ("Convolution", "Convolution_v1", "Deconvolution"):
            ch[n.index] = a["num_filter"]
        elif n.op == "FullyConnected":
            ch[n.index] = a["num_hidden"]
        elif n.op in keep and n.inputs:
            src, idx = n.inputs[0]
            ch[n.index] = ch[src] if idx == 0 else None
        elif n.op == "Concat" and a.get("dim") == 1 and n.inputs:
            parts = [ch[s] if i == 0 else None for s, i in n.inputs]
            ch[n.index] = sum(parts) if all(p is not None for p in parts) else None  # type: ignore[misc]
        elif n.op == "SliceChannel" and a["axis"] == 1 and n.inputs:
            c = ch[n.inputs[0][0]]
            ch[n.index] = c // a["num_outputs"] if c is not None else None
        elif n.is_variable and n.name in arrays:
            shape = tuple(arrays[n.name].shape)
            ch[n.index] = shape[1] if len(shape) > 1 else None
    return ch


def _expected_shapes(symbol: Symbol, n: Node, ch: list[int | None]
                     ) -> dict[int, tuple[int | None, ...]]:
    """input slot -> expected shape (None entries unknown) for a node's parameter inputs."""
    a = n.attrs
    cin = ch[n.inputs[0][0]] if n.inputs and n.inputs[0][1] == 0 else None
    if n.op in ("Convolution", "Convolution_v1"):
        g = a["num_group"]
        out = {1: (a["num_filter"], cin // g if cin is not None and cin % g == 0 else None, *a["kernel"])}
        if not a["no_bias"]:
            out[2] = (a["num_filter"],)
        return out
    if n.op == "Deconvolution":
        g = a["num_group"]
        out = {1: (cin, a["num_filter"] // g if a["num_filter"] % g == 0 else None, *a["kernel"])}
        if not a["no_bias"]:
            out[2] = (a["num_filter"],)
        return out
    if n.op == "FullyConnected":
        src_op = symbol.nodes[n.inputs[0][0]].op if n.inputs else ""
        fin = cin if src_op == "FullyConnected" or not a["flatten"] else None
        out = {1: (a["num_hidden"], fin)}
        if not a["no_bias"]:
            out[2] = (a["num_hidden"],)
        return out
    if n.op in ("BatchNorm", "BatchNorm_v1", "_contrib_SyncBatchNorm", "_contrib_BatchNormWithReLU"):
        c = cin if a.get("axis", 1) == 1 else None
        return {i: (c,) for i in range(1, 5)}
    if n.op == "InstanceNorm":
        return {1: (cin,), 2: (cin,)}
    if n.op == "Embedding":
        return {1: (a["input_dim"], a["output_dim"])}
    return {}  # PReLU's gamma and the rest: no shape rule


def _fits(shape: tuple[int, ...], want: tuple[int | None, ...]) -> bool:
    return len(shape) == len(want) and all(w is None or s == w for s, w in zip(shape, want))


def check_checkpoint(symbol: Symbol, arg_params: Mapping[str, Any],
                     aux_params: Mapping[str, Any]) -> list[str]:
    """Problems between a graph and its arrays, without running it; [] when they fit.

    Reports: a learned parameter (an input the op table marks `$`: weight/bias/gamma/beta/... of a known op)
    or auxiliary state with no array; an array no variable of the graph uses (or stored as arg
    where the graph has an aux state, and the reverse); a shape that disagrees with what the
    consumer's attributes state (Convolution `num_filter`, `kernel`, `num_group` with the input
    channels the graph implies, FullyConnected `num_hidden`, BatchNorm channels, Embedding
    `input_dim`/`output_dim`). Data inputs and loss labels need no array.
    """
    problems: list[str] = []
    args = set(symbol.list_arguments())
    auxs = set(symbol.list_auxiliary_states())
    uses = _param_uses(symbol)
    labels = set(symbol.label_names())
    for n in symbol.nodes:
        if not n.is_variable:
            continue
        needed = n.name in auxs or any(learnt for *_, learnt in uses.get(n.index, []))
        if n.name in auxs:
            if n.name not in aux_params:
                where = "arg_params" if n.name in arg_params else None
                problems.append(f"auxiliary state {n.name!r} has no array"
                                + (f" (it is in {where}, not aux_params)" if where else ""))
        elif needed and n.name not in labels and n.name not in arg_params:
            users = ", ".join(f"{u.op} {u.name!r} input {nm or s}" for u, s, nm, _ in uses[n.index][:3])
            problems.append(f"argument {n.name!r} has no array (used by {users})")
    for name in arg_params:
        if name not in args and name not in auxs:
            problems.append(f"array arg:{name} is not used by the graph")
    for name in aux_params:
        if name not in auxs and name not in args:
            problems.append(f"array aux:{name} is not used by the graph")
    arrays = {**arg_params, **aux_params}
    ch = _channels(symbol, arrays)
    for n in symbol.nodes:
        if n.is_variable or n.op_def is None:
            continue
        for slot, want in _expected_shapes(symbol, n, ch).items():
            if slot >= len(n.inputs):
                continue
            var = symbol.nodes[n.inputs[slot][0]]
            if not var.is_variable or var.name not in arrays:
                continue
            shape = tuple(int(x) for x in arrays[var.name].shape)
            if not _fits(shape, want):
                shown = "(" + ", ".join("?" if w is None else str(w) for w in want) + \
                    ("," if len(want) == 1 else "") + ")"
                problems.append(f"array {var.name!r} has shape {shape}, but {n.op} {n.name!r} "
                                f"expects {shown}")
    return problems
