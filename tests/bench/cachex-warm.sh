#!/bin/bash
# Cache-warmed CI builds: for samples/debian-service (apt-get RUN) and samples/c-static
# (multi-stage), a cold build on an empty store that exports its cache to a local
# docker-registry (runner 1), against a build on another empty store with --cache-from
# (runner 2). Prints times and the ratio, VMs booted, bytes downloaded against the final
# image's compressed size; buildah (--layers --cache-to/--cache-from, chroot isolation, vfs)
# does the same in the same run as the reference (BENCH_BUILDAH=0 skips it).
# Usage: tests/bench/cachex-warm.sh [CBUILD]
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CBUILD=${1:-${CBUILD:-$SRC/build/builder/cli/cbuild}}
export CBUILD_REGISTRY=${CBUILD_REGISTRY:-127.0.0.1:5000}
REG=$CBUILD_REGISTRY
T=$(mktemp -d /var/tmp/cbuild-bench-cachex.XXXXXX)
trap 'rm -rf "$T"' EXIT
bash "$SRC/samples/base-images.sh" start >/dev/null || { echo "no base image registry"; exit 1; }

now() { date +%s.%N; }
ratio() { echo "scale=1; $1 / $2" | bc; }
# the guest kernel is installed once per store: warm a throwaway store so the cold build
# measures the build, not the one-time kernel setup
kernel_store=$T/kernel-warm
printf 'FROM %s/busybox:latest\nRUN true\n' "$REG" | CBUILD_ROOT=$kernel_store "$CBUILD" build -q -f - "$SRC/samples/busybox" >/dev/null 2>&1
seed_kernel() { mkdir -p "$1"; [ -d "$kernel_store/kernel" ] && cp -a "$kernel_store/kernel" "$1/"; }

for sample in debian-service c-static; do
  ref=$REG/bench-cache/$sample:cache
  r1=$T/$sample-runner1 r2=$T/$sample-runner2
  seed_kernel "$r1"; seed_kernel "$r2"
  t0=$(now)
  CBUILD_ROOT=$r1 "$CBUILD" build --progress=plain -t "$sample" --metadata-file "$T/m1.json" \
    --cache-to type=registry,ref=$ref,mode=max "$SRC/samples/$sample" >"$T/$sample-1.log" 2>&1 ||
    { echo "$sample: cold build failed"; tail -20 "$T/$sample-1.log"; continue; }
  t1=$(now)
  CBUILD_ROOT=$r2 "$CBUILD" build --progress=plain -t "$sample" --metadata-file "$T/m2.json" \
    --cache-from type=registry,ref=$ref "$SRC/samples/$sample" >"$T/$sample-2.log" 2>&1 ||
    { echo "$sample: warm build failed"; tail -20 "$T/$sample-2.log"; continue; }
  t2=$(now)
  cold=$(echo "$t1 - $t0" | bc) warm=$(echo "$t2 - $t1" | bc)
  d1=$(jq -r '."containerimage.digest"' "$T/m1.json") d2=$(jq -r '."containerimage.digest"' "$T/m2.json")
  vms=$(grep -c 'vm: boot' "$T/$sample-2.log")
  fetched=$(sed -n 's/.*blobs fetched (\([0-9]*\) bytes).*/\1/p' "$T/$sample-2.log")
  size=$(skopeo inspect --raw "oci:$r2:$(jq -r '."image.name"' "$T/m2.json" | cut -d, -f1)" 2>/dev/null | jq '([.layers[].size]|add) + .config.size')
  echo "$sample: cbuild cold ${cold}s  cache-warmed (empty store) ${warm}s  ratio $(ratio "$cold" "$warm")x"
  echo "    same digest: $([ "$d1" = "$d2" ] && echo yes || echo "NO ($d1 vs $d2)")  VMs booted warm: $vms  downloaded ${fetched:-?} B / final image ${size:-?} B"
  if [ "${BENCH_BUILDAH:-1}" = 1 ]; then
    BH1=(buildah --root "$T/bh1" --runroot "$T/bh1-run" --storage-driver vfs)
    BH2=(buildah --root "$T/bh2" --runroot "$T/bh2-run" --storage-driver vfs)
    bref=$REG/bench-cache/$sample-buildah
    t0=$(now)
    "${BH1[@]}" bud --isolation chroot --tls-verify=false --layers -q --build-arg REGISTRY=$REG \
      --cache-to "$bref" -t "$sample" "$SRC/samples/$sample" >/dev/null 2>"$T/bh1.log" || { echo "    buildah cold failed"; tail -3 "$T/bh1.log"; }
    t1=$(now)
    "${BH2[@]}" bud --isolation chroot --tls-verify=false --layers -q --build-arg REGISTRY=$REG \
      --cache-from "$bref" -t "$sample" "$SRC/samples/$sample" >/dev/null 2>"$T/bh2.log" || { echo "    buildah warm failed"; tail -3 "$T/bh2.log"; }
    t2=$(now)
    bc_=$(echo "$t1 - $t0" | bc) bw=$(echo "$t2 - $t1" | bc)
    echo "    buildah cold ${bc_}s  cache-warmed ${bw}s  ratio $(ratio "$bc_" "$bw")x;  cbuild warm / buildah warm $(echo "scale=4; $warm / $bw" | bc)"
    rm -rf "$T/bh1" "$T/bh2"
  fi
  rm -rf "$r1" "$r2"
done
