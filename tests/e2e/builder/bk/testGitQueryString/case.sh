# go: dockerfile_addgit_test.go testGitQueryString
# The query forms of git URLs (ref, branch, tag, commit, subdir, keep-git-dir, submodules) as a
# build context and as an ADD source, with BuildKit's errors for the conflicting ones.
S=$W/submod
bk_git_init "$S"
echo 123 >"$S/file"
git -C "$S" add file && git -C "$S" commit -qm initial && git -C "$S" update-server-info
bk_http_start "$S"
SUB_URL=$BK_URL
SUB_PID=$BK_HTTP_PID
BK_HTTP_PID= # the main repository's server is started below; both are stopped at the end

G=$W/git
bk_git_init "$G"
echo base >"$G/foo"
cat >"$G/Dockerfile" <<'DF'
FROM scratch AS withgit
COPY .git/HEAD out

FROM scratch as withsubmod
COPY submod/file out

FROM scratch
COPY foo out
DF
(
  cd "$G" && git submodule add -q "$SUB_URL/.git" submod && git add Dockerfile foo submod &&
    git commit -qm initial && git tag v0.0.1 && git branch base &&
    echo feature >foo && mkdir sub && echo subfeature >sub/foo && cp Dockerfile sub/ &&
    git add foo sub && git commit -qm feature && git branch feature &&
    git checkout -q -B master base && echo v0.0.2 >foo && git add foo && git commit -qm v0.0.2 &&
    git tag v0.0.2 && echo latest >foo && git add foo && git commit -qm latest && git tag latest &&
    git update-server-info
) || not_ok "the test repository"
V2=$(git -C "$G" rev-parse v0.0.2)
LATEST=$(git -C "$G" rev-parse latest)
bk_http_start "$G"
U=$BK_URL/.git

# name|url|target|expected out|expected error
cases="tag with invalid commit|$U?tag=v0.0.2&commit=$LATEST|||expected checksum to match
old style ref|$U#v0.0.2||v0.0.2|
querystring ref|$U?ref=base||base|
querystring branch|$U?branch=base||base|
querystring invalid branch|$U?branch=invalid|||repository does not contain ref
tag as branch|$U?branch=v0.0.2|||repository does not contain ref
allowed mixed refs|$U?tag=v0.0.2#refs/tags/v0.0.2||v0.0.2|
v2 by commit|$U?commit=$LATEST||latest|
v2 by commit (wrong short)|$U?commit=${V2:0:8}|||expected checksum to match
v2 by commit (short)|$U?commit=${LATEST:0:8}||latest|
v2 ref by commit|$U?ref=$V2||v0.0.2|
v2 ref by commit (short)|$U?ref=${V2:0:8}|||repository does not contain ref
tag with commit|$U?tag=v0.0.2&commit=$V2||v0.0.2|
commit with commit|$U?ref=$V2&commit=$V2||v0.0.2|
latest with commit|$U?commit=$LATEST||latest|
mismatch refs|$U?tag=v0.0.2#refs/heads/master|||ref conflicts
sub old-style|$U#feature:sub||subfeature|
sub query|$U?subdir=sub&ref=feature||subfeature|
withgit|$U?keep-git-dir=true|withgit|$LATEST|
withgitandtag|$U?tag=v0.0.2&keep-git-dir=true|withgit|$V2|
withgit-default|$U|withgit||.git/HEAD\": not found
withgit-valueless|$U?keep-git-dir&submodules|withgit|$LATEST|
withgit-forbidden|$U?keep-git-dir=false|withgit||.git/HEAD\": not found
withsubmod|$U|withsubmod|123|
withsubmodset|$U?submodules=true|withsubmod|123|
withsubmodempty|$U?submodules|withsubmod|123|
withoutsubmod|$U?submodules=false|withsubmod||submod/file\": not found"

# gq_run NAME EXPECTED-OUT EXPECTED-ERR OUTFILE BUILD-ARGS...
gq_run() {
  local name=$1 want=$2 werr=$3 file=$4 rc out; shift 4
  rm -rf "$W/out"
  "$CBUILD" build --progress=plain -o "type=local,dest=$W/out" "$@" >"$T/last.out" 2>"$T/last.log"; rc=$?
  out=$(cat "$T/last.out" "$T/last.log")
  if [ -n "$werr" ]; then
    if [ $rc -eq 0 ]; then not_ok "$name (unexpectedly succeeded)"
    elif ! failed_cleanly $rc "$out"; then not_ok "$name (crashed: exit $rc)"; diag "$(tail -15 <<<"$out")"
    else check_contains "$name" "$werr" "$out"; fi
  elif [ $rc -ne 0 ]; then not_ok "$name"; diag "$(tail -15 <<<"$out")"
  else check_eq "$name" "$want" "$(cat "$W/out/$file" 2>&1)"; fi
}
while IFS='|' read -r name url target want werr; do
  targs=(); [ -z "$target" ] || targs=(--target "$target")
  gq_run "context_$name" "$want" "$werr" out "${targs[@]}" "$url"
done <<<"$cases"
while IFS='|' read -r name url target want werr; do
  targs=(); [ -z "$target" ] || targs=(--target "$target")
  mkdir -p "$W/addctx"
  cat >"$W/addctx/Dockerfile" <<DF
FROM scratch AS main
ADD $url /repo/

FROM scratch as withsubmod
COPY --from=main /repo/submod/file /repo/foo

FROM scratch AS withgit
COPY --from=main /repo/.git/HEAD /repo/foo

FROM main
DF
  gq_run "add_$name" "$want" "$werr" repo/foo "${targs[@]}" "$W/addctx"
done <<<"$cases"
kill "$SUB_PID" 2>/dev/null; wait "$SUB_PID" 2>/dev/null || true
