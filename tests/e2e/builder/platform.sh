#!/bin/bash
# Multi-platform builds (issue 16): --platform a,b solves each platform, the result is one OCI
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
check_eq "step names carry the platform, as BuildKit's" 2 \
  "$(grep -cE '^#[0-9]+ \[linux/(amd64|arm64) 1/1\] COPY' "$T/last.log")"
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
