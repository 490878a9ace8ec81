"""A Quart-Trio application (Quart on Trio itself, no anyio in between) hosted by
:func:`rttp.asgi`: lifespan, a route with a JSON body, a streamed
answer and a WebSocket."""

from __future__ import annotations

import pytest
import trio

import rttp

pytest.importorskip("quart_trio", reason="Quart-Trio is part of the test extra")

from quart import request, websocket
from quart_trio import QuartTrio


def make_app(events: list[str]) -> QuartTrio:
    app = QuartTrio(__name__)

    @app.before_serving
    async def startup() -> None:
        events.append("startup")

    @app.after_serving
    async def shutdown() -> None:
        events.append("shutdown")

    @app.post("/greet/<name>")
    async def greet(name: str):
        data = await request.get_json()
        return {"hello": name, "mood": data["mood"], "scheme": request.scheme}

    @app.get("/count")
    async def count():
        async def numbers():
            for n in range(3):
                yield f"{n}\n".encode()

        return numbers(), 200, {"Content-Type": "text/plain"}

    @app.websocket("/ws")
    async def echo() -> None:
        while True:
            message = await websocket.receive()
            await websocket.send(f"quart: {message}")

    return app


async def test_a_quart_trio_app_with_its_lifespan_routes_and_websocket():
    events: list[str] = []
    server = rttp.Server(rttp.asgi(make_app(events)), "http://127.0.0.1:0", access_log=False)
    async with trio.open_nursery() as nursery:
        url = (await nursery.start(server.serve))[0]
        assert events == ["startup"]  # before the first connection
        async with rttp.Client() as client:
            greeted = await client.post(f"{url}/greet/trio", json={"mood": "structured"})
            counted = await client.get(f"{url}/count")
        ws_url = f"ws://{url.host}:{url.port}/ws"
        async with await rttp.connect_websocket(ws_url) as ws:
            await ws.send("hi")
            echoed = await ws.receive()
        nursery.cancel_scope.cancel()
    assert greeted.value == {"hello": "trio", "mood": "structured", "scheme": "http"}
    assert (counted.text, counted.headers["transfer-encoding"]) == ("0\n1\n2\n", "chunked")
    assert isinstance(echoed, rttp.WebSocketMessage)
    assert echoed.data == "quart: hi"
    assert events == ["startup", "shutdown"]  # after the drain
