#!/bin/bash
# RUN in VMs: shell and exec form, ENV/ARG/USER/WORKDIR, deletions (whiteouts), mounts
# (secret, cache, tmpfs, bind), --network=none, failures naming the line with the output's
# tail and exit code, and the cache (a cached rebuild boots no VM).
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
start_base_registry
need python3

C=$(ctx run <<EOF
FROM $BASE AS src
COPY ctxdir/ /data/

FROM $BASE
ARG BUILDVAR=fromarg
ENV E1=env1
RUN echo "shell \$E1 \$BUILDVAR" > /shell.txt && id -u > /uid.txt
RUN ["/bin/sh", "-c", "echo exec > /exec.txt"]
WORKDIR /w
USER app
RUN pwd > /tmp/pwd.txt && id -un > /tmp/user.txt && touch /tmp/by-app
USER root
RUN rm -f /bin/vi /etc/group- && mkdir -p /opq && echo x > /opq/f
RUN --mount=type=secret,id=tok --mount=type=cache,target=/cache --mount=type=tmpfs,target=/scratch \
    --mount=type=bind,source=ctxfile,target=/mnt/ctxfile --mount=type=bind,from=src,source=/data,target=/mnt/stage \
    wc -c < /run/secrets/tok > /secret-len.txt && \
    n=\$(cat /cache/n 2>/dev/null || echo 0) && echo \$((n+1)) > /cache/n && cp /cache/n /cache-n.txt && \
    echo t > /scratch/t && ls /scratch > /tmpfs.txt && cat /mnt/ctxfile > /bind.txt && cat /mnt/stage/x > /bindstage.txt
RUN --network=none sh -c 'ls /sys/class/net | tr "\n" " " > /netifs.txt'
RUN <<SCRIPT
#!/bin/sh -e
echo "script \$0" > /script.txt
SCRIPT
EOF
)
echo from-context >"$C/ctxfile"
mkdir -p "$C/ctxdir"; echo from-stage >"$C/ctxdir/x"
printf 's3cr3t-value' >"$T/tok"
if build "$C" runtest --secret id=tok,src="$T/tok"; then ok "RUN build"; else not_ok "RUN build"; diag "$(tail -30 "$T/last.log")"; fi
check_contains "plain progress shows VM figures" "vm: boot" "$(cat "$T/last.log")"
unpack runtest "$T/u"
R=$T/u/rootfs
check_eq "shell form sees ENV and ARG" "shell env1 fromarg" "$(cat "$R/shell.txt" 2>&1)"
check_eq "runs as root by default" 0 "$(cat "$R/uid.txt" 2>&1)"
check_eq "exec form" exec "$(cat "$R/exec.txt" 2>&1)"
check_eq "WORKDIR is the cwd" /w "$(cat "$R/tmp/pwd.txt" 2>&1)"
check_eq "USER app" app "$(cat "$R/tmp/user.txt" 2>&1)"
check_eq "files created by USER app are owned by it" "regular empty file 644 1000:1000" "$(stat_of "$T/u" tmp/by-app)"
check "a deleted file is gone (whiteout)" test ! -e "$R/bin/vi"
check_eq "secret mounted (length only recorded)" 12 "$(tr -d ' ' <"$R/secret-len.txt" 2>&1)"
check "the secret mount point is not left in the image" test ! -e "$R/run/secrets/tok"
check_eq "cache mount (first use)" 1 "$(cat "$R/cache-n.txt" 2>&1)"
check "the cache mount's contents are not in the layer" test ! -e "$R/cache/n"
check_eq "tmpfs mount" t "$(cat "$R/tmpfs.txt" 2>&1)"
check_eq "bind mount of a context file" from-context "$(cat "$R/bind.txt" 2>&1)"
check_eq "bind mount from another stage" from-stage "$(cat "$R/bindstage.txt" 2>&1)"
check "bind mount points are not left in the image" test ! -e "$R/mnt/stage"
check_eq "--network=none leaves only lo" "lo " "$(cat "$R/netifs.txt" 2>&1)"
check_eq "a #! heredoc runs as a script file" "script /dev/pipes/SCRIPT" "$(cat "$R/script.txt" 2>&1)"
check "the heredoc script file is not left in the image" test ! -e "$R/dev/pipes"
leak=0
for b in "$CBUILD_ROOT"/blobs/sha256/*; do
  if (gzip -dc "$b" 2>/dev/null || cat "$b") | grep -aq s3cr3t-value; then leak=1; fi
done
grep -rqa s3cr3t-value "$CBUILD_ROOT/cache" 2>/dev/null && leak=1
check_eq "the secret is in no blob, layer or cache record" 0 "$leak"
H=$(config_of runtest | python3 -c 'import json,sys; c=json.load(sys.stdin); print("\n".join(h.get("created_by","") for h in c["history"]))')
check_contains "history: RUN with build args as BuildKit writes it" "RUN |1 BUILDVAR=fromarg /bin/sh -c echo" "$H"
check_contains "history: exec form" 'RUN |1 BUILDVAR=fromarg /bin/sh -c echo exec > /exec.txt # buildkit' "$H"

# A fully cached rebuild boots no VM
check "cached rebuild" build "$C" runtest --secret id=tok,src="$T/tok"
check_eq "cached rebuild: no step ran" 0 "$(steps_ran)"
check_eq "cached rebuild: no VM booted" 0 "$(grep -c 'vm: boot' "$T/last.log")"
# --no-cache reruns everything, with its cache mounts empty (BuildKit prunes them, moby/buildkit#5305)
check "--no-cache rebuild" build "$C" runtest --no-cache --secret id=tok,src="$T/tok"
unpack runtest "$T/u2"
check_eq "--no-cache: the cache mount starts empty" 1 "$(cat "$T/u2/rootfs/cache-n.txt" 2>&1)"
# a RUN that misses the cache otherwise finds the cache mount as the last build left it
check "a rebuild with another BUILDVAR" build "$C" runtest --build-arg BUILDVAR=other --secret id=tok,src="$T/tok"
unpack runtest "$T/u3"
check_eq "the cache mount persisted across builds" 2 "$(cat "$T/u3/rootfs/cache-n.txt" 2>&1)"
check_fails "a required secret that is missing fails" build "$C" runtest2 --no-cache

# Failures name the line, the exit code and the output
F=$(ctx fail <<EOF
FROM $BASE
RUN echo ok-line
RUN echo some output && echo failing-now >&2 && exit 3
EOF
)
check_fails "a failing RUN fails the build" build "$F" failtest
L=$(cat "$T/last.log")
check_contains "error names the Dockerfile line" "Dockerfile:3" "$L"
check_contains "error has the exit code" "exit code: 3" "$L"
check_contains "error shows the command's last output" "failing-now" "$L"
check_contains "error names the process" 'process "/bin/sh -c echo some output' "$L"

# A bind mount of a context directory reads that directory alone (BuildKit's FollowPaths of the
# build context): the transfer counts its files, not the rest of the context
M=$(ctx bindsub <<EOF
FROM $BASE
RUN --mount=type=bind,source=sub/deep,target=/in cat /in/a > /a.txt && ls -A /in | tr '\n' ' ' > /ls.txt
EOF
)
mkdir -p "$M/sub/deep"; printf hello >"$M/sub/deep/a"; head -c 1000000 /dev/zero >"$M/sub/big"
if build "$M" bindsub; then ok "bind mount of a context subdirectory"; else not_ok "bind mount of a context subdirectory"; diag "$(tail -20 "$T/last.log")"; fi
unpack bindsub "$T/ub"
check_eq "the subdirectory is mounted" "hello" "$(cat "$T/ub/rootfs/a.txt" 2>&1)"
check_eq "only its files" "a " "$(cat "$T/ub/rootfs/ls.txt" 2>&1)"
check "transferring context: 5B (the mounted directory alone)" \
  grep -qE '^#[0-9]+ transferring context: 5B( [0-9.]+s)? done$' "$T/last.log"
