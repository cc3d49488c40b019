# go: exclude_patterns_test.go testExcludedFilesOnCopy
# COPY/ADD --exclude (repeated, with wildcard sources, symlinks kept as links): the files each
# stage keeps, from the local context and then from a git repository ADDed into a stage (COPY
# --from=base instead of ADD there); a stage that excludes everything keeps an empty folder.
S=$W/src
mkdir -p "$S"/dir1 "$S"/dir2 "$S"/dir3 "$S"/dir4
printf 2 >"$S/dir1/file-101.png"; printf 3 >"$S/dir1/file-102.txt"; printf 4 >"$S/dir1/file-103.jpeg"
printf 6 >"$S/dir2/file-201.pdf"; printf 7 >"$S/dir2/file-202.jpeg"; printf 8 >"$S/dir2/file-203.png"
printf 9 >"$S/dir3/file-301.mp3"; printf 10 >"$S/dir3/file-302.mpeg"; printf 11 >"$S/dir4/file-401.txt"
ln -s file-401.txt "$S/dir4/file-402.txt"; ln -s file-404.txt "$S/dir4/file-403.txt"
find "$S" -type f -exec chmod 0600 {} +
# what every stage keeps: "PATH CONTENT" (a symlink's content is its target), "PATH -" is absent
expected='builder1/1/dir1/file-101.png -
builder1/1/dir1/file-102.txt 3
builder1/1/dir1/file-103.jpeg -
builder1/1/dir2/file-201.pdf 6
builder1/1/dir2/file-202.jpeg -
builder1/1/dir2/file-203.png -
builder1/1/dir3/file-301.mp3 9
builder1/1/dir3/file-302.mpeg 10
builder1/1/dir4/file-401.txt 11
builder1/1/dir4/file-402.txt file-401.txt
builder1/1/dir4/file-403.txt file-404.txt
builder2/2/dir1/file-101.png 2
builder2/2/dir1/file-102.txt -
builder2/2/dir1/file-103.jpeg 4
builder2/2/dir2/file-201.pdf -
builder2/2/dir2/file-202.jpeg 7
builder2/2/dir2/file-203.png 8
builder2/2/dir3/file-301.mp3 9
builder2/2/dir3/file-302.mpeg 10
builder2/2/dir4/file-401.txt -
builder2/2/dir4/file-402.txt -
builder2/2/dir4/file-403.txt -
builder3/3/file-301.mp3 -
builder3/3/file-302.mpeg 10
builder4/4/file-101.png -
builder4/4/file-102.txt -
builder4/4/file-103.jpeg -
builder4/4/file-201.pdf -
builder4/4/file-202.jpeg -
builder4/4/file-203.png -
builder4/4/file-301.mp3 -
builder4/4/file-302.mpeg 10
builder4/4/dir4/file-401.txt -
builder4/4/dir4/file-402.txt -
builder4/4/dir4/file-403.txt -
builder5/5/file-101.png -
builder5/5/file-102.txt 3
builder5/5/file-103.jpeg -
builder5/5/file-201.pdf -
builder5/5/file-202.jpeg -
builder5/5/file-203.png -
builder5/5/file-301.mp3 -
builder5/5/file-302.mpeg -
builder5/5/file-401.txt 11
builder5/5/file-402.txt file-401.txt
builder5/5/file-403.txt file-404.txt'
# check_out WHAT: $W/out against $expected, and builder6/6 empty
check_out() {
  local bad= p want got
  while read -r p want; do
    if [ -L "$W/out/$p" ]; then got=$(readlink "$W/out/$p")
    elif [ -e "$W/out/$p" ]; then got=$(cat "$W/out/$p")
    else got=-; fi
    [ "$got" = "$want" ] || bad+="$p: want $want, got $got; "
  done <<<"$expected"
  check_eq "$1: the files kept and excluded" "" "$bad"
  check_eq "$1: builder6/6 is an empty folder" "" "$(ls -A "$W/out/builder6/6" 2>&1)"
}
final='FROM scratch
COPY --from=builder1 / /builder1
COPY --from=builder2 / /builder2
COPY --from=builder3 / /builder3
COPY --from=builder4 / /builder4
COPY --from=builder5 / /builder5
COPY --from=builder6 / /builder6'
rm -rf "$W/ctx" && cp -a "$S" "$W/ctx"
cat >"$W/ctx/Dockerfile.ex" <<DF
# image files out
FROM scratch as builder1
COPY --exclude=*/*.png --exclude=*/*.jpeg . /1
# documents out
FROM scratch as builder2
COPY --exclude=*/*.pdf --exclude=*/*.txt . /2
# mp3 out
FROM scratch as builder3
ADD --exclude=*.mp3 dir3/ /3/
# only .mpeg files, the sources a wildcard
FROM scratch as builder4
COPY --exclude=*.mp3 --exclude=*.jpeg --exclude=*.png --exclude=*.pdf --exclude=*.txt dir* /4/
# only .txt files
FROM scratch as builder5
ADD --exclude=*.mp* --exclude=*.jpeg --exclude=*.png --exclude=*.pdf dir* /5
# everything out
FROM scratch as builder6
ADD --exclude=* dir* /6
$final
DF
mv "$W/ctx/Dockerfile.ex" "$W/dockerfile-local"
bk_local_ok "the local context" -f "$W/dockerfile-local"
check_out "local context"

# the same tree as a git repository (tag 0.1), ADDed into a stage the others copy from
G=$W/git
cp -a "$S" "$G"
bk_git_init "$G"
git -C "$G" add . && git -C "$G" commit -qm 0.1 && git -C "$G" tag 0.1 && git -C "$G" update-server-info
bk_http_start "$G"
rm -rf "$W/ctx" && mkdir -p "$W/ctx"
cat >"$W/ctx/Dockerfile" <<DF
FROM scratch AS base
ARG REPO="$BK_URL/.git"
ARG TAG="0.1"
ADD --keep-git-dir=true \${REPO}#\${TAG} /
FROM scratch as builder1
COPY --from=base --exclude=*/*.png --exclude=*/*.jpeg . /1
FROM scratch as builder2
COPY --from=base --exclude=*/*.pdf --exclude=*/*.txt . /2
FROM scratch as builder3
COPY --from=base --exclude=*.mp3 dir3/ /3/
FROM scratch as builder4
COPY --from=base --exclude=*.mp3 --exclude=*.jpeg --exclude=*.png --exclude=*.pdf --exclude=*.txt dir* /4/
FROM scratch as builder5
COPY --from=base --exclude=*.mp* --exclude=*.jpeg --exclude=*.png --exclude=*.pdf dir* /5
FROM scratch as builder6
COPY --from=base --exclude=* dir* /6
$final
DF
bk_local_ok "a git repository ADDed into a stage"
check_out "git"
