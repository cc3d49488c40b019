#!/bin/bash
# Multi-platform builds (issue 16): --platform a,b solves the platforms at the same time (a
# shared $BUILDPLATFORM stage once, a failure cancelling the others), the result is one OCI
# index (skopeo reads it from the registry and from the archives), TARGET*/BUILD* args take
# BuildKit's values per platform, cross-compiling stages (FROM --platform=$BUILDPLATFORM) run
# natively, outputs split per platform as BuildKit's local/tar exporters do, SOURCE_DATE_EPOCH
# makes the index reproducible, and a base image without the platform is an error naming it.
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
start_base_registry
need jq

REG=$CBUILD_REGISTRY
# skopeo against our own plain-HTTP registry
sk() { skopeo "$@" 2>&1; }

# --- 1. no RUN: two platforms of a scratch image, pushed as one index ---
C=$(ctx scratch <<'EOF'
FROM scratch
ARG TARGETARCH
ARG TARGETPLATFORM
COPY ${TARGETARCH}.txt /arch.txt
LABEL tp=$TARGETPLATFORM
EOF
)
echo x86 >"$C/amd64.txt"
echo arm >"$C/arm64.txt"
if build "$C" "$REG/e2e/multi:1" --platform linux/amd64,linux/arm64 --push \
    -o type=local,dest="$T/split" -o type=oci,dest="$T/multi-oci.tar" -o type=tar,dest="$T/split.tar"; then
  ok "build for linux/amd64,linux/arm64 with --push and three outputs"
else
  not_ok "build for linux/amd64,linux/arm64 with --push and three outputs"; diag "$(tail -30 "$T/last.log")"
fi
raw=$(sk inspect --raw --tls-verify=false "docker://$REG/e2e/multi:1")
check_eq "the registry holds an OCI index" "application/vnd.oci.image.index.v1+json" "$(jq -r .mediaType <<<"$raw" 2>&1)"
check_eq "the index lists both platforms in order" "linux/amd64 linux/arm64" \
  "$(jq -r '[.manifests[].platform | .os + "/" + .architecture] | join(" ")' <<<"$raw" 2>&1)"
cfg_arm=$(sk inspect --config --raw --tls-verify=false --override-arch arm64 "docker://$REG/e2e/multi:1")
check_eq "the arm64 manifest's config says arm64" arm64 "$(jq -r .architecture <<<"$cfg_arm" 2>&1)"
check_eq "TARGETPLATFORM was linux/arm64 for arm64" linux/arm64 "$(jq -r '.config.Labels.tp' <<<"$cfg_arm" 2>&1)"
cfg_amd=$(sk inspect --config --raw --tls-verify=false --override-arch amd64 "docker://$REG/e2e/multi:1")
check_eq "TARGETPLATFORM was linux/amd64 for amd64" linux/amd64 "$(jq -r '.config.Labels.tp' <<<"$cfg_amd" 2>&1)"
check_eq "type=local: one folder per platform (amd64)" x86 "$(cat "$T/split/linux_amd64/arch.txt" 2>&1)"
check_eq "type=local: one folder per platform (arm64)" arm "$(cat "$T/split/linux_arm64/arch.txt" 2>&1)"
check_contains "type=tar: the platforms are the tar's top folders" "linux_arm64/arch.txt" "$(tar -tf "$T/split.tar" 2>&1)"
oraw=$(sk inspect --raw "oci-archive:$T/multi-oci.tar")
check_eq "type=oci: the archive's image is the index (skopeo)" 2 "$(jq '.manifests | length' <<<"$oraw" 2>&1)"
rm -rf "$T/ocicopy"
check "type=oci: skopeo copies the arm64 image out of the archive" \
  skopeo copy --override-arch arm64 "oci-archive:$T/multi-oci.tar" "oci:$T/ocicopy:arm"
# (two vertices: the platforms' steps run at the same time, so a header comes again after the other's lines)
check_eq "step names carry the platform, as BuildKit's" 2 \
  "$(grep -E '^#[0-9]+ \[linux/(amd64|arm64) 1/1\] COPY' "$T/last.log" | awk '{print $1}' | sort -u | wc -l)"
check_fails "type=docker of two platforms: BuildKit's error" \
  build "$C" "$REG/e2e/multi:2" --platform linux/amd64,linux/arm64 -o type=docker,dest="$T/d.tar"
check_contains "… which says manifest lists are not supported" \
  "docker exporter does not currently support exporting manifest lists" "$(cat "$T/last.log")"
# the local store keeps the index: cbuild run and inspect take the host's platform from it
check_eq "the store's tag names the index" "application/vnd.oci.image.index.v1+json" \
  "$(sk inspect --raw "oci:$CBUILD_ROOT:$REG/e2e/multi:1" | jq -r .mediaType)"
check_eq "inspect of the index shows the host's platform" amd64 \
  "$("$CBUILD" inspect "$REG/e2e/multi:1" 2>&1 | jq -r '.[0].Architecture')"
check_contains "inspect lists the index's tag as a RepoTag" "$REG/e2e/multi:1" \
  "$("$CBUILD" inspect "$REG/e2e/multi:1" 2>&1 | jq -r '.[0].RepoTags[]')"
check_eq "export --platform: that platform's filesystem" arm \
  "$("$CBUILD" export --platform linux/arm64 "$REG/e2e/multi:1" 2>&1 | tar -xO arch.txt 2>&1)"
check "save --platform linux/arm64" "$CBUILD" save --platform linux/arm64 -o "$T/arm.tar" "$REG/e2e/multi:1"
check_eq "… holds the arm64 image only (skopeo)" arm64 \
  "$(sk inspect "oci-archive:$T/arm.tar" | jq -r .Architecture)"
check "save of the index" "$CBUILD" save -o "$T/all.tar" "$REG/e2e/multi:1"
check_eq "… holds the whole index (skopeo)" "amd64 arm64" \
  "$(sk inspect --raw "oci-archive:$T/all.tar" | jq -r '[.manifests[].platform.architecture] | join(" ")')"
check_fails "export --platform of a platform the index lacks" "$CBUILD" export --platform linux/s390x -o "$T/x.tar" \
  "$REG/e2e/multi:1"
check_contains "… names the image and the platform" "has no linux/s390x manifest" \
  "$("$CBUILD" export --platform linux/s390x -o "$T/x.tar" "$REG/e2e/multi:1" 2>&1)"
it=$("$CBUILD" imagetools inspect "$REG/e2e/multi:1" 2>&1)
check_contains "imagetools inspect: the index's media type" "MediaType: application/vnd.oci.image.index.v1+json" "$it"
check_eq "imagetools inspect: one Platform line per manifest" "  Platform:  linux/amd64
  Platform:  linux/arm64" "$(grep Platform: <<<"$it")"
check_eq "manifest inspect of the registry's copy lists both platforms" "amd64 arm64" \
  "$("$CBUILD" --root "$T/empty-store" manifest inspect --insecure-registry "$REG" "$REG/e2e/multi:1" 2>&1 | jq -r '[.manifests[].platform.architecture] | join(" ")')"
check "tag of a multi-platform image" "$CBUILD" tag "$REG/e2e/multi:1" e2e/multi-copy:1
check_eq "… names its index, as docker tag does" "application/vnd.oci.image.index.v1+json" \
  "$(sk inspect --raw "oci:$CBUILD_ROOT:docker.io/e2e/multi-copy:1" | jq -r .mediaType)"
if build "$C" "$REG/e2e/multi:1" --platform linux/amd64,linux/arm64; then
  check_eq "a rebuild is cached on every platform" 2 "$(steps_cached)"
else
  not_ok "a rebuild is cached on every platform"; diag "$(tail -20 "$T/last.log")"
fi

# --- 2. SOURCE_DATE_EPOCH: the same index digest twice ---
d1=$(build "$C" e2e/sde:1 --platform linux/amd64,linux/arm64 --no-cache --build-arg SOURCE_DATE_EPOCH=1700000000 \
  --iidfile "$T/iid1" && cat "$T/iid1")
sleep 1
d2=$(build "$C" e2e/sde:2 --platform linux/amd64,linux/arm64 --no-cache --build-arg SOURCE_DATE_EPOCH=1700000000 \
  --iidfile "$T/iid2" && cat "$T/iid2")
case "$d1" in sha256:*) check_eq "SOURCE_DATE_EPOCH: two builds give the same index digest" "$d1" "$d2" ;;
  *) not_ok "SOURCE_DATE_EPOCH: two builds give the same index digest"; diag "$(tail -20 "$T/last.log")" ;; esac

# --- 3. cross-compiling: a BUILDPLATFORM stage runs natively for each target ---
C=$(ctx cross <<EOF
FROM --platform=\$BUILDPLATFORM $BASE AS build
ARG TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT BUILDPLATFORM BUILDARCH
RUN echo "\$TARGETPLATFORM|\$TARGETOS|\$TARGETARCH|\$TARGETVARIANT|\$BUILDPLATFORM|\$BUILDARCH|\$(uname -m)" >/out
FROM scratch
COPY --from=build /out /out
EOF
)
if build "$C" e2e/cross:1 --platform linux/amd64,linux/arm64,linux/arm/v7 -o type=local,dest="$T/cross"; then
  ok "cross-compiling build for three platforms"
else
  not_ok "cross-compiling build for three platforms"; diag "$(tail -30 "$T/last.log")"
fi
check_eq "amd64: the args and a native RUN" "linux/amd64|linux|amd64||linux/amd64|amd64|x86_64" \
  "$(cat "$T/cross/linux_amd64/out" 2>&1)"
check_eq "arm64: BuildKit's values, built on the host" "linux/arm64|linux|arm64||linux/amd64|amd64|x86_64" \
  "$(cat "$T/cross/linux_arm64/out" 2>&1)"
check_eq "arm/v7: TARGETVARIANT=v7" "linux/arm/v7|linux|arm|v7|linux/amd64|amd64|x86_64" \
  "$(cat "$T/cross/linux_arm_v7/out" 2>&1)"
check_contains "the build stage is named as BuildKit names it (stage platform->target)" \
  "[linux/amd64->arm64 build 2/2] RUN" "$(cat "$T/last.log")"

# --- 3b. RUN steps of the target platform run in a VM of that architecture ---
C=$(ctx native <<EOF
FROM $BASE
RUN uname -m >/machine
EOF
)
if build "$C" "$REG/e2e/native:1" --platform linux/amd64,linux/arm64 --push -o type=local,dest="$T/native"; then
  ok "a RUN for linux/amd64 and linux/arm64 (busybox's index)"
else
  not_ok "a RUN for linux/amd64 and linux/arm64 (busybox's index)"; diag "$(tail -30 "$T/last.log")"
fi
check_eq "… the amd64 RUN ran on x86_64" x86_64 "$(cat "$T/native/linux_amd64/machine" 2>&1)"
check_eq "… the arm64 RUN ran in an aarch64 VM" aarch64 "$(cat "$T/native/linux_arm64/machine" 2>&1)"
check_contains "… on the arm64 busybox (readelf)" "AArch64" "$(readelf -h "$T/native/linux_arm64/bin/busybox" 2>&1)"
check_eq "… cbuild run --platform linux/arm64 of the pushed index" aarch64 \
  "$("$CBUILD" run --platform linux/arm64 "$REG/e2e/native:1" cat /machine 2>/dev/null)"

# --- 3c. the platforms are solved at the same time, as BuildKit solves them ---
# A $BUILDPLATFORM stage both platforms have (one cache key) runs once, in one VM: its RUN
# writes a random id that both platforms' images copy. The targets' RUN steps then run
# concurrently: the arm64 RUN starts before the amd64 RUN is done (the plain log's order, not
# timing), one VM each.
C=$(ctx concurrent <<EOF
FROM --platform=\$BUILDPLATFORM $BASE AS tool
RUN cat /proc/sys/kernel/random/uuid >/tool
FROM $BASE
COPY --from=tool /tool /tool
RUN sleep 3 && uname -m >/machine
EOF
)
if build "$C" e2e/concurrent:1 --platform linux/amd64,linux/arm64 --no-cache -o type=local,dest="$T/conc"; then
  ok "two platforms with a shared \$BUILDPLATFORM stage"
else
  not_ok "two platforms with a shared \$BUILDPLATFORM stage"; diag "$(tail -30 "$T/last.log")"
fi
# vertex_id TEXT: the #N of the step whose name contains TEXT
vertex_id() { grep -F "$1" "$T/last.log" | grep -E '^#[0-9]+ \[' | head -1 | awk '{print $1}'; }
# line_of REGEX: the first line number of the log matching REGEX (0: none)
line_of() { grep -nE "$1" "$T/last.log" | head -1 | cut -d: -f1 | grep . || echo 0; }
# runs_done: how many RUN vertices of the last log ended DONE (each one VM)
runs_done() {
  for i in $(grep -E '^#[0-9]+ \[[^]]*\] RUN' "$T/last.log" | awk '{print $1}' | sort -u); do
    grep -E "^$i DONE" "$T/last.log"
  done | wc -l
}
amd=$(vertex_id "[linux/amd64 stage-1 3/3] RUN sleep 3")
arm=$(vertex_id "[linux/arm64 stage-1 3/3] RUN sleep 3")
arm_start=$(line_of "^$arm \[linux/arm64 stage-1 3/3\] RUN")
amd_done=$(line_of "^$amd DONE ")
if [ -n "$amd" ] && [ -n "$arm" ] && [ "$arm_start" -gt 0 ] && [ "$amd_done" -gt "$arm_start" ]; then
  ok "the arm64 RUN starts before the amd64 RUN is done (log lines $arm_start < $amd_done)"
else
  not_ok "the arm64 RUN starts before the amd64 RUN is done"
  diag "amd64 $amd done at line $amd_done, arm64 $arm started at line $arm_start"
  diag "$(grep -E '^#[0-9]+ (\[|DONE|CACHED|ERROR)' "$T/last.log")"
fi
check_eq "… both RUN steps ran (DONE), one per platform" "DONE DONE" \
  "$(step_state "[linux/amd64 stage-1 3/3] RUN") $(step_state "[linux/arm64 stage-1 3/3] RUN")"
check_eq "… on their own architectures" "x86_64 aarch64" \
  "$(cat "$T/conc/linux_amd64/machine" 2>&1) $(cat "$T/conc/linux_arm64/machine" 2>&1)"
# (either platform's may be the one that runs it: both start at once)
check_eq "the shared stage's RUN ran once: one platform's DONE, the other's CACHED (under --no-cache)" \
  "CACHED DONE" "$(printf '%s\n' "$(step_state "[linux/amd64 tool 2/2] RUN")" \
  "$(step_state "[linux/amd64->arm64 tool 2/2] RUN")" | sort | tr '\n' ' ' | sed 's/ $//')"
check_eq "… in one VM: both platforms' images have its one random id" \
  "$(cat "$T/conc/linux_amd64/tool" 2>&1)" "$(cat "$T/conc/linux_arm64/tool" 2>&1)"
check_eq "… three VMs in all (three RUN steps DONE)" 3 "$(runs_done)"
# -j 1: one step at a time, the second platform's shared step comes after the first's is done
if build "$C" e2e/concurrent:j1 --platform linux/amd64,linux/arm64 --no-cache -j 1 -o type=local,dest="$T/conc1"; then
  check_eq "-j 1 --no-cache: the shared stage's RUN still runs once (one random id)" \
    "$(cat "$T/conc1/linux_amd64/tool" 2>&1)" "$(cat "$T/conc1/linux_arm64/tool" 2>&1)"
  check_eq "… three VMs in all" 3 "$(runs_done)"
else
  not_ok "-j 1 --no-cache: the shared stage's RUN still runs once"; diag "$(tail -20 "$T/last.log")"
fi
if build "$C" e2e/concurrent:2 --platform linux/amd64,linux/arm64; then
  check_eq "a rebuild is cached on both platforms (no RUN ran)" 0 "$(runs_done)"
else
  not_ok "a rebuild is cached on both platforms (no RUN ran)"; diag "$(tail -20 "$T/last.log")"
fi
check_eq "… the index lists the platforms in --platform order, not the order they finished in" "amd64 arm64" \
  "$(sk inspect --raw "oci:$CBUILD_ROOT:docker.io/e2e/concurrent:2" | jq -r '[.manifests[].platform.architecture] | join(" ")')"

# A failing arm64 RUN while the amd64 RUN runs: the build fails with the arm64 step's error,
# the amd64 step is stopped (its VM killed, ERROR: canceled), and nothing hangs (a short build
# limit; the amd64 RUN alone would sleep 300 s).
C=$(ctx concfail <<'EOF'
ARG BASE
FROM $BASE
ARG TARGETARCH
RUN if [ "$TARGETARCH" = arm64 ]; then echo arm64-fails-here; exit 3; fi; echo amd64-sleeping; sleep 300
EOF
)
t0=$(date +%s)
rc=0
CBUILD_TEST_BUILD_LIMIT=200 build "$C" e2e/concfail:1 --platform linux/amd64,linux/arm64 \
  --build-arg BASE="$BASE" || rc=$?
t1=$(date +%s)
check_eq "a failing arm64 RUN beside a running amd64 RUN: exit status 1" 1 "$rc"
check "… within 200 s, long before the amd64 sleep would end ($((t1 - t0)) s)" test $((t1 - t0)) -lt 200
check_contains "… with the arm64 step's error" "exit code: 3" "$(cat "$T/last.log")"
check_contains "… and its output" "arm64-fails-here" "$(cat "$T/last.log")"
amd=$(vertex_id "[linux/amd64 2/2] RUN")
check "… the amd64 RUN was running" grep -qE "^$amd [0-9.]+ amd64-sleeping" "$T/last.log"
check_eq "… and ends as ERROR: canceled" "$amd ERROR: canceled" "$(grep -E "^$amd (DONE|ERROR)" "$T/last.log")"
check_eq "… no QEMU process of the store is left" 0 "$(pgrep -f "qemu-system.*$CBUILD_ROOT" | wc -l)"
check "… the store checks clean" "$CBUILD" store check

# --- 4. a base image without the platform ---
C=$(ctx noplat <<EOF
FROM $BASE
RUN true
EOF
)
check_fails "a base image without linux/s390x is an error" build "$C" e2e/noplat:1 --platform linux/s390x
case "$(cat "$T/last.log")" in
  *"linux/s390x"*"does not match the specified platform"*|*"no matching manifest for linux/s390x"*)
    ok "… naming the platform asked for";;
  *) not_ok "… naming the platform asked for"; diag "$(tail -10 "$T/last.log")";;
esac
check_fails "a malformed --platform is refused" build "$C" e2e/noplat:2 --platform "linux/amd64,lin ux"
check_contains "… in containerd's words" "failed to parse platform" "$(cat "$T/last.log")"
