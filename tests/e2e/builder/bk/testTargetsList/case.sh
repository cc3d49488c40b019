# go: dockerfile_targets_test.go testTargetsList
# --call=targets,format=json lists every stage in order: name (as written), base, the
# description from its comment, the default (last) one, the FROM line; the Dockerfile is the
# one source. Nothing is resolved: alpine and busybox need not exist.
bk_df_raw <<'DF'

# build defines stage for compiling the binary
FROM alpine AS build
RUN true

FROM busybox as second
RUN false

FROM alpine
RUN false

# binary returns the compiled binary
FROM second AS binary
DF
o=$("$CBUILD" build --call=targets,format=json "$W/ctx" 2>"$T/last.log")
check_eq "exit status" 0 "$?"
check_eq "the one source is the Dockerfile" "1 true" \
  "$(jq -r '.sources | "\(length) \(.[0] == $df)"' --arg df "$(base64 -w0 "$W/ctx/Dockerfile")" <<<"$o")"
check_eq "targets: name|base|description|default|sourceIndex|line" \
  "build|alpine|defines stage for compiling the binary|false|0|3 second|busybox||false|0|6 |alpine||false|0|9 binary|second|returns the compiled binary|true|0|13" \
  "$(jq -r '.targets[] | "\(.name // "")|\(.base)|\(.description // "")|\(.default // false)|\(.location.sourceIndex // 0)|\(.location.ranges[0].start.line)"' <<<"$o" | xargs -d'\n')"
