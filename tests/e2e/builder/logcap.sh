#!/bin/bash
# Hostile step output: a RUN printing 64 MB without a newline keeps cbuild's peak RSS under
# 64 MiB (VmHWM), and a step's log is capped per stream at BuildKit's limit
# (util/progress/logs: 2 MiB, BUILDKIT_STEP_LOG_MAX_SIZE) with BuildKit's message
# `[output clipped, log limit 2MiB reached]`.
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
start_base_registry

C=$(ctx flood <<EOF
FROM $BASE
RUN echo before-the-flood && yes x | tr -d '\n' | head -c 67108864 && echo && echo after-the-flood
EOF
)
# the one-time guest setup (kernel, initramfs) is not the step's output: done first
check "cbuild setup" "$CBUILD" setup
# cbuild's own peak (VmHWM), sampled until it exits: /usr/bin/time -v would count the QEMU
# child's guest RAM too
"$CBUILD" build --progress=plain -t flood "$C" >"$T/flood.out" 2>"$T/flood.log" &
pid=$!
hwm=0
while kill -0 $pid 2>/dev/null; do
  h=$(awk '/^VmHWM:/ {print $2}' /proc/$pid/status 2>/dev/null)
  [ -n "$h" ] && hwm=$h
  sleep 0.05
done
if wait $pid; then ok "a RUN printing 64 MB without a newline builds"
else not_ok "a RUN printing 64 MB without a newline builds"; diag "$(tail -c 2000 "$T/flood.log")"; fi
[ "$hwm" -gt 0 ] && [ "$hwm" -lt 65536 ] && ok "cbuild's peak RSS ${hwm} KiB < 64 MiB" || not_ok "cbuild's peak RSS ${hwm} KiB < 64 MiB"
check "the log says the output was clipped at 2MiB" grep -qxE '#[0-9]+ [0-9.]+ \[output clipped, log limit 2MiB reached\]' "$T/flood.log"
size=$(stat -c %s "$T/flood.log")
[ "$size" -gt 2097152 ] && [ "$size" -lt 2200000 ] && ok "the step's log is capped ($size bytes)" || not_ok "the step's log is capped ($size bytes)"
check "output before the limit is shown" grep -qE '^#[0-9]+ [0-9.]+ before-the-flood$' "$T/flood.log"
if grep -qE '^#[0-9]+ [0-9.]+ after-the-flood$' "$T/flood.log"; then not_ok "output past the limit is dropped"; else ok "output past the limit is dropped"; fi

# BUILDKIT_STEP_LOG_MAX_SIZE sets the limit, per stream: stderr has its own budget
C2=$(ctx lines <<EOF
FROM $BASE
RUN for i in \$(seq 1 400); do echo out-line-\$i; done; for i in \$(seq 1 400); do echo err-line-\$i >&2; done
EOF
)
if BUILDKIT_STEP_LOG_MAX_SIZE=1024 "$CBUILD" build --progress=plain -t lines "$C2" >"$T/lines.out" 2>"$T/lines.log"; then
  ok "a build with BUILDKIT_STEP_LOG_MAX_SIZE=1024"
else not_ok "a build with BUILDKIT_STEP_LOG_MAX_SIZE=1024"; diag "$(tail -20 "$T/lines.log")"; fi
check_eq "each stream is clipped once, with the limit named" 2 \
  "$(grep -cE '^#[0-9]+ [0-9.]+ \[output clipped, log limit 1KiB reached\]$' "$T/lines.log")"
check "stdout's first lines are shown" grep -qE ' out-line-1$' "$T/lines.log"
check "stderr's first lines are shown (its own budget)" grep -qE ' err-line-1$' "$T/lines.log"
if grep -qE ' (out|err)-line-400$' "$T/lines.log"; then not_ok "the last lines are dropped"; else ok "the last lines are dropped"; fi
