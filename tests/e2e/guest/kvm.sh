#!/bin/bash
# The KVM path, proven: an outer VM under TCG with `-cpu max` (AMD SVM with nested paging
# emulated) boots the Debian cloud kernel, which loads kvm_amd and gets a working /dev/kvm.
# Inside it (an ext4 disk written by cbuild's own tools: cbuild, QEMU, our guest kernel, a
# busybox build context) `cbuild info` probes KVM and must choose it, and a `cbuild build` with
# one RUN step runs that step in an inner VM under KVM. The outer VM is `cbuild run` itself.
. "$CBUILD_SRC/tests/e2e/lib.sh"
. "$CBUILD_SRC/tests/e2e/guest/fixture.sh"
case "${CBUILD_KERNEL:-}" in
  */bzImage) [ -f "$(dirname "$CBUILD_KERNEL")/cbuild-kernel" ] || { skip "CBUILD_KERNEL is not cbuild's own kernel"; exit 0; } ;;
  *) skip "CBUILD_KERNEL does not name cbuild's own kernel (tests/run.sh builds it)"; exit 0 ;;
esac
OWN=$CBUILD_KERNEL
# the outer VM: Debian's cloud kernel (kvm and kvm_amd are modules of it), installed once
DEB=$(ls "$GUEST_ROOT"/kernel/*-cloud-amd64/boot/vmlinuz-* 2>/dev/null | head -1)
if [ -z "$DEB" ]; then
    env -u CBUILD_KERNEL "$CBUILD" --root "$T/deb-root" setup >/dev/null 2>&1
    DEB=$(ls "$T"/deb-root/kernel/*-cloud-amd64/boot/vmlinuz-* 2>/dev/null | head -1)
fi
[ -n "$DEB" ] || { echo "Bail out! no Debian cloud kernel (cbuild setup without CBUILD_KERNEL installs it)"; exit 1; }
MODS=$(dirname "$(dirname "$DEB")")/lib/modules/${DEB##*/vmlinuz-}

R=$T/l1
# copy FILE...: into the outer VM's root at the same path, with the shared libraries they need
copy() {
    local f l
    for f in "$@"; do
        mkdir -p "$R$(dirname "$f")"
        cp -L "$f" "$R$f"
        for l in $(ldd "$f" 2>/dev/null | grep -o '/[^ ]*'); do
            [ -e "$R$l" ] || { mkdir -p "$R$(dirname "$l")"; cp -L "$l" "$R$l"; }
        done
    done
}
mkdir -p "$R/bin" "$R/etc" "$R/modules" "$R/usr/share" "$R/k" "$R/ctx/rootfs/bin"
copy /bin/busybox "$(command -v qemu-system-x86_64)"
cp "$CBUILD" "$R/bin/cbuild"
copy "$CBUILD"
for a in sh mknod insmod grep cat echo; do ln -s busybox "$R/bin/$a"; done
cp -rL /usr/share/qemu /usr/share/seabios "$R/usr/share/"
cp "$(dirname "$OWN")"/* "$R/k/"
for m in virt/lib/irqbypass arch/x86/kvm/kvm arch/x86/kvm/kvm-amd; do cp "$MODS/kernel/$m.ko" "$R/modules/"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$R/etc/passwd"
printf 'root:x:0:\n' >"$R/etc/group"
cp /bin/busybox "$R/ctx/rootfs/bin/"
cat >"$R/ctx/Dockerfile" <<'EOF'
FROM scratch
COPY rootfs /
RUN ["/bin/busybox", "sh", "-c", "echo step-output $((6 * 7)) on $(/bin/busybox uname -r)"]
RUN ["/bin/busybox", "sh", "-c", "echo restored-output $((6 * 8))"]
EOF
cat >"$R/l1.sh" <<'EOF'
#!/bin/sh
for m in irqbypass kvm kvm-amd; do insmod /modules/$m.ko || echo "insmod $m failed"; done
[ -e /dev/kvm ] || mknod /dev/kvm c 10 232
echo "l1: /dev/kvm: $(cat /sys/module/kvm_amd/parameters/nested 2>&1) nested, npt $(cat /sys/module/kvm_amd/parameters/npt 2>&1)"
export PATH=/bin:/usr/bin CBUILD_KERNEL=/k/bzImage CBUILD_ROOT=/tmp/store TMPDIR=/tmp
export CBUILD_KVM_PROBE_TIMEOUT=600 CBUILD_BOOT_TIMEOUT=900
cbuild info 2>&1
echo "l1: record: $(cat /tmp/store/kernel/accel-* | head -1)"
cbuild --debug build --network none --progress plain -t nested /ctx >/tmp/build.log 2>&1
echo "l1: build exit $?"
grep -E 'step-output|restored-output|starting VM|VM template|vm: boot' /tmp/build.log
EOF
chmod +x "$R/l1.sh"
make_image "$R" "$T/l1.img"
diag "outer VM root: $(du -sh "$T/l1.img" | cut -f1) ($(du -sh --apparent-size "$R" | cut -f1) of files)"

start=$(date +%s)
out=$(env CBUILD_KERNEL="$DEB" CBUILD_ACCEL=tcg CBUILD_BOOT_TIMEOUT=600 timeout 1500 \
    "$CBUILD" --root "$GUEST_ROOT" run --memory 3g --network none --ext4 "$T/l1.img" /l1.sh 2>&1)
rc=$?
diag "outer VM ran for $(( $(date +%s) - start )) s"
check_eq "outer VM ran the script" 0 "$rc"
check_contains "kvm_amd loaded with nested paging in the outer VM" "nested, npt Y" "$out"
check_contains "cbuild info inside chose KVM" "Accel:       kvm" "$out"
check_eq "no fallback reason" "" "$(grep 'Why:' <<<"$out")"
check_contains "the probe's record says kvm" "l1: record: kvm" "$out"
check_contains "the build succeeded" "l1: build exit 0" "$out"
check_contains "the RUN step's output" "step-output 42 on 6.1" "$out"
check_contains "the RUN step's VM ran under KVM" "-accel kvm -cpu host" "$(grep 'starting VM' <<<"$out" | tail -1)"
# the first RUN made the KVM machine's template, the second step's VM restored it under KVM
check_contains "a KVM template snapshot was made" "made VM template" "$out"
check_contains "the second step's VM restored it" "restoring VM template" "$out"
check_contains "the restored step's output" "restored-output 48" "$out"
diag "inner VMs: $(grep -E 'vm: boot|made VM template' <<<"$out" | sed 's/.*debug: //; s/^#[0-9]* [0-9.]* //' | tr '\n' ';')"
[ "$rc" = 0 ] && grep -q "l1: build exit 0" <<<"$out" || diag "$out"
