"""Every code block of README.md runs as written (issue 22 item 14): each ```python block, and each
command line of the ```sh blocks that runs one of the three commands, from a folder that holds the
repository's fixtures/ as the README's root does. Installing, the test suite itself and the long
fuzz/benchmark runs are the lines not run here (CI runs the suite; tools/ and bench/ their own)."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```(\w*)\n(.*?)^```", README, flags=re.S | re.M)
COMMANDS = ("ndparse", "mxtorch", "dpn-convert")
NOT_RUN = ("python -m pip", "python -m pytest", "python tools/", "python bench/")


def _python_blocks() -> list[str]:
    return [code for lang, code in BLOCKS if lang == "python"]


def _command_lines() -> list[str]:
    lines = []
    for lang, code in BLOCKS:
        if lang != "sh":
            continue
        for line in code.splitlines():
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                if words and words[0] in COMMANDS:
                    lines.append(shlex.join(words))
                elif words:
                    assert part.strip().startswith(NOT_RUN), f"README command not run by this test: {part}"
    return lines


@pytest.fixture
def readme_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "fixtures").symlink_to(ROOT / "fixtures")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_readme_has_blocks_to_run() -> None:
    assert len(_python_blocks()) >= 5 and len(_command_lines()) >= 8


@pytest.mark.parametrize("code", _python_blocks(), ids=lambda c: c.split("\n", 2)[1][:40])
def test_python_block_runs(code: str, readme_root: Path) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})


@pytest.mark.parametrize("line", _command_lines())
def test_command_runs(line: str, readme_root: Path) -> None:
    words = shlex.split(line)
    if words[0] == "ndparse":
        from ndparse.cli import main
    elif words[0] == "mxtorch":
        from mxtorch.cli import main
    else:
        from dpn_torch.cli import main
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(words[1:])
    assert status == 0, (line, out.getvalue())
    if "--verify" in words:
        assert "skipped" not in out.getvalue(), out.getvalue()
