# go: dockerfile_platform_test.go testPlatformArgsExplicit
# --platform darwin/ppc64le with --build-arg TARGETOS=freebsd: a stage on $BUILDPLATFORM sees
# TARGETPLATFORM as the target and TARGETOS as the build arg overrides it.
bk_df <<'DF'
FROM --platform=$BUILDPLATFORM busybox AS build
ARG TARGETPLATFORM
ARG TARGETOS
RUN mkdir /out && echo -n $TARGETPLATFORM > /out/platform && echo -n $TARGETOS > /out/os
FROM scratch
COPY --from=build out .
DF
sed -i "s|busybox|$BASE|" "$W/ctx/Dockerfile"
bk_local_ok "build" --platform darwin/ppc64le --build-arg TARGETOS=freebsd
bk_out_is platform darwin/ppc64le
bk_out_is os freebsd
