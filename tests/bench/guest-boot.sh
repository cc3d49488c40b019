#!/bin/bash
# Benchmark: `cbuild run --ext4 IMG true` (boot, overlay root, exec, clean shutdown) against
# a bare QEMU boot of the same kernel with an initramfs whose init only powers off, both with
# the same QEMU flags and kernel arguments, measured in the same run, interleaved. Target: ratio <= 1.3 (TCG).
# Also reports the VM's peak RSS, and the KVM figures where KVM works.
# Usage: tests/bench/guest-boot.sh [RUNS]   (CBUILD=path/to/cbuild, default build/)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CBUILD=${CBUILD:-$SRC/build/builder/cli/cbuild}
RUNS=${1:-10}
ROOT=${CBUILD_TEST_CACHE:-/var/tmp/cbuild-test-cache}/guest-root
T=$(mktemp -d /tmp/cbuild-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT

"$CBUILD" --root "$ROOT" setup >"$T/setup.txt"
vmlinux=$(sed -n 's/^boot image: *//p' "$T/setup.txt")
accel_auto=$(sed -n 's/^accel: *\([a-z]*\).*/\1/p' "$T/setup.txt")

# rootfs for cbuild: busybox
mkdir -p "$T/rfs/bin" "$T/rfs/etc" "$T/rfs/tmp"
cp /bin/busybox "$T/rfs/bin/"
ln -s busybox "$T/rfs/bin/sh"; ln -s busybox "$T/rfs/bin/true"
echo 'root:x:0:0:root:/root:/bin/sh' >"$T/rfs/etc/passwd"
echo 'root:x:0:' >"$T/rfs/etc/group"
if ! "$CBUILD" ext4 create --dir "$T/rfs" "$T/root.img" >/dev/null 2>&1; then
    mke2fs -q -t ext4 -d "$T/rfs" "$T/root.img" 64M >/dev/null
fi

# reference initramfs: a static init that powers off at once
cat >"$T/init.c" <<'C'
#include <sys/reboot.h>
#include <unistd.h>
int main(void) { reboot(RB_POWER_OFF); for (;;) pause(); }
C
musl-gcc -static -Os -o "$T/init" "$T/init.c"
mkdir -p "$T/ird/dev"
cp "$T/init" "$T/ird/init"
(cd "$T/ird" && echo init | cpio -o -H newc --quiet >"$T/bare.cpio")

khz=$(awk -F: '/^cpu MHz/ {printf "%d", $2*1000+0.5; exit}' /proc/cpuinfo)
bare() {
    local accel=$1 cpu=max
    [ "$accel" = kvm ] && cpu=host,-arch-capabilities
    echo "qemu-system-x86_64 -M microvm,x-option-roms=off -accel $accel -cpu $cpu -m 1024M -smp 1 -nodefaults -no-user-config -display none -no-reboot -kernel $vmlinux -initrd $T/bare.cpio -append 'console=ttyS0 quiet panic=-1 nokaslr 8250.nr_uarts=1 cryptomgr.notests random.trust_cpu=on rcupdate.rcu_expedited=1 tsc_early_khz=$khz' -serial null"
}

# Interleaved (bare, cbuild, bare, cbuild, ...) so load changes on a shared machine hit
# both alike; medians and the ratio of medians.
bench() {
    local accel=$1
    echo "== $accel: $RUNS runs each, interleaved"
    python3 - "$RUNS" "$(bare "$accel")" "env CBUILD_ACCEL=$accel $CBUILD --root $ROOT run --ext4 $T/root.img true" <<'P'
import shlex, statistics, subprocess, sys, time
runs, bare, ours = int(sys.argv[1]), shlex.split(sys.argv[2]), shlex.split(sys.argv[3])
def once(cmd):
    t = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.monotonic() - t) * 1000
once(bare); once(ours)  # warm-up
b, c = [], []
for _ in range(runs):
    b.append(once(bare)); c.append(once(ours))
mb, mc = statistics.median(b), statistics.median(c)
print(f"bare QEMU boot+poweroff: median {mb:6.0f} ms  (min {min(b):.0f}, max {max(b):.0f})")
print(f"cbuild run --ext4 true:  median {mc:6.0f} ms  (min {min(c):.0f}, max {max(c):.0f})")
print(f"ratio cbuild/bare: median {mc/mb:.2f}, min/min {min(c)/min(b):.2f}  (target <= 1.30)")
P
}

bench tcg
# peak RSS of the VM (QEMU is cbuild's child: GNU time reports the largest of them)
/usr/bin/time -f '%M' -o "$T/rss" env CBUILD_ACCEL=tcg "$CBUILD" --root "$ROOT" run --ext4 "$T/root.img" true
/usr/bin/time -f '%M' -o "$T/rss-bare" sh -c "$(bare tcg)"
echo "peak RSS, cbuild run (TCG, 1 GiB guest): $(( $(tail -1 "$T/rss") / 1024 )) MiB; bare boot: $(( $(tail -1 "$T/rss-bare") / 1024 )) MiB"
if [ "$accel_auto" = kvm ]; then
    bench kvm
else
    echo "== kvm: not used here ($(sed -n 's/^accel: *//p' "$T/setup.txt"))"
fi
