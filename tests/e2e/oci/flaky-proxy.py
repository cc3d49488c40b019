#!/usr/bin/env python3
"""A reverse proxy in front of docker-registry that answers the first FAILS requests for
each (method, path) with STATUS (503, 429, ...), then forwards. Used to check retries.
    flaky-proxy.py LISTEN_PORT UPSTREAM_HOST:PORT FAILS STATUS COUNTFILE"""
import http.client, http.server, sys, threading

port, upstream, fails, status, countfile = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
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
        c = http.client.HTTPConnection(upstream)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("transfer-encoding", "content-length")}
        if body is not None:
            hdrs["Content-Length"] = str(len(body))
        c.request(self.command, self.path, body=body, headers=hdrs)
        r = c.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "content-length", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        c.close()

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
