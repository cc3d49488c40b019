"""Counts words in words.txt and serves the counts over HTTP (or prints them with --once)."""
import collections
import http.server
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def counts():
    with open(os.path.join(HERE, "words.txt"), encoding="utf-8") as f:
        return collections.Counter(f.read().split()).most_common()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"greeting": os.environ.get("APP_GREETING", ""), "counts": counts()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    if "--once" in sys.argv:
        print(os.environ.get("APP_GREETING", ""), counts())
    else:
        http.server.HTTPServer(("", 8000), Handler).serve_forever()
