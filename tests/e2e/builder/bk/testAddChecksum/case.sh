# go: dockerfile_add_test.go testAddChecksum
# ADD --checksum: a matching digest (literal or from ENV) passes; a mismatch, an unsupported
# or unknown algorithm, a digest without algorithm, and a local source are errors.
mkdir -p "$W/www"
printf content1 >"$W/www/foo"
bk_http_start "$W/www"
sum=$(printf content1 | sha256sum | cut -d' ' -f1)
empty=$(printf '' | sha256sum | cut -d' ' -f1)
printf 'FROM scratch\nADD --checksum=sha256:%s %s /tmp/foo\n' "$sum" "$BK_URL/foo" | bk_dfr
bk_ok "Valid"
printf 'FROM scratch\nENV DIGEST=sha256:%s\nENV LINK=%s\nADD --checksum=${DIGEST} ${LINK} /tmp/foo\n' "$sum" "$BK_URL/foo" | bk_dfr
bk_ok "DigestFromEnv"
printf 'FROM scratch\nADD --checksum=sha256:%s %s /tmp/foo\n' "$empty" "$BK_URL/foo" | bk_dfr
bk_fails "DigestMismatch" "digest mismatch"
printf 'FROM scratch\nADD --checksum=md5:7e55db001d319a94b0b713529a756623 %s /tmp/foo\n' "$BK_URL/foo" | bk_dfr
bk_fails "DigestWithKnownButUnsupportedAlgoName" "unsupported digest algorithm"
printf 'FROM scratch\nADD --checksum=unknown:%s %s /tmp/foo\n' "$sum" "$BK_URL/foo" | bk_dfr
bk_fails "DigestWithUnknownAlgoName" "unsupported digest algorithm"
printf 'FROM scratch\nADD --checksum=%s %s /tmp/foo\n' "$sum" "$BK_URL/foo" | bk_dfr
bk_fails "DigestWithoutAlgoName" "invalid checksum digest format"
printf 'local file' | bk_file foo 0600
printf 'FROM scratch\nADD --checksum=sha256:%s foo /tmp/foo\n' "$(printf 'local file' | sha256sum | cut -d' ' -f1)" | bk_dfr
bk_fails "NonHTTPSource" "checksum requires HTTP(S) or Git sources"
