"""The ceiling of any ASGI host on Trio: the asgi suite's ``on bare trio`` rows.

One task per connection, ``httptools`` for the parsing, the socket called directly
(no :class:`trio.SocketStream`), one scheduler pass per request, a scope with every key
the spec asks for, and the answer written in one ``send``. Nothing else: no limits, no
timeouts, no validation of what the app sends, no keep-alive rules, no access log, no
request body. It answers the benchmark's GET requests correctly and nothing more; it
is a measuring stick, never a server. What rttp costs above it is its engine's work,
not Trio's (docs/performance.rst).
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

_ASGI = {"version": "3.0", "spec_version": "2.4"}


class _Parsed:
    """httptools' callbacks: each complete request's target and header fields."""

    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.done: list[tuple[bytes, list[tuple[bytes, bytes]]]] = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_message_complete(self) -> None:
        self.done.append((self.url, self.headers))
        self.url = b""
        self.headers = []


async def _nothing_more() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def serve(app: Any, port: int) -> None:
    """Serve ``app`` on ``127.0.0.1:port`` until the process ends."""
    import httptools
    import trio
    from trio.lowlevel import checkpoint, wait_readable

    async def connection(stream: trio.SocketStream) -> None:
        sock = stream.socket._sock  # type: ignore[attr-defined]
        parsed = _Parsed()
        parser = httptools.HttpRequestParser(parsed)
        client, server = sock.getpeername(), sock.getsockname()
        while True:
            await checkpoint()
            try:
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    await wait_readable(sock)
                    data = sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            parser.feed_data(data)
            while parsed.done:
                url, headers = parsed.done.pop(0)
                path, _, query = url.partition(b"?")
                scope = {
                    "type": "http",
                    "asgi": _ASGI,
                    "http_version": "1.1",
                    "method": parser.get_method().decode("ascii"),
                    "scheme": "http",
                    "path": path.decode("latin-1"),
                    "raw_path": path,
                    "query_string": query,
                    "root_path": "",
                    "headers": headers,
                    "client": client,
                    "server": server,
                    "extensions": {},
                    "state": {},
                }
                head: list[bytes] = []

                async def send(message: dict[str, Any], head: list[bytes] = head) -> None:
                    if message["type"] == "http.response.start":
                        head.append(b"HTTP/1.1 %d OK\r\n" % message["status"])
                        for name, value in message.get("headers", ()):
                            head += (name, b": ", value, b"\r\n")
                        return
                    body = message.get("body", b"")
                    if b"content-length" not in head:
                        head.append(b"content-length: %d\r\n" % len(body))
                    head += (b"\r\n", body)
                    with contextlib.suppress(OSError):  # (the client left)
                        sock.send(b"".join(head))

                await app(scope, _nothing_more, send)

    trio.run(functools.partial(trio.serve_tcp, connection, port, host="127.0.0.1"))
