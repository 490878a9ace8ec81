"""What runs on the HTTP/2 server unchanged: a hosted Starlette app (through httpx's
HTTP/2 client), an rttp.App (Node's http2 client), a page in headless Chromium over
TLS, and ``rttp serve --http2``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

import rttp

from ..conftest import browse_until, cli_process, system_tool

pytest.importorskip("h2")

Serve = Callable[..., Awaitable[tuple[rttp.Server, rttp.URL]]]


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, StreamingResponse
    from starlette.routing import Route

    async def info(request: Request) -> JSONResponse:
        body = await request.body()
        return JSONResponse(
            {"version": request.scope["http_version"], "size": len(body), "path": request.url.path}
        )

    async def stream(request: Request) -> StreamingResponse:
        async def pieces() -> Any:
            for n in range(5):
                yield f"{n};".encode()

        return StreamingResponse(pieces(), media_type="text/plain")

    return Starlette(
        routes=[Route("/info", info, methods=["GET", "POST"]), Route("/stream", stream)]
    )


async def test_a_starlette_app_over_http2(serve: Serve) -> None:
    pytest.importorskip("starlette")
    _, url = await serve(rttp.asgi(starlette_app()), http2=True)
    async with httpx.AsyncClient(http1=False, http2=True) as client:
        posted = await client.post(f"{url}/info", content=b"z" * 300_000)
        streamed = await client.get(f"{url}/stream")
    assert posted.http_version == "HTTP/2"
    assert posted.json() == {"version": "2", "size": 300_000, "path": "/info"}
    assert streamed.text == "0;1;2;3;4;"


NODE_CLIENT = """
const http2 = require('http2');
const session = http2.connect(process.argv[2]);
let pending = 20, bodies = [];
for (let n = 0; n < 20; n++) {
  const req = session.request({':path': '/items/' + n, ':method': 'GET'});
  let data = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => { data += chunk; });
  req.on('end', () => {
    bodies.push(data);
    if (--pending === 0) { console.log(JSON.stringify(bodies.sort())); session.close(); }
  });
  req.end();
}
"""


async def test_an_app_answers_node_http2_client(serve: Serve, tmp_path: Path) -> None:
    node = system_tool("node", "nodejs")  # installed with apt-get where it can be
    app = rttp.App()

    @app.get("/items/{n}")
    async def item(request: rttp.Request) -> dict[str, str]:
        return {"item": request.parameters["n"]}

    _, url = await serve(app, http2=True)
    script = tmp_path / "client.js"
    script.write_text(NODE_CLIENT)
    done = await trio.run_process([node, str(script), str(url)], capture_stdout=True)
    bodies = sorted(eval(done.stdout.decode()))  # a JSON list of JSON strings
    assert bodies == sorted(f'{{"item":"{n}"}}' for n in range(20))


async def test_chromium_loads_a_page_over_h2(
    serve: Serve, cert_files: dict[str, str], tmp_path: Path
) -> None:
    reported = trio.Event()
    protocols: list[str] = []
    page = (
        "<!doctype html><title>h2</title><script>"
        "fetch('/report?p=' + performance.getEntries()[0].nextHopProtocol)"
        "</script>"
    )

    async def handler(request: rttp.Request) -> Any:
        if request.path == "/report":
            protocols.append(request.params.get("p") or "")
            reported.set()
            return "thanks"
        return rttp.Response(200, {"Content-Type": "text/html"}, page)

    _, url = await serve(
        handler,
        "https://127.0.0.1:0",
        http2=True,
        certfile=cert_files["certfile"],
        keyfile=cert_files["keyfile"],
    )
    await browse_until(
        f"{url}/", tmp_path / "profile", reported, flags=("--ignore-certificate-errors",)
    )
    assert protocols == ["h2"]


async def test_rttp_serve_http2_flag(tmp_path: Path) -> None:
    (tmp_path / "h2app.py").write_text(
        "async def app(request):\n    return f'hello over HTTP/{request.http_version}'\n"
    )
    async with cli_process(
        "serve", "h2app:app", "--http2", "--bind", "http://127.0.0.1:0", cwd=str(tmp_path)
    ) as (url, _):
        done = await trio.run_process(
            ["curl", "-sS", "--http2-prior-knowledge", f"{url}/"], capture_stdout=True
        )
    assert done.stdout == b"hello over HTTP/2"
