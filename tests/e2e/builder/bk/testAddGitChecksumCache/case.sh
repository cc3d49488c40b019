# go: dockerfile_addgit_test.go testAddGitChecksumCache
# Adding --checksum to a git ADD keeps the cache: the second build's RUN (random output) is the
# first's, because both resolve the tag to the same commit.
G=$W/git
bk_git_init "$G"
for t in v0.0.1 v0.0.2; do
  echo "foo of $t" >"$G/foo"
  git -C "$G" add foo && git -C "$G" commit -qm "$t" && git -C "$G" tag "$t"
done
git -C "$G" update-server-info
SUM=$(git -C "$G" rev-parse v0.0.2)
bk_http_start "$G"

bk_df_raw <<DF
FROM @BASE@ AS src
ADD --keep-git-dir $BK_URL/.git#v0.0.2 /repo
RUN head -c 16 /dev/urandom | base64 > /repo/unique.txt

FROM scratch
COPY --from=src /repo/unique.txt /
DF
bk_local_ok "without checksum"
u1=$(cat "$W/out/unique.txt" 2>&1)

bk_df_raw <<DF
FROM @BASE@ AS src
ADD --keep-git-dir --checksum=$SUM $BK_URL/.git#v0.0.2 /repo
RUN head -c 16 /dev/urandom | base64 > /repo/unique.txt

FROM scratch
COPY --from=src /repo/unique.txt /
DF
bk_local_ok "with the commit as checksum"
check "the first build wrote a unique file" test -n "$u1"
check_eq "the cache matched: the same unique file" "$u1" "$(cat "$W/out/unique.txt" 2>&1)"
