# go: dockerfile_platform_test.go testPlatformWithOSVersion
# Platforms with an OS version (windows(1.2.3)/bar, windows(1.1.0)/bar): TARGETOSVERSION and
# TARGETPLATFORM carry it, the local folders are named by it, the pushed index's configs keep
# os.version, and a FROM of that index for one of the two picks the image of that version.
p1='windows(1.2.3)/bar' p2='windows(1.1.0)/bar'
target=$CBUILD_REGISTRY/buildkit/testplatformwithosversion:latest
bk_df <<DF
FROM $target AS reg

FROM scratch AS base
ARG TARGETOSVERSION
COPY <<EOF /osversion
\${TARGETOSVERSION}
EOF
ARG TARGETPLATFORM
COPY <<EOF /targetplatform
\${TARGETPLATFORM}
EOF
DF
rm -rf "$W/out"
# named by its -o alone (bk_ok's -t would push to Docker Hub too)
if "$CBUILD" build --progress=plain --platform "$p1,$p2" --target base -o "type=local,dest=$W/out" \
  -o "type=image,name=$target,push=true" "$W/ctx" >"$T/last.out" 2>"$T/last.log"; then
  ok "build base for both, local and pushed"
else not_ok "build base for both, local and pushed"; diag "$(tail -20 "$T/last.log")"; fi
ix=$(skopeo inspect --raw --tls-verify=false "docker://$target")
check_eq "two images" 2 "$(jq '.manifests | length' <<<"$ix")"
vers=
for d in $(jq -r '.manifests[].digest' <<<"$ix"); do
  m=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$CBUILD_REGISTRY/v2/buildkit/testplatformwithosversion/manifests/$d")
  vers+="$(curl -sf "http://$CBUILD_REGISTRY/v2/buildkit/testplatformwithosversion/blobs/$(jq -r .config.digest <<<"$m")" | jq -r '.["os.version"]') "
done
check_eq "the configs' os.version, in order" "1.2.3 1.1.0 " "$vers"
bk_out_is 'windows(1.2.3)_bar/osversion' '1.2.3\n'
bk_out_is 'windows(1.2.3)_bar/targetplatform' "$p1\n"
bk_out_is 'windows(1.1.0)_bar/osversion' '1.1.0\n'
bk_out_is 'windows(1.1.0)_bar/targetplatform' "$p2\n"
bk_local_ok "FROM the index for $p1" --platform "$p1" --target reg
bk_out_is osversion '1.2.3\n'
bk_local_ok "FROM the index for $p2" --platform "$p2" --target reg
bk_out_is osversion '1.1.0\n'
