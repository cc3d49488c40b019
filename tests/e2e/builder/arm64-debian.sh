#!/bin/bash
# The arm64 Debian base (issue 16): samples/base-images.sh turns debian:bookworm into an index of
# the amd64 image already pushed (digest unchanged) and an arm64 one whose debootstrap second
# stage ran in an arm64 VM built by cbuild (cached as an OCI archive: a second registry reuses
# it); a FROM debian:bookworm build for linux/amd64,linux/arm64 runs each RUN on its own Debian.
# Few VMs: one of each architecture (plus, on a cold cache, the second-stage VM: ~4 min TCG).
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
need docker-registry skopeo umoci debootstrap qemu-system-aarch64 jq
REG=$CBUILD_REGISTRY
ARCHIVE=${CBUILD_TEST_CACHE:-/var/tmp/cbuild-test-cache}/debian-bookworm-minbase-arm64-v1.oci.tar

if ! out=$(bash "$CBUILD_SRC/samples/base-images.sh" start-amd64 2>&1); then
  not_ok "base images for linux/amd64 (start-amd64)"; diag "$out"; exit 0
fi
amd=$(skopeo inspect --raw --tls-verify=false "docker://$REG/debian:bookworm" 2>&1)
check_eq "start-amd64: debian:bookworm is one amd64 manifest" "null" "$(jq -r .manifests <<<"$amd" 2>&1)"
amd_digest=sha256:$(skopeo inspect --raw --tls-verify=false "docker://$REG/debian:bookworm" | sha256sum | cut -d' ' -f1)

if out=$(bash "$CBUILD_SRC/samples/base-images.sh" start 2>&1); then
  ok "start: the arm64 debian is made (or taken from the cache) and indexed"
else
  not_ok "start: the arm64 debian is made (or taken from the cache) and indexed"; diag "$out"; exit 0
fi
raw=$(skopeo inspect --raw --tls-verify=false "docker://$REG/debian:bookworm" 2>&1)
check_eq "debian:bookworm is an OCI index" "application/vnd.oci.image.index.v1+json" "$(jq -r .mediaType <<<"$raw" 2>&1)"
check_eq "… of linux/amd64 and linux/arm64 (skopeo)" "linux/amd64 linux/arm64" \
  "$(jq -r '[.manifests[].platform | .os + "/" + .architecture] | join(" ")' <<<"$raw" 2>&1)"
check_eq "… whose amd64 entry is the image pushed before, digest unchanged" "$amd_digest" \
  "$(jq -r '.manifests[] | select(.platform.architecture == "amd64") | .digest' <<<"$raw" 2>&1)"
arm_digest=$(jq -r '.manifests[] | select(.platform.architecture == "arm64") | .digest' <<<"$raw" 2>&1)
check_eq "… and whose arm64 entry is the cached archive's manifest" \
  "sha256:$(skopeo inspect --raw "oci-archive:$ARCHIVE" 2>/dev/null | sha256sum | cut -d' ' -f1)" "$arm_digest"
cfg=$(skopeo inspect --config --raw --tls-verify=false --override-arch arm64 "docker://$REG/debian:bookworm" 2>&1)
check_eq "the arm64 config says linux/arm64" "linux/arm64" "$(jq -r '.os + "/" + .architecture' <<<"$cfg" 2>&1)"
check_contains "… and its history names the second stage run by cbuild" "debootstrap --second-stage" \
  "$(jq -r '.history[].created_by' <<<"$cfg" 2>&1)"
check_eq "… with the amd64 image's CMD" '["bash"]' "$(jq -c .config.Cmd <<<"$cfg" 2>&1)"

# a registry of its own: the arm64 image comes from the cache, no debootstrap and no VM
bash "$CBUILD_SRC/samples/base-images.sh" stop >/dev/null 2>&1
_port2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
if out=$(CBUILD_REGISTRY=127.0.0.1:$_port2 CBUILD_REGISTRY_DIR=$T/registry2 \
    bash "$CBUILD_SRC/samples/base-images.sh" start 2>&1); then
  ok "start on a new registry"
  check_eq "… takes the arm64 debian from the cache (no debootstrap)" "" "$(grep -i debootstrap <<<"$out")"
  check_eq "… with the same arm64 digest" "$arm_digest" \
    "$(skopeo inspect --raw --tls-verify=false "docker://127.0.0.1:$_port2/debian:bookworm" 2>&1 |
      jq -r '.manifests[] | select(.platform.architecture == "arm64") | .digest' 2>&1)"
else
  not_ok "start on a new registry"; diag "$out"
fi
CBUILD_REGISTRY=127.0.0.1:$_port2 CBUILD_REGISTRY_DIR=$T/registry2 bash "$CBUILD_SRC/samples/base-images.sh" stop \
  >/dev/null 2>&1
if ! out=$(bash "$CBUILD_SRC/samples/base-images.sh" start 2>&1); then
  not_ok "the first registry again"; diag "$out"; exit 0
fi

# one RUN per platform on debian:bookworm: dpkg and the kernel agree, the tree is a whole Debian
C=$(ctx debian <<EOF
FROM $REG/debian:bookworm
RUN dpkg --print-architecture >/arch && uname -m >/machine \\
 && { dpkg-query -W -f '\${db:Status-Abbrev}\n' | grep -vc '^ii' || true; } >/not-ii \\
 && (test -e /debootstrap && echo left || echo finished) >/stage2 \\
 && stat -c '%U:%G %a' /etc/shadow /usr/bin/passwd >/modes
EOF
)
if build "$C" e2e/debian:1 --platform linux/amd64,linux/arm64 --network none -o type=local,dest="$T/out"; then
  ok "FROM debian:bookworm: a RUN for linux/amd64 and linux/arm64"
else
  not_ok "FROM debian:bookworm: a RUN for linux/amd64 and linux/arm64"; diag "$(tail -30 "$T/last.log")"
fi
check_eq "arm64: dpkg --print-architecture" arm64 "$(cat "$T/out/linux_arm64/arch" 2>&1)"
check_eq "arm64: uname -m" aarch64 "$(cat "$T/out/linux_arm64/machine" 2>&1)"
check_eq "arm64: every package is installed and configured" 0 "$(cat "$T/out/linux_arm64/not-ii" 2>&1)"
check_eq "arm64: the second stage removed /debootstrap" finished "$(cat "$T/out/linux_arm64/stage2" 2>&1)"
check_contains "arm64: the binaries are AArch64 (readelf)" AArch64 \
  "$(readelf -h "$T/out/linux_arm64/usr/bin/dpkg" 2>&1)"
check_eq "amd64: dpkg --print-architecture and uname -m" "amd64 x86_64" \
  "$(cat "$T/out/linux_amd64/arch" "$T/out/linux_amd64/machine" 2>&1 | tr '\n' ' ' | sed 's/ $//')"
check_eq "amd64: passwd is setuid there too" "root:root 4755" "$(sed -n 2p "$T/out/linux_amd64/modes" 2>&1)"
check_eq "… shadow's group and passwd's setuid bit came through ADD" "root:shadow 640 root:root 4755" \
  "$(tr '\n' ' ' <"$T/out/linux_arm64/modes" 2>&1 | sed 's/ $//')"
