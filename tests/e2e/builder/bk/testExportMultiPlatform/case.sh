# go: dockerfile_export_test.go testExportMultiPlatform
# Three platforms from scratch, each COPYing its arch's file: the local exporter makes one folder
# per normalised platform (linux/arm is linux_arm_v7); the OCI archive's index lists the
# platforms in order, each manifest one layer with that file and a config of its os/arch whose
# label is $TARGETPLATFORM.
bk_df <<'DF'
FROM scratch
ARG TARGETARCH
ARG TARGETPLATFORM
LABEL target=$TARGETPLATFORM
COPY arch-$TARGETARCH whoami
DF
for a in arm amd64 s390x ppc64le; do printf 'i am %s' "$a" >"$W/ctx/arch-$a"; done
bk_local_ok "local output of windows/amd64,linux/arm,linux/s390x" --platform windows/amd64,linux/arm,linux/s390x
bk_out_is windows_amd64/whoami "i am amd64"
bk_out_is linux_arm_v7/whoami "i am arm"
bk_out_is linux_s390x/whoami "i am s390x"

bk_ok "OCI archive of windows/amd64,linux/arm/v6,linux/ppc64le" --platform windows/amd64,linux/arm/v6,linux/ppc64le \
  -o "type=oci,dest=$W/out.tar"
mkdir -p "$W/oci" && tar -xf "$W/out.tar" -C "$W/oci"
blob() { cat "$W/oci/blobs/sha256/${1#sha256:}"; }
ix=$(blob "$(jq -r '.manifests[0].digest' "$W/oci/index.json")")
check_eq "three manifests" 3 "$(jq '.manifests | length' <<<"$ix")"
i=0
for exp in "windows/amd64 windows amd64 amd64" "linux/arm/v6 linux arm arm" "linux/ppc64le linux ppc64le ppc64le"; do
  read -r p os arch file <<<"$exp"
  check_eq "$p: the index's platform" "$p" "$(jq -r ".manifests[$i].platform | [.os, .architecture, .variant // empty] | join(\"/\")" <<<"$ix")"
  m=$(blob "$(jq -r ".manifests[$i].digest" <<<"$ix")")
  check_eq "$p: one layer" 1 "$(jq '.layers | length' <<<"$m")"
  check_eq "$p: whoami" "i am $file" "$(blob "$(jq -r '.layers[0].digest' <<<"$m")" | tar -xzO whoami 2>&1)"
  c=$(blob "$(jq -r '.config.digest' <<<"$m")")
  check_eq "$p: config os, architecture, label target" "$os $arch $p" "$(jq -r '"\(.os) \(.architecture) \(.config.Labels.target)"' <<<"$c")"
  i=$((i + 1))
done
