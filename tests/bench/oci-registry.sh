#!/bin/bash
# Benchmark: pull and push of a Debian-sized image (debootstrap --variant=minbase bookworm,
# ~128 MB uncompressed, one gzip layer made by umoci) between a local docker-registry and
#   cbuild pull/push   vs   skopeo copy docker:// <-> oci: (the reference, same run).
# A third case pushes with the layer recompressed to zstd (skopeo --dest-compress-format).
# Prints hyperfine means and the ratio cbuild/skopeo (target <= 1.0).
#   tests/bench/oci-registry.sh [RUNS]        (CBUILD=path/to/cbuild to override)
set -eu
cd "$(dirname "$0")/../.."
CBUILD=${CBUILD:-$PWD/build/builder/cli/cbuild}
RUNS=${1:-5}
CACHE=${CBUILD_TEST_CACHE:-/var/tmp/cbuild-test-cache}
DEB_TAR=$CACHE/debian-bookworm-minbase.tar
LAYOUT=$CACHE/oci-bench-debian
mkdir -p "$CACHE"
if [ ! -s "$DEB_TAR" ]; then
    echo "# building $DEB_TAR with debootstrap (once)"
    rm -rf "$CACHE/deb-rootfs"
    debootstrap --variant=minbase bookworm "$CACHE/deb-rootfs" http://deb.debian.org/debian >"$CACHE/debootstrap.log"
    tar -C "$CACHE/deb-rootfs" -cf "$DEB_TAR.tmp" . && mv "$DEB_TAR.tmp" "$DEB_TAR"
    rm -rf "$CACHE/deb-rootfs"
fi
if [ ! -f "$LAYOUT/index.json" ] || ! grep -q '"deb"' "$LAYOUT/index.json"; then
    echo "# building the OCI layout $LAYOUT with umoci (once)"
    rm -rf "$LAYOUT"
    umoci init --layout "$LAYOUT"
    umoci new --image "$LAYOUT:deb"
    umoci raw add-layer --image "$LAYOUT:deb" "$DEB_TAR"
    umoci config --image "$LAYOUT:deb" --config.cmd /bin/bash
fi

W=$(mktemp -d /tmp/cbuild-bench-oci.XXXXXX)
REGPID=
trap '[ -n "$REGPID" ] && kill $REGPID 2>/dev/null; rm -rf "$W"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
REG=127.0.0.1:$PORT
cat >"$W/reg.yml" <<EOC
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $W/regdata}, delete: {enabled: true}}
http: {addr: "$REG"}
EOC
# restart-registry: a fresh, empty registry (used before every push run)
cat >"$W/restart.sh" <<EOC
#!/bin/bash
[ -f $W/reg.pid ] && kill \$(cat $W/reg.pid) 2>/dev/null && while kill -0 \$(cat $W/reg.pid) 2>/dev/null; do sleep 0.05; done
rm -rf $W/regdata
docker-registry serve $W/reg.yml >>$W/reg.log 2>&1 &
echo \$! >$W/reg.pid
for i in \$(seq 100); do curl -s -o /dev/null http://$REG/v2/ && exit 0; sleep 0.05; done
exit 1
EOC
chmod +x "$W/restart.sh"
"$W/restart.sh"
REGPID=$(cat "$W/reg.pid")
SK="skopeo --insecure-policy"
size=$(du -sh "$LAYOUT/blobs" | cut -f1)
echo "# image: $LAYOUT ($size of blobs), registry $REG, cores: $(nproc), runs: $RUNS, load: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- pull ---
$SK copy -q --dest-tls-verify=false oci:"$LAYOUT":deb docker://$REG/bench/deb:1
hyperfine -N --style basic -w 1 -r "$RUNS" --export-json "$W/pull.json" \
    --prepare "rm -rf $W/sk $W/root" \
    -n skopeo "$SK copy -q --src-tls-verify=false docker://$REG/bench/deb:1 oci:$W/sk:deb" \
    -n cbuild "env CBUILD_ROOT=$W/root $CBUILD pull -q $REG/bench/deb:1" >"$W/pull.txt"

# --- push (into an empty registry each time) ---
rm -rf "$W/root"
CBUILD_ROOT=$W/root $CBUILD pull -q $REG/bench/deb:1 >/dev/null
hyperfine -N --style basic -w 1 -r "$RUNS" --export-json "$W/push.json" \
    --prepare "$W/restart.sh" \
    -n skopeo "$SK copy -q --dest-tls-verify=false oci:$LAYOUT:deb docker://$REG/bench/deb:1" \
    -n cbuild "env CBUILD_ROOT=$W/root $CBUILD push -q $REG/bench/deb:1" >"$W/push.txt"
# --- push with recompression of the layer to zstd (level 3, every core) ---
hyperfine -N --style basic -w 1 -r "$RUNS" --export-json "$W/zstd.json" \
    --prepare "$W/restart.sh" \
    -n skopeo "$SK copy -q --dest-tls-verify=false --dest-compress-format zstd --dest-compress-level 3 oci:$LAYOUT:deb docker://$REG/bench/deb:1" \
    -n cbuild "env CBUILD_ROOT=$W/root $CBUILD push -q --compression-format zstd --compression-level 3 $REG/bench/deb:1" >"$W/zstd.txt"
REGPID=$(cat "$W/reg.pid")

python3 - "$W/pull.json" "$W/push.json" "$W/zstd.json" <<'PY'
import json, sys
for name, path in (("pull", sys.argv[1]), ("push", sys.argv[2]), ("push --compression zstd", sys.argv[3])):
    r = {x["command"]: x for x in json.load(open(path))["results"]}
    s, c = r["skopeo"], r["cbuild"]
    scpu, ccpu = s["user"] + s["system"], c["user"] + c["system"]
    print(f"{name}: skopeo {s['mean']:.3f}s ±{s['stddev']:.3f} (cpu {scpu:.2f}s)  "
          f"cbuild {c['mean']:.3f}s ±{c['stddev']:.3f} (cpu {ccpu:.2f}s)  "
          f"ratio cbuild/skopeo = {c['mean']/s['mean']:.2f} (cpu {ccpu/scpu:.2f})")
PY
