"""What the three commands (``ndparse``, ``dpn-convert``, ``mxtorch``) share: a usage error is one
line, a closed stdout (``| head``) is not an error, and bad input is one ``PROG: error: ...`` line on
stderr with exit status 2. Standard library only, so ``--help`` stays instant everywhere."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

EXIT_BAD_INPUT = 2


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
             argv: Sequence[str] | None, failures: tuple[type[BaseException], ...]) -> int:
    """Parse ``argv`` and run ``command(args)``; returns the exit status.

    ``--help``/``--version`` return 0 and usage errors 2 (their line already printed); a closed
    stdout is success; an OSError (naming its path) or one of ``failures`` becomes one line on
    stderr and exit status 2. Anything else is a bug and propagates with its traceback.
    """
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    try:
        status = command(args)
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        stdout_closed()
        return 0
    except OSError as exc:
        message = os_error_message(exc)
    except failures as exc:
        message = str(exc) or type(exc).__name__
    print(f"{prog}: error: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_BAD_INPUT
