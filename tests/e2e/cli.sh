#!/bin/bash
# The CLI shell: help, version, unknown commands and flags, store root resolution.
. "$CBUILD_SRC/tests/e2e/lib.sh"

out=$("$CBUILD" --help); check_contains "--help lists commands" "build" "$out"
check_contains "--help shows usage" "Usage:" "$out"
out=$("$CBUILD" version); check_contains "version prints the version" "cbuild version" "$out"
out=$("$CBUILD" --version); check_contains "--version" "cbuild version" "$out"

out=$("$CBUILD" biuld 2>&1); rc=$?
check_eq "unknown command exits 125" 125 "$rc"
check_contains "unknown command suggests the closest" "build" "$out"
check_contains "unknown command is named" "'biuld' is not a cbuild command" "$out"

out=$("$CBUILD" version --frobnicate 2>&1); rc=$?
check_eq "unknown flag exits 125" 125 "$rc"
check_contains "unknown flag is named" "unknown flag: --frobnicate" "$out"
out=$("$CBUILD" build --tagg x . 2>&1)
check_contains "unknown flag suggests a known one" "did you mean --tag" "$out"

out=$("$CBUILD" build --help); check_contains "build --help lists -t" "--tag" "$out"
