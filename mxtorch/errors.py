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


class MissingParameterError(NDFormatError):
    """A variable that feeds a learnt input (weight, bias, gamma, moving_mean, ...) has no array in the
    params. Raised at load time; ``name`` is the MXNet variable name."""

    def __init__(self, message: str, *, name: str) -> None:
        self.name = name
        super().__init__(message, expected=f"arg:/aux: {name}", found="no such key")
