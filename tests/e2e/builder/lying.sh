#!/bin/bash
# A lying image (its config claims busybox's diff_id for a layer of its own) must not poison
# the store: building or running FROM it fails naming the layer and both digests, no layer
# image is made under the false diff_id, and a later build FROM busybox runs on busybox.
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
start_base_registry
need python3 skopeo
L=$T/layout
skopeo copy -q --src-tls-verify=false "docker://$BASE" "oci:$L:bb" >/dev/null 2>&1 || { not_ok "copy busybox into a layout"; exit 0; }
python3 - "$L" >/dev/null <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
L = sys.argv[1]
def blob(data):
    d = hashlib.sha256(data).hexdigest()
    open(os.path.join(L, "blobs", "sha256", d), "wb").write(data)
    return "sha256:" + d, len(data)
def read(d): return open(os.path.join(L, "blobs", "sha256", d.split(":")[1]), "rb").read()
idx = json.load(open(os.path.join(L, "index.json")))
bbm = json.loads(read(idx["manifests"][0]["digest"]))
cfg = json.loads(read(bbm["config"]["digest"]))
raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w") as t:
    data = b"i am not busybox\n"
    ti = tarfile.TarInfo("liar.txt"); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
layer = gzip.compress(raw.getvalue())
ld, ln = blob(layer)
cfg["rootfs"]["diff_ids"] = cfg["rootfs"]["diff_ids"][:1]   # busybox's diff_id, for our layer
cd, cn = blob(json.dumps(cfg).encode())
man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cn},
       "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ld, "size": ln}]}
md, mn = blob(json.dumps(man).encode())
idx["manifests"].append({"mediaType": man["mediaType"], "digest": md, "size": mn,
                         "annotations": {"org.opencontainers.image.ref.name": "liar"}})
json.dump(idx, open(os.path.join(L, "index.json"), "w"))
print(ld, cfg["rootfs"]["diff_ids"][0], "sha256:" + hashlib.sha256(raw.getvalue()).hexdigest())
PY
read -r LAYER CLAIM ACTUAL < <(python3 -c "
import json,sys
L='$L'; idx=json.load(open(L+'/index.json'))
m=[x for x in idx['manifests'] if x.get('annotations',{}).get('org.opencontainers.image.ref.name')=='liar'][0]
man=json.load(open(L+'/blobs/sha256/'+m['digest'].split(':')[1]))
cfg=json.load(open(L+'/blobs/sha256/'+man['config']['digest'].split(':')[1]))
import gzip,hashlib
raw=gzip.decompress(open(L+'/blobs/sha256/'+man['layers'][0]['digest'].split(':')[1],'rb').read())
print(man['layers'][0]['digest'], cfg['rootfs']['diff_ids'][0], 'sha256:'+hashlib.sha256(raw).hexdigest())")
LIAR=$CBUILD_REGISTRY/liar:1
skopeo copy -q --dest-tls-verify=false "oci:$L:liar" "docker://$LIAR" >/dev/null 2>&1 || { not_ok "push the lying image"; exit 0; }
D=$(ctx liar <<EOF
FROM $LIAR
RUN cat /liar.txt
EOF
)
check_fails "a build FROM the lying image fails" build "$D" liartest
log=$(cat "$T/last.log")
check_contains "the error names the layer" "$LAYER" "$log"
check_contains "... the diff_id its config claims" "$CLAIM" "$log"
check_contains "... and the digest of its content" "$ACTUAL" "$log"
check_eq "no layer image is stored under the false diff_id" "" "$(find "$CBUILD_ROOT" -name "${CLAIM#sha256:}.ext4*" ! -name "*.lock")"
check_fails "cbuild run of the lying image fails too" "$CBUILD" run "$LIAR" true
B=$(ctx honest <<EOF
FROM $BASE
RUN busybox echo still-busybox && test ! -e /liar.txt
EOF
)
if build "$B" honest; then ok "a build FROM busybox afterwards runs on busybox's own layer"
else not_ok "a build FROM busybox afterwards"; diag "$(tail -15 "$T/last.log")"; fi
check_contains "... and its RUN printed" "still-busybox" "$(cat "$T/last.log")"
