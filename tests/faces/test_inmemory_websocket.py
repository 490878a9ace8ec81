"""WebSockets to an application in memory, through the real engine: ``Client(app=app)``
has ``websocket()``, and ``rttp.websocket`` / ``connect_websocket`` take plugin objects
(``AppTransport(app)``) as the HTTP client does. For an rttp.App and a hosted Starlette
app alike."""

from __future__ import annotations

import pytest

import rttp
from rttp.testing import AppTransport


def make_app() -> rttp.App:
    app = rttp.App()

    @app.socket("/echo")
    async def echo(conn, opcode, data, extra):
        if opcode == rttp.Opcode.text:
            await conn.text(f"echo: {data}")

    return app


async def test_client_app_websocket_reaches_an_app_in_memory():
    async with rttp.Client(app=make_app()) as client:
        async with await client.websocket("ws://testserver/echo") as ws:
            await ws.send("hi")
            event = await ws.receive()
        http = await client.get("/echo")  # the same app over HTTP: a socket path
    assert event.data == "echo: hi"
    assert http.status == 426


async def test_connect_websocket_takes_plugin_objects():
    ws = await rttp.connect_websocket("ws://testserver/echo", plugins=[AppTransport(make_app())])
    async with ws:
        await ws.send("plain")
        assert (await ws.receive()).data == "echo: plain"


async def test_a_starlette_websocket_in_memory():
    pytest.importorskip("starlette", reason="Starlette is part of the test extra")
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute

    async def shout(websocket) -> None:
        await websocket.accept(subprotocol="loud")
        await websocket.send_text((await websocket.receive_text()).upper())
        await websocket.close()

    app = Starlette(routes=[WebSocketRoute("/shout", shout)])
    async with rttp.Client(app=app) as client:
        ws = await client.websocket("ws://testserver/shout", subprotocols=["loud"])
        async with ws:
            assert ws.subprotocol == "loud"
            await ws.send("quiet")
            assert (await ws.receive()).data == "QUIET"
