# TAP helpers for end-to-end tests. Source it: . "$CBUILD_SRC/tests/e2e/lib.sh"
# Each check prints one TAP line; the summary is counted by meson.
set -u
CBUILD=${CBUILD:-$CBUILD_SRC/build/builder/cli/cbuild}
_tap_n=0
_tap_failed=0
T=$(mktemp -d /tmp/cbuild-e2e.XXXXXX)
export CBUILD_ROOT=$T/root
trap '_tap_done' EXIT

_tap_done() {
    echo "1..$_tap_n"
    rm -rf "$T"
}

_tap_prefix=
ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - ${_tap_prefix}$*"; }
not_ok() { _tap_n=$((_tap_n + 1)); _tap_failed=$((_tap_failed + 1)); echo "not ok $_tap_n - ${_tap_prefix}$*"; }
skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - # SKIP $*"; }
diag() { sed 's/^/# /' <<<"$*"; }

# check "description" command...: ok when the command exits 0; shows its output otherwise.
check() {
    local desc=$1; shift
    local out
    if out=$("$@" 2>&1); then ok "$desc"; else not_ok "$desc"; diag "$out"; fi
}
# check_fails "description" command...: ok when the command fails cleanly: an exit code from 1
# to 127. A signal (128+N, e.g. SIGSEGV 139) or a sanitizer report is a crash, never an expected
# failure. (The builder tests' `build` writes its output to $T/last.log: that is read too.)
check_fails() {
    local desc=$1; shift
    local out rc
    out=$("$@" 2>&1)
    rc=$?
    [ "$1" = build ] && [ -f "$T/last.log" ] && out="$out$(cat "$T/last.log")"
    if [ $rc -eq 0 ]; then
        not_ok "$desc (unexpectedly succeeded)"; diag "$out"
    elif ! failed_cleanly $rc "$out"; then
        not_ok "$desc (crashed: exit $rc)"; diag "$out"
    else
        ok "$desc"
    fi
}
# failed_cleanly RC OUTPUT: RC is an error exit (1..127), not a signal, and OUTPUT carries no
# sanitizer report.
failed_cleanly() {
    [ "$1" -ge 1 ] && [ "$1" -lt 128 ] || return 1
    case "$2" in *"ERROR: AddressSanitizer"*|*"runtime error:"*|*"ERROR: LeakSanitizer"*) return 1 ;; esac
    return 0
}
# check_eq "description" expected actual
check_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; diag "expected: $2"; diag "actual:   $3"; fi
}
# check_contains "description" needle haystack
check_contains() {
    case "$3" in *"$2"*) ok "$1" ;; *) not_ok "$1"; diag "expected to contain: $2"; diag "actual: $3" ;; esac
}
