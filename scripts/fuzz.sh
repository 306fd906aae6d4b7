#!/usr/bin/env bash
# Fuzzes the ONNX importer (issue 18) with libFuzzer, ASan and UBSan: builds
# lowbit-onnx-import-fuzzer into build-fuzz/ (configuring it when needed),
# runs every file of fuzz/regressions/ through it once (none may crash), then
# fuzzes from a scratch copy of fuzz/corpus/ for SECONDS. Exits non-zero when
# libFuzzer reports a crash, a sanitizer error, a leak, a timeout or an OOM,
# and prints where the reproducer is. Installs nothing: clang-22 and
# libclang-rt-22-dev come from scripts/setup.sh. See docs/hardening.md.
#
#   bash scripts/fuzz.sh                  # 60 s
#   bash scripts/fuzz.sh 600              # 10 min
#   bash scripts/fuzz.sh --campaign 8     # 8 h, summary in bench/results/fuzz_campaign.json
#
# Environment: LOWBIT_FUZZ_JOBS (compile jobs, default nproc),
# LOWBIT_FUZZ_FORK (campaign fuzzing processes, default nproc),
# LOWBIT_FUZZ_BUILD_DIR (default build-fuzz).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
build_dir="${LOWBIT_FUZZ_BUILD_DIR:-$repo_root/build-fuzz}"
target=lowbit-onnx-import-fuzzer
fuzzer="$build_dir/bin/$target"
campaign_json="$repo_root/bench/results/fuzz_campaign.json"

die() {
  echo "fuzz.sh: error: $*" >&2
  exit 1
}

usage() {
  sed -n '10,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 2
}

seconds=60
campaign_hours=""
case "${1:-}" in
  "") ;;
  --campaign)
    [[ $# -eq 2 && "$2" =~ ^[0-9]+([.][0-9]+)?$ ]] || usage
    campaign_hours="$2"
    seconds="$(python3 -c "import sys; print(max(1, round(float(sys.argv[1]) * 3600)))" "$2")"
    ;;
  -h | --help) usage ;;
  *)
    [[ $# -eq 1 && "$1" =~ ^[0-9]+$ && "$1" -gt 0 ]] || usage
    seconds="$1"
    ;;
esac

# --- toolchain: clang-22 and its libFuzzer/sanitizer runtimes (Debian) ---
command -v clang-22 >/dev/null 2>&1 && command -v clang++-22 >/dev/null 2>&1 \
  || die "clang++-22 not found: install the Debian package clang-22 (bash scripts/setup.sh installs it)"
probe_dir="$(mktemp -d)"
trap 'rm -rf "$probe_dir"' EXIT
printf '%s\n' 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char *, unsigned long) { return 0; }' \
  >"$probe_dir/probe.cpp"
if ! clang++-22 -fsanitize=fuzzer,address,undefined "$probe_dir/probe.cpp" -o "$probe_dir/probe" \
  >"$probe_dir/probe.log" 2>&1; then
  cat "$probe_dir/probe.log" >&2
  die "clang++-22 cannot link a libFuzzer target with ASan/UBSan: install the Debian package libclang-rt-22-dev (bash scripts/setup.sh installs it)"
fi

# --- configure (once) and build only the fuzz target and what it links ---
if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  cmake_args=(-G Ninja -S "$repo_root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22
    -DLOWBIT_BUILD_FUZZER=ON -DLOWBIT_BUILD_PYTHON=OFF -DLOWBIT_BUILD_TESTS=OFF
    -DLOWBIT_ENABLE_CUDA=OFF)
  # lld links the static MLIR libraries in seconds where GNU ld takes minutes.
  [[ -x /usr/lib/llvm-22/bin/ld.lld ]] && cmake_args+=(-DLLVM_USE_LINKER=lld)
  if command -v ccache >/dev/null 2>&1; then
    cmake_args+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  echo "fuzz.sh: cmake$(printf ' %q' "${cmake_args[@]}")"
  cmake "${cmake_args[@]}" || die "cmake configure of $build_dir failed"
elif ! grep -q '^LOWBIT_BUILD_FUZZER:BOOL=ON$' "$build_dir/CMakeCache.txt"; then
  die "$build_dir is not a fuzz build (LOWBIT_BUILD_FUZZER=OFF): remove it and run again"
fi
jobs="${LOWBIT_FUZZ_JOBS:-$(nproc)}"
echo "fuzz.sh: ninja -C $build_dir -j$jobs $target"
ninja -C "$build_dir" -j"$jobs" "$target" || die "building $target failed"

# --- sanitizer settings shared by both runs ---
# Leaks are detected (LeakSanitizer, and libFuzzer's per-input check): the
# context is a static, so what MLIR's uniquers and LLVM's statics keep stays
# reachable and LeakSanitizer does not report it; a 7-million-input run with
# detection on reported no false positive (docs/hardening.md).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
if [[ -x /usr/lib/llvm-22/bin/llvm-symbolizer ]]; then
  export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-22/bin/llvm-symbolizer
fi
# A hang is an input that takes > 20 s; an OOM is one that needs > 4 GiB (or
# asks for it in one allocation). -max_len: the seeds are 0.1-1 KB; 8 KB
# leaves room to grow a graph without spending the run on huge mutations.
libfuzzer_limits=(-timeout=20 -rss_limit_mb=4096 -malloc_limit_mb=4096 -max_len=8192)

run_root="$build_dir/fuzz-runs/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$run_root/corpus" "$run_root/artifacts"

# report_failure LOG: names the reproducer libFuzzer wrote, if any.
report_failure() {
  local log="$1"
  grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error:|ALARM|.*out-of-memory)' "$log" | head -n 5 >&2 || true
  local unit
  unit="$(sed -n 's/^.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)"
  if [[ -n "$unit" ]]; then
    echo "fuzz.sh: reproducer: $unit" >&2
    echo "fuzz.sh: replay with: $fuzzer $unit" >&2
  fi
  echo "fuzz.sh: full log: $log" >&2
}

# --- 1. the regressions: each malformed model once ---
mapfile -t regressions < <(find "$repo_root/fuzz/regressions" -maxdepth 1 -type f -name '*.onnx' | sort)
((${#regressions[@]})) || die "fuzz/regressions/ has no .onnx file (python3 fuzz/make_corpus.py writes them)"
echo "fuzz.sh: running the ${#regressions[@]} regression inputs of fuzz/regressions/"
if ! "$fuzzer" "${libfuzzer_limits[@]}" -artifact_prefix="$run_root/artifacts/" "${regressions[@]}" \
  >"$run_root/regressions.log" 2>&1; then
  # A regression that crashes is its own reproducer.
  grep -E '^Running: ' "$run_root/regressions.log" | tail -n 1 >&2 || true
  report_failure "$run_root/regressions.log"
  die "a regression input crashed the importer (the last 'Running:' line above names it)"
fi
echo "fuzz.sh: regressions: all ${#regressions[@]} passed"

# --- 2. fuzz from a scratch copy of the corpus (the checked-in one is never written) ---
cp "$repo_root"/fuzz/corpus/*.onnx "${regressions[@]}" "$run_root/corpus/"
log="$run_root/fuzz.log"
echo "fuzz.sh: fuzzing for $seconds s in $run_root (log: $log)"
start_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
mode_flags=()
if [[ -n "$campaign_hours" ]]; then
  # A campaign goes on after a crash, a timeout or an OOM (each is saved
  # under artifacts/) and fuzzes in one process per core, so that a night
  # reports every bug it finds instead of the first one.
  mode_flags=(-fork="${LOWBIT_FUZZ_FORK:-$(nproc)}" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
fi
rc=0
"$fuzzer" "${libfuzzer_limits[@]}" "${mode_flags[@]}" -max_total_time="$seconds" -print_final_stats=1 \
  -artifact_prefix="$run_root/artifacts/" "$run_root/corpus" >"$log" 2>&1 || rc=$?

# The final stats: the last status line (cov/ft/corp/exec/s) and libFuzzer's
# stat:: lines.
python3 - "$log" "$rc" "$seconds" "$start_date" "$run_root" "${campaign_hours:+$campaign_json}" <<'EOF'
import json, os, platform, re, sys
from pathlib import Path

log_path, rc, seconds, start_date, run_root, json_out = sys.argv[1:7]
text = Path(log_path).read_text(errors="replace")
# Status lines: '#N<TAB>NEW cov: C ft: F corp: U/..' (one process) or
# '#N: cov: C ft: F corp: U exec/s: E oom/timeout/crash: a/b/c time: Ts'
# (-fork, where the stat:: lines are absent).
status = [l for l in text.splitlines() if re.match(r"#\d+[:\s]", l) and " cov: " in l]
last = status[-1] if status else ""
def field(name, line=last):
    m = re.search(rf"(?:^|\s){name}: (\d+)", line)
    return int(m.group(1)) if m else None
stats = {k: int(v) for k, v in re.findall(r"^stat::(\w+):\s+(\d+)", text, re.M)}
if "number_of_executed_units" not in stats and last:
    stats["number_of_executed_units"] = int(re.match(r"#(\d+)", last).group(1))
    elapsed = field("time") or int(seconds)
    stats["average_exec_per_sec"] = stats["number_of_executed_units"] // max(1, elapsed)
artifacts = sorted(str(p) for p in Path(run_root, "artifacts").iterdir())
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
summary = {
    "date": start_date,
    "seconds": int(seconds),
    "executions": stats.get("number_of_executed_units"),
    "exec_per_s": stats.get("average_exec_per_sec"),
    "cov": field("cov"),
    "ft": field("ft"),
    "corpus_units": field("corp"),
    "peak_rss_mb": stats.get("peak_rss_mb"),
    "crashes": len(artifacts),
    "reproducers": artifacts,
    "libfuzzer_exit": int(rc),
    "final_status_line": last,
    "machine": {"cpu": cpu, "cores": os.cpu_count()},
}
print("fuzz.sh: " + ", ".join(f"{k} {summary[k]}" for k in
      ("executions", "exec_per_s", "cov", "ft", "corpus_units", "peak_rss_mb", "crashes")))
if json_out:
    Path(json_out).parent.mkdir(parents=True, exist_ok=True)
    Path(json_out).write_text(json.dumps(summary, indent=2) + "\n")
    print(f"fuzz.sh: campaign summary written to {json_out}")
EOF

if ((rc != 0)); then
  report_failure "$log"
  die "libFuzzer exited with $rc (crash, sanitizer report, leak, timeout or OOM)"
fi
# A campaign ignores crashes to go on; what it saved still fails the run.
if compgen -G "$run_root/artifacts/*" >/dev/null; then
  echo "fuzz.sh: reproducers found (replay one with: $fuzzer FILE):" >&2
  ls -1 "$run_root"/artifacts/* >&2
  die "the campaign found crashes, timeouts or OOMs"
fi
echo "fuzz.sh: no crash in $seconds s"
