#!/bin/bash
# An interrupted build (SIGINT, SIGTERM; a two-platform one too) says it was canceled (`#N ERROR:
# canceled` on the running steps, as BuildKit), exits 130 / 143, leaves no QEMU process and no
# temporary files (ingest/ empty: no build-* folder with its sparse upper image), and the store
# checks clean.
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
start_base_registry
need pgrep

C=$(ctx slow <<EOF
FROM $BASE
COPY a /a
RUN echo started-sleeping && sleep 600
EOF
)
echo a >"$C/a"

# qemu processes whose command line names this test's store (their disks live in it)
qemu_of_store() { pgrep -f "qemu-system.*$CBUILD_ROOT" | wc -l; }

# interrupt SIG STATUS: start the build, wait until the RUN's command printed, send SIG.
interrupt() {
  local sig=$1 want=$2 i rc=0
  "$CBUILD" build --progress=plain -t slow "$C" >"$T/$sig.out" 2>"$T/$sig.log" &
  local pid=$!
  for i in $(seq 1 1800); do
    grep -qE '^#[0-9]+ [0-9.]+ started-sleeping' "$T/$sig.log" 2>/dev/null && break
    sleep 0.1
  done
  if ! grep -q 'started-sleeping' "$T/$sig.log"; then
    not_ok "$sig: the RUN started"; diag "$(tail -20 "$T/$sig.log")"; kill -9 $pid; wait $pid; return
  fi
  local running
  running=$(qemu_of_store)
  kill -$sig $pid
  # a build that ignores the signal is killed after 30 s (and fails the checks below)
  for i in $(seq 1 300); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
  kill -0 $pid 2>/dev/null && { diag "still running 30 s after SIG$sig"; pkill -9 -f -- "$C" ; }
  wait $pid || rc=$?
  check_eq "$sig: exit status $want" "$want" "$rc"
  check "$sig: the running RUN step ends as ERROR: canceled" grep -qE '^#[0-9]+ ERROR: canceled$' "$T/$sig.log"
  check_contains "$sig: the build says it was canceled" "canceled: interrupted by SIG$sig" "$(cat "$T/$sig.log")"
  check_eq "$sig: the VM was running when the signal came" 1 "$running"
  check_eq "$sig: no QEMU process is left" 0 "$(qemu_of_store)"
  check_eq "$sig: ingest/ is empty (no build-* folder, no upper image)" "" "$(ls -A "$CBUILD_ROOT/ingest")"
  check "$sig: the store checks clean" "$CBUILD" store check
}
interrupt INT 130
interrupt TERM 143

# the next build is not disturbed by the interrupted ones
C2=$(ctx quick <<EOF
FROM $BASE
COPY a /a
RUN echo done > /done
EOF
)
echo a >"$C2/a"
check "a build after the interrupted ones succeeds" build "$C2" quick
check "the store checks clean after it" "$CBUILD" store check

# A two-platform build interrupted while both platforms' RUN steps run (they are solved at the
# same time): both end as ERROR: canceled, exit 130, no VM left, nothing hangs.
C3=$(ctx multi <<EOF
FROM $BASE
RUN echo started-sleeping-\$(uname -m) && sleep 600
EOF
)
"$CBUILD" build --progress=plain --platform linux/amd64,linux/arm64 -t multi "$C3" >"$T/multi.out" 2>"$T/multi.log" &
pid=$!
for i in $(seq 1 1800); do
  [ "$(grep -cE '^#[0-9]+ [0-9.]+ started-sleeping-' "$T/multi.log" 2>/dev/null)" -ge 2 ] && break
  sleep 0.1
done
check_eq "two platforms: both RUN steps started" "aarch64 x86_64" \
  "$(grep -oE 'started-sleeping-[a-z0-9_]+' "$T/multi.log" | sort -u | sed 's/started-sleeping-//' | tr '\n' ' ' | sed 's/ $//')"
running=$(qemu_of_store)
kill -INT $pid
for i in $(seq 1 300); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill -0 $pid 2>/dev/null && { diag "still running 30 s after SIGINT"; kill -9 $pid; }
rc=0
wait $pid || rc=$?
check_eq "two platforms: exit status 130" 130 "$rc"
check_eq "… two VMs were running when the signal came" 2 "$running"
check_eq "… both RUN steps end as ERROR: canceled" 2 "$(grep -cE '^#[0-9]+ ERROR: canceled$' "$T/multi.log")"
check_contains "… the build says it was canceled" "canceled: interrupted by SIGINT" "$(cat "$T/multi.log")"
check_eq "… no QEMU process is left" 0 "$(qemu_of_store)"
check_eq "… ingest/ is empty" "" "$(ls -A "$CBUILD_ROOT/ingest")"
check "… the store checks clean" "$CBUILD" store check
