#!/bin/bash
# An interrupted build (SIGINT, SIGTERM) says it was canceled (`#N ERROR: canceled` on the
# running step, as BuildKit), exits 130 / 143, leaves no QEMU process and no temporary files
# (ingest/ empty: no build-* folder with its sparse upper image), and the store checks clean.
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
