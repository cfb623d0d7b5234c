#!/usr/bin/env python
"""Coverage-guided fuzz target for ndparse (atheris / libFuzzer). Optional: pip install atheris.

    python tools/fuzz_atheris.py -max_total_time=600            # seeds written to a temp corpus
    python tools/fuzz_atheris.py CORPUS_DIR -max_total_time=600 # keep the grown corpus

Every input must load correctly or raise ndparse.NDFormatError; any other exception is a crash
that libFuzzer saves as crash-<sha1> (reproduce: python tools/fuzz_atheris.py crash-<sha1>).
Loaded arrays are touched and small sparse arrays densified, as in tools/fuzz.py.
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from pathlib import Path

import atheris

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tools"))

with atheris.instrument_imports():
    import ndparse

import fuzz  # noqa: E402  (seeds and the value check; not instrumented)

warnings.simplefilter("ignore", ndparse.NDFormatWarning)


def test_one_input(data: bytes) -> None:
    try:
        result = ndparse.load(data, mmap=False)
    except ndparse.NDFormatError as e:
        assert e.offset is not None and (e.expected is not None or e.found is not None), e
        return
    for v in (result.values() if isinstance(result, dict) else result):
        fuzz._touch(v, len(data))


def main() -> None:
    args = sys.argv[:]
    if not any(os.path.isdir(a) for a in args[1:]) and not any(
            os.path.isfile(a) for a in args[1:]):
        corpus = tempfile.mkdtemp(prefix="ndparse-atheris-")
        for i, (name, data) in enumerate(sorted(fuzz.corpus().items())):
            if len(data) <= 64 * 1024:  # libFuzzer's default -max_len is small; big seeds waste time
                Path(corpus, f"seed{i:03d}").write_bytes(data)
        args.insert(1, corpus)
    if not any(a.startswith("-max_len") for a in args):
        args.append("-max_len=65536")
    atheris.Setup(args, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
