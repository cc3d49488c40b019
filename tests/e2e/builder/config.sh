#!/bin/bash
# Image config and history exactly as BuildKit writes them (read back with skopeo), --label,
# --build-arg, multi-stage with --target (unneeded stages are not built), ONBUILD triggers,
# --iidfile/--metadata-file and -q. No RUN: no VM needed.
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
start_base_registry
need python3

C=$(ctx config <<EOF
FROM $BASE
ARG VERSION=1.0
ENV APP_VERSION=\$VERSION PATH=/app/bin:\$PATH
LABEL org.example.version="\$VERSION" maintainer="dev@example.com"
EXPOSE 80 443/tcp 53/udp 8000-8001
VOLUME ["/data", "/cache"]
USER app:app
WORKDIR /app
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD wget -q -O- http://localhost/ || exit 1
SHELL ["/bin/sh", "-ec"]
ENTRYPOINT ["/app/bin/start"]
CMD run --verbose
ONBUILD COPY trigger.txt /onbuild/
EOF
)
echo trig >"$C/trigger.txt"
if build "$C" cfgtest --build-arg VERSION=2.5 --label org.example.extra=yes --iidfile "$T/iid" --metadata-file "$T/meta.json"; then
  ok "config build"; else not_ok "config build"; diag "$(tail -20 "$T/last.log")"; fi
J=$(config_of cfgtest)
py() { python3 -c "import json,sys; c=json.loads(sys.stdin.read()); $1" <<<"$J"; }
check_eq "Env (ARG value from --build-arg, PATH from the base)" '["PATH=/app/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "APP_VERSION=2.5"]' "$(py 'print(json.dumps(c["config"]["Env"]))')"
check_eq "Labels (with --label)" '{"maintainer": "dev@example.com", "org.example.extra": "yes", "org.example.version": "2.5"}' "$(py 'print(json.dumps(c["config"]["Labels"], sort_keys=True))')"
check_eq "ExposedPorts" '["443/tcp", "53/udp", "80/tcp", "8000/tcp", "8001/tcp"]' "$(py 'print(json.dumps(sorted(c["config"]["ExposedPorts"])))')"
check_eq "Volumes" '["/cache", "/data"]' "$(py 'print(json.dumps(sorted(c["config"]["Volumes"])))')"
check_eq "User" "app:app" "$(py 'print(c["config"]["User"])')"
check_eq "WorkingDir" "/app" "$(py 'print(c["config"]["WorkingDir"])')"
check_eq "StopSignal" "SIGTERM" "$(py 'print(c["config"]["StopSignal"])')"
check_eq "Healthcheck" '{"Interval": 30000000000, "Retries": 3, "Test": ["CMD-SHELL", "wget -q -O- http://localhost/ || exit 1"], "Timeout": 3000000000}' "$(py 'print(json.dumps(c["config"]["Healthcheck"], sort_keys=True))')"
check_eq "Shell" '["/bin/sh", "-ec"]' "$(py 'print(json.dumps(c["config"]["Shell"]))')"
check_eq "Entrypoint" '["/app/bin/start"]' "$(py 'print(json.dumps(c["config"]["Entrypoint"]))')"
check_eq "Cmd in shell form uses SHELL" '["/bin/sh", "-ec", "run --verbose"]' "$(py 'print(json.dumps(c["config"]["Cmd"]))')"
check_eq "OnBuild" '["COPY trigger.txt /onbuild/"]' "$(py 'print(json.dumps(c["config"].get("OnBuild")))')"
check_eq "architecture/os" "amd64/linux" "$(py 'print(c["architecture"]+"/"+c["os"])')"
H=$(py 'print("\n".join(h.get("created_by","")+("|empty" if h.get("empty_layer") else "")+"|"+h.get("comment","") for h in c["history"][1:]))')
check_contains "history ARG" "ARG VERSION=2.5|empty|buildkit.dockerfile.v0" "$H"
check_contains "history ENV" 'ENV APP_VERSION=2.5 PATH=/app/bin:/usr/local/sbin' "$H"
check_contains "history EXPOSE (BuildKit's port list: words sorted, ranges expanded)" "EXPOSE [443/tcp 53/udp 80/tcp 8000/tcp 8001/tcp]|empty" "$H"
check_contains "history VOLUME" "VOLUME [/data /cache]|empty" "$H"
check_contains "history USER" "USER app:app|empty" "$H"
check_contains "history WORKDIR has a layer" "WORKDIR /app|buildkit.dockerfile.v0" "$H"
check_contains "history HEALTHCHECK (Go %q format)" 'HEALTHCHECK &{["CMD-SHELL" "wget -q -O- http://localhost/ || exit 1"] "30s" "3s" "0s" "0s" '"'"'\x03'"'"'}|empty' "$H"
check_contains "history SHELL" "SHELL [/bin/sh -ec]|empty" "$H"
check_contains "history ENTRYPOINT" 'ENTRYPOINT ["/app/bin/start"]|empty' "$H"
check_contains "history CMD" 'CMD ["/bin/sh" "-ec" "run --verbose"]|empty' "$H"
ID=$(py 'print("x")' >/dev/null; skopeo inspect --raw "oci:$CBUILD_ROOT:$(normref cfgtest)" | python3 -c 'import json,sys; print(json.load(sys.stdin)["config"]["digest"])')
check_eq "--iidfile holds the image ID (config digest)" "$ID" "$(cat "$T/iid" 2>&1)"
check_eq "--metadata-file" "$ID" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["containerimage.config.digest"])' "$T/meta.json" 2>&1)"
check_eq "-q prints only the image ID" "$ID" "$("$CBUILD" build -q -t cfgtest --build-arg VERSION=2.5 --label org.example.extra=yes "$C" 2>&1)"

# ONBUILD: the trigger runs in the child build, and is not inherited
D=$(ctx onbuild <<EOF
FROM cfgtest
USER root
EOF
)
echo from-child >"$D/trigger.txt"
if build "$D" childtest; then ok "ONBUILD child build"; else not_ok "ONBUILD child build"; diag "$(tail -20 "$T/last.log")"; fi
unpack childtest "$T/uc"
check_eq "ONBUILD COPY ran against the child's context" from-child "$(cat "$T/uc/rootfs/onbuild/trigger.txt" 2>&1)"
check_eq "ONBUILD triggers are consumed" "None" "$(config_of childtest | python3 -c 'import json,sys; print(json.load(sys.stdin)["config"].get("OnBuild"))')"

# Multi-stage: --target, stages not needed are not built, COPY --from a stage and an image
M=$(ctx multi <<EOF
FROM $BASE AS base
COPY a.txt /a.txt

FROM base AS unused
COPY doesnotexist /nope

FROM base AS other
COPY b.txt /b.txt

FROM scratch AS final
COPY --from=other /b.txt /from-other.txt
COPY --from=base /a.txt /from-base.txt
COPY --from=$BASE /bin/busybox /busybox
EOF
)
echo A >"$M/a.txt"; echo B >"$M/b.txt"
if build "$M" multitest; then ok "multi-stage build skips the unused (broken) stage"; else not_ok "multi-stage build skips the unused stage"; diag "$(tail -20 "$T/last.log")"; fi
unpack multitest "$T/um"
check_eq "COPY --from=stage" "B A" "$(cat "$T/um/rootfs/from-other.txt" "$T/um/rootfs/from-base.txt" 2>&1 | tr '\n' ' ' | sed 's/ $//')"
check "COPY --from=image" test -x "$T/um/rootfs/busybox"
check_eq "scratch image has only the copied files" "busybox from-base.txt from-other.txt" "$(ls "$T/um/rootfs" | tr '\n' ' ' | sed 's/ $//')"
check_fails "--target of the broken stage fails" build "$M" brokentest --target unused
check_contains "the error names the line and the missing file" "Dockerfile:5" "$(cat "$T/last.log")"
check_fails "an unknown --target is an error" build "$M" x --target nosuchstage
check_fails "a malformed --platform says why" build "$M" x --platform "linux/a*d64"
check_contains "the platform error names the platform" "linux/a*d64" "$(cat "$T/last.log")"

# COPY --from is keyed by what it copies: a rebuilt stage with the same file keeps it cached
F=$(ctx fromcache <<EOF
FROM $BASE AS b
COPY a.txt /a.txt
COPY b.txt /b.txt
FROM scratch
COPY --from=b /a.txt /x
COPY c.txt /c
EOF
)
echo a >"$F/a.txt"; echo b >"$F/b.txt"; echo c >"$F/c.txt"
check "COPY --from build" build "$F" fromcache
echo b2 >"$F/b.txt"
check "rebuild after changing a file the final stage does not copy" build "$F" fromcache
check_eq "the source stage's changed step runs" DONE "$(step_state 'COPY b.txt /b.txt')"
check_eq "COPY --from of unchanged content stays cached" CACHED "$(step_state 'COPY --from=b /a.txt /x')"
check_eq "and so do the steps after it" CACHED "$(step_state 'COPY c.txt /c')"
echo a2 >"$F/a.txt"
check "rebuild after changing the copied file" build "$F" fromcache
check_eq "COPY --from of changed content runs" DONE "$(step_state 'COPY --from=b /a.txt /x')"
