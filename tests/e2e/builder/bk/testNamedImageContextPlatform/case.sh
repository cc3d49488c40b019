# go: dockerfile_namedcontext_test.go testNamedImageContextPlatform
# BUILDKIT_MULTI_PLATFORM=true makes an index of the one platform built; then a build for
# darwin/ppc64le whose stage is FROM --platform=$BUILDPLATFORM resolves that base for the build
# platform (its RUN runs), with a named context `busybox` the Dockerfile does not use.
printf 'FROM --platform=$BUILDPLATFORM %s' "$BASE" | bk_df
target=$CBUILD_REGISTRY/buildkit/testnamedimagecontextplatform:latest
bk_push "an index of one platform" "$target" --build-arg BUILDKIT_MULTI_PLATFORM=true
ix=$(skopeo inspect --raw --tls-verify=false "docker://$target")
check_eq "an OCI index of linux/amd64" "application/vnd.oci.image.index.v1+json linux/amd64" \
  "$(jq -r '"\(.mediaType) \([.manifests[] | "\(.platform.os)/\(.platform.architecture)"] | join(","))"' <<<"$ix")"
bk_dfr <<'DF'

		FROM --platform=$BUILDPLATFORM @BASE@ AS target
		RUN echo hello
		
DF
bk_ok "build for darwin/ppc64le" --build-context "busybox=docker-image://$target" --platform darwin/ppc64le
check_eq "the RUN ran on the build platform" DONE "$(step_state 'RUN echo hello')"
