#!/usr/bin/env python3
"""A reverse proxy in front of docker-registry that answers the first FAILS requests for
each (method, path) with STATUS (503, 429, ...), then forwards. Used to check retries.
STATUS may also name a fault on blob transfers (other requests are forwarded):
  cut    GET of a blob: the full Content-Length, half the bytes, then the connection closes
         (the registry dies mid-pull)
  short  GET of a blob: 200 with only the first half and a Content-Length that says so
         (a truncated blob)
  drop   PATCH/PUT of an upload: the body is read, then the connection closes without an
         answer (the registry dies mid-push)
    flaky-proxy.py LISTEN_PORT UPSTREAM_HOST:PORT FAILS STATUS COUNTFILE"""
import http.client, http.server, sys, threading

port, upstream, fails, countfile = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[5]
status = int(sys.argv[4]) if sys.argv[4].isdigit() else sys.argv[4]
seen, served, lock = {}, [0], threading.Lock()


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            body = b"".join(chunks)
        key = (self.command, self.path.split("?")[0])
        if isinstance(status, str):
            blob_get = self.command == "GET" and "/blobs/sha256:" in self.path
            upload = self.command in ("PATCH", "PUT") and "/blobs/uploads/" in self.path
            if not ((status in ("cut", "short") and blob_get) or (status == "drop" and upload)):
                return self.forward(body)
            with lock:
                seen[key] = seen.get(key, 0) + 1
                fail = seen[key] <= fails
                if fail:
                    served[0] += 1
                    open(countfile, "w").write(str(served[0]))
            if not fail:
                return self.forward(body)
            if status == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            return self.forward(body, truncate=status)
        with lock:
            seen[key] = seen.get(key, 0) + 1
            fail = seen[key] <= fails
            if fail:
                served[0] += 1
                open(countfile, "w").write(str(served[0]))
        if fail:
            msg = b'{"errors":[{"code":"UNAVAILABLE","message":"try again"}]}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(msg)))
            if status == 429:
                self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(msg)
            return
        self.forward(body)

    def forward(self, body, truncate=None):
        c = http.client.HTTPConnection(upstream)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("transfer-encoding", "content-length")}
        if body is not None:
            hdrs["Content-Length"] = str(len(body))
        c.request(self.command, self.path, body=body, headers=hdrs)
        r = c.getresponse()
        data = r.read()
        full = len(data)
        if truncate and r.status in (200, 206) and full > 1:
            data = data[: full // 2]
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() in ("transfer-encoding", "content-length", "connection"):
                continue
            if k.lower() == "content-range" and truncate == "short":
                continue
            self.send_header(k, v)
        self.send_header("Content-Length", str(full if truncate == "cut" else len(data)))
        if truncate == "cut":
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        if truncate == "cut":
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
        c.close()

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
