#!/bin/bash
# cbuild's own guest kernel (guest/kernel/): setup and info describe it, `kernel export` writes
# a vmlinux other VMMs boot (PVH note, virtio built in, no modules), and RUN VMs restored from
# the template snapshot are fresh: the host's clock, new entropy, exactly their own disks.
. "$CBUILD_SRC/tests/e2e/lib.sh"
. "$CBUILD_SRC/tests/e2e/guest/fixture.sh"
case "${CBUILD_KERNEL:-}" in
  */bzImage) [ -f "$(dirname "$CBUILD_KERNEL")/cbuild-kernel" ] || { skip "CBUILD_KERNEL is not cbuild's own kernel"; exit 0; } ;;
  *) skip "CBUILD_KERNEL does not name cbuild's own kernel (tests/run.sh builds it)"; exit 0 ;;
esac
export CBUILD_ACCEL=tcg
out=$("$CBUILD" setup 2>&1)
check_contains "setup: own kernel" "own kernel: yes" "$out"
check_contains "setup: devices from the command line, no ACPI" "devices:    virtio-mmio on the command line" "$out"
check_contains "setup: no modules" "modules:    (none: built into the kernel)" "$out"
info=$("$CBUILD" info 2>&1)
check_contains "info: accelerator and why" "Accel:       tcg" "$info"
check_contains "info: QEMU version" "QEMU emulator version" "$info"
check "kernel export writes vmlinux, bzImage, config" "$CBUILD" kernel export "$T/k"
check_contains "the exported vmlinux has a PVH entry note" "Xen" "$(readelf -n "$T/k/vmlinux" 2>&1)"
check_contains "virtio-blk is built in" "CONFIG_VIRTIO_BLK=y" "$(cat "$T/k/config")"
check_contains "no loadable modules" "# CONFIG_MODULES is not set" "$(cat "$T/k/config")"
out=$("$CBUILD" kernel frobnicate x 2>&1); rc=$?
check_eq "unknown kernel command: usage error 125" 125 "$rc"
check_contains "unknown kernel command named" "unknown kernel command \`frobnicate\`" "$out"

R=$T/rootfs
make_rootfs "$R"
IMG=$T/root.img
make_image "$R" "$IMG"
out=$("$CBUILD" --debug run --ext4 "$IMG" true 2>&1)
check_contains "first run makes the template snapshot" "made VM template" "$out"
check "the template lives in the store" bash -c "ls '$CBUILD_ROOT'/kernel/template-*.vmstate"
sleep 4
out=$("$CBUILD" --debug run --ext4 "$IMG" sh -c 'date +%s; ls /sys/block; head -c 16 /dev/urandom | od -An -tx1' 2>&1)
check_contains "second run restores it" "restoring VM template" "$out"
guest_now=$(grep -E '^[0-9]{10}$' <<<"$out" | head -1)
host_now=$(date +%s)
check "the restored guest has the host's clock (guest ${guest_now:-?}, host $host_now)" \
  test "$(( host_now - ${guest_now:-0} ))" -lt 3
check_eq "exactly its own disk (one SCSI disk)" "sda" "$(grep -E '^(sd|vd)[a-z]+$' <<<"$out" | tr '\n' ' ' | sed 's/ $//')"
r1=$(grep -E '^ [0-9a-f]{2} ' <<<"$out")
r2=$("$CBUILD" run --ext4 "$IMG" sh -c 'head -c 16 /dev/urandom | od -An -tx1' 2>&1)
check "two restored VMs draw different random bytes" test "$r1" != "$r2"
out=$(CBUILD_VM_TEMPLATE=0 "$CBUILD" --debug run --ext4 "$IMG" true 2>&1)
check_fails "CBUILD_VM_TEMPLATE=0 boots cold" grep -q "restoring VM template" <<<"$out"
# a corrupt template is not trusted forever: the VM fails, and a fresh one is made next time
for f in "$CBUILD_ROOT"/kernel/template-*.vmstate; do head -c 4096 "$f" >"$f.cut" && mv "$f.cut" "$f"; done
out=$("$CBUILD" run --ext4 "$IMG" echo survived 2>&1)
check_contains "a truncated template falls back to a cold boot" "survived" "$out"
check "no temporary files left behind" test -z "$(ls -A "$TMPDIR")"
