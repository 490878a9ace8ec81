"""The apps the stress probes serve (``rttp serve stress.apps:app``)."""

from __future__ import annotations

import trio

import rttp

BIG = b"b" * (8 << 20)


async def app(request: rttp.Request) -> rttp.Response:
    """``/work`` takes 20 ms (a request in flight when a signal lands); ``/big`` is 8 MiB;
    ``/upload`` reads its body; anything else answers at once."""
    if request.path == "/work":
        await trio.sleep(0.02)
        return rttp.Response(200, body="done")
    if request.path == "/big":
        return rttp.Response(200, {"Content-Type": "application/octet-stream"}, BIG)
    if request.path == "/upload":
        size = len(await request.read())
        return rttp.Response(200, body=str(size))
    return rttp.Response(200, body="ok")


ws_app = rttp.App(ws_ping_interval=None, ws_max_message_size=8 << 20, ws_max_fragments=None)


@ws_app.socket("/ws")
async def echo(
    conn: rttp.SocketConnection, opcode: rttp.Opcode, data: object, extra: object
) -> None:
    """Answer each message with its size."""
    if opcode in (rttp.Opcode.text, rttp.Opcode.binary):
        await conn.text(str(len(data)))  # type: ignore[arg-type]
