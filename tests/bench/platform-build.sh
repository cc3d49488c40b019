#!/bin/bash
# Benchmark: the wall time of a two-platform build (`cbuild build --platform
# linux/amd64,linux/arm64`, one RUN per platform: a shell loop of N iterations, amd64 and arm64
# VMs under TCG) against the same build for each platform alone. Platforms solved at the same
# time take about the slowest platform's time, solved in turn the sum. With CBUILD_BEFORE (an
# older cbuild, e.g. one solving the platforms in turn) its two-platform build is timed too, in
# the same store, interleaved. Every run is uncached (a build arg the RUN names changes), the
# base image and the kernels are in the store before the first timed run. Medians.
# Usage: tests/bench/platform-build.sh [RUNS] [LOOP_N]   (CBUILD=path/to/cbuild, default build/;
#        CBUILD_BEFORE=path/to/older/cbuild, optional)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CBUILD=${CBUILD:-$SRC/build/builder/cli/cbuild}
BEFORE=${CBUILD_BEFORE:-}
RUNS=${1:-5}
LOOP_N=${2:-20000}
CACHE=${CBUILD_TEST_CACHE:-/var/tmp/cbuild-test-cache}
T=$(mktemp -d /tmp/cbuild-bench.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export CBUILD_REGISTRY=127.0.0.1:$port CBUILD_REGISTRY_DIR=$T/registry
trap 'bash "$SRC/samples/base-images.sh" stop >/dev/null 2>&1; rm -rf "$T"' EXIT
bash "$SRC/samples/base-images.sh" busybox-only >"$T/base-images.log" 2>&1 || { cat "$T/base-images.log"; exit 1; }
# the arm64 kernel (Debian's) kept across runs, as tests/bench/platform-run.sh keeps it;
# amd64: $CBUILD_KERNEL when set, else the same way
KROOT=$CACHE/bench-platform-kernels
mkdir -p "$KROOT" "$T/store"
[ -n "${CBUILD_KERNEL:-}" ] || "$CBUILD" --root "$KROOT" setup >/dev/null
"$CBUILD" --root "$KROOT" setup --arch arm64 >/dev/null
ln -s "$KROOT/kernel" "$T/store/kernel"

mkdir -p "$T/ctx"
cat >"$T/ctx/Dockerfile" <<EOF
FROM $CBUILD_REGISTRY/busybox:latest
ARG BENCH_RUN
RUN : "\$BENCH_RUN"; i=0; while [ \$i -lt $LOOP_N ]; do i=\$((i+1)); done; uname -m >/machine
EOF
n=0
# build CBUILD PLATFORMS: one uncached build
build() {
    n=$((n + 1))
    "$1" --root "$T/store" build --progress=plain --platform "$2" --build-arg BENCH_RUN="$n" -t "bench-pb:$n" \
        "$T/ctx" >"$T/last.log" 2>&1 || { echo "failed: $1 --platform $2" >&2; tail -20 "$T/last.log" >&2; exit 1; }
}
now() { date +%s.%N; }
time_of() {
    local t0 t1
    t0=$(now)
    build "$@"
    t1=$(now)
    echo "$t1 - $t0" | bc
}
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'; }

# warm-up: the base image for both platforms, the kernels' first boots
build "$CBUILD" linux/amd64,linux/arm64
[ -z "$BEFORE" ] || build "$BEFORE" linux/amd64,linux/arm64
load0=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$T/after.both"; : >"$T/after.amd64"; : >"$T/after.arm64"; : >"$T/before.both"
for _ in $(seq "$RUNS"); do
    [ -z "$BEFORE" ] || time_of "$BEFORE" linux/amd64,linux/arm64 >>"$T/before.both"
    time_of "$CBUILD" linux/amd64,linux/arm64 >>"$T/after.both"
    time_of "$CBUILD" linux/amd64 >>"$T/after.amd64"
    time_of "$CBUILD" linux/arm64 >>"$T/after.arm64"
done
a=$(median <"$T/after.amd64") r=$(median <"$T/after.arm64") both=$(median <"$T/after.both")
echo "platform-build: RUN of a $LOOP_N-iteration shell loop, $RUNS uncached builds each, medians"
echo "load average: $load0 before, $(cut -d' ' -f1-3 /proc/loadavg) after"
echo "linux/amd64 alone ${a}s  linux/arm64 alone ${r}s  (sum $(echo "$a + $r" | bc)s, slowest $(echo "if ($a > $r) $a else $r" | bc)s)"
echo "linux/amd64,linux/arm64: ${both}s"
if [ -n "$BEFORE" ]; then
    b=$(median <"$T/before.both")
    echo "linux/amd64,linux/arm64 with CBUILD_BEFORE: ${b}s  (after/before $(echo "scale=2; $both / $b" | bc))"
fi
