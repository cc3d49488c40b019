#!/bin/bash
# ADD <url> through oci/'s HTTP layer: a 503 is retried, a 404 fails with BuildKit's words, a
# stalled server times out, Last-Modified becomes the file's mtime. No VM needed.
. "$CBUILD_SRC/tests/e2e/builder/common.sh"
start_base_registry
need python3
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$T/srv.py" <<'PY'
import http.server, sys, time
hits = {}
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        hits[self.path] = hits.get(self.path, 0) + 1
        if self.path == "/flaky" and hits[self.path] < 3:
            self.send_response(503); self.end_headers(); return
        if self.path == "/stall":
            self.send_response(200); self.send_header("Content-Length", "100"); self.end_headers()
            self.wfile.write(b"x"); self.wfile.flush(); time.sleep(30); return
        if self.path in ("/flaky", "/dated"):
            body = b"payload-" + self.path[1:].encode() + b"\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Last-Modified", "Tue, 15 Nov 1994 08:12:31 GMT")
            self.end_headers(); self.wfile.write(body); return
        self.send_response(404); self.end_headers()
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 "$T/srv.py" "$PORT" & SRV=$!
sleep 0.5
C=$(ctx addurl <<EOF
FROM $BASE
ADD http://127.0.0.1:$PORT/flaky /got/flaky
ADD http://127.0.0.1:$PORT/dated /got/
EOF
)
if build "$C" addurl; then ok "ADD of a URL that answers 503 twice, then 200"; else not_ok "ADD of a flaky URL"; diag "$(tail -20 "$T/last.log")"; fi
unpack addurl "$T/u"
check_eq "the retried download is complete" payload-flaky "$(cat "$T/u/rootfs/got/flaky" 2>&1)"
check_eq "Last-Modified is the file's mtime" 784887151 "$(stat -c %Y "$T/u/rootfs/got/dated" 2>&1)"
M=$(ctx addmissing <<EOF
FROM $BASE
ADD http://127.0.0.1:$PORT/nothere /x
EOF
)
check_fails "a 404 fails the build" build "$M" addmissing
check_contains "with BuildKit's words" "invalid response status 404" "$(cat "$T/last.log")"
S=$(ctx addstall <<EOF
FROM $BASE
ADD http://127.0.0.1:$PORT/stall /x
EOF
)
start=$(date +%s)
export CBUILD_HTTP_TIMEOUT=2
check_fails "a server that stalls fails" build "$S" addstall
unset CBUILD_HTTP_TIMEOUT
check "... within the stall timeout and its retries" test $(( $(date +%s) - start )) -lt 60
kill $SRV 2>/dev/null
