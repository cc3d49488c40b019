#!/bin/bash
# cbuild vs buildah bud (chroot isolation; vfs and overlay storage), same Dockerfiles, same run:
#   (a) cold build of a multi-stage Dockerfile (two RUN steps, COPY --from)
#   (b) fully cached rebuild of a 20-step Dockerfile (target: < 0.1 s, no slower than buildah)
#   (c) rebuild after changing one source file
# and where cbuild's cold build time goes (VM boot / run / snapshot from --progress=plain).
# Usage: tests/bench/builder-bench.sh [CBUILD]   (starts its own registry via samples/base-images.sh)
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
if ! "${BH_OVL[@]}" info >/dev/null 2>&1; then BH_OVL=(); fi

now() { date +%s.%N; }
timeit() { local t0 t1; t0=$(now); "$@" >/dev/null 2>"$T/err" || { echo "FAILED: $*" >&2; tail -5 "$T/err" >&2; }; t1=$(now); echo "$t1 - $t0" | bc; }
ratio() { echo "scale=4; $1 / $2" | bc; }
bh_build() { local -n bh=$1; shift; "${bh[@]}" bud --isolation chroot --tls-verify=false --layers -q "$@"; }

# (a) cold multi-stage build
A=$T/a; mkdir -p "$A"
cat >"$A/Dockerfile" <<EOF
FROM $BASE AS build
COPY src/ /src/
RUN cd /src && cat *.txt > /out.txt && sha256sum /out.txt > /out.sum
FROM $BASE
COPY --from=build /out.txt /out.sum /app/
RUN grep -c . /app/out.txt > /app/lines
CMD ["cat", "/app/lines"]
EOF
mkdir -p "$A/src"; for i in $(seq 20); do seq $((i * 100)) >"$A/src/f$i.txt"; done
first=$(timeit "$CBUILD" build --progress=plain -t bench-a "$A")
echo "(a0) first build on a fresh store (guest kernel install + KVM probe included): cbuild ${first}s"
for bh in BH_VFS BH_OVL; do declare -n arr=$bh; [ ${#arr[@]} -gt 0 ] && "${arr[@]}" pull -q --tls-verify=false "$BASE" >/dev/null 2>&1; done
ca=$(timeit "$CBUILD" build --progress=plain --no-cache -t bench-a "$A")
"$CBUILD" build --progress=plain --no-cache -t bench-a "$A" 2>"$T/a-plain.log" >/dev/null
ba=$(timeit bh_build BH_VFS --no-cache -t bench-a "$A")
if [ ${#BH_OVL[@]} -gt 0 ]; then bo=$(timeit bh_build BH_OVL --no-cache -t bench-a "$A"); else bo=n/a; fi
echo "(a) cold build (no build cache; base image and kernel present): cbuild ${ca}s  buildah-vfs ${ba}s  buildah-overlay ${bo}s"
echo "    ratio cbuild/buildah-vfs $(ratio "$ca" "$ba")  cbuild/buildah-overlay $( [ "$bo" = n/a ] && echo n/a || ratio "$ca" "$bo")"
echo "    where cbuild's time goes (per RUN step, from --progress=plain):"
grep 'vm: boot' "$T/a-plain.log" | sed 's/^#[0-9]* /      /'
python3 - "$T/a-plain.log" <<'PY'
import re, sys
boot = run = snap = prep = 0.0
skip = set()
steps = 0.0
for line in open(sys.argv[1]):
    m = re.search(r"vm: boot (\d+)ms, run (\d+)ms, snapshot (\d+)ms, prepare (\d+)ms", line)
    if m:
        boot += int(m.group(1)); run += int(m.group(2)); snap += int(m.group(3)); prep += int(m.group(4))
    m = re.match(r"(#\d+) \[internal\] load build context", line)
    if m:
        skip.add(m.group(1))  # spans the whole build: the context is read during the steps
    m = re.match(r"(#\d+) DONE ([0-9.]+)s", line)
    if m and m.group(1) not in skip:
        steps += float(m.group(2)) * 1000
other = steps - boot - run - snap - prep
print(f"    totals: VM boot {boot:.0f}ms, commands {run:.0f}ms, snapshot (upper -> tar -> gzip blob + layer image) {snap:.0f}ms,")
print(f"            prepare (layer images, mounts, upper disk) {prep:.0f}ms, everything else (COPY, export) {other:.0f}ms")
PY

# (b) fully cached rebuild of a 20-step Dockerfile
B=$T/b; mkdir -p "$B"
{
  echo "FROM $BASE"
  for i in $(seq 6); do echo "COPY f$i.txt /data/"; echo "ENV STEP$i=$i"; done
  echo "RUN cat /data/*.txt | wc -l > /count"
  echo "WORKDIR /app"
  echo "LABEL bench=yes"
  echo "RUN echo \$STEP1 > /app/step"
  echo "USER app"
  echo "EXPOSE 8080"
  echo "CMD [\"cat\", \"/count\"]"
} >"$B/Dockerfile"
for i in $(seq 6); do seq $i >"$B/f$i.txt"; done
"$CBUILD" build -q -t bench-b "$B" >/dev/null 2>&1
bh_build BH_VFS -t bench-b "$B" >/dev/null 2>&1
[ ${#BH_OVL[@]} -gt 0 ] && bh_build BH_OVL -t bench-b "$B" >/dev/null 2>&1
runs=5
cb_total=0; bh_total=0; bo_total=0
for _ in $(seq $runs); do
  cb_total=$(echo "$cb_total + $(timeit "$CBUILD" build -q -t bench-b "$B")" | bc)
  bh_total=$(echo "$bh_total + $(timeit bh_build BH_VFS -t bench-b "$B")" | bc)
  [ ${#BH_OVL[@]} -gt 0 ] && bo_total=$(echo "$bo_total + $(timeit bh_build BH_OVL -t bench-b "$B")" | bc)
done
cb=$(echo "scale=4; $cb_total / $runs" | bc); bh=$(echo "scale=4; $bh_total / $runs" | bc); bo=$(echo "scale=4; $bo_total / $runs" | bc)
echo "(b) fully cached rebuild, 20 steps (mean of $runs): cbuild ${cb}s  buildah-vfs ${bh}s  buildah-overlay ${bo}s"
echo "    ratio cbuild/buildah-vfs $(ratio "$cb" "$bh")  cbuild/buildah-overlay $(ratio "$cb" "$bo")"

# (c) rebuild after changing one source file (the second COPY: the RUNs after it rerun)
echo changed >>"$B/f2.txt"
cc=$(timeit "$CBUILD" build -q -t bench-b "$B")
bc_=$(timeit bh_build BH_VFS -t bench-b "$B")
if [ ${#BH_OVL[@]} -gt 0 ]; then bco=$(timeit bh_build BH_OVL -t bench-b "$B"); else bco=n/a; fi
echo "(c) rebuild after one source change (the steps after it rerun, 2 of them RUN): cbuild ${cc}s  buildah-vfs ${bc_}s  buildah-overlay ${bco}s"
echo "    ratio cbuild/buildah-vfs $(ratio "$cc" "$bc_")  cbuild/buildah-overlay $( [ "$bco" = n/a ] && echo n/a || ratio "$cc" "$bco")"
