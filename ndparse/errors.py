"""The one exception family of ndparse, and the warning for oddities MXNet accepts."""

from __future__ import annotations

import os
import sys
import warnings


class NDFormatError(ValueError):
    """A file is not a valid MXNet NDArray file.

    The message names the file and byte offset, says what is wrong, what was expected and what
    was found, and (`hint`) what to do. The parts are kept as attributes for programs.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | os.PathLike[str] | None = None,
        offset: int | None = None,
        expected: str | None = None,
        found: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.file = os.fspath(file) if file is not None else None
        self.offset = offset
        self.expected = expected
        self.found = found
        self.hint = hint
        self.reason = message
        parts = []
        if self.file is not None:
            parts.append(self.file)
        if offset is not None:
            parts.append(f"at byte {offset}")
        head = " ".join(parts)
        text = message
        if expected is not None:
            text += f": expected {expected}"
            if found is not None:
                text += f", found {found}"
        elif found is not None:
            text += f": found {found}"
        if hint is not None:
            text += f"; {hint}"
        super().__init__(f"{head}: {text}" if head else text)


class NDFormatWarning(UserWarning):
    """Something MXNet silently accepts (non-zero reserved field, trailing bytes, ...)."""


class SymbolFormatError(NDFormatError):
    """A `-symbol.json` graph is broken: the message names the file, the node (index in the file
    and name) and what was expected. `node` / `node_name` hold the node, when one is at fault."""

    def __init__(
        self,
        message: str,
        *,
        file: str | os.PathLike[str] | None = None,
        node: int | None = None,
        node_name: str | None = None,
        expected: str | None = None,
        found: str | None = None,
    ) -> None:
        self.node = node
        self.node_name = node_name
        if node is not None:
            where = f"node {node}" + (f" {node_name!r}" if node_name is not None else "")
            message = f"{where}: {message}"
        super().__init__(message, file=file, expected=expected, found=found)


_PACKAGE = __name__.partition(".")[0]
# Modules whose frames are walked out of, besides ndparse's own: the Mapping methods NDFile
# inherits (values(), items(), ...); that module calls itself "collections.abc".
_MAPPING_MIXINS = frozenset({"collections.abc", "_collections_abc"})


def warn(message: str) -> None:
    """Issue an NDFormatWarning attributed to the caller's own line: the first frame outside
    ndparse (however deep inside ndparse the warning was found), not a line of the library."""
    frame = sys._getframe(1)
    level = 2  # warnings.warn's stacklevel: 1 is this function, 2 its caller, ...
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.partition(".")[0] != _PACKAGE and module not in _MAPPING_MIXINS:
            break
        frame = frame.f_back
        level += 1
    warnings.warn(NDFormatWarning(message), stacklevel=level)


# The advice that ends every "the file stops early" message.
TRUNCATED_HINT = "the file is incomplete (an interrupted download or copy?): fetch it again"
