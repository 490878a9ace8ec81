"""A chat App for the broker tests: ``rttp serve tests.peers.chat_app:app --broker URL``.

Each text message on ``/chat`` is broadcast to every connection in every process;
``GET /count`` answers the cluster-wide number of chat connections.
"""

from __future__ import annotations

import os

import rttp

app = rttp.App(ws_ping_interval=None)
#: the presence refresh, short in the tests that wait for a killed worker to drop out
app.broker_presence_interval = float(os.environ.get("RTTP_TEST_PRESENCE", "3"))


@app.socket("/chat")
async def chat(connection: rttp.SocketConnection, opcode: int, data: object, extra: object) -> None:
    if opcode == rttp.Opcode.open:
        await app.count_sockets("/chat")  # counting reports this process's presence first
        await connection.text("ready")
    elif opcode == rttp.Opcode.text and str(data).startswith("to "):
        _, target, text = str(data).split(" ", 2)  # "to <id> <text>": one connection
        await app.connection(target).text(f"from {connection.id}: {text}")
    elif opcode == rttp.Opcode.text and str(data) == "whoami":
        await connection.text(connection.id)
    elif opcode == rttp.Opcode.text:
        await app.broadcast("/chat", str(data))
    elif opcode == rttp.Opcode.binary and isinstance(data, bytes):
        await app.broadcast("/chat", data)


@app.get("/whoami")
async def whoami(request: rttp.Request) -> dict[str, object]:
    return {"client": request.ip, "scheme": request.scheme, "pid": os.getpid()}


@app.get("/count")
async def count(request: rttp.Request) -> dict[str, int]:
    return {"here": len(app.sockets("/chat")), "everywhere": await app.count_sockets("/chat")}
