# go: dockerfile_cmd_test.go testDefaultShellAndPath
# On linux a FROM scratch image gets the default PATH, and a shell-form ENTRYPOINT /bin/sh -c.
bk_df_raw <<'DF'
FROM scratch
ENTRYPOINT foo bar
COPY Dockerfile .
DF
bk_ok "oci tar output" -o "type=oci,dest=$W/out.tar"
mkdir -p "$W/oci" && tar -C "$W/oci" -xf "$W/out.tar"
blob() { cat "$W/oci/blobs/sha256/${1#sha256:}" 2>&1; }
m=$(jq -r '.manifests[0].digest' "$W/oci/index.json" 2>&1)
mf=$(blob "$m")
if [ "$(jq -r .mediaType <<<"$mf")" = application/vnd.oci.image.index.v1+json ]; then
  mf=$(blob "$(jq -r '.manifests[] | select(.platform.os == "linux") | .digest' <<<"$mf")")
fi
check_eq "one layer" 1 "$(jq '.layers | length' <<<"$mf")"
img=$(blob "$(jq -r .config.digest <<<"$mf")")
check_eq "Entrypoint" '["/bin/sh","-c","foo bar"]' "$(jq -c .config.Entrypoint <<<"$img")"
check_eq "Env" '["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]' "$(jq -c .config.Env <<<"$img")"
