# go: dockerfile_namedcontext_test.go testNamedImageContext
# --build-context busybox=docker-image://REF replaces the image `FROM busybox` names (its files
# and its config's env); --build-context base=docker-image://REF replaces the stage `base`, which
# is then not built (nor the stage it was based on).
# "alpine": an image of our own in the local registry with /etc/alpine-release and the Go test's
# custom ENVs (see NOTES).
bk_df_raw <<'DF'
FROM @BASE@
RUN echo 3.20.0 > /etc/alpine-release
ENV PATH=/foobar:$PATH
ENV FOOBAR=foobar
DF
ALPINE=$CBUILD_REGISTRY/buildkit/testnamedimagecontext:latest
bk_push "push the replacement image" "$ALPINE"

bk_df <<'DF'
FROM busybox AS base
RUN cat /etc/alpine-release > /out
RUN env | grep PATH > /env_path
RUN env | grep FOOBAR > /env_foobar
FROM scratch
COPY --from=base /out /
COPY --from=base /env_path /
COPY --from=base /env_foobar /
DF
bk_local_ok "FROM busybox uses the named image" --build-context "busybox=docker-image://$ALPINE"
bk_out_is out '3.20.0\n'
check_eq "env_foobar" "FOOBAR=foobar" "$(cat "$W/out/env_foobar" 2>&1)"
check_contains "env_path" "/foobar:" "$(cat "$W/out/env_path" 2>&1)"

bk_df <<DF
FROM $BASE AS parent
FROM parent AS base
RUN echo base > /out
FROM base
RUN [ -f /etc/alpine-release ]
RUN [ ! -f /out ]
DF
bk_ok "a stage based on another stage is replaced" --build-context "base=docker-image://$ALPINE"
