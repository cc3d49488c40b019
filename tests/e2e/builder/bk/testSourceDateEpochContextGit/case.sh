# go: dockerfile_source_date_epoch_test.go testSourceDateEpochContextGit
# SOURCE_DATE_EPOCH=context with a git context (served over dumb HTTP): the commit's time is
# the image's created time.
. "$BK/sde-lib.sh"
G=$W/git
bk_git_init "$G"
printf 'FROM scratch\nCOPY Dockerfile /\n' >"$G/Dockerfile"
git -C "$G" add Dockerfile &&
  GIT_AUTHOR_DATE=2023-11-14T22:15:01Z GIT_COMMITTER_DATE=2023-11-14T22:15:01Z git -C "$G" commit -qm msg &&
  git -C "$G" update-server-info
bk_http_start "$G"
if "$CBUILD" build --progress=plain --build-arg SOURCE_DATE_EPOCH=context -o "type=oci,dest=$W/out.tar" \
  "$BK_URL/.git" >"$T/last.out" 2>"$T/last.log"; then ok "build the git context"
else not_ok "build the git context"; diag "$(tail -20 "$T/last.log")"; fi
sde_oci "$W/out.tar"
check_eq "created is the commit's time" 1700000101 "$(sde_created)"
