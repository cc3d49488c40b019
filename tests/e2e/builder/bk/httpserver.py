#!/usr/bin/env python3
"""Test HTTP server for the ported ADD-from-URL cases (BuildKit's util/testutil/httpserver).

httpserver.py ROOT PORTFILE LOG: serves ROOT/<path> (ROOT/_index for "/"), each with a fixed
ETag; a file ROOT/<path>.lastmod holds its Last-Modified (seconds since the epoch). Honours
If-None-Match (304). Every request is appended to LOG as "METHOD PATH USER-AGENT".
"""
import email.utils
import hashlib
import http.server
import os
import sys

ROOT, PORTFILE, LOG = sys.argv[1:4]


class Handler(http.server.BaseHTTPRequestHandler):
    def _file(self):
        rel = self.path.split("?", 1)[0].lstrip("/") or "_index"
        p = os.path.join(ROOT, rel)
        return p if os.path.isfile(p) else None

    def _serve(self, body):
        with open(LOG, "a") as f:
            f.write(f"{self.command} {self.path} {self.headers.get('User-Agent', '')}\n")
        p = self._file()
        if p is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        data = open(p, "rb").read()
        etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(data)))
        if os.path.isfile(p + ".lastmod"):
            t = int(open(p + ".lastmod").read().strip())
            self.send_header("Last-Modified", email.utils.formatdate(t, usegmt=True))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_GET(self):
        self._serve(True)

    def do_HEAD(self):
        self._serve(False)

    def log_message(self, *a):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
