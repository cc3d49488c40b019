# go: dockerfile_add_test.go testDockerfileAddChownArchive
# ADD --chown of a local archive owns the extracted files and the created destination.
python3 - "$W/ctx/t.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    i = tarfile.TarInfo("foo"); i.size = 8; i.mode = 0o644
    t.addfile(i, io.BytesIO(b"content0"))
PY
bk_dfr <<'DF'
FROM scratch
ADD --chown=100:200 t.tar /out/
DF
bk_build -o "type=tar,dest=$W/out.tar"
ls_tar() {
  python3 - "$W/out.tar" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    for m in t.getmembers():
        n = m.name.lstrip("./").rstrip("/")
        data = t.extractfile(m).read().decode() if m.isfile() else ""
        print(n, "%d:%d" % (m.uid, m.gid), data)
PY
}
l=$(ls_tar 2>&1)
check_eq "out/foo is 100:200 with its content" "out/foo 100:200 content0" "$(grep '^out/foo ' <<<"$l")"
check_eq "out/ is 100:200" "out 100:200" "$(grep '^out ' <<<"$l" | sed 's/ *$//')"
