# go: dockerfile_ssh_test.go testSSHFileDescriptorsClosed
# Three agent clients in one RUN reach the host's ssh-agent (started by the test with -d) over
# one connection: it logs "process_message: socket 1" and never a second socket.
need ssh-keygen ssh-agent ssh-add musl-gcc
mkdir -p "$W/ctx"
musl-gcc -static -Os -o "$W/ctx/agent-list" "$BK/testSSHFileDescriptorsClosed/agent-list.c" ||
  not_ok "building the agent-list helper"
ssh-keygen -q -t ed25519 -N '' -f "$W/key" >/dev/null
sock=$(mktemp -u /tmp/bk-ssh-XXXXXX.sock)
ssh-agent -s -d -a "$sock" 2>"$W/agent.log" >/dev/null &
agent_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
SSH_AUTH_SOCK=$sock ssh-add -q "$W/key" 2>/dev/null
: >"$W/agent.log" # only what the build does is judged
bk_df_raw <<'DF'
FROM @BASE@
COPY agent-list /usr/local/bin/agent-list
RUN --mount=type=ssh for i in 1 2 3; do agent-list; done > /out.txt
FROM scratch
COPY --from=0 /out.txt /
DF
bk_local_ok "three agent clients in one RUN" --ssh "default=$sock"
check_eq "each saw the agent's one key (ssh-add -l)" "keys: 1
keys: 1
keys: 1" "$(cat "$W/out/out.txt" 2>&1)"
sleep 0.2
check_contains "the agent served socket 1" "process_message: socket 1" "$(cat "$W/agent.log")"
check "and no socket 2" sh -c "! grep -q 'process_message: socket 2' '$W/agent.log'"
check "and no socket 3" sh -c "! grep -q 'process_message: socket 3' '$W/agent.log'"
kill "$agent_pid" 2>/dev/null
wait "$agent_pid" 2>/dev/null || true
rm -f "$sock"
