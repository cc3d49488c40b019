#!/bin/bash
# linux/arm64 VMs: `cbuild run --platform linux/arm64` selects the arm64 manifest of the
# busybox index (samples/base-images.sh, a registry of our own) and boots it in
# qemu-system-aarch64 -M virt with Debian's cloud-arm64 kernel and the aarch64 vminitd;
# exit status, stdout/stderr and an upper disk work as on amd64; wrong platforms, a missing
# kernel and a build without the arm64 vminitd fail with messages that say so.
# Few VMs: aarch64 under TCG takes seconds per boot.
. "$CBUILD_SRC/tests/e2e/lib.sh"
. "$CBUILD_SRC/tests/e2e/guest/fixture.sh"
HOOKS=${1:-no-hooks}
for t in qemu-system-aarch64 docker-registry skopeo umoci debugfs; do
    command -v "$t" >/dev/null 2>&1 || { not_ok "$t is installed (scripts/install-deps.sh)"; exit 0; }
done
guest_setup
# the amd64 VM of the check below runs on our fast kernel (the fixture's); arm64 always uses TCG here
export CBUILD_KERNEL=$(sed -n 's/^kernel: *//p' <<<"$("$CBUILD" --root "$GUEST_ROOT" setup 2>/dev/null)")
unset CBUILD_ACCEL

_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export CBUILD_REGISTRY=127.0.0.1:$_port CBUILD_REGISTRY_DIR=$T/registry
trap 'bash "$CBUILD_SRC/samples/base-images.sh" stop >/dev/null 2>&1; _tap_done' EXIT
if ! out=$(bash "$CBUILD_SRC/samples/base-images.sh" busybox-only 2>&1); then
    not_ok "busybox index (amd64 + arm64) pushed to the test registry"; diag "$out"; exit 0
fi
BB=$CBUILD_REGISTRY/busybox:latest
raw=$(skopeo inspect --raw --tls-verify=false "docker://$BB")
check_eq "busybox:latest is an index of linux/amd64 and linux/arm64" "amd64 arm64" \
    "$(jq -r '[.manifests[].platform.architecture] | join(" ")' <<<"$raw")"

out=$("$CBUILD" --root "$GUEST_ROOT" setup --arch arm64 2>&1)
check_contains "setup --arch arm64 installs Debian's arm64 kernel into the store" "kernel/arm64/" \
    "$(sed -n 's/^kernel: *//p' <<<"$out")"
check_contains "setup --arch arm64: TCG, since the host is not arm64" "accel:      tcg" "$out"
out=$("$CBUILD" --root "$GUEST_ROOT" info 2>&1)
check_contains "cbuild info shows the arm64 kernel" "$(printf 'VM (linux/arm64):')" "$out"
check_contains "cbuild info names the arm64 kernel's version" "cloud-arm64" "$out"

# a store of our own for the images; the kernels come from the fixture's store
S=$T/store
mkdir -p "$S"
ln -s "$GUEST_ROOT/kernel" "$S/kernel"
r() { "$CBUILD" --root "$S" run "$@"; }

out=$(r --platform linux/arm64 --network none "$BB" uname -m 2>"$T/err"); rc=$?
check_eq "run --platform linux/arm64 busybox uname -m prints aarch64" "aarch64:0" "$out:$rc"
check_contains "the arm64 manifest was pulled" "Pull complete" "$(cat "$T/err")"

out=$(r --platform linux/arm64 --network none "$BB" sh -c 'echo out; echo err >&2; exit 7' 2>"$T/err"); rc=$?
check_eq "arm64 command: exit status" 7 "$rc"
check_eq "arm64 command: stdout" out "$out"
check_eq "arm64 command: stderr" err "$(cat "$T/err")"

out=$(r --platform linux/amd64 --network none "$BB" uname -m 2>"$T/err"); rc=$?
check_eq "run --platform linux/amd64 of the same index still boots amd64" "x86_64:0" "$out:$rc"

# an upper disk and an ext4 lower, as a RUN step gets them
mkdir -p "$T/rootfs"
tar -C "$T/rootfs" -xf "${CBUILD_TEST_CACHE:-/var/tmp/cbuild-test-cache}/busybox-arm64-rootfs-v1.tar"
make_image "$T/rootfs" "$T/root.img"
make_upper "$T/up.img"
out=$(r --platform linux/arm64 --network none --ext4 "$T/root.img" --upper "$T/up.img" \
    sh -c 'echo hi >/new; rm /bin/ls; uname -m' 2>&1); rc=$?
check_eq "arm64 run on an ext4 lower with an upper disk" "aarch64:0" "$out:$rc"
check_eq "the upper disk holds the arm64 step's new file" hi "$(debugfs -R 'cat /upper/new' "$T/up.img" 2>/dev/null)"
check_contains "and its whiteout" "Type: character special" \
    "$(debugfs -R 'stat /upper/bin/ls' "$T/up.img" 2>/dev/null)"

# errors: no VM is booted for these
skopeo copy -q --src-tls-verify=false --dest-tls-verify=false --override-arch amd64 \
    "docker://$BB" "docker://$CBUILD_REGISTRY/amdonly:1"
out=$(r --platform linux/arm64 "$CBUILD_REGISTRY/amdonly:1" true 2>&1); rc=$?
check_eq "an amd64-only image for linux/arm64 fails (exit 125)" 125 "$rc"
check_contains "and names both platforms" "does not match the specified platform: wanted linux/arm64, actual: linux/amd64" "$out"
check_fails "--platform linux/s390x is refused" r --platform linux/s390x "$BB" true
check_contains "naming the supported platforms" "platform linux/s390x is not supported (linux/amd64, linux/arm64)" \
    "$(r --platform linux/s390x "$BB" true 2>&1)"
out=$(CBUILD_KERNEL_ARM64=$T/no-such-Image r --platform linux/arm64 "$BB" true 2>&1); rc=$?
check_eq "a missing arm64 kernel fails (exit 125)" 125 "$rc"
check_contains "naming the kernel" "arm64 guest kernel \`$T/no-such-Image\`: No such file or directory" "$out"
if [ "$HOOKS" = hooks ]; then
    out=$(CBUILD_TEST_NO_VMINITD_ARM64=1 r --platform linux/arm64 "$BB" true 2>&1); rc=$?
    check_eq "a cbuild without the arm64 vminitd fails (exit 125)" 125 "$rc"
    check_contains "naming the package to install" "apt-get install gcc-aarch64-linux-gnu" "$out"
else
    skip "arm64 vminitd missing: needs a build with -Dtest_hooks=true"
    skip "arm64 vminitd missing, message: needs a build with -Dtest_hooks=true"
fi
check_eq "no temporary files left behind" "" "$(ls -A "$TMPDIR")"
