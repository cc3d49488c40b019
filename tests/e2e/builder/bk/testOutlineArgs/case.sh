# go: dockerfile_outline_test.go testOutlineArgs
# --call=outline,format=json of target `target` with --build-arg BAR=678: its name and
# description, the Dockerfile as the one source, and the seven args the target's stages use,
# in order, with their values (expanded, the build arg's), descriptions and lines; unused
# global args and the args of stages the target does not need are left out.
bk_df_raw <<'DF'

ARG inherited=box
ARG inherited2=box2
ARG unused=abc${inherited2}
# sfx is a suffix
ARG sfx="usy${inherited}"

FROM @REG@/b${sfx} AS first
# this is not assigned to anything
ARG FOO=123
# BAR is a number
ARG BAR=456
RUN true

FROM alpine${unused} AS second
ARG BAZ
RUN true

FROM scratch AS third
ARG ABC=a
# check=skip=all
ARG password
# alternate_password will show up in the outline
# check=skip=all
ARG alternate_password

# target defines build target
FROM third AS target
COPY --from=first /etc/passwd /

FROM second
DF
o=$("$CBUILD" build --call=outline,format=json --build-arg BAR=678 --target target "$W/ctx" 2>"$T/last.log")
check_eq "exit status" 0 "$?"
check_eq "name, description" "target|defines build target" "$(jq -r '"\(.name)|\(.description)"' <<<"$o")"
check_eq "the one source is the Dockerfile" "1 true" \
  "$(jq -r '.sources | "\(length) \(.[0] == $df)"' --arg df "$(base64 -w0 "$W/ctx/Dockerfile")" <<<"$o")"
check_eq "args: name|value|description|line" \
  "inherited|box||2 sfx|usybox|is a suffix|6 FOO|123||10 BAR|678|is a number|12 ABC|a||20 password|||22 alternate_password||will show up in the outline|25" \
  "$(jq -r '.args[] | "\(.name)|\(.value // "")|\(.description // "")|\(.location.ranges[0].start.line)"' <<<"$o" | xargs -d'\n')"
