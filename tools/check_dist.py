"""Check the built sdist and wheel: what the wheel must hold, and what it must not.

Run after ``python -m build`` (CI does): ``python tools/check_dist.py dist/``. Exits 1 with one
line per problem. The wheel carries the three packages (every subpackage, found by pattern in
pyproject.toml), a ``py.typed`` in each, and nothing of tests/, fixtures/, tools/ or bench/; the
sdist carries what is needed to build and test (packages, tests, fixtures, docs, pyproject, README).
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from pathlib import Path

PACKAGES = ("ndparse", "dpn_torch", "mxtorch")
NOT_IN_WHEEL = ("tests/", "fixtures/", "tools/", "bench/", "docs/")
IN_SDIST = ("pyproject.toml", "README.md", "CHANGELOG.md", "LICENSE", "tests/", "fixtures/", "docs/",
            "tools/", *(f"{p}/__init__.py" for p in PACKAGES))


def source_subpackages(root: Path) -> set[str]:
    """Every package directory (with an ``__init__.py``) of the checkout, as wheel paths."""
    return {str(p.parent.relative_to(root)) + "/" for pkg in PACKAGES
            for p in (root / pkg).rglob("__init__.py") if "__pycache__" not in p.parts}


def check(dist: Path, root: Path) -> list[str]:
    problems: list[str] = []
    wheels = sorted(dist.glob("*.whl"))
    sdists = sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        return [f"{dist}: expected one wheel and one sdist, found {len(wheels)} and {len(sdists)}"]
    names = zipfile.ZipFile(wheels[0]).namelist()
    for bad in NOT_IN_WHEEL:
        hits = [n for n in names if n.startswith(bad)]
        if hits:
            problems.append(f"{wheels[0].name}: must not contain {bad} ({len(hits)} files, e.g. {hits[0]})")
    for pkg_dir in sorted(source_subpackages(root)):
        if f"{pkg_dir}__init__.py" not in names:
            problems.append(f"{wheels[0].name}: subpackage {pkg_dir} is missing")
    for pkg in PACKAGES:
        if f"{pkg}/py.typed" not in names:
            problems.append(f"{wheels[0].name}: {pkg}/py.typed is missing")
        sources = {str(p.relative_to(root)) for p in (root / pkg).rglob("*.py") if "__pycache__" not in p.parts}
        missing = sorted(sources - set(names))
        if missing:
            problems.append(f"{wheels[0].name}: {len(missing)} module(s) missing, e.g. {missing[0]}")
    with tarfile.open(sdists[0]) as tar:
        members = [m.split("/", 1)[1] for m in tar.getnames() if "/" in m]
    for need in IN_SDIST:
        if not any(m == need or m.startswith(need) for m in members):
            problems.append(f"{sdists[0].name}: {need} is missing")
    return problems


def main() -> int:
    dist = Path(sys.argv[1] if len(sys.argv) > 1 else "dist")
    root = Path(__file__).resolve().parents[1]
    problems = check(dist, root)
    for p in problems:
        print(p, file=sys.stderr)
    if not problems:
        wheel = next(dist.glob("*.whl"))
        names = zipfile.ZipFile(wheel).namelist()
        per_pkg = {p: sum(n.startswith(p + "/") for n in names) for p in PACKAGES}
        print(f"{wheel.name}: {wheel.stat().st_size:,} bytes, {len(names)} files "
              + ", ".join(f"{p} {n}" for p, n in per_pkg.items()))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
