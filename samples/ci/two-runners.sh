#!/bin/bash
# Two CI runners with two empty stores against one local docker-registry:
#   runner 1 builds SAMPLE cold, pushes the image and exports the cache (mode=max);
#   runner 2 builds the same commit with --cache-from on an empty store.
# Prints both times, the digests (equal), the VMs runner 2 booted (0) and what it downloaded.
# Usage: samples/ci/two-runners.sh [SAMPLE_DIR]   (default samples/busybox)
# Environment: CBUILD (default build/builder/cli/cbuild), CBUILD_REGISTRY (127.0.0.1:5000).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CBUILD=${CBUILD:-$SRC/build/builder/cli/cbuild}
SAMPLE=${1:-$SRC/samples/busybox}
export CBUILD_REGISTRY=${CBUILD_REGISTRY:-127.0.0.1:5000}
REG=$CBUILD_REGISTRY
NAME=$(basename "$SAMPLE")
W=$(mktemp -d /var/tmp/cbuild-two-runners.XXXXXX)
trap 'rm -rf "$W"' EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$SRC" log -1 --format=%ct 2>/dev/null || echo 1700000000)}

bash "$SRC/samples/base-images.sh" "$([ "$NAME" = busybox ] && echo busybox-only || echo start)"

runner() { # N FLAGS...: one CI job on a fresh, empty store
  local n=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  CBUILD_ROOT=$W/runner$n "$CBUILD" build --progress=plain --metadata-file "$W/meta$n.json" \
    -t "$REG/ci/$NAME:$n" "$@" "$SAMPLE" >"$W/runner$n.log" 2>&1 || { tail -30 "$W/runner$n.log"; exit 1; }
  t1=$(date +%s.%N)
  echo "runner $n: $(echo "$t1 - $t0" | bc) s, image $(jq -r '."containerimage.digest"' "$W/meta$n.json")"
}
echo "== runner 1: empty store, cold build, --push, --cache-to"
runner 1 --push --cache-to "type=registry,ref=$REG/ci/$NAME:buildcache,mode=max"
echo "== runner 2: another empty store, --cache-from"
runner 2 --cache-from "type=registry,ref=$REG/ci/$NAME:buildcache"
grep -E '^(cache import|WARNING)' "$W/runner2.log" || true
echo "VMs booted by runner 2: $(grep -c 'vm: boot' "$W/runner2.log" || true)"
d1=$(jq -r '."containerimage.digest"' "$W/meta1.json") d2=$(jq -r '."containerimage.digest"' "$W/meta2.json")
if [ "$d1" = "$d2" ]; then echo "same image digest on both runners: $d1"; else echo "DIGESTS DIFFER: $d1 vs $d2"; exit 1; fi
