"""What the three commands (``ndparse``, ``dpn-convert``, ``mxtorch``) share: the public base the
sibling packages build their command lines on, instead of reaching into ndparse's private modules.

- The skeleton: `OneLineParser` (a usage error is one ``PROG: error: ...`` line, exit 2) and
  `run_main` (a closed stdout is not an error; bad input -- an OSError, or an error of the
  project's family `ERRORS` -- is one line on stderr with exit status 2; warnings are one
  ``PROG: warning: ...`` line each; anything else is a bug and shows its traceback).
- `CLIError` (bad input found by a command), `safe_name` (a name from a file, fit for a terminal),
  `verification_failed` (the one report of a failed proof, exit 1), `non_negative_int` /
  `non_negative_float` (argparse types).
- Outputs: `check_destination`, `output_format` (by extension), `write_checked` (a tensor file,
  re-read and compared bit for bit before it replaces anything), `atomic_write`, `need_torch`,
  `OutputError`, and numpy <-> torch bit-exact `to_torch` / `from_torch`.

Importing it costs the standard library only (the output helpers import torch/safetensors inside
the functions that need them), so ``--help`` stays instant everywhere.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from ._atomic import atomic_write
from ._outputs import (
    TENSOR_EXTENSIONS,
    TORCH_EXTRA,
    OutputError,
    check_destination,
    from_torch,
    need_torch,
    output_format,
    to_torch,
    write_checked,
)
from ._version import __version__
from .errors import NDFormatError

__all__ = [
    "ERRORS", "EXIT_BAD_INPUT", "EXIT_VERIFY_FAILED", "TENSOR_EXTENSIONS", "TORCH_EXTRA", "CLIError",
    "OneLineParser", "OutputError", "__version__", "atomic_write", "check_destination", "from_torch",
    "need_torch", "non_negative_float", "non_negative_int", "os_error_message", "output_format",
    "run_main", "safe_name", "stdout_closed", "to_torch", "verification_failed", "write_checked",
]

EXIT_BAD_INPUT = 2
EXIT_VERIFY_FAILED = 1  # the written or converted model does not compute what the original computes


class CLIError(NDFormatError):
    """Bad input a command found (an option that does not apply, a missing input): one line, exit 2."""


ERRORS: tuple[type[BaseException], ...] = (NDFormatError, OutputError)
"""The project's error family (bad input or an output that cannot be written as asked); run_main
reports these, and OSError, as one line. Packages add their own (e.g. DPNConversionError)."""


def safe_name(name: Any, max_chars: int | None = None) -> str:
    """A name from a file fit for a terminal: control, format and other non-printable characters
    escaped (``\\x07``, ``\\x0a``, ``\\u200b``); cut to ``max_chars`` (saying how long it was) when given."""
    s = str(name)
    if not s.isprintable():
        s = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else
                    f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}" for ch in s)
    if max_chars is not None and len(s) > max_chars:
        s = f"{s[:max_chars]}... ({len(str(name)):,} characters)"
    return s


def _non_negative(text: str, kind: type, what: str) -> Any:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, not {text!r}") from None
    if not 0 <= value < float("inf"):  # also refuses NaN
        raise argparse.ArgumentTypeError(f"expected {what}, not {text}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0 (``--epoch -1`` is a usage error, not ``-{-001}``)."""
    return _non_negative(text, int, "a non-negative integer")


def non_negative_float(text: str) -> float:
    """argparse type: a finite number >= 0 (a tolerance)."""
    return _non_negative(text, float, "a finite number >= 0")


def verification_failed(prog: str, lines: Sequence[str], message: str) -> int:
    """Report a failed proof: what was measured (``lines``) on stdout, then one
    ``PROG: verification failed: ...`` line on stderr; returns EXIT_VERIFY_FAILED."""
    for line in lines:
        print(line)
    print(f"{prog}: verification failed: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_VERIFY_FAILED


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line (``PROG: error: ...``), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def stdout_closed() -> None:
    """The reader went away (`| head`): send what is left to /dev/null, quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def os_error_message(exc: OSError) -> str:
    """`FILE: reason` for an OSError (the path first, without `[Errno N]`)."""
    if exc.filename is None:
        return exc.strerror or str(exc)
    return f"{os.fspath(exc.filename)}: {exc.strerror or exc}"


def run_main(prog: str, parser: argparse.ArgumentParser, command: Callable[[argparse.Namespace], int],
             argv: Sequence[str] | None, failures: tuple[type[BaseException], ...] = ()) -> int:
    """Parse ``argv`` and run ``command(args)``; returns the exit status.

    ``--help``/``--version`` return 0 and usage errors 2 (their line already printed); a closed
    stdout is success; an OSError (naming its path), an error of `ERRORS` or of ``failures`` (a
    package's own bad-input errors) becomes one line on stderr and exit status 2; a warning is one
    ``PROG: warning: ...`` line; Ctrl-C is ``PROG: interrupted``, 130. Anything else is a bug and
    propagates with its traceback.
    """
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:  # type: ignore[assignment]
            warnings.simplefilter("always")
            try:
                status = command(args)
                sys.stdout.flush()
            finally:
                _show_warnings(prog, caught)
                caught.clear()
        return status
    except BrokenPipeError:
        stdout_closed()
        return 0
    except OSError as exc:
        message = os_error_message(exc)
    except (*ERRORS, *failures) as exc:
        message = str(exc) or type(exc).__name__
    except MemoryError:
        message = "not enough memory (a sparse array's dense form, or a huge array, does not fit)"
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    print(f"{prog}: error: {safe_name(' '.join(message.split()))}", file=sys.stderr)
    return EXIT_BAD_INPUT


_HIDDEN = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


def _show_warnings(prog: str, caught: list[warnings.WarningMessage]) -> None:
    """Each warning as one ``PROG: warning: ...`` line (not Python's file:line form), once."""
    seen = set()
    for w in caught:
        if issubclass(w.category, _HIDDEN):  # hidden by Python's default filters too
            continue
        text = " ".join(str(w.message).split())
        if text not in seen:
            seen.add(text)
            print(f"{prog}: warning: {safe_name(text)}", file=sys.stderr)
