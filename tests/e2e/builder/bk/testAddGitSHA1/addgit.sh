# testAddGit (dockerfile_addgit_test.go), shared by testAddGitSHA1 and testAddGitSHA256 with
# $FORMAT: ADD of a git URL by tag, with --keep-git-dir, --chown and --checksum, by commit, and
# the checksum errors. The repository is served over dumb HTTP like BuildKit's http.FileServer.
G=$W/git
bk_git_init "$G" "$FORMAT"
for t in v0.0.1 v0.0.2 v0.0.3; do
  echo "foo of $t" >"$G/foo"
  git -C "$G" add foo && git -C "$G" commit -qm "$t" && git -C "$G" tag "$t"
done
git -C "$G" update-server-info
V2=$(git -C "$G" rev-parse v0.0.2)
V3=$(git -C "$G" rev-parse v0.0.3)
bk_http_start "$G"

bk_df_raw <<DF
FROM @BASE@
ADD $BK_URL/.git#v0.0.1 /x
RUN cd /x && [ "\$(cat foo)" = "foo of v0.0.1" ]
ARG REPO="$BK_URL/.git"
ARG TAG="v0.0.2"
ADD --keep-git-dir=true --chown=4242:8484 --checksum=$V2 \${REPO}#\${TAG} /buildkit-chowned
USER 4242
RUN cd /buildkit-chowned && [ "\$(cat foo)" = "foo of v0.0.2" ] && [ "\$(stat -c %u foo)" = "4242" ] && [ "\$(stat -c %g foo)" = "8484" ]
DF
bk_ok "tag, then --keep-git-dir --chown --checksum"
# the image has no git: `git status -s` is asked of the exported tree on the host
bk_local
check_eq "the kept .git checks out clean" "" "$(git -C "$W/out/buildkit-chowned" -c safe.directory='*' status -s 2>&1)"

bk_df_raw <<DF
FROM @BASE@
ARG REPO="$BK_URL/.git"
ARG TAG="v0.0.3"
ADD --checksum=$V3 \${REPO}#\${TAG} /nogitdir
RUN [ -f /nogitdir/foo ]
RUN [ "\$(cat /nogitdir/foo)" = "foo of v0.0.3" ]
RUN [ ! -d /nogitdir/.git ]
DF
bk_ok "--checksum without --keep-git-dir: no .git"

bk_df_raw <<DF
FROM @BASE@
ARG REPO="$BK_URL/.git"
ARG TAG="v0.0.2"
ADD --keep-git-dir --checksum=$V2 \${REPO}#\${TAG} /nogitdir
RUN [ -f /nogitdir/foo ]
RUN [ "\$(cat /nogitdir/foo)" = "foo of v0.0.2" ]
RUN [ -d /nogitdir/.git ]
DF
bk_ok "the ref fetched before, again, with .git"

bk_df_raw <<DF
FROM @BASE@
ARG REPO="$BK_URL/.git"
ARG COMMIT="$V3"
ADD --keep-git-dir=true --checksum=$V3 \${REPO}#\${COMMIT} /commitdir
RUN [ -f /commitdir/foo ]
RUN [ "\$(cat /commitdir/foo)" = "foo of v0.0.3" ]
RUN [ -d /commitdir/.git ]
DF
bk_ok "by commit, with that commit as checksum"

bk_df_raw <<DF
FROM @BASE@
ARG REPO="$BK_URL/.git"
ARG TAG="v0.0.3"
ADD --checksum=$V2 \${REPO}#\${TAG} /faildir
DF
bk_fails "a checksum that does not match" "expected checksum to match"

bk_df_raw <<DF
FROM @BASE@
ARG REPO="$BK_URL/.git"
ARG TAG="v0.0.3"
ADD --checksum=foobar \${REPO}#\${TAG} /faildir
DF
bk_fails "a garbage checksum" "invalid checksum"
check_contains "... expects a hex commit hash" "expected hex commit hash" "$(cat "$T/last.log")"
