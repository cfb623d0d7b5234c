"""Atomic output files: written to a temporary file beside the target, renamed when complete."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import IO


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _verify_while_syncing(fileno: int, tmp: str, verify: Callable[[str], None]) -> None:
    import threading  # here, not at the top: only writing with a check needs it

    failure: list[BaseException] = []

    def sync() -> None:
        try:
            os.fsync(fileno)
        except BaseException as e:  # re-raised in the caller's thread below
            failure.append(e)

    syncer = threading.Thread(target=sync, name="ndparse-fsync", daemon=True)
    syncer.start()
    try:
        verify(tmp)
    finally:
        syncer.join()
    if failure:
        raise failure[0]


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str],
                 verify: Callable[[str], None] | None = None) -> Iterator[IO[bytes]]:
    """Yield a binary file; on success it replaces `path` whole, on any error `path` is untouched.

    `verify(tmp_path)`, when given, is called on the complete temporary file before the rename;
    if it raises, nothing is renamed.

    The temporary file lives in the same folder (so the final rename is atomic on POSIX and
    Windows) and is removed if writing fails (disk full, permission, interrupt).
    """
    import tempfile  # here, not at the top: it costs more to import than reading needs

    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".", suffix=".part",
                                   dir=folder)
    except OSError as e:
        raise _naming(e, target, None) from None
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            if verify is None:
                os.fsync(f.fileno())
            else:
                # The check re-reads the file from the page cache while the data goes to disk:
                # the two overlap (fsync releases the GIL), so a 300 MB output costs
                # max(check, fsync) rather than their sum. Both must succeed before the rename.
                _verify_while_syncing(f.fileno(), tmp, verify)
        try:
            mode = os.stat(target).st_mode & 0o7777  # keep an existing file's permissions
        except FileNotFoundError:
            mode = _default_mode()
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise _naming(e, target, tmp)
        raise


def _naming(e: OSError, target: str, tmp: str | None) -> OSError:
    """The error with the path the caller gave instead of the hidden temporary file's."""
    if e.strerror is not None and (e.filename is None or e.filename == tmp or tmp is None):
        e.filename = target
        e.filename2 = None
    return e
