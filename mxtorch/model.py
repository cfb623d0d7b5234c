"""`MXNetModel`, `load` and `from_symbol`: an MXNet checkpoint as an ordinary torch module.

Parameters and names: every ``arg_params`` entry the graph reads is an ``nn.Parameter`` (with
``requires_grad=False``: the model is for inference; flip it to fine-tune), every ``aux_params`` entry
(BatchNorm moving statistics) a buffer. ``state_dict()`` keys are the MXNet variable names, except that
characters torch refuses in a name are escaped reversibly, percent-style: ``%`` -> ``%25``, ``.`` ->
``%2E``, and a name that is empty or equal to an attribute of the module gets its first character
escaped (``training`` -> ``%74raining``). `escape_name` / `unescape_name` convert.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

import ndparse
from ndparse.checkpoint import split_checkpoint_params
from ndparse.errors import NDFormatError

from .budget import InputGuard
from .custom import check_converters
from .errors import MissingParameterError
from .fastpath import FastRunner, fast_path_allowed
from .graph import build, run, to_graph_module


@functools.cache
def _reserved() -> frozenset[str]:
    """Names a state key must not take: MXNetModel's attributes (computed once: dir() of a Module
    class is slow and escape_name runs for every parameter)."""
    probe = torch.nn.Module()
    return frozenset(dir(MXNetModel)) | frozenset(vars(probe)) | {
        "input_names", "output_names", "graph_module", "_graph_module", "_plan", "_state_attrs", "_guard",
        "_n_inputs", "_fast"}


def escape_name(name: str) -> str:
    """The state_dict key of an MXNet variable name (see the module docstring)."""
    s = name.replace("%", "%25").replace(".", "%2E")
    if s == "" or s in _reserved():
        s = (f"%{ord(s[0]):02X}" + s[1:]) if s else "%"
    return s


def unescape_name(key: str) -> str:
    """The MXNet variable name of a state_dict key (inverse of `escape_name`)."""
    if key == "%":
        return ""
    out, i = [], 0
    while i < len(key):
        if key[i] == "%" and i + 2 < len(key) and _is_hex(key[i + 1:i + 3]):
            out.append(chr(int(key[i + 1:i + 3], 16)))
            i += 3
        else:
            out.append(key[i])
            i += 1
    return "".join(out)


def _is_hex(s: str) -> bool:
    return len(s) == 2 and all(c in "0123456789abcdefABCDEF" for c in s)


def _tensor(name: str, value: Any) -> torch.Tensor:
    """A torch tensor sharing ``value``'s memory when it can (writable numpy arrays); read-only arrays
    (a memory-mapped file) are copied, since torch may write into parameters (load_state_dict)."""
    if isinstance(value, torch.Tensor):  # an inference tensor is copied: parameters must be version-counted
        return value.detach().clone() if value.is_inference() and not torch.is_inference_mode_enabled() \
            else value.detach()
    if hasattr(value, "todense") and not isinstance(value, np.ndarray):  # ndparse sparse arrays
        value = value.todense()
    arr = np.asarray(value)
    if arr.dtype.kind == "V" and arr.dtype.name == "bfloat16":  # ml_dtypes: torch has no numpy bfloat16, reinterpret the bits
        return _tensor(name, arr.view(np.uint16)).view(torch.bfloat16)
    if not arr.flags.writeable:
        arr = arr.copy()
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("="))
    try:
        return torch.from_numpy(arr)
    except TypeError as e:
        raise NDFormatError(f"parameter {name!r} has dtype {arr.dtype}, which torch cannot hold",
                            expected="a numeric dtype", found=str(arr.dtype)) from e


class MXNetModel(torch.nn.Module):
    """An MXNet symbol graph with its weights, run by torch ops (lowered once, at load time).

    Call it as ``model(x)``, ``model(*inputs)`` or ``model(**named)`` in the order of ``input_names``
    (the graph's data inputs). It returns a tensor for one head, else a tuple in ``output_names`` order.
    Built in eval mode. ``graph_module`` is the same graph as a stateless torch.fx GraphModule, built on
    first access (``print(model.graph_module.code)``); running the model does not need it.
    """

    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    #: Run CPU float32 inference on the fast path (`mxtorch.fastpath`: oneDNN convolutions on cached
    #: pre-packed weights, BatchNorm/ReLU/add fused, channels_last); False runs the plain ops always.
    fast_path: bool = True

    def __init__(self, symbol: Any, arg_params: Mapping[str, Any], aux_params: Mapping[str, Any], *,
                 converters: Mapping[str, Any] | None = None,
                 max_memory: int | float | str | None = None) -> None:
        super().__init__()
        state = set(arg_params) | set(aux_params)
        plan = build(symbol, state, check_converters(converters))
        with torch.inference_mode(False):  # ordinary tensors even when loaded under inference mode: they
            self._init_plan(plan, arg_params, aux_params)  # can be fine-tuned, and version-count (fastpath)
        # input dtype/rank and memory budget, checked before a forward allocates (mxtorch.budget)
        object.__setattr__(self, "_guard", InputGuard(symbol, plan, [getattr(self, a) for a in self._state_attrs],
                                                      max_memory))

    def _init_plan(self, plan: Any, arg_params: Mapping[str, Any], aux_params: Mapping[str, Any]) -> None:
        """Hold ``plan`` and its state tensors (also how `mxtorch.optimize` makes its rewritten model)."""
        attrs = []
        for name in plan.state_names:
            key = escape_name(name)
            if name in aux_params:
                self.register_buffer(key, _tensor(name, aux_params[name]))
            else:
                self.register_parameter(key, torch.nn.Parameter(_tensor(name, arg_params[name]),
                                                                requires_grad=False))
            attrs.append(key)
        self._state_attrs = tuple(attrs)
        self.input_names = plan.input_names
        self.output_names = plan.output_names
        object.__setattr__(self, "_plan", plan)  # plain attributes, not submodules
        object.__setattr__(self, "_graph_module", None)
        object.__setattr__(self, "_compiled", None)  # set by mxtorch.optimize(compile=True)
        object.__setattr__(self, "_fast", None)  # mxtorch.fastpath.FastRunner, made on the first fast call
        self.eval()

    @property
    def graph_module(self) -> torch.fx.GraphModule:
        """The graph as a stateless torch.fx GraphModule taking the inputs then every state tensor in
        ``state_dict`` order (made on first access: generating its code is most of a load's cost)."""
        if self._graph_module is None:
            object.__setattr__(self, "_graph_module", to_graph_module(self._plan))
        return self._graph_module

    def forward(self, *args: torch.Tensor, **kwargs: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Run the graph on the data inputs (positional and/or by MXNet name)."""
        if kwargs:
            args = self._bind(args, kwargs)
        elif len(args) != len(self.input_names):
            raise TypeError(f"model takes {len(self.input_names)} input(s) {list(self.input_names)}, "
                            f"got {len(args)}")
        state = [getattr(self, a) for a in self._state_attrs]
        inputs = self._guard.prepare(args, state)
        if self._compiled is not None and not self._guard.pending and \
                fast_path_allowed(inputs, state, mkldnn=False):  # CPU tensors, no autograd, not tracing
            return self._compiled(self, inputs, state)
        if self.fast_path and fast_path_allowed(inputs, state):
            fast = self._fast
            if fast is None or fast.source is not self._plan:
                fast = FastRunner(self._plan)
                object.__setattr__(self, "_fast", fast)
            checks = fast.checks_for(self._guard.pending)  # a detector's value-dependent steps stay checked
            if fast.useful and checks is not False:
                return fast([*inputs, *state], checks)
        return run(self._plan, [*inputs, *state], self._guard.pending)

    def _bind(self, args: tuple, kwargs: dict) -> tuple:
        names = self.input_names
        extra = set(kwargs) - set(names)
        if extra:
            raise TypeError(f"unknown input(s) {sorted(extra)}; inputs are {list(names)}")
        bound = list(args)
        for name in names[len(args):]:
            if name not in kwargs:
                raise TypeError(f"missing input {name!r}; inputs are {list(names)}")
            bound.append(kwargs[name])
        dup = set(names[:len(args)]) & set(kwargs)
        if dup:
            raise TypeError(f"input(s) {sorted(dup)} given twice")
        return tuple(bound)

    def extra_repr(self) -> str:
        return f"inputs={list(self.input_names)}, outputs={list(self.output_names)}, " \
               f"state={len(self._state_attrs)}"


def from_symbol(symbol: Any, arg_params: Mapping[str, Any], aux_params: Mapping[str, Any], *,
                converters: Mapping[str, Any] | None = None,
                max_memory: int | float | str | None = None) -> MXNetModel:
    """An `MXNetModel` from an ndparse Symbol (or symbol JSON text / parsed dict) and its params (numpy
    arrays or tensors, by MXNet variable name). ``converters``, ``max_memory`` as for `load`.
    Raises UnsupportedOpError, NDFormatError."""
    if not hasattr(symbol, "nodes") or isinstance(symbol, dict):
        symbol = ndparse.load_symbol_json(symbol)
    return MXNetModel(symbol, arg_params, aux_params, converters=converters, max_memory=max_memory)


def load(prefix_or_path: str | os.PathLike[str] | ndparse.Checkpoint, *, epoch: int | None = None,
         params: str | os.PathLike[str] | None = None,
         converters: Mapping[str, Any] | None = None,
         max_memory: int | float | str | None = None,
         optimize: bool | Mapping[str, Any] = False) -> MXNetModel:
    """Load an MXNet checkpoint as an `MXNetModel`.

    ``prefix_or_path``: anything `ndparse.locate_checkpoint` takes -- a prefix (``model`` ->
    ``model-symbol.json`` + ``model-0000.params``, or the only ``model-NNNN.params``), a
    ``-symbol.json`` or ``-NNNN.params`` path, a SageMaker ``model.tar.gz`` or Model Server
    ``.model``/``.mar`` archive -- or a located `ndparse.Checkpoint`. ``epoch`` / ``params`` pick the
    params file. Params are read into memory once and become tensors without a second copy.
    ``converters``: converters for ops mxtorch lacks, for this load only, keyed by op name or
    ``"Custom:<op_type>"`` (see `mxtorch.register_op` and docs/CUSTOM_OPS.md). ``max_memory``: the
    most a forward may allocate, in bytes or as ``"4G"`` (default: half of the machine's memory);
    graph constants are checked against it at load, each new input shape before its first forward
    (`mxtorch.budget`: over it raises MemoryBudgetError, an NDFormatError naming the node).
    ``optimize``: True (or the keyword arguments of `mxtorch.optimize`, e.g. ``{"compile": True}``)
    returns ``mxtorch.optimize(model)``.
    Raises FileNotFoundError, NDFormatError (UnsupportedOpError for what mxtorch cannot run).
    """
    if optimize:
        from .optimization import optimize as _optimize
        model = load(prefix_or_path, epoch=epoch, params=params, converters=converters, max_memory=max_memory)
        return _optimize(model, **({} if optimize is True else dict(optimize)))
    if isinstance(prefix_or_path, ndparse.Checkpoint):
        if epoch is not None or params is not None:
            raise TypeError("a located Checkpoint already names its files: give no epoch or params")
        return _load_located(prefix_or_path, converters, max_memory)
    with ndparse.locate_checkpoint(prefix_or_path, epoch=epoch, params=params) as ckpt:
        return _load_located(ckpt, converters, max_memory)


def _load_located(ckpt: ndparse.Checkpoint, converters: Mapping[str, Any] | None,
                  max_memory: int | float | str | None) -> MXNetModel:
    if ckpt.symbol is None:
        raise FileNotFoundError(f"no symbol file {ckpt.prefix}-symbol.json for {ckpt.source}")
    symbol = ndparse.load_symbol(ckpt.symbol)
    if ckpt.params is None:  # a graph without parameters may ship without a params file
        try:
            return MXNetModel(symbol, {}, {}, converters=converters, max_memory=max_memory)
        except MissingParameterError as exc:
            raise NDFormatError(exc.reason, file=ckpt.symbol, expected=exc.expected, found=exc.found,
                                hint=f"there is no params file {ckpt.prefix}-0000.params beside the "
                                     "symbol, nor another -NNNN.params (give the params file)") from None
    data = ndparse.load(ckpt.params, mmap=False)
    arg, aux = split_checkpoint_params(data, ckpt.params)
    return MXNetModel(symbol, arg, aux, converters=converters, max_memory=max_memory)
