#!/usr/bin/env bash
# inventory.sh BUILDKIT [-v]: how BuildKit's Dockerfile integration tests are accounted for here.
# BUILDKIT is a moby/buildkit checkout (a work tree, or a bare git dir read at HEAD). For every
# frontend/dockerfile/*_test.go it prints the integration tests the file defines and registers
# (named in an `integration.TestFuncs(...)` list of any of those files), how many have a folder
# bk/<name>/case.sh (ported), how many NOT-PORTED.md lists under that file (not-ported), and the
# rest (unaccounted, named). -v names the tests of every column. It also reports cases whose
# `# go:` line names another file than the one defining the test, folders that match no
# registered test, and tests both ported and listed. Exits 1 when anything is unaccounted.
set -euo pipefail
BK=$(cd "$(dirname "$0")" && pwd)
src=${1:?usage: inventory.sh BUILDKIT_CHECKOUT [-v]}
verbose=${2:-}

# the Go test files and their contents, from a work tree or from a git dir's HEAD
if [ -d "$src/frontend/dockerfile" ]; then
  files() { (cd "$src/frontend/dockerfile" && ls -- *_test.go); }
  show() { cat "$src/frontend/dockerfile/$1"; }
else
  files() { git -C "$src" ls-tree --name-only HEAD frontend/dockerfile/ | sed -n 's|^frontend/dockerfile/\(.*_test\.go\)$|\1|p'; }
  show() { git -C "$src" show "HEAD:frontend/dockerfile/$1"; }
fi

# every identifier named inside an integration.TestFuncs( ... ) call, over all files
registered=$(for f in $(files); do show "$f"; done | awk '
  /integration\.TestFuncs\(/ { on = 1; depth = 0; sub(/.*integration\.TestFuncs/, "") }
  on {
    line = $0; sub(/\/\/.*/, "", line)
    while (match(line, /test[A-Za-z0-9_]+/)) { print substr(line, RSTART, RLENGTH); line = substr(line, RSTART + RLENGTH) }
    n = gsub(/\(/, "(", $0); m = gsub(/\)/, ")", $0); depth += n - m
    if (depth <= 0) on = 0
  }' | sort -u)

# NOT-PORTED.md lines: "- dockerfile_X_test.go testName: reason"
listed=$(sed -n 's/^- \([a-z_]*_test\.go\) \(test[A-Za-z0-9_]*\):.*/\1 \2/p' "$BK/NOT-PORTED.md" | sort -u)

join_names() { grep . | paste -sd' '; }
tot_t=0 tot_p=0 tot_n=0 tot_u=0 all_defined=
printf '%-40s %5s %6s %10s %11s\n' "Go file" tests ported not-ported unaccounted
for f in $(files); do
  defined=$(show "$f" | sed -n 's/^func \(test[A-Za-z0-9_]*\)(t \*testing\.T, sb integration\.Sandbox) {$/\1/p' | sort -u)
  tests=$(comm -12 <(printf '%s\n' "$defined") <(printf '%s\n' "$registered") | grep . || true)
  [ -n "$tests" ] || continue
  all_defined+=$tests$'\n'
  ported= notp= unacc=
  for t in $tests; do
    if [ -f "$BK/$t/case.sh" ]; then
      ported+="$t"$'\n'
      g=$(head -1 "$BK/$t/case.sh" | awk '$1 == "#" && $2 == "go:" { print $3 }')
      [ "$g" = "$f" ] || echo "MISFILED: bk/$t/case.sh says '${g:-nothing}', the test is in $f" >&2
      grep -qxF "$f $t" <<<"$listed" && echo "BOTH: $f $t is ported and listed in NOT-PORTED.md" >&2
    elif grep -qxF "$f $t" <<<"$listed"; then notp+="$t"$'\n'
    else unacc+="$t"$'\n'; fi
  done
  nt=$(grep -c . <<<"$tests") np=$(grep -c . <<<"$ported" || true)
  nn=$(grep -c . <<<"$notp" || true) nu=$(grep -c . <<<"$unacc" || true)
  printf '%-40s %5d %6d %10d %11d\n' "$f" "$nt" "$np" "$nn" "$nu"
  if [ "$verbose" = -v ]; then
    [ -z "$ported" ] || echo "    ported: $(join_names <<<"$ported")"
    [ -z "$notp" ] || echo "    not-ported: $(join_names <<<"$notp")"
  fi
  [ -z "$unacc" ] || echo "    unaccounted: $(join_names <<<"$unacc")"
  tot_t=$((tot_t + nt)) tot_p=$((tot_p + np)) tot_n=$((tot_n + nn)) tot_u=$((tot_u + nu))
done
printf '%-40s %5d %6d %10d %11d\n' total "$tot_t" "$tot_p" "$tot_n" "$tot_u"

# folders and NOT-PORTED.md lines that name no registered test of the file they claim
for d in "$BK"/*/; do
  t=$(basename "$d")
  [ -f "$d/case.sh" ] || continue
  grep -qxF "$t" <<<"$all_defined" || echo "STRAY: bk/$t names no registered BuildKit test" >&2
done
while read -r f t; do
  [ -n "$t" ] || continue
  # (grep -c reads it all: grep -q would end show early, and pipefail would call that a miss)
  show "$f" 2>/dev/null | grep -c "^func $t(t \*testing\.T, sb integration\.Sandbox) {$" >/dev/null ||
    echo "STRAY: NOT-PORTED.md lists $f $t, which that file does not define" >&2
done <<<"$listed"
[ "$tot_u" -eq 0 ]
