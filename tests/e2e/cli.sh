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
# docker build's flags, each with what it means for a RUN VM
for f in "--load" "--annotation" "-m, --memory SIZE" "--cpus N" "--shm-size SIZE" "--add-host HOST:IP" \
    "--rm " "--force-rm" "--compress" "--isolation" "--security-opt" "--ulimit" "--cpu-shares" "--cpuset-cpus" \
    "--cpu-period" "--cpu-quota" "--memory-swap"; do
  check_contains "build --help lists $f" "$f" "$out"
done
check_contains "build --help: what --security-opt maps to in a VM" "seccomp=unconfined, apparmor=…, label=…: accepted" "$out"
out=$("$CBUILD" build -m 1zz . 2>&1); rc=$?
check_eq "a bad --memory exits 125 as docker" 125 "$rc"
check_contains "a bad --memory: docker's message" "invalid argument \"1zz\" for \"-m, --memory\" flag: invalid size: '1zz'" "$out"
