"""From trio-websocket to rttp's WebSockets: the client and the server side by side.
The test suite runs each client against each server."""

from __future__ import annotations

import trio
import trio_websocket

import rttp


# -- before: trio-websocket ---------------------------------------------------------------
async def echo_twice_trio_websocket(url: str) -> list[str]:
    async with trio_websocket.open_websocket_url(url) as ws:
        await ws.send_message("one")
        first = await ws.get_message()
        await ws.send_message("two")
        second = await ws.get_message()
    return [str(first), str(second)]


async def trio_websocket_server(task_status: trio.TaskStatus[int]) -> None:
    async def handler(request: trio_websocket.WebSocketRequest) -> None:
        ws = await request.accept()
        try:
            while True:
                await ws.send_message("echo " + str(await ws.get_message()))
        except trio_websocket.ConnectionClosed:
            pass

    async with trio.open_nursery() as nursery:
        server = await nursery.start(trio_websocket.serve_websocket, handler, "127.0.0.1", 0, None)
        task_status.started(server.port)


# -- after: rttp --------------------------------------------------------------------------
async def echo_twice_rttp(url: str) -> list[str]:
    async with await rttp.connect_websocket(url) as ws:
        await ws.send("one")
        first = await anext(ws)  # the next message (pings are answered for you)
        await ws.send("two")
        second = await anext(ws)
    return [str(first), str(second)]


def rttp_app() -> rttp.App:
    """The same echo as an App's socket route (``rttp.accept_websocket(request,
    handler)`` does it inside any handler)."""
    app = rttp.App()

    @app.socket("/")
    async def echo(
        conn: rttp.SocketConnection, opcode: rttp.Opcode, data: object, extra: object
    ) -> None:
        if opcode == rttp.Opcode.text:
            await conn.text(f"echo {data}")

    return app
