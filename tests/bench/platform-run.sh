#!/bin/bash
# Benchmark: one linux/arm64 step against the same linux/amd64 step, both in cbuild VMs
# (`cbuild run [--platform linux/arm64] busybox CMD`, TCG here, Debian's cloud kernels for
# both architectures), and buildah's `run` of the same steps in containers of the same index
# (`buildah from --platform linux/arm64`: qemu-user through binfmt_misc, which must be
# registered on the host; no setup for cbuild). Steps: `true` (boot and shutdown dominate)
# and a shell loop of N iterations (CPU-bound guest code). Interleaved runs, medians.
# The small C compile: `gcc -O2 hello.c` in a RUN on debian:bookworm (an index: samples/base-images.sh,
# its arm64 half cached) after a cached `apt-get install gcc` step, as whole `cbuild build
# --platform linux/ARCH` runs beside `buildah build --platform linux/ARCH --layers` (qemu-user for
# arm64; overlay storage); the first, uncached build of each (apt-get in the VM / under
# qemu-user, Debian's mirror) is timed once. BENCH_CC=no skips it.
# Usage: tests/bench/platform-run.sh [RUNS] [LOOP_N]   (CBUILD=path/to/cbuild, default build/)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CBUILD=${CBUILD:-$SRC/build/builder/cli/cbuild}
RUNS=${1:-5}
LOOP_N=${2:-20000}
CACHE=${CBUILD_TEST_CACHE:-/var/tmp/cbuild-test-cache}
T=$(mktemp -d /tmp/cbuild-bench.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export CBUILD_REGISTRY=127.0.0.1:$port CBUILD_REGISTRY_DIR=$T/registry
trap 'bash "$SRC/samples/base-images.sh" stop >/dev/null 2>&1; rm -rf "$T"' EXIT
BENCH_CC=${BENCH_CC:-yes}
if [ "$BENCH_CC" = yes ]; then
    CBUILD=$CBUILD bash "$SRC/samples/base-images.sh" start >"$T/base-images.log" 2>&1 ||
        { cat "$T/base-images.log"; exit 1; }
else
    bash "$SRC/samples/base-images.sh" busybox-only >/dev/null 2>&1
fi
BB=$CBUILD_REGISTRY/busybox:latest
# Debian's kernels for both (kept across runs); $CBUILD_KERNEL would give amd64 our own kernel
unset CBUILD_KERNEL CBUILD_KERNEL_ARM64 CBUILD_ACCEL
KROOT=$CACHE/bench-platform-kernels
mkdir -p "$KROOT"
"$CBUILD" --root "$KROOT" setup >"$T/setup-amd64.txt"
"$CBUILD" --root "$KROOT" setup --arch arm64 >"$T/setup-arm64.txt"
# one store per platform: a store keeps one manifest per tag
for a in amd64 arm64; do
    mkdir -p "$T/s-$a"
    ln -s "$KROOT/kernel" "$T/s-$a/kernel"
done
LOOP="i=0; while [ \$i -lt $LOOP_N ]; do i=\$((i+1)); done"
cb_amd64() { "$CBUILD" --root "$T/s-amd64" run --network none "$BB" "$@"; }
cb_arm64() { "$CBUILD" --root "$T/s-arm64" run --platform linux/arm64 --network none "$BB" "$@"; }
cb_amd64 true >/dev/null 2>&1
cb_arm64 true >/dev/null 2>&1

have_bh=no
BH=(buildah --root "$T/bh" --runroot "$T/bh-run" --storage-driver vfs)
if command -v buildah >/dev/null && grep -qs enabled /proc/sys/fs/binfmt_misc/qemu-aarch64; then
    c_amd64=$("${BH[@]}" from --platform linux/amd64 --tls-verify=false --name bh-amd64 -q "docker://$BB" 2>/dev/null)
    c_arm64=$("${BH[@]}" from --platform linux/arm64 --tls-verify=false --name bh-arm64 -q "docker://$BB" 2>/dev/null)
    [ "$("${BH[@]}" run --isolation chroot "$c_arm64" uname -m)" = aarch64 ] && have_bh=yes
fi
bh_amd64() { "${BH[@]}" run --isolation chroot "$c_amd64" "$@"; }
bh_arm64() { "${BH[@]}" run --isolation chroot "$c_arm64" "$@"; }

now() { date +%s.%N; }
# time_of CMD...: seconds of one run (the command must succeed)
time_of() {
    local t0 t1
    t0=$(now)
    "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
    t1=$(now)
    echo "$t1 - $t0" | bc
}
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }
ratio() { echo "scale=2; $1 / $2" | bc; }

kinds=(cb_amd64 cb_arm64)
[ $have_bh = yes ] && kinds+=(bh_amd64 bh_arm64)
for k in "${kinds[@]}"; do : >"$T/$k.true"; : >"$T/$k.loop"; done
for _ in $(seq "$RUNS"); do
    for k in "${kinds[@]}"; do
        time_of "$k" true >>"$T/$k.true"
        time_of "$k" sh -c "$LOOP" >>"$T/$k.loop"
    done
done
declare -A M
for k in "${kinds[@]}"; do
    M[$k.true]=$(median <"$T/$k.true")
    M[$k.loop]=$(median <"$T/$k.loop")
done
echo "platform-run: $RUNS runs each, medians; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "kernels: amd64 $(sed -n 's/^version: *//p' "$T/setup-amd64.txt"), arm64 $(sed -n 's/^version: *//p' "$T/setup-arm64.txt"); accel $(sed -n 's/^accel: *//p' "$T/setup-arm64.txt")"
for s in true loop; do
    label=$([ $s = true ] && echo "true" || echo "sh loop of $LOOP_N")
    echo "($s) $label: cbuild amd64 ${M[cb_amd64.$s]}s  cbuild arm64 ${M[cb_arm64.$s]}s  ratio arm64/amd64 $(ratio "${M[cb_arm64.$s]}" "${M[cb_amd64.$s]}")"
    if [ $have_bh = yes ]; then
        echo "    buildah amd64 ${M[bh_amd64.$s]}s  buildah arm64 (qemu-user) ${M[bh_arm64.$s]}s  ratio arm64/amd64 $(ratio "${M[bh_arm64.$s]}" "${M[bh_amd64.$s]}")"
        echo "    cbuild arm64 / buildah arm64 $(ratio "${M[cb_arm64.$s]}" "${M[bh_arm64.$s]}")"
    fi
done
[ $have_bh = yes ] || echo "buildah --platform linux/arm64: not measured (needs buildah and qemu-aarch64 registered in /proc/sys/fs/binfmt_misc)"
[ "$BENCH_CC" = yes ] || exit 0

# --- the small C compile ---
mkdir -p "$T/cc"
cp "$SRC/samples/c-static/hello.c" "$T/cc/hello.c"
cat >"$T/cc/Dockerfile" <<'EOF'
ARG REGISTRY
FROM ${REGISTRY}/debian:bookworm
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
COPY hello.c /src/hello.c
ARG BENCH_RUN
RUN : "$BENCH_RUN" && gcc -O2 -o /src/hello /src/hello.c && /src/hello
EOF
BHO=(buildah --root "$T/bho" --runroot "$T/bho-run" --storage-driver overlay)
# ccb_KIND ARCH N: one whole build of the Dockerfile for linux/ARCH (N: the compile step's cache buster)
ccb_cb() {
    "$CBUILD" --root "$T/s-$1" build --progress=plain --platform "linux/$1" --build-arg REGISTRY="$CBUILD_REGISTRY" \
        --build-arg BENCH_RUN="$2" -t "bench-cc-$1" "$T/cc" >"$T/cc-cb-$1.log" 2>&1
}
ccb_bh() {
    "${BHO[@]}" build --platform "linux/$1" --layers --isolation chroot --tls-verify=false \
        --build-arg REGISTRY="$CBUILD_REGISTRY" --build-arg BENCH_RUN="$2" -t "bench-cc-$1" "$T/cc" \
        >"$T/cc-bh-$1.log" 2>&1
}
# the compile step's own time in cbuild's last plain log (BuildKit's "#N DONE 1.2s")
cb_step() {
    local id
    id=$(grep -E '^#[0-9]+ \[[^]]*\] RUN : ' "$T/cc-cb-$1.log" | head -1 | awk '{print $1}')
    sed -n "s/^$id DONE \([0-9.]*\)s\$/\1/p" "$T/cc-cb-$1.log" | head -1
}
cckinds=(cb_amd64 cb_arm64)
[ $have_bh = yes ] && cckinds+=(bh_amd64 bh_arm64)
declare -A FIRST
for k in "${cckinds[@]}"; do
    FIRST[$k]=$(time_of "ccb_${k%_*}" "${k#*_}" 0)
    : >"$T/$k.cc"
done
: >"$T/cb_amd64.ccstep"; : >"$T/cb_arm64.ccstep"
for i in $(seq "$RUNS"); do
    for k in "${cckinds[@]}"; do
        time_of "ccb_${k%_*}" "${k#*_}" "$i" >>"$T/$k.cc"
        case $k in cb_*) cb_step "${k#*_}" >>"$T/$k.ccstep" ;; esac
    done
done
# the compile ran on the platform asked for: the binary says so in each tool's last log
for k in "${cckinds[@]}"; do
    a=${k#*_} m=$([ "${k#*_}" = arm64 ] && echo aarch64 || echo x86_64)
    grep -q "hello from a static C binary on Linux $m" "$T/cc-${k%_*}-$a.log" ||
        { echo "$k: the compiled program did not print Linux $m" >&2; tail -20 "$T/cc-${k%_*}-$a.log" >&2; exit 1; }
done
for k in "${cckinds[@]}"; do M[$k.cc]=$(median <"$T/$k.cc"); FIRST[$k]=$(printf %.1f "${FIRST[$k]}"); done
for a in amd64 arm64; do M[cb_$a.ccstep]=$(median <"$T/cb_$a.ccstep"); done
echo "(cc) gcc -O2 hello.c in a RUN on debian:bookworm, whole builds, apt step cached; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "    cbuild amd64 ${M[cb_amd64.cc]}s (step ${M[cb_amd64.ccstep]}s)  cbuild arm64 ${M[cb_arm64.cc]}s (step ${M[cb_arm64.ccstep]}s)  ratio arm64/amd64 $(ratio "${M[cb_arm64.cc]}" "${M[cb_amd64.cc]}")"
echo "    first build (apt-get install gcc, once): cbuild amd64 ${FIRST[cb_amd64]}s  cbuild arm64 ${FIRST[cb_arm64]}s"
if [ $have_bh = yes ]; then
    echo "    buildah amd64 ${M[bh_amd64.cc]}s  buildah arm64 (qemu-user) ${M[bh_arm64.cc]}s  ratio arm64/amd64 $(ratio "${M[bh_arm64.cc]}" "${M[bh_amd64.cc]}")"
    echo "    first build: buildah amd64 ${FIRST[bh_amd64]}s  buildah arm64 ${FIRST[bh_arm64]}s"
    echo "    cbuild arm64 / buildah arm64 $(ratio "${M[cb_arm64.cc]}" "${M[bh_arm64.cc]}")  cbuild amd64 / buildah amd64 $(ratio "${M[cb_amd64.cc]}" "${M[bh_amd64.cc]}")"
fi
