#!/bin/bash
# Cache export/import (--cache-to/--cache-from) and reproducible builds, judged with skopeo,
# curl against a real docker-registry, python's tarfile and cmp:
#  - two cold builds on two empty stores with SOURCE_DATE_EPOCH: same image digest, byte-
#    identical --output type=ext4, layer times clamped (rewrite-timestamp)
#  - registry cache (mode=max): an empty store builds the same digest, boots no VM and
#    downloads no blob of a cached step that nothing needs; local and inline caches too
#  - mode=min leaves intermediate stages out; several --cache-from merge
#  - corrupt, incompatible and incomplete caches are ignored with a warning; a blob that
#    fails its digest is rejected; two concurrent exports leave a valid manifest
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
. "$CBUILD_SRC/tests/e2e/oci/registry-lib.sh"
start_base_registry
need python3 curl
start_registry CR plain || { not_ok "start the cache registry"; exit 0; }
trap 'stop_registry CR; _builder_done' EXIT
CR=127.0.0.1:$CR_PORT
export SOURCE_DATE_EPOCH=1700000000

C=$(ctx app <<EOF
FROM $BASE AS build
COPY junk /junk
COPY src /src
RUN cat /src/a /src/b > /out.txt && wc -c /junk > /junk.len
FROM $BASE
COPY --from=build /out.txt /app/out.txt
COPY motd /etc/motd
CMD ["cat", "/app/out.txt"]
EOF
)
mkdir -p "$C/src"; echo a >"$C/src/a"; echo b >"$C/src/b"; echo motd >"$C/motd"
head -c 3000000 /dev/urandom | base64 >"$C/junk"

cb() { local root=$1; shift; CBUILD_ROOT=$T/$root "$CBUILD" build --progress=plain "$@" >"$T/last.out" 2>"$T/last.log"; }
digest_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["containerimage.digest"])' "$T/$1.json" 2>&1; }
blob_in() { [ -e "$T/$1/blobs/sha256/${2#sha256:}" ]; }
reg_has() { curl -fsI "http://$CR/v2/$1/blobs/$2" >/dev/null; }

# --- cold build A (store a): exports registry max, registry min and a local directory ---
if cb a -t app --metadata-file "$T/a.json" -o type=ext4,dest="$T/a.img" \
    --cache-to type=registry,ref=$CR/cache/app:max,mode=max --cache-to type=registry,ref=$CR/cache/app:min \
    --cache-to type=local,dest="$T/lc",mode=max "$C"; then ok "cold build exports three caches"
else not_ok "cold build exports three caches"; diag "$(tail -20 "$T/last.log")"; fi
DA=$(digest_of a)

# the cache manifest as skopeo reads it: an OCI artifact whose blobs are all in the registry
M=$(skopeo inspect --raw --tls-verify=false docker://$CR/cache/app:max)
check_eq "cache manifest artifactType" application/vnd.cbuild.cache.v1 \
  "$(jq -r .artifactType <<<"$M")"
check_eq "cache config media type" application/vnd.cbuild.cache.config.v1+json "$(jq -r .config.mediaType <<<"$M")"
miss=0; for d in $(jq -r '.layers[].digest' <<<"$M"); do reg_has cache/app "$d" || miss=1; done
check_eq "every blob of the cache manifest is in the registry" 0 $miss
CFG=$(curl -fs "http://$CR/v2/cache/app/blobs/$(jq -r .config.digest <<<"$M")")
NMAX=$(jq '.records|length' <<<"$CFG")
NMIN=$(curl -fs "http://$CR/v2/cache/app/blobs/$(skopeo inspect --raw --tls-verify=false docker://$CR/cache/app:min | jq -r .config.digest)" | jq '.records|length')
# the COPY --from record is also exported under its content key (docs/builder.md)
check_eq "mode=max has every layer step (3 build + 2 final + COPY --from content key)" 6 "$NMAX"
check_eq "mode=min has the final image's layer steps only" 3 "$NMIN"
# the layer blobs of the build stage (junk, src, RUN): which ones the final image lacks
FINAL_LAYERS=$(skopeo inspect --raw "oci:$T/a:$(normref app)" | jq -r '.layers[].digest')
UNUSED=$(jq -r '.records[].record.layer.digest' <<<"$CFG" | grep -vxF "$FINAL_LAYERS")
check_eq "three build-stage layers are not in the final image" 3 "$(wc -w <<<"$UNUSED")"

# --- reproducibility: cold build C on another empty store ---
if cb c -t app --metadata-file "$T/c.json" -o type=ext4,dest="$T/c.img" "$C"; then ok "second cold build"
else not_ok "second cold build"; diag "$(tail -20 "$T/last.log")"; fi
check_eq "SOURCE_DATE_EPOCH: same image digest on two empty stores" "$DA" "$(digest_of c)"
check "SOURCE_DATE_EPOCH: byte-identical ext4 outputs" cmp "$T/a.img" "$T/c.img"
check "the ext4 output is clean (e2fsck -fn)" e2fsck -fn "$T/a.img"
late=$(python3 - "$T/a" "$(normref app)" "$SOURCE_DATE_EPOCH" <<'PY'
import json, sys, tarfile, os
root, ref, epoch = sys.argv[1], sys.argv[2], int(sys.argv[3])
ix = json.load(open(os.path.join(root, "index.json")))
m = [d for d in ix["manifests"] if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref][0]
blob = lambda d: os.path.join(root, "blobs", "sha256", d.split(":")[1])
man = json.load(open(blob(m["digest"])))
bad = 0
for l in man["layers"][1:]:  # the base image's layer is not ours
    with tarfile.open(blob(l["digest"])) as t:
        bad += sum(1 for e in t if e.mtime > epoch)
print(bad)
PY
)
check_eq "every entry of our layers has mtime <= SOURCE_DATE_EPOCH" 0 "$late"

# --- registry cache on an empty store ---
cb b -t app --metadata-file "$T/b.json" --cache-from type=registry,ref=$CR/cache/app:max "$C" ||
  { not_ok "cache-warmed build"; diag "$(tail -20 "$T/last.log")"; }
check_eq "cache-warmed build on an empty store: the warm machine's digest" "$DA" "$(digest_of b)"
check_eq "every step CACHED, no VM booted" "0" "$(grep -c 'vm: boot' "$T/last.log")"
n=0; for d in $UNUSED; do blob_in b "$d" && n=$((n + 1)); done
check_eq "no blob of the unneeded build-stage steps was downloaded" 0 $n
fetched=$(sed -n 's/.*blobs fetched (\([0-9]*\) bytes).*/\1/p' "$T/last.log")
size=$(skopeo inspect --raw "oci:$T/b:$(normref app)" | jq '[.layers[].size]|add')
check "bytes downloaded ($fetched) <= the image's compressed layers ($size)" test "${fetched:-999999999}" -le "$size"
check "the image unpacks (umoci) and has the built file" bash -c "umoci unpack --image '$T/b:$(normref app)' '$T/ub' >/dev/null 2>&1 && grep -qx b '$T/ub/rootfs/app/out.txt'"

# --- local directory cache; a changed source re-runs from that step only ---
check "cache directory is an OCI layout skopeo reads" skopeo inspect --raw "oci:$T/lc:latest"
echo "c" >"$C/src/b"
cb l -t app --cache-from type=local,src="$T/lc" "$C"
check_eq "local cache: the unchanged COPY steps hit" "CACHED" "$(step_state 'COPY junk')"
check_eq "local cache: the changed COPY runs" "DONE" "$(step_state 'COPY src')"
echo "b" >"$C/src/b"

# --- mode=min + several --cache-from merge ---
cb m -t app --metadata-file "$T/m.json" --cache-from $CR/cache/app:min --cache-from type=local,src="$T/nonexistent" \
  --cache-from type=registry,ref=$CR/cache/app:max "$C"
check_contains "an unreadable cache source is a warning" "WARNING: cache from type=local,src=$T/nonexistent is ignored" "$(cat "$T/last.log")"
check_eq "several --cache-from merge: same digest" "$DA" "$(digest_of m)"
check_eq "several --cache-from merge: no VM booted" 0 "$(grep -c 'vm: boot' "$T/last.log")"

# --- inline cache: pushed image, then a plain image reference as --cache-from ---
if cb i -t $CR/app:inline --cache-to type=inline --push --cache-from $CR/cache/app:max "$C"; then ok "build with inline cache and --push"
else not_ok "build with inline cache and --push"; diag "$(tail -20 "$T/last.log")"; fi
check_eq "inline records in the image config" 3 \
  "$(skopeo inspect --config --raw --tls-verify=false docker://$CR/app:inline | jq '."io.cbuild.cache.v1".records|length')"
# inline caches are mode=min: the build stage runs again (BuildKit would skip it), the final
# stage's steps hit
cb j -t app2 --metadata-file "$T/j.json" --cache-from $CR/app:inline "$C"
check_eq "inline cache: the final stage's COPY --from hits" "CACHED" "$(step_state 'COPY --from=build')"
check_eq "inline cache: the warm machine's digest" "$DA" "$(digest_of j)"

# --- robustness: every bad cache is ignored with a warning, the build still succeeds ---
D=$(ctx small <<EOF
FROM $BASE
COPY motd /etc/motd
COPY junk /junk
EOF
)
cp "$C/motd" "$C/junk" "$D/"
cb s0 -t small --cache-to type=local,dest="$T/sc" "$D"
bad() { # NAME: a copy of the good small cache to damage
  rm -rf "$T/$1"; cp -a "$T/sc" "$T/$1"; echo "$T/$1"
}
mdig() { jq -r '.manifests[0].digest' "$1/index.json"; }
blobf() { echo "$1/blobs/sha256/${2#sha256:}"; }
B1=$(bad corrupt); echo '{"version":' >"$(blobf "$B1" "$(jq -r .config.digest "$(blobf "$B1" "$(mdig "$B1")")")")"
B2=$(bad vers); python3 - "$B2" <<'PY'
import json, hashlib, sys, os
d = sys.argv[1]
p = lambda x: os.path.join(d, "blobs", "sha256", x.split(":")[1])
ix = json.load(open(os.path.join(d, "index.json")))
m = json.load(open(p(ix["manifests"][0]["digest"])))
c = json.load(open(p(m["config"]["digest"])))
c["version"] = 99
cb = json.dumps(c).encode(); cd = "sha256:" + hashlib.sha256(cb).hexdigest()
open(p(cd), "wb").write(cb)
m["config"]["digest"], m["config"]["size"] = cd, len(cb)
mb = json.dumps(m).encode(); md = "sha256:" + hashlib.sha256(mb).hexdigest()
open(p(md), "wb").write(mb)
ix["manifests"][0]["digest"], ix["manifests"][0]["size"] = md, len(mb)
json.dump(ix, open(os.path.join(d, "index.json"), "w"))
PY
B3=$(bad missing); rm -f "$(blobf "$B3" "$(jq -r '.layers[0].digest' "$(blobf "$B3" "$(mdig "$B3")")")")"
for b in corrupt vers missing; do
  if cb "r-$b" -t small --cache-from type=local,src="$T/$b" "$D"; then
    check_contains "$b cache: ignored with a warning" "WARNING: cache from type=local,src=$T/$b is ignored" "$(cat "$T/last.log")"
    cp "$T/last.log" "$T/r-$b.log"
  else not_ok "$b cache: the build fails"; diag "$(tail -5 "$T/last.log")"; fi
done
check_contains "incompatible version: the warning names it" "version 99 is not supported" "$(cat "$T/r-vers.log" 2>&1)"
check_contains "missing blob: the warning names it" "is missing" "$(cat "$T/r-missing.log" 2>&1)"
# a blob whose bytes fail the digest: rejected, never stored
B4=$(bad tamper); L=$(jq -r '.layers[] | select(.size > 1000000) | .digest' "$(blobf "$B4" "$(mdig "$B4")")")
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=0xff; open(p,"wb").write(b)' "$(blobf "$B4" "$L")"
out=$(CBUILD_ROOT=$T/r-tamper "$CBUILD" build --progress=plain -t small --cache-from type=local,src="$T/tamper" "$D" 2>&1); rc=$?
if [ $rc -ne 0 ]; then check_contains "tampered blob: rejected naming its digest" "$L" "$out"
else check_contains "tampered blob: step rebuilt" "DONE" "$out"; fi
check "tampered blob never enters the store" test ! -e "$(blobf "$T/r-tamper" "$L")"

# --- a BuildKit cache (its keys are LLB digests cbuild does not compute) is named as such ---
# written as BuildKit lays them out: a local cache's index.json names an index whose last entry
# is the application/vnd.buildkit.cacheconfig.v0 config (image-manifest=false); in a registry,
# image-manifest=true: an image manifest with that config type.
python3 - "$T/bkc" <<'PY'
import json, hashlib, os, sys
d = sys.argv[1]; os.makedirs(d + "/blobs/sha256", exist_ok=True)
def blob(b):
    h = hashlib.sha256(b).hexdigest(); open(f"{d}/blobs/sha256/{h}", "wb").write(b); return "sha256:" + h, len(b)
cfg = json.dumps({"layers": [], "records": [{"digest": "sha256:" + "1" * 64}]}).encode()
cd, cs = blob(cfg)
inner = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
    {"mediaType": "application/vnd.buildkit.cacheconfig.v0", "digest": cd, "size": cs}]}).encode()
idg, isz = blob(inner)
json.dump({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
    {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": idg, "size": isz,
     "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}, open(d + "/index.json", "w"))
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.buildkit.cacheconfig.v0", "digest": cd, "size": cs}, "layers": []}).encode()
open(d + "/manifest.json", "wb").write(man); open(d + "/config.digest", "w").write(cd)
PY
cdig=$(cat "$T/bkc/config.digest")
loc=$(curl -fsS -o /dev/null -D - -X POST "http://$CR/v2/cache/bk/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
case $loc in http*) ;; *) loc="http://$CR$loc" ;; esac
case $loc in *\?*) sep='&' ;; *) sep='?' ;; esac
curl -fsS -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$T/bkc/blobs/sha256/${cdig#sha256:}" "$loc${sep}digest=$cdig" &&
  curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary "@$T/bkc/manifest.json" \
    "http://$CR/v2/cache/bk/manifests/buildcache" || not_ok "push the BuildKit-format cache"
for src in "type=local,src=$T/bkc" "type=registry,ref=$CR/cache/bk:buildcache"; do
  if cb r-bk -t small --cache-from "$src" "$D"; then
    check_contains "BuildKit cache ($src): ignored with a warning" "WARNING: cache from $src is ignored: " "$(cat "$T/last.log")"
    check_contains "BuildKit cache ($src): named as BuildKit's" \
      "a BuildKit cache (application/vnd.buildkit.cacheconfig.v0): its records are keyed by BuildKit's LLB digests" \
      "$(grep 'WARNING: cache from' "$T/last.log")"
  else not_ok "BuildKit cache ($src): the build fails"; diag "$(tail -5 "$T/last.log")"; fi
done

# --- two builds exporting to the same ref at once leave a valid manifest ---
echo one >"$D/motd"; cp -a "$D" "$D-2"; echo two >"$D-2/motd"
CBUILD_ROOT=$T/p1 "$CBUILD" build -q --cache-to type=registry,ref=$CR/cache/race:1 "$D" >/dev/null 2>"$T/p1.log" &
p1=$!
CBUILD_ROOT=$T/p2 "$CBUILD" build -q --cache-to type=registry,ref=$CR/cache/race:1 "$D-2" >/dev/null 2>"$T/p2.log"
r2=$?; wait $p1; r1=$?
check_eq "two concurrent exports succeed" "0 0" "$r1 $r2"
RM=$(skopeo inspect --raw --tls-verify=false docker://$CR/cache/race:1)
miss=0; for d in $(jq -r '.layers[].digest, .config.digest' <<<"$RM"); do reg_has cache/race "$d" || miss=1; done
check_eq "the manifest left behind names only blobs the registry has" 0 $miss
cb p3 -t small --cache-from $CR/cache/race:1 "$D"
check_contains "and it is usable" "CACHED" "$(cat "$T/last.log")"

# --- compression=zstd: the exported layers are recompressed (same diffIDs) and usable ---
cb z -t small --cache-to type=registry,ref=$CR/cache/small:zstd,compression=zstd "$D" ||
  { not_ok "export with compression=zstd"; diag "$(tail -5 "$T/last.log")"; }
ZM=$(skopeo inspect --raw --tls-verify=false docker://$CR/cache/small:zstd)
check_eq "compression=zstd: every cache layer is zstd" "application/vnd.oci.image.layer.v1.tar+zstd" \
  "$(jq -r '[.layers[].mediaType]|unique|join(",")' <<<"$ZM")"
zl=$(jq -r '.layers[0].digest' <<<"$ZM")
check "compression=zstd: zstd -t accepts the blob" bash -c "curl -fs http://$CR/v2/cache/small/blobs/$zl | zstd -t -q"
cb z2 -t small --cache-from $CR/cache/small:zstd "$D"
check_eq "compression=zstd: the import hits" "CACHED" "$(step_state 'COPY junk')"

# --- bad specs are errors before anything runs ---
out=$(CBUILD_ROOT=$T/bad "$CBUILD" build --cache-to type=s3,bucket=x "$D" 2>&1); rc=$?
check_eq "unsupported cache type: exit code 1" 1 "$rc"
check_contains "unsupported cache type: named" "cache type \`s3\` is not supported" "$out"
out=$(CBUILD_ROOT=$T/bad "$CBUILD" build --cache-to type=registry,ref=$CR/x:c,mode=all "$D" 2>&1)
check_contains "bad mode: named" "mode must be min or max, not \`all\`" "$out"
