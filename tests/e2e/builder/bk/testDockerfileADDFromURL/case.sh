# go: dockerfile_add_test.go testDockerfileADDFromURL
# ADD URL /dest/ names the file after the URL's last element (__unnamed__ for "/"), keeps the
# server's Last-Modified as mtime, and a rebuild revalidates with a HEAD request, not a GET.
mkdir -p "$W/www"
printf content1 >"$W/www/foo"
printf content2 >"$W/www/_index"
mod=$(( $(date +%s) - 86400 ))
echo $mod >"$W/www/_index.lastmod"
bk_http_start "$W/www"
printf 'FROM scratch\nADD %s /dest/\n' "$BK_URL/foo" | bk_dfr
bk_local_ok "build"
check_eq "dest/foo downloaded" content1 "$(cat "$W/out/dest/foo" 2>&1)"
bk_ok "rebuild"
printf 'FROM scratch\nADD %s /dest/\n' "$BK_URL/" | bk_dfr
bk_local_ok "build"
check_eq "dest/__unnamed__ downloaded" content2 "$(cat "$W/out/dest/__unnamed__" 2>&1)"
check_eq "mtime is the Last-Modified" "$mod" "$(stat -c %Y "$W/out/dest/__unnamed__" 2>&1)"
reqs=$(grep ' /foo ' "$BK_HTTP_LOG")
check_eq "/foo: GET then HEAD" "GET HEAD" "$(awk '{print $1}' <<<"$reqs" | xargs)"
check_eq "User-Agent of both" "cbuild/ cbuild/" "$(awk '{print substr($3,1,7)}' <<<"$reqs" | xargs)"
