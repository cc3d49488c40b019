# go: dockerfile_add_test.go testDockerfileAddArchiveWildcard
# ADD *.tar extracts every matching archive into the destination.
python3 - "$W/ctx" <<'PY'
import io, sys, tarfile
for tn, n, c in [("t.tar", "foo", b"content0"), ("b.tar", "bar", b"content1")]:
    with tarfile.open(sys.argv[1] + "/" + tn, "w", format=tarfile.PAX_FORMAT) as t:
        i = tarfile.TarInfo(n); i.size = len(c); i.mode = 0o644
        t.addfile(i, io.BytesIO(c))
PY
bk_dfr <<'DF'
FROM scratch
ADD *.tar /dest
DF
bk_local_ok "build"
check_eq "dest/foo from t.tar" content0 "$(cat "$W/out/dest/foo" 2>&1)"
check_eq "dest/bar from b.tar" content1 "$(cat "$W/out/dest/bar" 2>&1)"
