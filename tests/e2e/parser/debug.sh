#!/bin/bash
# cbuild debug parse|plan end to end: the CLI against BuildKit's parser vectors and our own
# Dockerfiles; JSON output is checked by python's json module.
. "$CBUILD_SRC/tests/e2e/lib.sh"
VEC=${CBUILD_CONFORMANCE_DIR:-${CBUILD_CONFORMANCE_DIR_DEFAULT:-}}

if [ -n "$VEC" ] && [ -d "$VEC/parser/testfiles" ]; then
  n=0; bad=""
  for d in "$VEC"/parser/testfiles/*/; do
    n=$((n + 1))
    "$CBUILD" debug parse "$d/Dockerfile" 2>/dev/null | cmp -s - "$d/result" || bad="$bad $(basename "$d")"
  done
  check_eq "debug parse prints BuildKit's result for all $n parser vectors" "" "$bad"
  out=$("$CBUILD" debug parse < "$VEC/parser/testfiles/env/Dockerfile")
  check_eq "debug parse reads standard input" "$(cat "$VEC/parser/testfiles/env/result")" "$out"
  for d in "$VEC"/parser/testfiles-negative/*/; do
    check_fails "debug parse rejects $(basename "$d")" "$CBUILD" debug parse "$d/Dockerfile"
  done
else
  skip "BuildKit vectors not found (CBUILD_CONFORMANCE_DIR)"
fi

mkdir -p "$T/ctx"
cat > "$T/ctx/Dockerfile" <<'DF'
ARG BASE=alpine:3.19
FROM golang:1.22 AS build
ARG VERSION=dev
WORKDIR /src
RUN --mount=type=cache,target=/root/.cache/go-build go build -ldflags "-X main.v=$VERSION" -o /out/app .

FROM busybox AS unused
RUN true

FROM ${BASE}
ARG VERSION
LABEL version=$VERSION
COPY --from=build /out/app /usr/local/bin/app
ENTRYPOINT ["/usr/local/bin/app"]
DF
out=$("$CBUILD" debug plan --build-arg VERSION=1.2.3 --build-arg NOPE=1 "$T/ctx" 2>&1)
check_contains "plan: base image after global ARG expansion" "base: image alpine:3.19" "$out"
check_contains "plan: build-arg reaches a redeclared ARG" 'LABEL version=1.2.3' "$out"
check_contains "plan: COPY --from dependency" "depends on: 0 (build)" "$out"
check_contains "plan: unneeded stage is marked" "stage 1 (unused)  [not needed by the target: skipped]" "$out"
check_contains "plan: unused --build-arg warning" "[Warning] One or more build-args [NOPE] were not consumed" "$out"
json=$("$CBUILD" debug plan --format json --target build -f "$T/ctx/Dockerfile" 2>/dev/null)
check "plan --format json is valid JSON" python3 -c 'import json,sys; json.loads(sys.argv[1])' "$json"
check_eq "plan --target build needs only stage 0" "[0]" \
  "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["needed"])' "$json")"
check_eq "plan JSON carries the cache mount" "cache /root/.cache/go-build" \
  "$(python3 -c 'import json,sys; m=json.loads(sys.argv[1])["stages"][0]["instructions"][2]["mounts"][0]; print(m["type"], m["id"])' "$json")"

printf 'FROM alpine\nCPY a b\n' > "$T/bad.Dockerfile"
err=$("$CBUILD" debug plan -f "$T/bad.Dockerfile" 2>&1); rc=$?
check_eq "unknown instruction fails with exit 1" 1 "$rc"
check_contains "unknown instruction names file:line and suggests" "bad.Dockerfile:2: unknown instruction: CPY (did you mean COPY?)" "$err"
check_contains "the offending text is shown" "2 | CPY a b" "$err"
err=$(printf 'FROM a\nRUN <<EOF\nx\n' | "$CBUILD" debug parse 2>&1); rc=$?
check_contains "unterminated heredoc is an error" "unterminated heredoc" "$err"
err=$("$CBUILD" debug plan --target nope "$T/ctx" 2>&1)
check_contains "unknown target is an error" 'target stage "nope" could not be found' "$err"
"$CBUILD" debug frobnicate >/dev/null 2>&1; rc=$?
check_eq "unknown debug subcommand is a usage error (125)" 125 "$rc"
