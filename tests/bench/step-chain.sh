#!/bin/bash
# A chain of 10 dependent `RUN echo …` steps on busybox, --no-cache, base image local:
# cbuild (a fresh VM per RUN) vs `buildah bud --isolation chroot` (vfs and overlay), best of 3
# each, in the same run; then cbuild's per-RUN breakdown (boot/run/snapshot/prepare from
# --progress=plain). The kernel and template snapshot are made before timing (first use).
# Usage: tests/bench/step-chain.sh [CBUILD]
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CBUILD=${1:-${CBUILD:-$SRC/build/builder/cli/cbuild}}
T=$(mktemp -d /tmp/cbuild-bench.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export CBUILD_REGISTRY=127.0.0.1:$port CBUILD_REGISTRY_DIR=$T/registry
BASE=$CBUILD_REGISTRY/busybox:latest
trap 'bash "$SRC/samples/base-images.sh" stop >/dev/null 2>&1; rm -rf "$T"' EXIT
bash "$SRC/samples/base-images.sh" busybox-only >/dev/null || { echo "no base image registry"; exit 1; }
export CBUILD_ROOT=$T/cbuild-root
BH_VFS=(buildah --root "$T/bh-vfs" --runroot "$T/bh-vfs-run" --storage-driver vfs)
BH_OVL=(buildah --root "$T/bh-ovl" --runroot "$T/bh-ovl-run" --storage-driver overlay)
"${BH_OVL[@]}" info >/dev/null 2>&1 || BH_OVL=()
now() { date +%s.%N; }
timeit() { local t0 t1; t0=$(now); "$@" >/dev/null 2>"$T/err" || { echo "FAILED: $*" >&2; tail -5 "$T/err" >&2; }; t1=$(now); echo "$t1 - $t0" | bc; }
best() { local b=""; for _ in 1 2 3; do t=$(timeit "$@"); if [ -z "$b" ] || [ "$(echo "$t < $b" | bc)" = 1 ]; then b=$t; fi; done; echo "$b"; }
bh() { local -n a=$1; shift; "${a[@]}" bud --isolation chroot --tls-verify=false --layers -q "$@"; }

D=$T/chain; mkdir -p "$D"
{ echo "FROM $BASE"; for i in $(seq 10); do echo "RUN echo step $i >> /chain.txt"; done; } >"$D/Dockerfile"
"$CBUILD" build --progress=plain -t chain "$D" >/dev/null 2>&1 # kernel, template, base image
for a in BH_VFS BH_OVL; do declare -n arr=$a; [ ${#arr[@]} -gt 0 ] && "${arr[@]}" pull -q --tls-verify=false "$BASE" >/dev/null 2>&1; done
uptime
c=$(best "$CBUILD" build --progress=plain --no-cache -t chain "$D")
v=$(best bh BH_VFS --no-cache -t chain "$D")
o=n/a; [ ${#BH_OVL[@]} -gt 0 ] && o=$(best bh BH_OVL --no-cache -t chain "$D")
echo "10-RUN chain, best of 3: cbuild ${c}s  buildah-chroot-vfs ${v}s  buildah-chroot-overlay ${o}s"
echo "ratio cbuild/buildah-vfs $(echo "scale=3; $c / $v" | bc)  cbuild/buildah-overlay $([ "$o" = n/a ] && echo n/a || echo "scale=3; $c / $o" | bc)"
"$CBUILD" build --progress=plain --no-cache -t chain "$D" 2>"$T/plain.log" >/dev/null
"$CBUILD" info 2>/dev/null | grep -E "Own kernel|Accel"
python3 - "$T/plain.log" <<'PY'
import re, sys
rows = [tuple(map(int, m.groups())) for m in (re.search(r"vm: boot (\d+)ms, run (\d+)ms, snapshot (\d+)ms, prepare (\d+)ms", l) for l in open(sys.argv[1])) if m]
if rows:
    n = len(rows)
    print("per RUN (mean of %d): boot %d ms, run %d ms, snapshot %d ms, prepare %d ms" % ((n,) + tuple(sum(r[i] for r in rows) // n for i in range(4))))
PY
