"""From aiohttp to rttp, client and server, side by side. aiohttp runs on asyncio, so
the test suite runs its half in a process of its own (``python from_aiohttp.py client
URL`` or ``serve PORT``); every client is run against every server, and all agree."""

from __future__ import annotations

import json
import sys
from typing import Any

import rttp

# -- servers ------------------------------------------------------------------------------


def aiohttp_app() -> Any:  # before
    from aiohttp import WSMsgType, web

    routes = web.RouteTableDef()

    @routes.get("/users/{id}")
    async def user(request: web.Request) -> web.Response:
        return web.json_response({"id": int(request.match_info["id"])})

    @routes.post("/echo")
    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"got": await request.json()}, status=201)

    @routes.get("/ws")
    async def chat(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                await ws.send_str(message.data.upper())
        return ws

    app = web.Application()
    app.add_routes(routes)
    return app


def rttp_app() -> rttp.App:  # after
    app = rttp.App()

    @app.get("/users/{id:int}")  # typed path parameters
    async def user(request: rttp.Request) -> dict[str, int]:
        return {"id": request.parameters["id"]}  # a dict is answered as JSON

    @app.post("/echo")
    async def echo(request: rttp.Request) -> rttp.Response:
        return rttp.Response(201, value={"got": await request.read_value()})

    @app.socket("/ws")  # WebSocket events: open, text, binary, ping, pong, close
    async def chat(conn: rttp.SocketConnection, opcode: rttp.Opcode, data: Any, extra: Any) -> None:
        if opcode == rttp.Opcode.text:
            await conn.text(data.upper())

    return app


# -- clients ------------------------------------------------------------------------------


async def aiohttp_client(base: str) -> list[Any]:  # before
    import aiohttp

    async with aiohttp.ClientSession(base_url=base) as session:
        async with session.get("/users/7") as response:
            user = (response.status, await response.json())
        async with session.post("/echo", json={"a": 1}) as response:
            echoed = (response.status, await response.json())
        async with session.ws_connect("/ws") as ws:
            await ws.send_str("hello")
            shouted = (await ws.receive()).data
    return [list(user), list(echoed), shouted]


async def rttp_client(base: str) -> list[Any]:  # after
    async with rttp.Client(base_url=base) as client:
        response = await client.get("/users/7")  # the body is read: no second await
        user = (response.status, response.json())
        response = await client.post("/echo", json={"a": 1})
        echoed = (response.status, response.json())
        async with await client.websocket(base.replace("http", "ws", 1) + "/ws") as ws:
            await ws.send("hello")
            shouted = await anext(ws)
    return [list(user), list(echoed), shouted]


if __name__ == "__main__":  # the asyncio half, for the test suite
    import asyncio

    if sys.argv[1] == "client":
        print(json.dumps(asyncio.run(aiohttp_client(sys.argv[2]))))
    else:
        from aiohttp import web

        web.run_app(aiohttp_app(), host="127.0.0.1", port=int(sys.argv[2]), print=None)
