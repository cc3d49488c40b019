#!/bin/bash
# Builds cbuild and runs every test (unit, conformance, end to end).
# Last line: "N passed, N failed, N skipped" counted over every TAP subtest.
#   tests/run.sh            regular build in build/
#   tests/run.sh --asan     ASan+UBSan build in build-asan/
set -u
cd "$(dirname "$0")/.."
# The suite judges ext4 images with loop mounts and runs debootstrap: as root. A user shell
# with sudo re-runs it through sudo (CBUILD_TEST_AS_USER=1 keeps the user; root-only checks skip).
if [ "$(id -u)" != 0 ] && [ -z "${CBUILD_TEST_AS_USER:-}" ] && command -v sudo >/dev/null; then
  exec sudo --preserve-env=CBUILD_TEST_CACHE,CBUILD_CONFORMANCE_DIR,CBUILD_KERNEL,CBUILD_TEST_KERNEL bash "$0" "$@"
fi
BUILD=build
SETUP=(-Dwerror=true -Dtest_hooks=true)
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
# The VM tests run on cbuild's own guest kernel (guest/kernel/build.sh: built once per config and
# source, cached under /var/tmp/cbuild-kernel); CBUILD_TEST_KERNEL=debian keeps Debian's cloud
# kernel. tests/e2e/guest/setup.sh always boots the Debian kernel too.
if [ "${CBUILD_TEST_KERNEL:-own}" = own ] && [ -z "${CBUILD_KERNEL:-}" ]; then
  export CBUILD_KERNEL_CACHE=${CBUILD_KERNEL_CACHE:-/var/tmp/cbuild-kernel}
  if ! kdir=$(bash guest/kernel/build.sh "$CBUILD_KERNEL_CACHE" 2>/tmp/cbuild-kernel-build.log); then
    tail -30 /tmp/cbuild-kernel-build.log
    echo "0 passed, 1 failed"
    exit 1
  fi
  export CBUILD_KERNEL=$kdir/bzImage
fi
meson test -C "$BUILD" --print-errorlogs --num-processes 2 "$@"
python3 tests/summarize.py "$BUILD/meson-logs/testlog.json"
