"""The exception mxtorch raises for a graph it cannot run faithfully.

`UnsupportedOpError` is a subclass of `ndparse.NDFormatError`, so one ``except NDFormatError`` catches
every problem with an MXNet checkpoint, whether in its bytes, its JSON or an op mxtorch cannot honour.
"""

from __future__ import annotations

from collections.abc import Iterable

from ndparse.errors import NDFormatError


class UnsupportedOpError(NDFormatError):
    """An op, or an attribute value of an op, that mxtorch cannot run with MXNet's exact semantics.

    Raised at load time (never at the first forward). The message names the op, the node and the value,
    and lists what is supported. Attributes: ``op``, ``node``, ``value``, ``supported``.
    """

    def __init__(
        self,
        op: str,
        node: str,
        value: str,
        supported: Iterable[str] = (),
        *,
        file: str | None = None,
    ) -> None:
        self.op = op
        self.node = node
        self.value = value
        self.supported = tuple(supported)
        text = f"op {op!r} (node {node!r}): {value} is not supported"
        if self.supported:
            text += "; supported: " + ", ".join(self.supported)
        super().__init__(text, file=file)


class UnsupportedOpsError(UnsupportedOpError):
    """Every op of a graph that mxtorch has no converter for, in one error (raised at load, before any
    op is lowered). ``missing`` maps each op (``Custom:<op_type>`` for Custom ops) to the names of the
    nodes using it, in graph order; ``op``/``node`` are the first of them. The message is a few lines:
    a summary, one line per op (how many nodes, one node name), and where the supported list is."""

    def __init__(self, missing: dict[str, list[str]], *, file: str | None = None) -> None:
        self.missing = {op: tuple(names) for op, names in missing.items()}
        first_op, first_nodes = next(iter(self.missing.items()))
        n = len(self.missing)
        lines = [f"{n} op{'s' if n != 1 else ''} of the graph {'are' if n != 1 else 'is'} not supported "
                 f"by mxtorch: {', '.join(self.missing)}"]
        for op, names in self.missing.items():
            k = len(names)
            lines.append(f"  {op}: {k} node{'s' if k != 1 else ''}, e.g. {names[0]!r}")
        lines.append("  the supported ops are listed in docs/OPS.md (mxtorch.supported_ops()); supply a "
                     "converter with mxtorch.register_op (docs/CUSTOM_OPS.md)")
        NDFormatError.__init__(self, "\n".join(lines), file=file)
        self.op = first_op
        self.node = first_nodes[0]
        self.value = f"op {first_op!r}"
        self.supported = ("the ops listed in docs/OPS.md",)


class MissingParameterError(NDFormatError):
    """A variable that feeds a learnt input (weight, bias, gamma, moving_mean, ...) has no array in the
    params. Raised at load time; ``name`` is the MXNet variable name."""

    def __init__(self, message: str, *, name: str) -> None:
        self.name = name
        super().__init__(message, expected=f"arg:/aux: {name}", found="no such key")
