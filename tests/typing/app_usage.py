"""Typed use of the public API: ``nox -s typecheck`` runs mypy --strict over this file.

Decorated handlers must keep their own types (no "untyped decorator" for users).
"""

from __future__ import annotations

import trio
from typing_extensions import assert_type

import rttp

app = rttp.App()


@app.get("/users/{id:int}")
async def user(request: rttp.Request) -> dict[str, int]:
    return {"id": request.parameters["id"]}


def plain(request: rttp.Request) -> str:
    return "plain"


@app.any("*")
def everything(request: rttp.Request) -> None:
    return None


@app.socket("/chat")
async def chat(connection: rttp.SocketConnection, opcode: int, data: object, extra: object) -> None:
    if opcode == rttp.Opcode.text and isinstance(data, str):
        await connection.text(data)


registered = app.post("/plain", plain)
assert_type(registered(rttp.Request("GET", "/")), str)
assert_type(app.post("/plain", None), None)


async def client_use() -> None:
    async with rttp.Client() as client:
        response = await client.get("http://127.0.0.1:1/")
        assert_type(response, rttp.Response)
        assert_type(response.status, int)
        assert_type(response.body, bytes)


def misspelt_client_options() -> None:
    """Never run: mypy must flag each call (an unused ignore is an error under
    --strict), as a user's type checker flags a misspelt or mistyped client option."""
    rttp.Client(folow_redirects=False)  # type: ignore[call-arg]
    rttp.Client(http2="yes")  # type: ignore[arg-type]
    rttp.Server(app, "http://127.0.0.1:0", max_conections=5)  # type: ignore[call-arg]
    rttp.Server(app, "http://127.0.0.1:0", http2=1.5)  # type: ignore[arg-type]


async def server_use(nursery: trio.Nursery) -> None:
    """A server started in a nursery gives its addresses typed (``nursery.start``'s
    result is ``Any``)."""
    addresses = await rttp.Server(app, "http://127.0.0.1:0").start(nursery)
    assert_type(addresses, list[rttp.URL])
