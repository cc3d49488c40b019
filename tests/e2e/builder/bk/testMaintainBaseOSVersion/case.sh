# go: dockerfile_platform_test.go testMaintainBaseOSVersion
# An image built for windows(10.0.20348.1006)/amd64 keeps its os.version; an image built FROM it
# for plain windows/amd64 keeps the base's os.version too.
p1='windows(10.0.20348.1006)/amd64'
target=$CBUILD_REGISTRY/buildkit/testplatformwithosversion-1:latest
target2=$CBUILD_REGISTRY/buildkit/testplatformwithosversion-2:latest
bk_df <<'DF'
FROM scratch
ARG TARGETPLATFORM
COPY <<EOF /platform
${TARGETPLATFORM}
EOF
DF
bk_push "build for $p1" "$target" --platform "$p1"
osver() { skopeo inspect --config --raw --tls-verify=false --override-os windows "docker://$1" | jq -r '.["os.version"]'; }
check_eq "one image of os.version 10.0.20348.1006" 10.0.20348.1006 "$(osver "$target")"
bk_df <<DF
FROM $target
COPY <<EOF /other
hello
EOF
DF
bk_push "build FROM it for windows/amd64" "$target2" --platform windows/amd64
check_eq "the base's os.version kept" 10.0.20348.1006 "$(osver "$target2")"
