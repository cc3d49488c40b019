# go: dockerfile_workdir_test.go testWorkdirSourceDateEpochReproducible
# With the SOURCE_DATE_EPOCH build arg, WORKDIR's layer is reproducible: two builds from empty
# stores, seconds apart, give the same OCI index.json.
bk_dfr <<'DF'
FROM @BASE@
WORKDIR /mydir
DF
epoch=$(date -u -d '2023-01-10 15:34:56' +%s)
bk_ok "first build" --build-arg SOURCE_DATE_EPOCH=$epoch -o "type=oci,dest=$W/oci1.tar"
rm -rf "$CBUILD_ROOT"
sleep 3
bk_ok "second build, empty store" --build-arg SOURCE_DATE_EPOCH=$epoch -o "type=oci,dest=$W/oci2.tar"
i1=$(tar -xOf "$W/oci1.tar" index.json 2>&1)
i2=$(tar -xOf "$W/oci2.tar" index.json 2>&1)
check_eq "index.json identical" "$i1" "$i2"
