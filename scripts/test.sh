#!/usr/bin/env bash
# The test command: builds lowbit, then runs every suite (lit, GoogleTest,
# ONNX conformance, pytest, 60 s of fuzzing the ONNX importer). All suites
# run even when one fails; the exit status is non-zero if any failed. The
# set-up (scripts/setup.sh, through scripts/build.sh) installs the locked
# versions and prints them first; the summary repeats the main ones.
#
#   bash scripts/test.sh
#   LOWBIT_SKIP_SETUP=1 bash scripts/test.sh   # skip the package set-up
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

if ! bash scripts/build.sh; then
  echo "test.sh: error: build failed; no suite was run" >&2
  exit 1
fi

suite_names=()
suite_results=()
suite_seconds=()

# run_suite NAME COMMAND...: runs one suite, records pass/fail and time, and
# never stops the script.
run_suite() {
  local name="$1"
  shift
  echo
  echo "==== $name: $*"
  local start=$SECONDS
  local rc=0
  "$@" || rc=$?
  suite_names+=("$name")
  suite_seconds+=($((SECONDS - start)))
  if ((rc == 0)); then
    suite_results+=("pass")
  else
    suite_results+=("FAIL (exit $rc)")
  fi
  echo "==== $name: exit $rc"
}

# pytest exits 5 when it collected no test. That must fail the suite; it does,
# being non-zero, and this says why (any exit code is passed on unchanged).
pytest_no_tests_fails() {
  local rc=0
  "$@" || rc=$?
  if ((rc == 5)); then
    echo "test.sh: pytest collected no tests: counted as a failure" >&2
  fi
  return "$rc"
}

run_suite lit ninja -C build check-lowbit
# --no-tests=error: a build that registers no 'unit' test is a failure too.
run_suite gtest ctest --test-dir build --output-on-failure --no-tests=error -L unit
run_suite conformance python3 scripts/conformance.py --lowbit-run build/bin/lowbit-run
run_suite pytest pytest_no_tests_fails python3 -m pytest -q test/python
# Its own ASan+UBSan build in build-fuzz (the importer only: a few minutes on
# 2 cores the first time, seconds after), the regression inputs, then 60 s.
run_suite fuzz bash scripts/fuzz.sh 60

echo
echo "==== summary"
python3 scripts/versions.py --summary || true
printf '%-12s %-16s %s\n' suite result seconds
failed=0
for i in "${!suite_names[@]}"; do
  printf '%-12s %-16s %s\n' "${suite_names[$i]}" "${suite_results[$i]}" "${suite_seconds[$i]}"
  [[ "${suite_results[$i]}" == pass ]] || failed=$((failed + 1))
done
if ((failed)); then
  echo "test.sh: $failed of ${#suite_names[@]} suites failed"
  exit 1
fi
echo "test.sh: all ${#suite_names[@]} suites passed"
