# go: dockerfile_add_test.go testDockerfileAddArchive
# ADD extracts local tar and tar.gz (not with --unpack=false); COPY never extracts; ADD from a
# URL does not extract unless --unpack=true, and keeps the destination name it is given.
mkdir -p "$W/www"
python3 - "$W/ctx/t.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    i = tarfile.TarInfo("foo"); i.size = 8; i.mode = 0o644
    t.addfile(i, io.BytesIO(b"content0"))
PY
gzip -c "$W/ctx/t.tar" >"$W/t.tar.gz"
cp "$W/t.tar.gz" "$W/www/t.tar.gz"
bk_http_start "$W/www"
export_case() { # DESC DOCKERFILE-BODY
  printf 'FROM scratch\n%s\n' "$2" | bk_dfr
  bk_local_ok "$1"
}
export_case tar 'ADD t.tar /'
check_eq "ADD t.tar / extracts foo" content0 "$(cat "$W/out/foo" 2>&1)"
rm "$W/ctx/t.tar"; cp "$W/t.tar.gz" "$W/ctx/t.tar.gz"
export_case gz 'ADD t.tar.gz /'
check_eq "ADD t.tar.gz / extracts foo" content0 "$(cat "$W/out/foo" 2>&1)"
export_case nounpack 'ADD --unpack=false t.tar.gz /'
check "--unpack=false: no foo" test ! -e "$W/out/foo"
check "--unpack=false: t.tar.gz as is" cmp "$W/t.tar.gz" "$W/out/t.tar.gz"
export_case copy 'COPY t.tar.gz /'
check "COPY t.tar.gz: not extracted" cmp "$W/t.tar.gz" "$W/out/t.tar.gz"
export_case url "ADD $BK_URL/t.tar.gz /"
check "ADD URL: not extracted" cmp "$W/t.tar.gz" "$W/out/t.tar.gz"
export_case urlunpack "ADD --unpack=true $BK_URL/t.tar.gz /dest/"
check_eq "ADD --unpack=true URL /dest/ extracts" content0 "$(cat "$W/out/dest/foo" 2>&1)"
export_case rename "ADD $BK_URL/t.tar.gz /newname.tar.gz"
check "ADD URL /newname.tar.gz keeps the name" cmp "$W/t.tar.gz" "$W/out/newname.tar.gz"
