#!/usr/bin/env bash
# The main job: builds lowbit, then runs a real model (PP-OCRv4 det by default)
# through lowbit-run and checks it against onnxruntime.
#
#   bash scripts/main.sh [scripts/main.py options, e.g. --model M.onnx --input-shape x=1x3x64x64]
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

if ! bash scripts/build.sh; then
  echo "main.sh: error: build failed" >&2
  exit 1
fi
exec python3 scripts/main.py "$@"
