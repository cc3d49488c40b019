# testDockerfileFromGit (dockerfile_git_http_test.go), shared by its SHA1 and SHA256 cases with
# $FORMAT: a git repository over HTTP as the build context, at a branch and at HEAD.
G=$W/git
bk_git_init "$G" "$FORMAT"
df='FROM @BASE@ AS build
RUN echo -n fromgit > foo
FROM scratch
COPY --from=build foo bar
'
sed "s|@BASE@|$BASE|" <<<"$df" >"$G/Dockerfile"
git -C "$G" add Dockerfile && git -C "$G" commit -qm initial && git -C "$G" branch first
printf '%sCOPY --from=build foo bar2\n' "$df" | sed "s|@BASE@|$BASE|" >"$G/Dockerfile"
git -C "$G" add Dockerfile && git -C "$G" commit -qm second && git -C "$G" update-server-info
bk_http_start "$G"

# url_local DESC URL [FLAGS...]: builds the URL context into $W/out (one TAP line)
url_local() {
  local d=$1 u=$2; shift 2
  rm -rf "$W/out"
  if "$CBUILD" build --progress=plain -o "type=local,dest=$W/out" "$@" "$u" >"$T/last.out" 2>"$T/last.log"; then ok "$d"
  else not_ok "$d"; diag "$(tail -20 "$T/last.log")"; fi
}
url_local "context at #first" "$BK_URL/.git#first"
check_eq "bar from the branch" fromgit "$(cat "$W/out/bar" 2>&1)"
check "no bar2 on the branch" test ! -e "$W/out/bar2"
url_local "context at the default branch" "$BK_URL/.git"
check_eq "bar at HEAD" fromgit "$(cat "$W/out/bar" 2>&1)"
check_eq "bar2 at HEAD" fromgit "$(cat "$W/out/bar2" 2>&1)"
