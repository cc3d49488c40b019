# go: errors_test.go testErrorsSourceMap
# A failing build shows the error's source as buildx prints it (errdefs.Source.Print): the
# Dockerfile's name and first line, and its lines with those of the error marked ">>>" — for a
# parse error, a RUN that fails, a missing COPY source, an unknown flag, an unknown --from image
# and a RUN continued over two lines.
# srcmap NAME LINES: writes the Dockerfile from stdin (@BASE@ replaced), builds it and checks
# the failure and the marked lines (space-separated)
srcmap() {
  local name=$1 lines=$2 first=${2%% *}
  bk_dfr
  _tap_prefix="testErrorsSourceMap/$name: "
  bk_fails "fails" "ERROR: failed to solve:"
  local out; out=$(cat "$T/last.log")
  check_contains "the source's name and first line" "Dockerfile:$first"$'\n'"--------------------" "$out"
  check_eq "the lines marked" "$lines" "$(sed -n 's/^ *\([0-9]*\) | >>> .*/\1/p' <<<"$out" | xargs)"
  local bad= n text
  while IFS= read -r l; do
    n=$(sed 's/^ *\([0-9]*\) | .*/\1/' <<<"$l"); text=${l#* | ????}
    [ "$text" = "$(sed -n "${n}p" "$W/ctx/Dockerfile")" ] || bad+="$n "
  done < <(grep -E '^ +[0-9]+ \| ' <<<"$out")
  check_eq "the lines shown are the Dockerfile's" "" "$bad"
}
srcmap invalidenv 2 <<'DF'
from @BASE@
env
DF
srcmap invalidrun 3 <<'DF'
from scratch
env foo=bar
run what
DF
srcmap invalidcopy 3 <<'DF'
from scratch
env foo=bar
copy foo bar
env bar=baz
DF
srcmap invalidflag 3 <<'DF'
from scratch
env foo=bar
copy --foo=bar / /
env bar=baz
DF
srcmap invalidcopyfrom 3 <<'DF'
from scratch
env foo=bar
copy --from=127.0.0.1:1/invalid foo bar
env bar=baz
DF
srcmap invalidmultiline "2 3" <<'DF'
from scratch
run wh\
at
env bar=baz
DF
srcmap invalidsyntax 1 <<'DF'
#syntax=foobar
from @BASE@
DF
check_contains "invalidsyntax: the frontend is named" "frontend docker.io/library/foobar:latest: cbuild runs no frontend images" "$(cat "$T/last.log")"
