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

ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
not_ok() { _tap_n=$((_tap_n + 1)); _tap_failed=$((_tap_failed + 1)); echo "not ok $_tap_n - $*"; }
skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - # SKIP $*"; }
diag() { sed 's/^/# /' <<<"$*"; }

# check "description" command...: ok when the command exits 0; shows its output otherwise.
check() {
    local desc=$1; shift
    local out
    if out=$("$@" 2>&1); then ok "$desc"; else not_ok "$desc"; diag "$out"; fi
}
# check_fails "description" command...: ok when the command exits non-zero.
check_fails() {
    local desc=$1; shift
    local out
    if out=$("$@" 2>&1); then not_ok "$desc (unexpectedly succeeded)"; diag "$out"; else ok "$desc"; fi
}
# check_eq "description" expected actual
check_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; diag "expected: $2"; diag "actual:   $3"; fi
}
# check_contains "description" needle haystack
check_contains() {
    case "$3" in *"$2"*) ok "$1" ;; *) not_ok "$1"; diag "expected to contain: $2"; diag "actual: $3" ;; esac
}
