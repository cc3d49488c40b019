#!/bin/bash
# cbuild pull/push/save/load/export against a real docker-registry over plain HTTP, judged by
# skopeo and umoci. Faults: missing tag, corrupted blob, registry killed mid-push.
. "$CBUILD_SRC/tests/e2e/lib.sh"
. "$CBUILD_SRC/tests/e2e/oci/registry-lib.sh"
PROXY_PID=
trap '[ -n "$PROXY_PID" ] && kill $PROXY_PID 2>/dev/null; cleanup_registries R; _tap_done' EXIT
export DOCKER_CONFIG=$T/docker

start_registry R plain || { not_ok "start docker-registry"; exit 1; }
REG=127.0.0.1:$R_PORT
SK="skopeo --insecure-policy"

# --- an image made by umoci, pushed by skopeo, pulled by cbuild ---
make_busybox_layout "$T/lay" bb
$SK copy -q --dest-tls-verify=false oci:"$T/lay":bb docker://$REG/test/bb:1
want_manifest=$($SK inspect --raw --tls-verify=false docker://$REG/test/bb:1 | sha256sum | cut -d' ' -f1)
want_config=$($SK inspect --raw --config --tls-verify=false docker://$REG/test/bb:1 | sha256sum | cut -d' ' -f1)

check "pull an image pushed by skopeo" "$CBUILD" pull $REG/test/bb:1
got=$("$CBUILD" inspect --format manifest $REG/test/bb:1 | head -c -1 | sha256sum | cut -d' ' -f1)
check_eq "pulled manifest is byte-identical" "$want_manifest" "$got"
got=$("$CBUILD" inspect --format config $REG/test/bb:1 | head -c -1 | sha256sum | cut -d' ' -f1)
check_eq "pulled config is byte-identical" "$want_config" "$got"
check_eq "image ID is the config digest" "sha256:$want_config" \
    "$("$CBUILD" inspect $REG/test/bb:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])')"
check "skopeo reads the store as an OCI layout" $SK inspect oci:"$CBUILD_ROOT":$REG/test/bb:1
lay_layers=$($SK inspect oci:"$T/lay":bb | python3 -c 'import json,sys; print(json.load(sys.stdin)["Layers"])')
st_layers=$($SK inspect oci:"$CBUILD_ROOT":$REG/test/bb:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["Layers"])')
check_eq "same layers as the umoci original" "$lay_layers" "$st_layers"
check "store blobs verify (sha256sum)" bash -c "cd '$CBUILD_ROOT/blobs/sha256' && for f in *; do echo \"\$f  \$f\"; done | sha256sum -c --quiet"
check_contains "images lists it" "$REG/test/bb" "$("$CBUILD" images)"
check_contains "images --format json" "\"Repository\":\"$REG/test/bb\"" "$("$CBUILD" images --format json)"

# --- cbuild push, judged by skopeo ---
check "tag" "$CBUILD" tag $REG/test/bb:1 localhost:$R_PORT/pushed/bb:v2
check "push to another repository (cross-repository mount)" "$CBUILD" push localhost:$R_PORT/pushed/bb:v2
got=$($SK inspect --raw --tls-verify=false docker://$REG/pushed/bb:v2 | sha256sum | cut -d' ' -f1)
check_eq "pushed manifest digest matches" "$want_manifest" "$got"
rm -rf "$T/copy"
check "skopeo copy of the pushed image" $SK copy -q --src-tls-verify=false docker://$REG/pushed/bb:v2 dir:"$T/copy"
check "skopeo copy verified every blob" test -f "$T/copy/manifest.json"

# --- multi-arch index: cbuild picks linux/amd64 ---
make_busybox_layout "$T/arm" arm
umoci config --image "$T/arm":arm --architecture arm64 --config.label arch=arm64
python3 - "$T/lay" bb "$T/arm" arm "$T/multi" <<'PY'
import hashlib, json, os, shutil, sys
lay, tag, arm, armtag, out = sys.argv[1:]
def entry(d, t):
    ix = json.load(open(f"{d}/index.json"))
    return next(m for m in ix["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == t)
os.makedirs(f"{out}/blobs/sha256", exist_ok=True)
for d in (lay, arm):
    for b in os.listdir(f"{d}/blobs/sha256"):
        shutil.copy(f"{d}/blobs/sha256/{b}", f"{out}/blobs/sha256/{b}")
ents = []
for d, t, a in ((arm, armtag, "arm64"), (lay, tag, "amd64")):
    e = dict(entry(d, t)); e.pop("annotations", None); e["platform"] = {"architecture": a, "os": "linux"}
    ents.append(e)
idx = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": ents}).encode()
h = hashlib.sha256(idx).hexdigest()
open(f"{out}/blobs/sha256/{h}", "wb").write(idx)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
           "digest": "sha256:" + h, "size": len(idx), "annotations": {"org.opencontainers.image.ref.name": "multi"}}]},
          open(f"{out}/index.json", "w"))
open(f"{out}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
PY
$SK copy -q --all --dest-tls-verify=false oci:"$T/multi":multi docker://$REG/test/multi:1
check "pull a multi-arch index" "$CBUILD" pull -q $REG/test/multi:1
check_eq "picked linux/amd64" "amd64" \
    "$("$CBUILD" inspect $REG/test/multi:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Architecture"])')"
check_eq "the amd64 manifest" "$want_manifest" \
    "$("$CBUILD" inspect --format manifest $REG/test/multi:1 | head -c -1 | sha256sum | cut -d' ' -f1)"
check_fails "--platform with no match fails" "$CBUILD" pull -q --platform linux/s390x $REG/test/multi:1
out=$("$CBUILD" pull -q --platform linux/s390x $REG/test/multi:1 2>&1)
check_contains "no-match error names the platform" "linux/s390x" "$out"

# --- Docker schema2 manifest and manifest list ---
$SK copy -q --all --format v2s2 --dest-tls-verify=false oci:"$T/multi":multi docker://$REG/test/v2s2:1
check_eq "registry holds a Docker manifest list" "application/vnd.docker.distribution.manifest.list.v2+json" \
    "$($SK inspect --raw --tls-verify=false docker://$REG/test/v2s2:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["mediaType"])')"
check "pull a Docker manifest list" "$CBUILD" pull -q $REG/test/v2s2:1
check_eq "schema2 manifest kept as is" "application/vnd.docker.distribution.manifest.v2+json" \
    "$("$CBUILD" inspect --format manifest $REG/test/v2s2:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["mediaType"])')"
check_eq "amd64 entry chosen from the list" "amd64" "$("$CBUILD" inspect -f '{{.Architecture}}' $REG/test/v2s2:1)"
check "push the schema2 image elsewhere" "$CBUILD" push -q $REG/test/v2s2:1 $REG/test/v2s2-copy:1
check_eq "pushed schema2 manifest is byte-identical" \
    "$("$CBUILD" inspect --format manifest $REG/test/v2s2:1 | head -c -1 | sha256sum | cut -d' ' -f1)" \
    "$($SK inspect --raw --tls-verify=false docker://$REG/test/v2s2-copy:1 | sha256sum | cut -d' ' -f1)"

# --- retries: a proxy answers every request twice with 503 (then 429), then forwards ---
start_proxy() { # start_proxy STATUS FAILS
    [ -n "$PROXY_PID" ] && kill $PROXY_PID 2>/dev/null && wait $PROXY_PID 2>/dev/null
    PPORT=$(free_port)
    rm -f "$T/proxy.count"
    python3 "$CBUILD_SRC/tests/e2e/oci/flaky-proxy.py" $PPORT $REG "$2" "$1" "$T/proxy.count" &
    PROXY_PID=$!
    for _ in $(seq 50); do (: >/dev/tcp/127.0.0.1/$PPORT) 2>/dev/null && break; sleep 0.1; done
}
start_proxy 503 2
rm -rf "$T/rootp"
check "pull through a registry answering 503 twice per request" env CBUILD_ROOT="$T/rootp" "$CBUILD" pull -q 127.0.0.1:$PPORT/test/bb:1
check "the proxy did fail requests" test "$(cat "$T/proxy.count")" -ge 4
check_eq "pulled the same manifest" "$want_manifest" \
    "$(CBUILD_ROOT="$T/rootp" "$CBUILD" inspect --format manifest 127.0.0.1:$PPORT/test/bb:1 | head -c -1 | sha256sum | cut -d' ' -f1)"
start_proxy 429 2
check "push through a registry answering 429 twice per request" "$CBUILD" push -q $REG/test/bb:1 127.0.0.1:$PPORT/retried/bb:1
check_eq "skopeo sees the pushed manifest" "$want_manifest" "$($SK inspect --raw --tls-verify=false docker://$REG/retried/bb:1 | sha256sum | cut -d' ' -f1)"
start_proxy 503 2
check "streamed zstd push falls back when the stream is refused" "$CBUILD" push -q --compression-format zstd $REG/test/bb:1 127.0.0.1:$PPORT/retried/zst:1
check "skopeo copies it" $SK copy -q --src-tls-verify=false docker://$REG/retried/zst:1 oci:"$T/zst2":z
start_proxy 500 1000
out=$(CBUILD_ROOT="$T/rootp" "$CBUILD" pull -q 127.0.0.1:$PPORT/test/bb:2 2>&1)
check_contains "persistent 500: the registry's error after the retries" "try again (UNAVAILABLE)" "$out"
check_eq "persistent 500: five attempts" "5" "$(cat "$T/proxy.count")"
layer_dg=$($SK inspect oci:"$T/lay":bb | python3 -c 'import json,sys; print(json.load(sys.stdin)["Layers"][0][7:])')
# the registry dies mid-pull: each blob GET is cut after half its bytes (twice), then served
store_clean() { "$CBUILD" --root "$1" store check >/dev/null 2>&1; }
start_proxy cut 2
rm -rf "$T/rootc"
check "pull while the registry drops every blob transfer halfway (twice each)" \
    env CBUILD_ROOT="$T/rootc" "$CBUILD" pull -q 127.0.0.1:$PPORT/test/bb:1
check "… the cuts happened" test "$(cat "$T/proxy.count" 2>/dev/null || echo 0)" -ge 2
check_eq "… the same manifest as the registry's" "$want_manifest" \
    "$(CBUILD_ROOT="$T/rootc" "$CBUILD" inspect --format manifest 127.0.0.1:$PPORT/test/bb:1 | head -c -1 | sha256sum | cut -d' ' -f1)"
check "… and store check finds every blob intact" store_clean "$T/rootc"
start_proxy cut 1000
rm -rf "$T/rootc2"
out=$(CBUILD_ROOT="$T/rootc2" "$CBUILD" pull -q 127.0.0.1:$PPORT/test/bb:1 2>&1); rc=$?
if [ $rc -ne 0 ] && failed_cleanly $rc "$out"; then ok "a registry that always dies mid-blob: the pull fails cleanly"
else not_ok "a registry that always dies mid-blob: the pull fails cleanly (exit $rc)"; diag "$out"; fi
check_contains "… naming the blob" "sha256:$layer_dg" "$out"
check "… with no blob under a final name that is wrong (store check)" store_clean "$T/rootc2"
check_fails "… and no tag" env CBUILD_ROOT="$T/rootc2" "$CBUILD" inspect 127.0.0.1:$PPORT/test/bb:1
# a truncated blob: 200 with half the bytes and a Content-Length that says so
start_proxy short 1000
rm -rf "$T/roots"
out=$(CBUILD_ROOT="$T/roots" "$CBUILD" pull -q 127.0.0.1:$PPORT/test/bb:1 2>&1); rc=$?
if [ $rc -ne 0 ] && failed_cleanly $rc "$out"; then ok "a registry serving truncated blobs: the pull fails cleanly"
else not_ok "a registry serving truncated blobs: the pull fails cleanly (exit $rc)"; diag "$out"; fi
check_contains "… it says the registry sent too few bytes" "the registry sent only" "$out"
check "… nothing corrupt is stored (store check)" store_clean "$T/roots"
check_eq "… no blob of the layer is stored" "" "$(ls "$T/roots/blobs/sha256/" 2>/dev/null | grep -x "$layer_dg")"
# the registry dies mid-push: every upload PATCH/PUT is read, then the connection closes
start_proxy drop 2
check "push while the registry drops each upload twice" "$CBUILD" push -q $REG/test/bb:1 127.0.0.1:$PPORT/dropped/bb:1
check "… the drops happened" test "$(cat "$T/proxy.count" 2>/dev/null || echo 0)" -ge 2
check_eq "… skopeo sees the pushed manifest" "$want_manifest" \
    "$($SK inspect --raw --tls-verify=false docker://$REG/dropped/bb:1 | sha256sum | cut -d' ' -f1)"
check "… skopeo copies the pushed image (every blob whole)" $SK copy -q --src-tls-verify=false \
    docker://$REG/dropped/bb:1 oci:"$T/dropped":d
start_proxy drop 1000
out=$("$CBUILD" push -q $REG/test/bb:1 127.0.0.1:$PPORT/dropped2/bb:1 2>&1); rc=$?
if [ $rc -ne 0 ] && failed_cleanly $rc "$out"; then ok "a registry that always dies mid-push: the push fails cleanly"
else not_ok "a registry that always dies mid-push: the push fails cleanly (exit $rc)"; diag "$out"; fi
check_contains "… naming where it was pushing" "127.0.0.1:$PPORT/dropped2/bb:1" "$out"
check_fails "… and the registry has no such tag" $SK inspect --raw --tls-verify=false docker://$REG/dropped2/bb:1
check "the local store is intact after the failed transfers" store_clean "$CBUILD_ROOT"
kill $PROXY_PID; wait $PROXY_PID 2>/dev/null; PROXY_PID=

# --- save / load / export ---
layer=$($SK inspect oci:"$T/lay":bb | python3 -c 'import json,sys; print(json.load(sys.stdin)["Layers"][0][7:])')
check "save an OCI archive" "$CBUILD" save -o "$T/bb.tar" $REG/test/bb:1
check "archive has docker's manifest.json" bash -c "tar tf '$T/bb.tar' | grep -qx manifest.json"
rm -rf "$T/fromarchive"
check "skopeo copy oci-archive: accepts it" $SK copy -q oci-archive:"$T/bb.tar" oci:"$T/fromarchive":x
check_eq "archive round trip keeps the manifest" "$want_manifest" \
    "$($SK inspect --raw oci:"$T/fromarchive":x | sha256sum | cut -d' ' -f1)"
check "load into an empty store" env CBUILD_ROOT="$T/root2" "$CBUILD" load -i "$T/bb.tar"
check_eq "loaded image has the same ID" "sha256:$want_config" \
    "$(CBUILD_ROOT="$T/root2" "$CBUILD" inspect $REG/test/bb:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])')"
# an archive whose layer blob was altered: load refuses it and tags nothing
rm -rf "$T/bad" && mkdir -p "$T/bad" && tar -C "$T/bad" -xf "$T/bb.tar"
printf 'tampered' | dd of="$T/bad/blobs/sha256/$layer" bs=1 seek=200 conv=notrunc status=none
tar -C "$T/bad" -cf "$T/bad.tar" .
out=$(CBUILD_ROOT="$T/root8" "$CBUILD" load -i "$T/bad.tar" 2>&1)
check_contains "tampered archive: digest mismatch named" "digest mismatch" "$out"
check_fails "tampered archive: nothing tagged" env CBUILD_ROOT="$T/root8" "$CBUILD" inspect $REG/test/bb:1
check_fails "tampered archive: the bad blob is not stored" test -e "$T/root8/blobs/sha256/$layer"
out=$("$CBUILD" save -o /nonexistent/dir/x.tar $REG/test/bb:1 2>&1)
check_contains "save to an unwritable place names the path" "/nonexistent/dir/x.tar" "$out"
out=$("$CBUILD" load -i "$T/nope.tar" 2>&1)
check_contains "load of a missing file names it" "$T/nope.tar" "$out"

# a docker-save style tar (legacy layout: manifest.json + uncompressed layer.tar) made by hand
mkdir -p "$T/dsave/abc"
cfg=$($SK inspect --raw --config oci:"$T/lay":bb)
cfgh=$(printf %s "$cfg" | sha256sum | cut -d' ' -f1)
printf %s "$cfg" >"$T/dsave/$cfgh.json"
layer=$($SK inspect oci:"$T/lay":bb | python3 -c 'import json,sys; print(json.load(sys.stdin)["Layers"][0][7:])')
zcat "$T/lay/blobs/sha256/$layer" >"$T/dsave/abc/layer.tar"
echo "[{\"Config\":\"$cfgh.json\",\"RepoTags\":[\"docker-saved:1\"],\"Layers\":[\"abc/layer.tar\"]}]" >"$T/dsave/manifest.json"
tar -C "$T/dsave" -cf "$T/dsave.tar" .
check "load a docker save tar" env CBUILD_ROOT="$T/root2" "$CBUILD" load -i "$T/dsave.tar"
check_eq "docker save tar keeps the image ID" "sha256:$cfgh" \
    "$(CBUILD_ROOT="$T/root2" "$CBUILD" inspect docker-saved:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])')"

check "export --format tar" "$CBUILD" export -o "$T/fs.tar" $REG/test/bb:1
mkdir -p "$T/fs"
tar -C "$T/fs" -xf "$T/fs.tar"
umoci unpack --image "$T/lay":bb "$T/ref" >/dev/null
check "exported tree matches umoci unpack" diff -r --no-dereference "$T/ref/rootfs" "$T/fs"

# --- faults ---
out=$("$CBUILD" pull $REG/test/bb:nope 2>&1)
check_contains "missing tag: clear not-found error" "manifest for $REG/test/bb:nope not found" "$out"
out=$("$CBUILD" pull $REG/nosuch/repo:1 2>&1)
check_contains "missing repository: names the reference" "$REG/nosuch/repo:1" "$out"

# corrupt a layer blob inside the registry's storage: the registry serves it unchanged
$SK copy -q --dest-tls-verify=false oci:"$T/lay":bb docker://$REG/test/corrupt:1
blob=$(find "$R_DIR/data" -path "*blobs/sha256/*/$layer/data")
cp "$blob" "$T/blob.orig"
printf 'garbage' | dd of="$blob" bs=1 seek=100 conv=notrunc status=none
rm -rf "$T/root3"
out=$(CBUILD_ROOT="$T/root3" "$CBUILD" pull $REG/test/corrupt:1 2>&1)
check_contains "corrupted blob: digest mismatch reported" "digest mismatch" "$out"
check_contains "corrupted blob: error names the digest" "$layer" "$out"
check_fails "corrupted blob: nothing stored" test -e "$T/root3/blobs/sha256/$layer"
check_fails "corrupted blob: no tag created" env CBUILD_ROOT="$T/root3" "$CBUILD" inspect $REG/test/corrupt:1
cp "$T/blob.orig" "$blob"

# kill the registry during a push of a big layer, restart it, push again
mkdir -p "$T/big/rootfs"
head -c 40M /dev/urandom >"$T/big/rootfs/random.bin"
( cd "$T/big/rootfs" && tar -cf "$T/big.tar" random.bin )
umoci new --image "$T/lay":big
umoci raw add-layer --image "$T/lay":big "$T/big.tar"
$SK copy -q oci:"$T/lay":big oci:"$CBUILD_ROOT":$REG/test/big:1
# wait until the registry is receiving the layer upload, then kill -9 it
"$CBUILD" push $REG/test/big:1 >"$T/push1.log" 2>&1 &
ppid=$!
wait_for_file() { # wait_for_file GLOB: until a matching non-empty file exists
    for _ in $(seq 400); do
        for f in $1; do [ -s "$f" ] && return 0; done
        sleep 0.01
    done
    return 1
}
wait_for_file "$R_DIR/data/docker/registry/v2/repositories/test/big/_uploads/*/data"
kill -9 "$R_PID"; wait "$R_PID" 2>/dev/null
restart_registry R
wait $ppid
diag "push during the kill: exit $?: $(tail -1 "$T/push1.log")"
check "store intact after the interrupted push" "$CBUILD" inspect $REG/test/big:1
check "store blobs still verify" bash -c "cd '$CBUILD_ROOT/blobs/sha256' && for f in *; do echo \"\$f  \$f\"; done | sha256sum -c --quiet"
check "re-run of the push completes" "$CBUILD" push $REG/test/big:1
check "skopeo reads the pushed image back" $SK copy -q --src-tls-verify=false docker://$REG/test/big:1 dir:"$T/bigcopy"

# kill -9 the registry mid-download, restart it: the re-run completes
rm -rf "$T/root4"
CBUILD_ROOT="$T/root4" "$CBUILD" pull -q $REG/test/big:1 >"$T/pull1.log" 2>&1 &
ppid=$!
wait_for_file "$T/root4/ingest/*.partial"
kill -9 "$R_PID"; wait "$R_PID" 2>/dev/null
wait $ppid
diag "pull during the kill: exit $?: $(tail -1 "$T/pull1.log")"
restart_registry R
check "pull after an interrupted pull completes" env CBUILD_ROOT="$T/root4" "$CBUILD" pull -q $REG/test/big:1
check "no partial downloads left behind" bash -c "! ls '$T/root4/ingest/' | grep -q partial"

# an interrupted download (the first 5 MB of the layer in ingest/) is resumed with Range
big=$("$CBUILD" inspect --format manifest $REG/test/big:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"][7:])')
rm -rf "$T/root5"
mkdir -p "$T/root5/ingest"
head -c 5000000 "$CBUILD_ROOT/blobs/sha256/$big" >"$T/root5/ingest/$big.partial"
out=$(CBUILD_ROOT="$T/root5" "$CBUILD" pull $REG/test/big:1 2>&1)
check_contains "partial download resumed with Range" "resuming download at byte 5000000" "$out"
check "resumed blob verifies" bash -c "echo '$big  $T/root5/blobs/sha256/$big' | sha256sum -c --quiet"
# a partial file with wrong bytes: the digest check catches it, the download starts over
rm -rf "$T/root6"
mkdir -p "$T/root6/ingest"
head -c 5000000 /dev/zero >"$T/root6/ingest/$big.partial"
out=$(CBUILD_ROOT="$T/root6" "$CBUILD" pull $REG/test/big:1 2>&1)
check_contains "a corrupt partial download is caught by the digest check" "digest mismatch" "$out"
check_contains "and downloaded again from the start" "starting over" "$out"
check "the stored blob verifies" bash -c "echo '$big  $T/root6/blobs/sha256/$big' | sha256sum -c --quiet"

# two processes pulling the same image into one store at once
rm -rf "$T/root7"
CBUILD_ROOT="$T/root7" "$CBUILD" pull -q $REG/test/big:1 >"$T/c1.log" 2>&1 &
p1=$!
CBUILD_ROOT="$T/root7" "$CBUILD" pull -q $REG/test/big:1 >"$T/c2.log" 2>&1 &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
check_eq "concurrent pulls both succeed" "0 0" "$r1 $r2"
check "store after concurrent pulls verifies" bash -c "cd '$T/root7/blobs/sha256' && for f in *; do echo \"\$f  \$f\"; done | sha256sum -c --quiet"
check "skopeo reads it" $SK inspect oci:"$T/root7":$REG/test/big:1

# rmi and prune
check "rmi by tag" "$CBUILD" rmi localhost:$R_PORT/pushed/bb:v2
check_fails "untagged image is gone" "$CBUILD" inspect localhost:$R_PORT/pushed/bb:v2
check "rmi of the big image" "$CBUILD" rmi $REG/test/big:1
check_fails "its 40 MB layer blob was deleted" bash -c "find '$CBUILD_ROOT/blobs' -size +30M | grep -q ."
check "prune" "$CBUILD" prune -f
check "images still readable after prune" "$CBUILD" inspect $REG/test/bb:1
check "skopeo still reads the store after prune" $SK inspect oci:"$CBUILD_ROOT":$REG/test/bb:1

# push with recompression to zstd: skopeo reads it, the image ID is unchanged
check "push --compression-format zstd" "$CBUILD" push -q --compression-format zstd --compression-level 9 $REG/test/bb:1 $REG/test/bb-zstd:1
mt=$($SK inspect --raw --tls-verify=false docker://$REG/test/bb-zstd:1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["mediaType"])')
check_eq "layers are zstd" "application/vnd.oci.image.layer.v1.tar+zstd" "$mt"
check_eq "config (image ID) unchanged" "$want_config" \
    "$($SK inspect --raw --config --tls-verify=false docker://$REG/test/bb-zstd:1 | sha256sum | cut -d' ' -f1)"
rm -rf "$T/zst"
check "skopeo copies the zstd image" $SK copy -q --src-tls-verify=false docker://$REG/test/bb-zstd:1 oci:"$T/zst":z
zl=$($SK inspect oci:"$T/zst":z | python3 -c 'import json,sys; print(json.load(sys.stdin)["Layers"][0][7:])')
diffid=$($SK inspect --config oci:"$T/zst":z | python3 -c 'import json,sys; print(json.load(sys.stdin)["rootfs"]["diff_ids"][0][7:])')
check_eq "zstd -dc of the layer gives the config's diffID" "$diffid" "$(zstd -q -dc "$T/zst/blobs/sha256/$zl" | sha256sum | cut -d' ' -f1)"
out=$("$CBUILD" push --compression-format lz4 $REG/test/bb:1 2>&1)
check_contains "unknown compression named" "unknown compression \`lz4\`" "$out"
check_eq "inspect --format template" "sha256:$want_config linux/amd64" "$("$CBUILD" inspect -f '{{.Id}} {{.Os}}/{{.Architecture}}' $REG/test/bb:1)"
check_contains "inspect template: json of a field" '"PATH=/bin"' "$("$CBUILD" inspect -f '{{json .Config.Env}}' $REG/test/bb:1)"
