"""Talking to an application in-process: Client(app=), AppTransport, MockTransport and
the rttp_client fixture."""

from __future__ import annotations

import pytest

import rttp
from rttp.testing import AppTransport, MockTransport

app = rttp.App()


@app.get("/users/{id:int}")
async def user(request: rttp.Request) -> dict[str, object]:
    return {"id": request.parameters["id"], "host": request.headers.get("host")}


@app.post("/upload")
async def upload(request: rttp.Request) -> dict[str, int]:
    return {"size": len(await request.read())}


@app.get("/big")
async def big(request: rttp.Request) -> str:
    return "compressible " * 5000


@app.socket("/ws")
async def echo(connection, opcode, data, extra):
    if opcode == rttp.Opcode.text:
        await connection.text(f"echo {data}")


@pytest.fixture
def rttp_app() -> rttp.App:
    return app


async def test_client_app_goes_through_the_engine():
    async with rttp.Client(app=app) as client:
        answer = await client.get("/users/3")
        assert answer.json() == {"id": 3, "host": "testserver"}
        assert (await client.post("/upload", content=b"x" * 100_000)).json() == {"size": 100_000}
        compressed = await client.get("/big")
        assert compressed.headers["content-encoding"] == "gzip"  # the real server side
        assert compressed.text == "compressible " * 5000
        elsewhere = await client.get("https://any.example/users/4")
        assert elsewhere.json()["id"] == 4  # every URL reaches the app
        assert (await client.get("/nope")).status == 404


async def test_a_websocket_through_the_app_transport():
    transport = AppTransport(app)
    plugins = rttp.get_plugins([transport])
    async with rttp.websocket("ws://testserver/ws", plugins=plugins, ping_interval=None) as ws:
        await ws.text("hi")
        assert await ws.receive() == "echo hi"


async def test_mock_transport_answers_from_a_function():
    def answer(request: rttp.Request) -> rttp.Response:
        if request.path == "/fail":
            return rttp.Response(503, body="down")
        return rttp.Response(200, {"Content-Type": "application/json"}, b'{"ok": true}')

    mock = MockTransport(answer)
    async with rttp.Client(plugins=[mock], base_url="https://api.example") as client:
        assert (await client.post("/items", json={"a": 1})).json() == {"ok": True}
        assert (await client.get("/fail")).status == 503
    assert [r.path for r in mock.requests] == ["/items", "/fail"]
    assert mock.requests[0].body == b'{"a":1}'
    assert mock.requests[0].headers["host"] == "api.example"


async def test_the_rttp_client_fixture(rttp_client):
    assert (await rttp_client.get("/users/9")).json()["id"] == 9
