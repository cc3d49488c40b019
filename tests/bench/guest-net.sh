#!/bin/bash
# Benchmark: what the default network (passt --no-map-gw) costs at boot against QEMU's slirp
# (--network host) and no network, for `cbuild run --ext4 IMG true`, measured in the same run,
# interleaved (default, host, none, ...) so load changes hit all alike; medians, ratios to
# slirp, and the load average. Not a timed test.
# Usage: tests/bench/guest-net.sh [RUNS]   (CBUILD=path/to/cbuild, default build/)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CBUILD=${CBUILD:-$SRC/build/builder/cli/cbuild}
RUNS=${1:-7}
ROOT=${CBUILD_TEST_CACHE:-/var/tmp/cbuild-test-cache}/guest-root
T=$(mktemp -d /tmp/cbuild-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
"$CBUILD" --root "$ROOT" setup >/dev/null
mkdir -p "$T/rfs/bin"
cp /bin/busybox "$T/rfs/bin/"
ln -s busybox "$T/rfs/bin/sh"; ln -s busybox "$T/rfs/bin/true"
"$CBUILD" ext4 create --dir "$T/rfs" "$T/root.img" >/dev/null
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$RUNS" "$CBUILD" "$ROOT" "$T/root.img" <<'P'
import statistics, subprocess, sys, time
runs, cbuild, root, img = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
modes = ["default", "host", "none"]
def once(mode):
    t = time.monotonic()
    subprocess.run([cbuild, "--root", root, "run", "--network", mode, "--ext4", img, "true"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.monotonic() - t) * 1000
for m in modes: once(m)  # warm-up
ms = {m: [] for m in modes}
for _ in range(runs):
    for m in modes: ms[m].append(once(m))
med = {m: statistics.median(v) for m, v in ms.items()}
for m in modes:
    print(f"{m:8s} median {med[m]:7.0f} ms  min {min(ms[m]):7.0f}  max {max(ms[m]):7.0f}  ratio to slirp {med[m] / med['host']:.2f}")
P
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
