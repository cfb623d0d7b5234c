"""Shared pytest setup.

* tools/ goes on sys.path here, once: the tests build their bytes with tools/ndbytes.py (the
  repository's one byte builder, shared with the fixture scripts, the fuzzer and the benchmark)
  and drive the mutation fuzzer tools/fuzz.py (`import ndbytes`, `import fuzz`).
* `--fuzz-minutes N` turns the in-suite fuzz run of tests/test_fuzz.py (a fixed number of
  inputs, the same on every machine) into an N-minute release check (as `python tools/fuzz.py
  --minutes N`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TOOLS = str(Path(__file__).resolve().parent.parent / "tools")
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--fuzz-minutes", type=float, default=None,
                     help="run the mutation fuzzer for N minutes instead of the fixed-size CI run")
