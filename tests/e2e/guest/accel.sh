#!/bin/bash
# The accelerator probe's fallback: a /dev/kvm that opens but cannot boot our kernel (here the
# host's kvm_pvm device, which only runs PVM guest kernels) falls back to TCG once; the record
# in the store keeps the reason and `cbuild info` shows it, without probing again.
. "$CBUILD_SRC/tests/e2e/lib.sh"
. "$CBUILD_SRC/tests/e2e/guest/fixture.sh"
unset CBUILD_ACCEL
if ! { exec 3<>/dev/kvm; } 2>/dev/null; then
    # no usable device: the fallback's reason is the open error, and nothing is probed
    info=$("$CBUILD" info 2>&1)
    check_contains "no /dev/kvm: TCG" "Accel:       tcg" "$info"
    check_contains "no /dev/kvm: the reason" "Why:         /dev/kvm: " "$info"
    exit 0
fi
exec 3>&-
info=$("$CBUILD" info 2>&1)
check_contains "first info probes KVM with a test boot" "probing KVM with a test boot" "$info"
rec=$(cat "$CBUILD_ROOT"/kernel/accel-* 2>&1)
if [ "$(head -1 <<<"$rec")" = kvm ]; then
    diag "/dev/kvm boots our kernel here: the fallback cannot happen on this host"
    check_contains "a working /dev/kvm: KVM" "Accel:       kvm" "$info"
    exit 0
fi
check_eq "record: TCG" tcg "$(head -1 <<<"$rec")"
check_contains "record: why" "KVM test boot failed: the guest did not boot within" "$(sed -n 2p <<<"$rec")"
check_contains "info: Accel tcg" "Accel:       tcg" "$info"
check_contains "info: why, from the record" "Why:         $(sed -n 2p <<<"$rec")" "$info"
again=$("$CBUILD" info 2>&1)
check_eq "second info does not probe again" 0 "$(grep -c 'probing KVM' <<<"$again")"
check_contains "second info: the same reason" "Why:         $(sed -n 2p <<<"$rec")" "$again"
check_contains "setup says it too" "accel:      tcg (KVM test boot failed" "$("$CBUILD" setup 2>&1)"
mkdir -p "$T/rfs/bin"
cp /bin/busybox "$T/rfs/bin/"
make_image "$T/rfs" "$T/root.img"
out=$("$CBUILD" --debug run --ext4 "$T/root.img" /bin/busybox echo ran 2>&1)
check_contains "a RUN VM then boots under TCG" "ran" "$out"
check_contains "and says so" "VM (tcg)" "$out"
check_contains "with -accel tcg" "-accel tcg" "$out"
