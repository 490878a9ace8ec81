"""A small application: ``rttp serve examples.hello:app --bind http://127.0.0.1:8000``.

Routes: ``/`` (a page), ``/echo`` (POST: echoes the body), ``/stream`` (a chunked
response), ``/headers`` (the request headers as JSON), ``/big`` (compressible text).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import trio

import rttp

PAGE = """<!doctype html>
<title>trio-rttp</title>
<h1>Hello from trio-rttp</h1>
<ul>
<li><a href="/stream">/stream</a>: a chunked response, one line every 100 ms</li>
<li><a href="/headers">/headers</a>: your request headers as JSON</li>
<li><a href="/big">/big</a>: 100 kB of text (gzip when your client accepts it)</li>
<li>POST /echo: echoes the request body</li>
</ul>
"""


async def app(request: rttp.Request) -> rttp.Response:
    """Route by path."""
    if request.path == "/":
        return rttp.Response(200, {"Content-Type": "text/html; charset=utf-8"}, PAGE)
    if request.path == "/echo":
        if request.method != "POST":
            return rttp.Response(405, {"Allow": "POST"}, "use POST\n")
        body = await request.read()
        content_type = request.headers.get("content-type", "application/octet-stream")
        return rttp.Response(200, {"Content-Type": content_type}, body)
    if request.path == "/stream":

        async def lines() -> AsyncIterator[bytes]:
            for number in range(5):
                yield f"line {number}\n".encode()
                await trio.sleep(0.1)

        return rttp.Response(200, {"Content-Type": "text/plain"}, lines())
    if request.path == "/headers":
        data = dict(request.headers.multi_items())
        return rttp.Response(200, {"Content-Type": "application/json"}, json.dumps(data))
    if request.path == "/big":
        return rttp.Response(200, {"Content-Type": "text/plain"}, "trio-rttp " * 10_000)
    return rttp.Response(404, body=f"no route for {request.path}\n")
