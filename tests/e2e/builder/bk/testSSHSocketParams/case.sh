# go: dockerfile_ssh_test.go testSSHSocketParams
# RUN --mount=type=ssh with mode/uid/gid: the socket at $SSH_AUTH_SOCK has them (a socket of
# mode 0741 is c1e1); the agent is a private one cbuild starts for a key file (--ssh default=KEY).
# Also: a required ssh mount without --ssh fails with BuildKit's error.
need ssh-keygen ssh-agent ssh-add
ssh-keygen -q -t rsa -b 2048 -m PEM -N '' -f "$W/key" >/dev/null
bk_df_raw <<'DF'
FROM @BASE@
RUN --mount=type=ssh,mode=741,uid=100,gid=102 [ "$(stat -c "%u %g %f" $SSH_AUTH_SOCK)" = "100 102 c1e1" ]
DF
bk_ok "the socket's mode and owner" --ssh "default=$W/key"
check "no private ssh-agent is left running" test -z "$(pgrep -f "ssh-agent -D -a .*ssh-agent-0.sock" 2>/dev/null | head -1)"
bk_df_raw <<'DF'
FROM @BASE@
RUN --mount=type=ssh,required=true true
DF
bk_fails "a required ssh mount without --ssh" 'no SSH key "default" forwarded from the client'
bk_df_raw <<'DF'
FROM @BASE@
RUN --mount=type=ssh [ -z "$SSH_AUTH_SOCK" ] && [ ! -e /run/buildkit/ssh_agent.0 ]
DF
bk_ok "an optional ssh mount without --ssh is left out"
