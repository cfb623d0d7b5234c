"""The registry of op converters: canonical MXNet op name (and aliases) -> converter.

A converter is a small function called at LOAD time with one node of an `ndparse` Symbol (attributes
parsed, defaults filled). It validates the attributes (raising `UnsupportedOpError` for anything it cannot
honour) and returns a `Lowered`: a module-level run-time function of one op family module plus the plain
Python keyword arguments to call it with. The graph builder (`mxtorch.graph`) emits one torch.fx
``call_function`` node per op from it, so nothing is interpreted per call and the result traces and exports.

Family modules (`mxtorch.ops.conv`, ...) register their converters on import with ``@register("OpName")``, the
op name written out literally (so ``grep -rn OpName mxtorch/`` finds its converter); ops that differ only in
the computation they pick are a dict of literal names followed by one registration loop. The aliases MXNet
accepts for an op come from ndparse's op table. Attributes are read with `mxtorch.ops._attrs` (the one
reader), helpers several families share live in `mxtorch.ops._common`. docs/ADDING_OPS.md walks through it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

from ..errors import UnsupportedOpError

if TYPE_CHECKING:  # the ndparse Symbol node; only its attributes are used here
    from torch import Tensor

    from ndparse.symbol import Node
else:
    Node = Any
    Tensor = Any


@dataclass(frozen=True)
class Lowered:
    """How one MXNet node runs in torch: ``fn(*tensors, **kwargs)``.

    fn: a module-level function of an op family module (so fx graphs stay printable and exportable).
    kwargs: plain Python values only (None, bool, int, float, str, tuples of them).
    num_outputs: the node's visible outputs; ``fn`` returns a tuple when it is more than 1.
    inputs: the node's input slots passed to ``fn`` (None: all); loss heads pass ``(0,)`` and drop the label.
    """

    fn: Callable[..., Any]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    num_outputs: int = 1
    inputs: tuple[int, ...] | None = None


Converter: TypeAlias = Callable[[Node], Lowered]

_CONVERTERS: dict[str, Converter] = {}  # every name (canonical and alias) -> converter
_ALIASES: dict[str, tuple[str, ...]] = {}  # canonical name -> aliases


def register(name: str, *aliases: str) -> Callable[[Converter], Converter]:
    """Decorator filing a converter under the MXNet op ``name``, the extra ``aliases`` given, and every
    alias ndparse's op table lists for ``name`` (so docs/OPS.md shows the spellings MXNet accepts
    without a second alias list to keep in step).

    Raises ValueError if a name is already taken (two families claiming one op is a bug).
    """
    from ndparse.symbol import op_def

    d = op_def(name)
    table = d.aliases if d is not None and d.name == name else ()
    aliases = tuple(dict.fromkeys(a for a in (*aliases, *table) if a != name))

    def deco(conv: Converter) -> Converter:
        for n in (name, *aliases):
            if n in _CONVERTERS:
                raise ValueError(f"mxtorch op registry: {n!r} registered twice")
            _CONVERTERS[n] = conv
        _ALIASES[name] = tuple(aliases)
        return conv

    return deco


def lookup(op: str) -> Converter | None:
    """The converter for an op name (canonical or alias), or None if mxtorch does not support it."""
    return _CONVERTERS.get(op)


def supported_ops() -> dict[str, tuple[str, ...]]:
    """Canonical op name -> its aliases, sorted by name (what docs/OPS.md is generated from)."""
    return {k: _ALIASES[k] for k in sorted(_ALIASES, key=str.lower)}


# ---- the converters' error ----------------------------------------------------------------------------------


def unsupported(node: Node, value: str, supported: Iterable[str] = ()) -> UnsupportedOpError:
    """The error for ``node`` naming what cannot be honoured (``value``) and what can (``supported``)."""
    return UnsupportedOpError(node.op, node.name, value, supported)
