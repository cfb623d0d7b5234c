"""docs/OPS.md is generated from the mxtorch registry and must be current."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parent.parent


def _tool():
    spec = importlib.util.spec_from_file_location("gen_op_table", ROOT / "tools" / "gen_op_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_ops_table_is_current() -> None:
    text = _tool().render()
    assert (ROOT / "docs" / "OPS.md").read_text(encoding="utf-8") == text, \
        "docs/OPS.md is stale: run python tools/gen_op_table.py"


def test_table_lists_every_registered_name() -> None:
    from mxtorch.ops._registry import lookup, supported_ops

    text = (ROOT / "docs" / "OPS.md").read_text(encoding="utf-8")
    for name, aliases in supported_ops().items():
        assert f"| `{name}` |" in text
        for a in aliases:
            assert f"`{a}`" in text and lookup(a) is lookup(name)


def test_every_op_name_is_written_out() -> None:
    """Each op mxtorch's families register appears literally (``"name"``) in mxtorch/ops/, so grep finds its
    converter; aliases come from ndparse's op table, where grep finds them."""
    from mxtorch.ops._registry import lookup, supported_ops

    text = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "mxtorch" / "ops").glob("*.py"))
    table = (ROOT / "ndparse" / "_opdefs.py").read_text(encoding="utf-8")
    ours = {n: a for n, a in supported_ops().items() if lookup(n).__module__.startswith("mxtorch.ops.")}
    assert [n for n in ours if f'"{n}"' not in text] == []
    assert [a for al in ours.values() for a in al if a not in table and f'"{a}"' not in text] == []


def test_op_table_sections_follow_the_families() -> None:
    """ndparse's op table is grouped as docs/OPS.md is: a row sits under the `# family: ...` heading of the
    mxtorch/ops module that runs the op (rows of ops mxtorch does not run may sit anywhere sensible)."""
    from mxtorch.ops._registry import lookup
    from ndparse import _opdefs

    section, misplaced = "", []
    for line in _opdefs._TABLE.splitlines():
        line = line.strip()
        if line.startswith("#"):
            section = line[1:].split(":")[0].split("(")[0].strip()
        elif line:
            name = line.split()[0]
            conv = lookup(name)
            if conv is not None and conv.__module__.startswith("mxtorch.ops."):
                family = conv.__module__.rsplit(".", 1)[-1]
                if family != section:
                    misplaced.append(f"{name}: under '# {section}', run by mxtorch/ops/{family}.py")
    assert misplaced == []
