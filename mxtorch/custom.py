"""Converters users supply for ops mxtorch lacks: ``Custom`` ops (keyed by their ``op_type``) and ops
of a newer or forked MXNet.

A user converter has the built-in form (see docs/CUSTOM_OPS.md): a function called once per node at
LOAD time that reads the node's attributes with `mxtorch.attrs` (raising `mxtorch.UnsupportedOpError`
for a value it cannot honour) and returns a `mxtorch.Lowered` naming a module-level run-time function
of tensors plus plain keyword arguments. Two ways to supply one:

- ``@mxtorch.register_op("MyOp")`` / ``@mxtorch.register_op("Custom", op_type="proposal")``: for
  every later load in the process;
- ``mxtorch.load(prefix, converters={"MyOp": conv, "Custom:proposal": conv2})``: for one load; these
  win over registered ones.

Built-in ops cannot be replaced by accident: registering a built-in name needs ``replace=True``.
This module does not import torch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .ops._registry import Converter, Node, lookup

__all__ = ["converter_for", "custom_key", "register_op", "registered_ops", "unregister_op"]

_USER: dict[str, Converter] = {}  # "MyOp" or "Custom:op_type" -> converter


def custom_key(op: str, op_type: str | None = None) -> str:
    """The key of a user converter: the op name, or ``Custom:<op_type>`` for MXNet's Custom op."""
    if op == "Custom":
        if not op_type:
            raise ValueError("a Custom op converter is keyed by its op_type: register_op('Custom', "
                             "op_type='proposal')")
        return f"Custom:{op_type}"
    if op_type is not None:
        raise ValueError(f"op_type is only for the Custom op, not {op!r}")
    return op


def node_key(node: Node) -> str:
    """The key a node's converter is looked up under (``Custom:<op_type>`` for Custom nodes)."""
    if node.op == "Custom":
        t = node.attrs.get("op_type") or node.raw_attrs.get("op_type")
        return f"Custom:{t}"
    return node.op


def register_op(name: str, *, op_type: str | None = None,
                replace: bool = False) -> Callable[[Converter], Converter]:
    """Decorator: use ``conv(node) -> Lowered`` for MXNet op ``name`` (``"Custom"`` with ``op_type``)
    in every later `mxtorch.load`. Raises ValueError for a name taken by a built-in or another user
    converter unless ``replace`` is true."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"register_op: op name must be a non-empty string, not {name!r}")
    key = custom_key(name, op_type)

    def deco(conv: Converter) -> Converter:
        if not callable(conv):
            raise TypeError(f"register_op({key!r}): {conv!r} is not callable")
        if not replace and (key in _USER or (name != "Custom" and lookup(name) is not None)):
            raise ValueError(f"register_op: {key!r} already has a converter (pass replace=True to "
                             "replace it)")
        _USER[key] = conv
        return conv

    return deco


def unregister_op(name: str, *, op_type: str | None = None) -> None:
    """Forget a converter `register_op` filed (no error if there is none)."""
    _USER.pop(custom_key(name, op_type), None)


def registered_ops() -> tuple[str, ...]:
    """The keys of the user converters registered in this process, sorted."""
    return tuple(sorted(_USER))


def converter_for(node: Node, converters: Mapping[str, Converter] | None = None) -> Converter | None:
    """The converter of ``node``: one given to this load, a registered one, else the built-in one."""
    key = node_key(node)
    if converters:
        conv = converters.get(key)
        if conv is not None:
            return conv
    conv = _USER.get(key)
    if conv is not None:
        return conv
    return None if node.op == "Custom" else lookup(node.op)


def check_converters(converters: Mapping[str, Any] | None) -> dict[str, Converter]:
    """``converters=`` of `mxtorch.load` checked: string keys (``"Op"`` or ``"Custom:op_type"``) to
    callables. Raises TypeError/ValueError."""
    if not converters:
        return {}
    out: dict[str, Converter] = {}
    for key, conv in converters.items():
        if not isinstance(key, str) or not key or key == "Custom" or key.endswith(":"):
            raise ValueError(f"converters: key {key!r} must be an op name or 'Custom:<op_type>'")
        if not callable(conv):
            raise TypeError(f"converters[{key!r}] is not callable")
        out[key] = conv
    return out

