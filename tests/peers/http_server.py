"""A peer server we did not write: Python's http.server (HTTP/1.1, threading).

Run as a script: prints ``PORT <n>`` once listening on 127.0.0.1, then serves until killed.
The routes exercise the client: redirects, gzip, chunked, slow answers, echo, closing.
"""

from __future__ import annotations

import gzip
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # quiet
        pass

    def _send(self, status, body, headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/hello":
            self._send(200, b"hello from http.server", [("Content-Type", "text/plain")])
        elif url.path == "/redirect":
            self._send(int(query.get("code", "302")), b"", [("Location", query["to"])])
        elif url.path == "/gzip":
            self._send(200, gzip.compress(b"gzipped " * 1000), [("Content-Encoding", "gzip")])
        elif url.path == "/bomb":
            self._send(200, gzip.compress(b"\0" * (40 << 20)), [("Content-Encoding", "gzip")])
        elif url.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"one ", b"two ", b"three"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif url.path == "/slow":
            time.sleep(float(query.get("delay", "1")))
            self._send(200, b"slow")
        elif url.path == "/headers":
            self._send(
                200,
                json.dumps(dict(self.headers.items())).encode(),
                [("Content-Type", "application/json")],
            )
        elif url.path == "/close":
            self._send(200, b"closing", [("Connection", "close")])
            self.close_connection = True
        else:
            self._send(404, b"not found")

    do_HEAD = do_GET

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self._send(
            200,
            body,
            [("Content-Type", self.headers.get("Content-Type", "application/octet-stream"))],
        )

    do_PUT = do_POST


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)
