"""Shared pytest options. `--fuzz-minutes N` turns the bounded in-suite fuzz run of
tests/test_fuzz.py into an N-minute release check (same as `python tools/fuzz.py --minutes N`)."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--fuzz-minutes", type=float, default=None,
                     help="run the mutation fuzzer for N minutes instead of the bounded CI run")
