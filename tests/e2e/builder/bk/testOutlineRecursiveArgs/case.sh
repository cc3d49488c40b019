# go: dockerfile_outline_test.go testOutlineRecursiveArgs
# Args redefined from themselves, globally and in the stage: the outline gives each once with
# its final value, sorted by name.
bk_df_raw <<'DF'

ARG FOO=123
ARG ABC=abc
ARG DEF=def
ARG FOO=${FOO}${ABC}
ARG BAR=${FOO}456
ARG FOO=${FOO}456${BAR}
FROM scratch
ARG FOO
ARG INFOO=123
ARG INBAR=${INFOO}456
ARG INFOO=${INFOO}456${INBAR}
DF
o=$("$CBUILD" build --call=outline,format=json "$W/ctx" 2>"$T/last.log")
check_eq "exit status" 0 "$?"
check_eq "args: name=value" "ABC=abc BAR=123abc456 FOO=123abc456123abc456 INBAR=123456 INFOO=123456123456" \
  "$(jq -r '.args[] | "\(.name)=\(.value // "")"' <<<"$o" | xargs)"
