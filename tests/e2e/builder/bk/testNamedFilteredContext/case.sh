# go: dockerfile_namedcontext_test.go testNamedFilteredContext
# A local named context is read only as far as the build uses it: COPY --from=foo /foo and
# RUN --mount=from=foo,src=/foo read /foo alone; FROM foo (a stage built on it) reads it whole.
# The bytes are the status "transferring foo:" of the vertex "[context foo] load from client"
# (--progress=rawjson, the largest `current`), within the Go test's bounds. "replace": a stage
# named foo is replaced by --build-context foo=DIR.
mkdir -p "$W/foo"
printf foo >"$W/foo/foo"
head -c 4096000 /dev/zero >"$W/foo/bar"
chmod 0600 "$W/foo/foo" "$W/foo/bar"

df_base() {
  cat <<DF
FROM scratch AS copy_from
COPY --from=foo /foo /

FROM $BASE AS run_mount
RUN --mount=from=foo,src=/foo,target=/in/foo cp /in/foo /foo

FROM foo AS image_source
COPY --from=$BASE / /
RUN cat /foo > /bar

FROM scratch AS all
COPY --link --from=copy_from /foo /foo.b
COPY --link --from=run_mount /foo /foo.c
COPY --link --from=image_source /bar /foo.d
DF
}

# the largest `current` of a "transferring" status of the vertex "[context foo] load from client"
foo_transferred() {
  python3 -c '
import json, sys
names, most = {}, 0
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith("{"):
        continue
    ev = json.loads(line)
    for v in ev.get("vertexes") or []:
        names[v["digest"]] = v.get("name", "")
    for s in ev.get("statuses") or []:
        if s.get("name") == "transferring" and names.get(s.get("vertex")) == "[context foo] load from client":
            most = max(most, s.get("current", 0))
print(most)' "$1"
}

# transferred DESC TARGET MIN MAX: the build of TARGET read MIN..MAX bytes of foo
transferred() {
  local d=$1 target=$2 min=$3 max=$4 n
  rm -rf "$W/out"
  if ! "$CBUILD" build --progress=rawjson --target "$target" --build-context "foo=$W/foo" \
    -o "type=local,dest=$W/out" "$W/ctx" >"$T/last.out" 2>"$T/last.log"; then
    not_ok "$d: $target builds"; diag "$(tail -25 "$T/last.log")"; return
  fi
  n=$(foo_transferred "$T/last.log")
  if [ "$n" -ge "$min" ] && [ "$n" -le "$max" ]; then ok "$d: $target transfers $n bytes of foo ($min..$max)"
  else not_ok "$d: $target transfers $n bytes of foo, expected $min..$max"; fi
}

df_base | bk_df
transferred new run_mount 1 1024
transferred new copy_from 1 1024
transferred new image_source 4096000 9223372036854775807
transferred new all 4096000 9223372036854775807
bk_out_is foo.b 'foo'
bk_out_is foo.c 'foo'
bk_out_is foo.d 'foo'

{
  cat <<'DF'
FROM scratch AS foo
COPY <<EOF /foo
test
EOF
DF
  df_base
} | bk_df
transferred replace run_mount 1 1024
transferred replace copy_from 1 1024
transferred replace image_source 4096000 9223372036854775807
transferred replace all 4096000 9223372036854775807
bk_out_is foo.b 'foo'

# plain shows the transfer as progressui prints it
bk_ok "plain build of copy_from" --target copy_from --build-context "foo=$W/foo"
check "plain: transferring foo: 3B done" grep -qE '^#[0-9]+ transferring foo: 3B( [0-9.]+s)? done$' "$T/last.log"
bk_ok "plain build of image_source" --target image_source --build-context "foo=$W/foo"
check "plain: transferring foo: 4.10MB done" grep -qE '^#[0-9]+ transferring foo: 4\.10MB( [0-9.]+s)? done$' "$T/last.log"

# cache keys follow the selection: a file the step doesn't read changes nothing, one it reads
# runs it again
df_base | bk_df
bk_ok "copy_from, first build" --target copy_from --build-context "foo=$W/foo"
bk_ok "run_mount, first build" --target run_mount --build-context "foo=$W/foo"
head -c 4096000 /dev/urandom >"$W/foo/bar"
bk_ok "copy_from after bar changed" --target copy_from --build-context "foo=$W/foo"
check_eq "COPY --from=foo /foo is cached when bar changed" CACHED "$(step_state 'COPY --from=foo /foo /')"
bk_ok "run_mount after bar changed" --target run_mount --build-context "foo=$W/foo"
check_eq "RUN --mount=from=foo,src=/foo is cached when bar changed" CACHED "$(step_state 'RUN --mount=from=foo')"
printf FOO >"$W/foo/foo"
bk_local_ok "copy_from after foo changed" --target copy_from --build-context "foo=$W/foo"
check_eq "COPY --from=foo /foo runs again when foo changed" DONE "$(step_state 'COPY --from=foo /foo /')"
bk_out_is foo 'FOO'
bk_ok "run_mount after foo changed" --target run_mount --build-context "foo=$W/foo"
check_eq "RUN --mount=from=foo,src=/foo runs again when foo changed" DONE "$(step_state 'RUN --mount=from=foo')"
# target all also reads foo whole (image_source): the steps that read /foo alone stay cached
bk_ok "all, first build" --target all --build-context "foo=$W/foo"
head -c 4096000 /dev/urandom >"$W/foo/bar"
bk_ok "all after bar changed" --target all --build-context "foo=$W/foo"
check_eq "all: COPY --from=foo /foo is cached when bar changed" CACHED "$(step_state 'COPY --from=foo /foo /')"
check_eq "all: RUN --mount=from=foo,src=/foo is cached when bar changed" CACHED "$(step_state 'RUN --mount=from=foo')"
check_eq "all: image_source's RUN runs again" DONE "$(step_state 'RUN cat /foo > /bar')"
