"""The one exception family of ndparse, and the warning for oddities MXNet accepts."""

from __future__ import annotations

import os


class NDFormatError(ValueError):
    """A file is not a valid MXNet NDArray file; the message names file, byte offset, expected and found."""

    def __init__(
        self,
        message: str,
        *,
        file: str | os.PathLike[str] | None = None,
        offset: int | None = None,
        expected: str | None = None,
        found: str | None = None,
    ) -> None:
        self.file = os.fspath(file) if file is not None else None
        self.offset = offset
        self.expected = expected
        self.found = found
        self.reason = message
        parts = []
        if self.file is not None:
            parts.append(self.file)
        if offset is not None:
            parts.append(f"at byte {offset}")
        head = ": ".join(parts)
        text = message
        if expected is not None:
            text += f": expected {expected}"
            if found is not None:
                text += f", found {found}"
        elif found is not None:
            text += f": found {found}"
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
