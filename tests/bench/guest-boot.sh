#!/bin/bash
# Benchmark: start -> `true` exits with `cbuild run --ext4 IMG true` for three VM kinds (the
# Debian cloud kernel, cbuild's own kernel booted cold, and the own kernel restored from the
# template snapshot), each against a bare QEMU boot of the same kernel whose init powers off at
# once (same QEMU flags and kernel arguments), measured in the same run, interleaved, best of
# RUNS (3). Phases from the guest's boot timestamps (CBUILD_VM_TRACE=1, CLOCK_BOOTTIME):
# kernel = boot until vminitd runs, init = vminitd until the command's exec, cmd = the command,
# host = the rest of the wall time (QEMU start, firmware, handshake, shutdown). Also the VM's
# peak RSS; CBUILD_BENCH_KVM=1 adds the same rows under KVM (where /dev/kvm boots our kernels).
# Usage: tests/bench/guest-boot.sh [RUNS]   (CBUILD=path/to/cbuild, default build/;
#   CBUILD_KERNEL=our bzImage, default the test suite's /var/tmp/cbuild-kernel/*/bzImage)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CBUILD=${CBUILD:-$SRC/build/builder/cli/cbuild}
RUNS=${1:-3}
CACHE=${CBUILD_TEST_CACHE:-/var/tmp/cbuild-test-cache}
OWN=${CBUILD_KERNEL:-$(ls /var/tmp/cbuild-kernel/x86_64-*/bzImage 2>/dev/null | head -1)}
T=$(mktemp -d /tmp/cbuild-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
[ -f "$OWN" ] || { echo "no own kernel (set CBUILD_KERNEL to cbuild's bzImage)" >&2; exit 1; }
# Debian's cloud kernel: the one the guest tests installed, else cbuild installs it now
DEB=$(ls "$CACHE"/guest-root/kernel/*-cloud-amd64/boot/vmlinuz-* 2>/dev/null | head -1 || true)
if [ -z "$DEB" ]; then
    env -u CBUILD_KERNEL "$CBUILD" --root "$T/deb-root" setup >/dev/null
    DEB=$(ls "$T"/deb-root/kernel/*-cloud-amd64/boot/vmlinuz-* | head -1)
fi
export CBUILD_ACCEL=${CBUILD_ACCEL:-tcg}

# rootfs for cbuild: busybox
mkdir -p "$T/rfs/bin" "$T/rfs/etc" "$T/rfs/tmp"
cp /bin/busybox "$T/rfs/bin/"
ln -s busybox "$T/rfs/bin/sh"; ln -s busybox "$T/rfs/bin/true"
echo 'root:x:0:0:root:/root:/bin/sh' >"$T/rfs/etc/passwd"
echo 'root:x:0:' >"$T/rfs/etc/group"
"$CBUILD" ext4 create --dir "$T/rfs" "$T/root.img" >/dev/null

# reference initramfs: a static init that prints its boot time and resets at once
cat >"$T/init.c" <<'C'
#include <stdio.h>
#include <sys/reboot.h>
#include <time.h>
#include <unistd.h>
int main(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    FILE *c = fopen("/dev/console", "w");
    if (c) { fprintf(c, "bare-init %ld.%03ld\n", (long)ts.tv_sec, ts.tv_nsec / 1000000); fclose(c); }
    reboot(RB_AUTOBOOT);
    for (;;) pause();
}
C
musl-gcc -static -Os -o "$T/init" "$T/init.c"
mkdir -p "$T/ird/dev"
cp "$T/init" "$T/ird/init"
(cd "$T/ird" && printf 'init\ndev\n' | cpio -o -H newc --quiet >"$T/bare.cpio")

# setup KERNEL ROOT: the boot image cbuild uses and whether it needs ACPI
boot_image() { env CBUILD_KERNEL="$1" "$CBUILD" --root "$2" setup | sed -n 's/^boot image: *//p'; }
acpi_of() { env CBUILD_KERNEL="$1" "$CBUILD" --root "$2" setup | grep -q '^devices: *ACPI' && echo on || echo off; }
khz=$(awk -F: '/^cpu MHz/ {printf "%d", $2*1000+0.5; exit}' /proc/cpuinfo)
bare() { # BOOT_IMAGE ACPI ACCEL
    local cpu=max m=microvm,x-option-roms=off
    [ "$3" = kvm ] && cpu=host,-arch-capabilities
    [ "$2" = off ] && m=$m,acpi=off
    echo "qemu-system-x86_64 -M $m -accel $3 -cpu $cpu -m 1024M -smp 1 -nodefaults -no-user-config -display none -no-reboot -kernel $1 -initrd $T/bare.cpio -append 'console=ttyS0 quiet panic=-1 reboot=t nokaslr 8250.nr_uarts=1 cryptomgr.notests random.trust_cpu=on rcupdate.rcu_expedited=1 tsc_early_khz=$khz' -serial stdio"
}

bench() { # NAME KERNEL TEMPLATE(0|1) ACCEL
    local root="$T/root-$1" img acpi
    img=$(boot_image "$2" "$root")
    acpi=$(acpi_of "$2" "$root")
    python3 - "$1" "$RUNS" "$(bare "$img" "$acpi" "$4")" \
        "env CBUILD_ACCEL=$4 CBUILD_KERNEL=$2 CBUILD_VM_TEMPLATE=$3 CBUILD_VM_TRACE=1 $CBUILD --root $root --debug run --ext4 $T/root.img true" <<'P'
import re, shlex, subprocess, sys, time
name, runs, bare, ours = sys.argv[1], int(sys.argv[2]), shlex.split(sys.argv[3]), shlex.split(sys.argv[4])
def once(cmd):
    t = time.monotonic()
    p = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    return (time.monotonic() - t) * 1000, p.stdout
def stage(out, s):
    m = re.search(r"vminitd: (\d+\.\d+) " + s, out)
    return float(m.group(1)) * 1000 if m else None
once(bare); once(ours)  # warm-up (and the template, when used)
b, c = [], []
for _ in range(runs):
    b.append(once(bare)); c.append(once(ours))
bb, cb = min(b, key=lambda x: x[0]), min(c, key=lambda x: x[0])
m = re.search(r"bare-init (\d+\.\d+)", bb[1])
bk = float(m.group(1)) * 1000 if m else float("nan")
k, x, e = stage(cb[1], "vminitd started"), stage(cb[1], "command started"), stage(cb[1], "command exited")
# restored from the template: the guest's clock counts on from the template's boot
t0 = stage(cb[1], "config received") if k is None else 0.0
if k is None:
    ph = f"restored: no kernel boot, init {x - t0:.0f} from config to exec"
else:
    ph = f"kernel {k:.0f}, init {x - k:.0f}"
ph += f", cmd {e - x:.0f}, host {cb[0] - (e - t0):.0f}" if x and e else ""
print(f"{name:22s} bare {bb[0]:6.0f} ms (kernel {bk:.0f}, host {bb[0] - bk:.0f})  cbuild {cb[0]:6.0f} ms"
      f" ({ph})  ratio {cb[0] / bb[0]:.2f}")
P
}

echo "== best of $RUNS, interleaved with a bare QEMU boot of the same kernel; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for accel in tcg $( [ "${CBUILD_BENCH_KVM:-0}" = 1 ] && echo kvm ); do
    bench "debian-$accel" "$DEB" 0 "$accel"
    bench "own-cold-$accel" "$OWN" 0 "$accel"
    bench "own-template-$accel" "$OWN" 1 "$accel"
done
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
# peak RSS of the VM (QEMU is cbuild's child: GNU time reports the largest of them)
/usr/bin/time -f '%M' -o "$T/rss" env CBUILD_KERNEL="$OWN" "$CBUILD" --root "$T/root-own-template-tcg" run --ext4 "$T/root.img" true
/usr/bin/time -f '%M' -o "$T/rss-bare" sh -c "$(bare "$(boot_image "$OWN" "$T/root-own-cold-tcg")" off tcg) >/dev/null"
echo "peak RSS, cbuild run (TCG, 1 GiB guest, template): $(( $(tail -1 "$T/rss") / 1024 )) MiB; bare boot: $(( $(tail -1 "$T/rss-bare") / 1024 )) MiB"
