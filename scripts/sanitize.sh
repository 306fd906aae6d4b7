#!/usr/bin/env bash
# Builds lowbit's tools and GoogleTest unit tests with AddressSanitizer and
# UndefinedBehaviorSanitizer into build-asan/ (clang-22; no Python package, no
# CUDA), then runs the GoogleTest suite and the lit suite against that build.
# Only lowbit's code is instrumented (Debian's LLVM/MLIR static libraries are
# linked as they are). Exits non-zero if the build or either suite fails; a
# sanitizer report fails the test that triggered it. See docs/hardening.md.
#
#   bash scripts/sanitize.sh
#
# Environment: LOWBIT_SANITIZE_JOBS (compile jobs, default nproc),
# LOWBIT_SANITIZE_BUILD_DIR (default build-asan).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
build_dir="${LOWBIT_SANITIZE_BUILD_DIR:-$repo_root/build-asan}"

die() {
  echo "sanitize.sh: error: $*" >&2
  exit 1
}

command -v clang++-22 >/dev/null 2>&1 \
  || die "clang++-22 not found: install the Debian package clang-22 (bash scripts/setup.sh installs it)"
probe_dir="$(mktemp -d)"
trap 'rm -rf "$probe_dir"' EXIT
echo 'int main() { return 0; }' >"$probe_dir/probe.cpp"
clang++-22 -fsanitize=address,undefined "$probe_dir/probe.cpp" -o "$probe_dir/probe" >/dev/null 2>&1 \
  || die "clang++-22 cannot link with ASan/UBSan: install the Debian package libclang-rt-22-dev (bash scripts/setup.sh installs it)"

if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  cmake_args=(-G Ninja -S "$repo_root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22
    -DLOWBIT_SANITIZERS=address,undefined
    -DLOWBIT_BUILD_PYTHON=OFF -DLOWBIT_BUILD_TESTS=ON -DLOWBIT_ENABLE_CUDA=OFF)
  # lld links the static MLIR libraries in seconds where GNU ld takes minutes.
  [[ -x /usr/lib/llvm-22/bin/ld.lld ]] && cmake_args+=(-DLLVM_USE_LINKER=lld)
  if command -v ccache >/dev/null 2>&1; then
    cmake_args+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  echo "sanitize.sh: cmake$(printf ' %q' "${cmake_args[@]}")"
  cmake "${cmake_args[@]}" || die "cmake configure of $build_dir failed"
elif ! grep -q '^LOWBIT_SANITIZERS:STRING=address,undefined$' "$build_dir/CMakeCache.txt"; then
  die "$build_dir is not an ASan+UBSan build: remove it and run again"
fi

jobs="${LOWBIT_SANITIZE_JOBS:-$(nproc)}"
start=$SECONDS
echo "sanitize.sh: ninja -C $build_dir -j$jobs (tools, unit tests, lit dependencies)"
ninja -C "$build_dir" -j"$jobs" || die "the sanitizer build failed"
echo "sanitize.sh: built in $((SECONDS - start)) s"

# Leaks are detected: at this commit no tool run by lit and no unit test
# reports one (what MLIR's uniquers and LLVM's statics hold at exit is still
# reachable, which LeakSanitizer does not report), so a report is a real leak.
# Should Debian's uninstrumented libraries ever produce false positives, run
# with ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 (a set ASAN_OPTIONS wins).
# abort_on_error=1: an ASan or UBSan report kills the process with SIGABRT,
# which lit's `not` counts as a crash, so a RUN line that expects a tool to
# fail cannot hide a sanitizer report behind exit status 1.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:abort_on_error=1}"
if [[ -x /usr/lib/llvm-22/bin/llvm-symbolizer ]]; then
  export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-22/bin/llvm-symbolizer
fi

failed=0
echo
echo "==== sanitize: gtest (ctest -L unit)"
start=$SECONDS
ctest --test-dir "$build_dir" --output-on-failure --no-tests=error -L unit -j"$jobs" || failed=$((failed + 1))
echo "==== sanitize: gtest took $((SECONDS - start)) s"

echo
echo "==== sanitize: lit (check-lowbit)"
start=$SECONDS
ninja -C "$build_dir" check-lowbit || failed=$((failed + 1))
echo "==== sanitize: lit took $((SECONDS - start)) s"

if ((failed)); then
  echo "sanitize.sh: $failed of 2 suites failed under ASan+UBSan (sanitizer reports above: grep 'ERROR: AddressSanitizer\|runtime error:')" >&2
  exit 1
fi
echo "sanitize.sh: gtest and lit passed under ASan+UBSan"
