# go: dockerfile_parents_test.go testCopyParentsMissingDirectory
# COPY --parents without a pivot keeps the whole path; with one, the part after it; a missing
# file is an error naming it; a wildcard matching nothing (before or after the pivot) copies
# nothing and is not an error.
bk_dfr <<'DF'
FROM @BASE@ AS base
WORKDIR /test
RUN <<eot
	set -ex
	mkdir -p a/b/c/d/e
	touch a/b/c/d/foo
	touch a/b/c/d/e/bay
eot

FROM @BASE@ AS normal
COPY --from=base --parents /test/a/b/c/d /out/

FROM @BASE@ AS withpivot
COPY --from=base --parents /test/a/b/./c/d /out/

FROM @BASE@ AS nonexistentfile
COPY --from=base --parents /test/nonexistent-file /out/

FROM @BASE@ AS wildcard-nonexistent
COPY --from=base --parents /test/a/b2*/c /out/

FROM @BASE@ AS wildcard-afterpivot
COPY --from=base --parents /test/a/b/./c2* /out/
DF
target() { # TARGET CHECKS...: each check is "-d PATH", "-f PATH" or "! -d PATH"
  local t=$1; shift
  bk_local_ok "$t: build" --target "$t" || return
  local c
  for c in "$@"; do
    # shellcheck disable=SC2086
    check "$t: [ $c ]" test ${c%% *} ${c#* }
  done
}
o=$W/out/out
target normal "-d $o/test/a/b/c/d/e" "-f $o/test/a/b/c/d/e/bay" "! -d $o/e" "! -d $o/a"
target withpivot "-d $o/c/d/e" "-f $o/c/d/foo" "! -d $o/a" "! -d $o/e"
bk_fails "nonexistentfile: an error naming the file" '"/test/nonexistent-file": not found' --target nonexistentfile
target wildcard-nonexistent "-d $o" "! -d $o/a"
target wildcard-afterpivot "-d $o" "! -d $o/a"
check "wildcard-afterpivot: [ ! -d $o/c* ]" sh -c "! ls -d $o/c* >/dev/null 2>&1"
