# go: dockerfile_outline_test.go testOutlineSecrets
# --call=outline,format=json of target `target` lists the secrets and ssh mounts of the stages
# it needs only (not those of `second`), once each, in order, with required and their lines;
# a build arg in a mount id is expanded.
bk_df_raw <<'DF'

FROM @BASE@ AS first
RUN --mount=type=secret,target=/etc/passwd,required=true --mount=type=ssh true

FROM alpine AS second
RUN --mount=type=secret,id=unused --mount=type=ssh,id=ssh2 true

FROM scratch AS third
ARG BAR
RUN --mount=type=secret,id=second${BAR} true

FROM third AS target
COPY --from=first /foo /
RUN --mount=type=ssh,id=ssh3,required true

FROM second
DF
o=$("$CBUILD" build --call=outline,format=json --build-arg BAR=678 --target target "$W/ctx" 2>"$T/last.log")
check_eq "exit status" 0 "$?"
check_eq "the one source is the Dockerfile" "1 true" \
  "$(jq -r '.sources | "\(length) \(.[0] == $df)"' --arg df "$(base64 -w0 "$W/ctx/Dockerfile")" <<<"$o")"
check_eq "secrets: name|required|line" "passwd|true|3 second678|false|10" \
  "$(jq -r '.secrets[] | "\(.name)|\(.required // false)|\(.location.ranges[0].start.line)"' <<<"$o" | xargs)"
check_eq "ssh: name|required|line" "default|false|3 ssh3|true|14" \
  "$(jq -r '.ssh[] | "\(.name)|\(.required // false)|\(.location.ranges[0].start.line)"' <<<"$o" | xargs)"
