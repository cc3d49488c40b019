#!/bin/bash
# Builds cbuild and runs every test (unit, conformance, end to end).
# Last line: "N passed, N failed, N skipped" counted over every TAP subtest.
#   tests/run.sh            regular build in build/
#   tests/run.sh --asan     ASan+UBSan build in build-asan/
set -u
cd "$(dirname "$0")/.."
BUILD=build
SETUP=(-Dwerror=true)
if [ "${1:-}" = "--asan" ]; then
  shift
  BUILD=build-asan
  SETUP+=(-Db_sanitize=address,undefined -Db_lundef=false)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
# Reconfigure every time so options and new test files are picked up.
if [ -f "$BUILD/build.ninja" ]; then
  SETUP+=(--reconfigure)
fi
meson setup "$BUILD" "${SETUP[@]}" >"/tmp/cbuild-meson-setup.log" 2>&1 || { cat /tmp/cbuild-meson-setup.log; echo "0 passed, 1 failed"; exit 1; }
if ! ninja -C "$BUILD"; then
  echo "0 passed, 1 failed"
  exit 1
fi
meson test -C "$BUILD" --print-errorlogs --num-processes 2 "$@"
python3 tests/summarize.py "$BUILD/meson-logs/testlog.json"
