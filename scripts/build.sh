#!/usr/bin/env bash
# Configures and builds lowbit into build/ (Release, Ninja).
#
#   bash scripts/build.sh                    # set-up, configure, build
#   LOWBIT_SKIP_SETUP=1 bash scripts/build.sh  # skip scripts/setup.sh
#   extra arguments are passed to the cmake configure step, e.g.
#   bash scripts/build.sh -DLOWBIT_ENABLE_CUDA=OFF
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
build_dir="$repo_root/build"

die() {
  echo "build.sh: error: $*" >&2
  exit 1
}

if [[ "${LOWBIT_SKIP_SETUP:-0}" != "1" ]]; then
  bash "$repo_root/scripts/setup.sh" || die "scripts/setup.sh failed"
fi

# A build dir made with another generator cannot be reconfigured for Ninja.
if [[ -f "$build_dir/CMakeCache.txt" ]] \
  && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$build_dir/CMakeCache.txt"; then
  die "$build_dir was configured with another generator; remove it and run again"
fi

cmake_args=(-G Ninja -S "$repo_root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release)

# Link with lld when g++ can use it: linking the static MLIR libraries with
# GNU ld takes minutes per tool. Prefer LLVM 22's lld, else any ld.lld on PATH;
# try a real link first so a broken lld falls back to the default linker.
linker_flags=""
probe_dir="$(mktemp -d)"
trap 'rm -rf "$probe_dir"' EXIT
echo 'int main() { return 0; }' >"$probe_dir/probe.cpp"
candidates=()
[[ -x /usr/lib/llvm-22/bin/ld.lld ]] && candidates+=("-B/usr/lib/llvm-22/bin -fuse-ld=lld")
command -v ld.lld >/dev/null 2>&1 && candidates+=("-fuse-ld=lld")
for flags in "${candidates[@]}"; do
  # shellcheck disable=SC2086  # flags is a list of words on purpose
  if g++ $flags "$probe_dir/probe.cpp" -o "$probe_dir/probe" >/dev/null 2>&1; then
    linker_flags="$flags"
    break
  fi
done
if [[ -n "$linker_flags" ]]; then
  echo "build.sh: linking with lld ($linker_flags)"
  cmake_args+=(
    "-DCMAKE_EXE_LINKER_FLAGS=$linker_flags"
    "-DCMAKE_SHARED_LINKER_FLAGS=$linker_flags"
    "-DCMAKE_MODULE_LINKER_FLAGS=$linker_flags"
  )
else
  echo "build.sh: lld not usable with g++; using the default linker"
fi

# ccache, when the machine has it, makes rebuilds of a fresh clone cheap.
if command -v ccache >/dev/null 2>&1; then
  cmake_args+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

echo "build.sh: cmake$(printf ' %q' "${cmake_args[@]}" "$@")"
cmake "${cmake_args[@]}" "$@" || die "cmake configure failed"

jobs="$(nproc)"
echo "build.sh: ninja -C build -j$jobs"
ninja -C "$build_dir" -j"$jobs" || die "build failed"
echo "build.sh: built into $build_dir"
