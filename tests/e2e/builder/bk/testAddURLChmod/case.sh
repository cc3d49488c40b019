# go: dockerfile_add_test.go testAddURLChmod
# ADD --chmod on a URL source (octal, and from an ARG).
mkdir -p "$W/www"
printf content1 >"$W/www/foo"
bk_http_start "$W/www"
sed "s|@URL@|$BK_URL/foo|g" <<'DF' | bk_dfr
FROM @BASE@ AS build
ADD --chmod=644 @URL@ /tmp/foo1
ADD --chmod=755 @URL@ /tmp/foo2
ADD --chmod=0413 @URL@ /tmp/foo3
ARG mode
ADD --chmod=${mode} @URL@ /tmp/foo4
RUN stat -c "%04a" /tmp/foo1 >> /dest && \
	stat -c "%04a" /tmp/foo2 >> /dest && \
	stat -c "%04a" /tmp/foo3 >> /dest && \
	stat -c "%04a" /tmp/foo4 >> /dest
FROM scratch
COPY --from=build /dest /dest
DF
bk_local_ok "build" --build-arg mode=400
check_eq "modes 644 755 0413 \${mode}=400" "0644 0755 0413 0400" "$(xargs <"$W/out/dest" 2>&1)"
