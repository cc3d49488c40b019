# go: dockerfile_parents_test.go testCopyRelativeParents
# COPY --from --parents with /./ pivots (one or two), a trailing /., a ./ start, * and **
# globs, and two sources; each target stage is built in turn.
bk_dfr <<'DF'
FROM @BASE@ AS base
WORKDIR /test
RUN <<eot
	set -ex
	mkdir -p a/b/c/d/e
	mkdir -p a/b2/c/d/e
	mkdir -p a/b/c2/d/e
	mkdir -p a/b/c2/d/e2
	touch a/b/c/d/foo
	touch a/b/c/d/e/bay
	touch a/b2/c/d/e/bar
	touch a/b/c2/d/e/baz
	touch a/b/c2/d/e2/baz
eot

FROM @BASE@ AS middle
COPY --from=base --parents /test/a/b/./c/d /out/

FROM @BASE@ AS end
COPY --from=base --parents /test/a/b/c/d/. /out/

FROM @BASE@ AS start
COPY --from=base --parents ./test/a/b/c/d /out/

FROM @BASE@ AS double
COPY --from=base --parents /test/a/./b/./c /out/

FROM @BASE@ AS wildcard
COPY --from=base --parents /test/a/./*/c /out/

FROM @BASE@ AS doublewildcard
COPY --from=base --parents /test/a/b*/./c/**/e /out/

FROM @BASE@ AS doubleinputs
COPY --from=base --parents /test/a/b/c*/./d/**/baz /test/a/b*/./c/**/bar /out/
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
target middle "-d $o/c/d/e" "-f $o/c/d/foo" "! -d $o/a" "! -d $o/e"
target end "-d $o/test/a/b/c/d/e" "-f $o/test/a/b/c/d/foo"
target start "-d $o/test/a/b/c/d/e" "-f $o/test/a/b/c/d/foo"
target double "-d $o/b/c/d/e" "-f $o/b/c/d/foo"
target wildcard "-d $o/b/c/d/e" "-f $o/b2/c/d/e/bar"
target doublewildcard "-d $o/c/d/e" "-f $o/c/d/e/bay" "-f $o/c/d/e/bar"
target doubleinputs "-f $o/d/e/baz" "! -f $o/d/e/bay" "-f $o/d/e2/baz" "-f $o/c/d/e/bar"
