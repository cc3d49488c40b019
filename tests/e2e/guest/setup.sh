#!/bin/bash
# cbuild setup on a fresh store: Debian's cloud kernel via apt-get download + dpkg -x, the
# cached initramfs and vmlinux, the KVM probe cached with its reason; clear errors for a
# missing QEMU, a missing kernel and a guest that fails to boot.
. "$CBUILD_SRC/tests/e2e/lib.sh"
. "$CBUILD_SRC/tests/e2e/guest/fixture.sh"

unset CBUILD_ACCEL CBUILD_KERNEL CBUILD_KERNEL_MODULES
out=$("$CBUILD" setup 2>"$T/setup.err"); rc=$?
check_eq "setup on a fresh store succeeds" 0 "$rc"
diag "$(cat "$T/setup.err")"
diag "$out"
check_contains "kernel installed into the store" "kernel:     $CBUILD_ROOT/kernel/" "$out"
check_contains "it is Debian's cloud kernel" "-cloud-amd64" "$out"
check_contains "the vmlinux for direct boot is extracted" "boot image: $CBUILD_ROOT/kernel/vmlinux-" "$out"
check_contains "initramfs cached by digest" "initramfs:  $CBUILD_ROOT/kernel/initramfs-" "$out"
initrd=$(sed -n 's/^initramfs: *//p' <<<"$out")
list=$(cpio -it <"$initrd" 2>/dev/null)
check_contains "initramfs holds vminitd as /init" "init" "$list"
check_contains "initramfs holds virtio_console" "modules/virtio_console.ko" "$list"
check_contains "initramfs holds overlay" "modules/overlay.ko" "$list"
order=$(cpio -i --to-stdout modules/order <"$initrd" 2>/dev/null)
first_virtio=$(grep -n ' virtio.ko$' <<<"$order" | cut -d: -f1)
first_mmio=$(grep -n ' virtio_mmio.ko$' <<<"$order" | cut -d: -f1)
check "modules in dependency order (virtio before virtio_mmio)" test "${first_virtio:-99}" -lt "${first_mmio:-0}"
accel=$(sed -n 's/^accel: *//p' <<<"$out")
check_contains "accelerator chosen" "" "$accel"
if [ -e /dev/kvm ]; then
    check "KVM probe result cached in the store" bash -c "ls $CBUILD_ROOT/kernel/accel-* >/dev/null"
fi
start=$(date +%s%N)
out2=$("$CBUILD" setup 2>/dev/null)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check_eq "second setup reuses everything (${ms} ms)" "$out" "$out2"
check "second setup is quick" test "$ms" -lt 3000
check_contains "CBUILD_ACCEL=tcg" "accel:      tcg (CBUILD_ACCEL=tcg)" "$(CBUILD_ACCEL=tcg "$CBUILD" setup 2>&1)"
check_contains "bad CBUILD_ACCEL rejected" "expected kvm, tcg or auto" "$(CBUILD_ACCEL=fast "$CBUILD" setup 2>&1)"
check_contains "missing --kernel file" "guest kernel \`/nonexistent/vmlinuz\`" "$("$CBUILD" setup --kernel /nonexistent/vmlinuz 2>&1)"

R=$T/rootfs
make_rootfs "$R"
IMG=$T/root.img
make_image "$R" "$IMG"
export CBUILD_ACCEL=tcg
check_contains "QEMU missing" "not found: install QEMU" "$(CBUILD_QEMU=/nonexistent/qemu "$CBUILD" run --ext4 "$IMG" true 2>&1)"
mkdir -p "$T/bin"
check_contains "kernel missing and no apt" "apt-cache is needed, or pass --kernel FILE" \
    "$(PATH=$T/bin "$CBUILD" --root "$T/root2" setup 2>&1)"
# a kernel without its virtio modules cannot reach vminitd's control port: boot failure with console lines
kernel=$(sed -n 's/^kernel: *//p' <<<"$out")
mkdir -p "$T/nomods"
out=$(CBUILD_KERNEL=$kernel CBUILD_KERNEL_MODULES=$T/nomods "$CBUILD" run --ext4 "$IMG" true 2>&1); rc=$?
check_eq "boot failure exits 125" 125 "$rc"
check_contains "boot failure is explained" "the guest failed to boot" "$out"
check_contains "boot failure shows the console" "control port org.cbuild.ctl not found" "$out"
if [ "${1:-}" = hooks ]; then
    out=$(CBUILD_VM_TEST_GARBAGE=1 "$CBUILD" run --ext4 "$IMG" sh -c 'sleep 1; echo survived' 2>&1); rc=$?
    check_eq "malformed messages do not stop vminitd" 0 "$rc"
    check_contains "the command still ran" "survived" "$out"
    check_contains "unknown message type rejected" "unexpected message type 200" "$out"
    check_contains "unexpected SIGNAL before the start rejected" "unexpected message type 36" "$out"
    check_contains "malformed SIGNAL while running rejected" "SIGNAL: bad signal number" "$out"
    check_contains "malformed RESIZE rejected" "RESIZE: malformed" "$out"
    check_contains "CONFIG while running rejected" "unexpected message type 32 while running" "$out"
else
    # CBUILD_VM_TEST_GARBAGE is compiled in only with meson -Dtest_hooks=true (tests/run.sh sets it)
    skip "malformed messages do not stop vminitd: needs a build with -Dtest_hooks=true"
    skip "the command still ran: needs a build with -Dtest_hooks=true"
    skip "unknown message type rejected: needs a build with -Dtest_hooks=true"
    skip "unexpected SIGNAL before the start rejected: needs a build with -Dtest_hooks=true"
    skip "malformed SIGNAL while running rejected: needs a build with -Dtest_hooks=true"
    skip "malformed RESIZE rejected: needs a build with -Dtest_hooks=true"
    skip "CONFIG while running rejected: needs a build with -Dtest_hooks=true"
fi
out=$(CBUILD_BOOT_TIMEOUT=0.5 "$CBUILD" run --ext4 "$IMG" true 2>&1); rc=$?
check_contains "boot watchdog" "the guest did not boot within 0.5 s (tcg)" "$out"
check_eq "no temporary files left behind" "" "$(ls -A "$TMPDIR")"
