"""A browser as the client: headless Chromium loads a Starlette page served by rttp,
and the page's JavaScript opens a WebSocket to the same app, sends a message, reads
the echo and reports it back over HTTP. (Chromium is installed with apt-get where it
can be; the test is skipped, saying so, where it cannot.)"""

from __future__ import annotations

import pytest
import trio

import rttp
from tests.conftest import browse_until

pytest.importorskip("starlette", reason="Starlette is part of the test extra")

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

PAGE = """<!doctype html>
<html><head><title>rttp</title></head><body><p id="out">waiting</p>
<script>
const ws = new WebSocket(`ws://${location.host}/ws`, ["chat"]);
ws.onopen = () => ws.send("hello from the browser");
ws.onmessage = async (event) => {
  document.getElementById("out").textContent = event.data;
  await fetch("/report", {method: "POST", body: event.data + " | " + ws.protocol});
  ws.close(1000);
};
ws.onerror = () => fetch("/report", {method: "POST", body: "websocket error"});
</script></body></html>
"""


def make_app(reports: list[str], reported: trio.Event) -> Starlette:
    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(PAGE)

    async def report(request: Request) -> PlainTextResponse:
        reports.append((await request.body()).decode())
        reported.set()
        return PlainTextResponse("thanks")

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept(subprotocol="chat")
        text = await websocket.receive_text()
        await websocket.send_text(f"rttp echoes: {text}")
        await websocket.receive()  # the browser's close

    return Starlette(
        routes=[
            Route("/", page),
            Route("/report", report, methods=["POST"]),
            WebSocketRoute("/ws", echo),
        ]
    )


async def test_chromium_loads_a_page_whose_script_talks_over_a_websocket(nursery, tmp_path):
    reports: list[str] = []
    reported = trio.Event()
    server = rttp.Server(
        rttp.asgi(make_app(reports, reported)), "http://127.0.0.1:0", access_log=False
    )
    url = (await nursery.start(server.serve))[0]
    await browse_until(f"{url}/", tmp_path / "profile", reported)
    assert reports == ["rttp echoes: hello from the browser | chat"]
