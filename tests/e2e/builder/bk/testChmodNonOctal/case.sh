# go: dockerfile_copy_test.go testChmodNonOctal
# Symbolic --chmod (as chmod(1): go-w, u=rw,g=r,o=r, a+X, u+rw,g+r,o-x,o+w) on files and on
# directories, compared with chmod(1) applied to the same input in the VM.
bk_dfr <<'DF'
FROM @BASE@ as base
RUN <<eot
	set -ex
	mkdir /input
	touch /input/file
	chmod 666 /input/file
	mkdir /input/dir
	chmod 124 /input/dir
	mkdir /expected
eot
RUN <<eot
	set -ex
	cp -a /input/file /expected/f1 && chmod go-w /expected/f1
	cp -a /input/file /expected/f2 && chmod u=rw,g=r,o=r /expected/f2
	cp -a /input/file /expected/f3 && chmod a+X /expected/f3
	mkdir -p /input/dirs/d1 && cp -a /input/dir /input/dirs/d1/d1
	cp -a /input/dirs/d1/. /expected/ && chmod go-w /expected/d1
	mkdir -p /input/dirs/d2 && cp -a /input/dir /input/dirs/d2/d2
	cp -a /input/dirs/d2/. /expected/ && chmod u+rw,g+r,o-x,o+w /expected/d2
	mkdir -p /input/dirs/d3 && cp -a /input/dir /input/dirs/d3/d3
	cp -a /input/dirs/d3/. /expected/ && chmod a+X /expected/d3
eot
FROM scratch as result
COPY --from=base --chmod=go-w /input/file /f1
COPY --from=base --chmod=u=rw,g=r,o=r /input/file /f2
COPY --from=base --chmod=a+X /input/file /f3
COPY --from=base --chmod=go-w /input/dirs/d1 /
COPY --from=base --chmod=u+rw,g+r,o-x,o+w /input/dirs/d2 /
COPY --from=base --chmod=a+X /input/dirs/d3 /
FROM base
COPY --from=result / /actual/
RUN for f in f1 f2 f3 d1 d2 d3; do \
      a=$(stat -c %A /actual/$f); e=$(stat -c %A /expected/$f); \
      [ "$a" = "$e" ] || { echo "$f: got $a, chmod(1) gives $e"; exit 1; }; done
DF
bk_ok "symbolic --chmod modes match chmod(1)"
