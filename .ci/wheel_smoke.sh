#!/usr/bin/env bash
# Release check: build the sdist and the wheel, check their contents and metadata, install the
# WHEEL (not the checkout) into a fresh venv and use it from a folder outside the repository.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$repo"
rm -rf dist
python -m build -q --outdir dist . > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
python -m twine check --strict dist/*
python tools/check_dist.py dist

python3 -m venv "$work/venv"
py="$work/venv/bin/python"
"$py" -m pip install -q --upgrade pip
"$py" -m pip install -q "torch==2.13.0"
"$py" -m pip install -q "$(ls dist/*.whl)"
cd "$work"
export REPO="$repo"
bin="$work/venv/bin"
"$py" - <<'PY'
import os, sys
import ndparse, dpn_torch, mxtorch
import mxtorch.ops
assert os.environ["REPO"] not in ndparse.__file__, ndparse.__file__
assert ndparse.__version__ == dpn_torch.__version__ == mxtorch.__version__, "one version"
print("wheel imports:", ndparse.__file__, ndparse.__version__)
PY
for cmd in ndparse dpn-convert mxtorch; do "$bin/$cmd" --version; done
"$bin/ndparse" inspect "$REPO/fixtures/dpn/tiny68b-extra_v0-0000.params" | head -3
"$bin/ndparse" inspect "$REPO/fixtures/dpn/tiny92-symbol.json" | head -5
"$bin/dpn-convert" "$REPO/fixtures/dpn/tiny92-0000.params" -o "$work/tiny92.pth" --verify | tee "$work/dpn.log"
grep -q "^symbol graph: .* ok$" "$work/dpn.log"
"$bin/mxtorch" run "$REPO/fixtures/mxtorch/net/resnet_v1" --input data=1,3,32,32 -o "$work/out.npz"
"$bin/mxtorch" convert "$REPO/fixtures/mxtorch/net/resnet_v1" --input data=1,3,32,32 -o "$work/r.pt2"
test -s "$work/tiny92.pth" && test -s "$work/out.npz" && test -s "$work/r.pt2"
echo "wheel smoke test: ok"
