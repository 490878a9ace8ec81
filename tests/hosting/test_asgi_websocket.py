"""A hosted ASGI application's WebSockets (Starlette), over real sockets, with rttp's
WebSocket client and the websockets library: accept with a subprotocol, text and bytes
both ways, the close code and reason both ways, a refusal before the accept (403) and
the websocket.http.response denial extension."""

from __future__ import annotations

import pytest
import trio

import rttp

pytest.importorskip("starlette", reason="Starlette is part of the test extra")

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect


class Closes:
    """The close codes one test's echo endpoint saw (a fresh app per test: a server-side
    task of an earlier test can never report into a later one)."""

    def __init__(self) -> None:
        self.codes: list[int] = []
        self.seen = trio.Event()

    def add(self, code: int) -> None:
        self.codes.append(code)
        self.seen.set()


def make_app(closes: Closes) -> Starlette:
    async def echo(websocket: WebSocket) -> None:
        offered = websocket.scope["subprotocols"]
        await websocket.accept(subprotocol="chat" if "chat" in offered else None)
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    closes.add(message["code"])
                    return
                if message.get("text") == "bye":
                    await websocket.close(code=4001, reason="asked to leave")
                    return
                if message.get("text") is not None:
                    await websocket.send_text("echo: " + message["text"])
                else:
                    await websocket.send_bytes(message["bytes"][::-1])
        except WebSocketDisconnect as exc:
            closes.add(exc.code)

    async def refuse(websocket: WebSocket) -> None:
        await websocket.close(code=1008)

    async def deny(websocket: WebSocket) -> None:
        await websocket.send_denial_response(PlainTextResponse("not you", status_code=401))

    return Starlette(
        routes=[
            WebSocketRoute("/echo", echo),
            WebSocketRoute("/refuse", refuse),
            WebSocketRoute("/deny", deny),
        ]
    )


@pytest.fixture
def closes() -> Closes:
    return Closes()


@pytest.fixture
async def ws_url(nursery, closes):
    server = rttp.Server(rttp.asgi(make_app(closes)), "http://127.0.0.1:0", access_log=False)
    addresses = await nursery.start(server.serve)
    return str(addresses[0]).replace("http://", "ws://")


async def _data(ws: rttp.WebSocket) -> str | bytes:
    event = await ws.receive()
    assert isinstance(event, rttp.WebSocketMessage), event
    return event.data


async def test_echo_with_a_subprotocol_through_rttps_client(ws_url):
    async with await rttp.connect_websocket(f"{ws_url}/echo", subprotocols=["chat"]) as ws:
        assert ws.subprotocol == "chat"
        await ws.send("hi")
        assert await _data(ws) == "echo: hi"
        await ws.send(b"abc")
        assert await _data(ws) == b"cba"


async def test_the_apps_close_code_and_reason_reach_the_client(ws_url):
    async with await rttp.connect_websocket(f"{ws_url}/echo") as ws:
        await ws.send("bye")
        event = await ws.receive()
    assert isinstance(event, rttp.Closed)
    assert (event.code, event.reason) == (4001, "asked to leave")


async def test_the_clients_close_code_reaches_the_app(ws_url, closes):
    async with await rttp.connect_websocket(f"{ws_url}/echo") as ws:
        await ws.send("hello")
        assert await _data(ws) == "echo: hello"
        await ws.close(4002)
    with trio.fail_after(5):
        await closes.seen.wait()
    assert closes.codes == [4002]


async def test_a_close_before_the_accept_is_a_403(ws_url):
    with pytest.raises(rttp.errors.WebSocketRejected) as info:
        await rttp.connect_websocket(f"{ws_url}/refuse")
    assert info.value.status == 403


async def test_the_denial_extension_answers_with_the_apps_response(ws_url):
    with pytest.raises(rttp.errors.WebSocketRejected) as info:
        await rttp.connect_websocket(f"{ws_url}/deny")
    assert info.value.status == 401
    assert info.value.body == b"not you"


async def test_the_websockets_library_as_a_client(ws_url):
    websockets = pytest.importorskip("websockets.sync.client")

    def talk() -> tuple[str, str | None]:
        with websockets.connect(f"{ws_url}/echo", subprotocols=["chat"]) as ws:
            ws.send("from websockets")
            return ws.recv(timeout=5), ws.subprotocol

    answer, subprotocol = await trio.to_thread.run_sync(talk)
    assert (answer, subprotocol) == ("echo: from websockets", "chat")


async def _raw_ws_url(nursery, app) -> str:
    server = rttp.Server(rttp.asgi(app, lifespan="off"), "http://127.0.0.1:0", access_log=False)
    addresses = await nursery.start(server.serve)
    return str(addresses[0]).replace("http://", "ws://")


async def test_a_receive_before_the_accept_waits_for_it(nursery):
    """Quart-Trio reads in one task while another accepts: a receive() that comes
    before the accept waits for it, instead of saying the client left."""
    import trio.testing

    async def app(scope, receive, send):
        assert (await receive())["type"] == "websocket.connect"
        got: list[dict] = []
        async with trio.open_nursery() as inner:

            async def reader() -> None:
                got.append(await receive())

            inner.start_soon(reader)
            await trio.testing.wait_all_tasks_blocked()  # the reader waits in receive()
            await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": f"{got[0]['type']} {got[0].get('text')}"})
        await send({"type": "websocket.close", "code": 1000})

    url = await _raw_ws_url(nursery, app)
    async with await rttp.connect_websocket(url) as ws:
        await ws.send("first")
        assert await _data(ws) == "websocket.receive first"


async def test_an_accept_in_a_cancelled_scope_still_sends_its_handshake(nursery):
    """The 101 goes out whole or not at all: an app whose accept is cancelled leaves
    a WebSocket the client can still read the close of (never a frame without its
    handshake)."""

    async def app(scope, receive, send):
        await receive()
        with trio.CancelScope() as scope:
            scope.cancel()
            await send({"type": "websocket.accept"})

    url = await _raw_ws_url(nursery, app)
    async with await rttp.connect_websocket(url) as ws:
        event = await ws.receive()
    assert isinstance(event, rttp.Closed)
    assert event.code == 1000


async def test_an_app_cancelled_inside_an_open_websocket_closes_the_connection():
    """A server cancelled while a hosted app holds an open WebSocket (a shutdown): the
    connection is closed then, so the client reads its end at once; it is not left
    open for the garbage collector."""
    accepted = trio.Event()

    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        accepted.set()
        await trio.sleep_forever()

    server = rttp.Server(rttp.asgi(app, lifespan="off"), "http://127.0.0.1:0", access_log=False)
    async with trio.open_nursery() as nursery:
        url = str((await nursery.start(server.serve))[0]).replace("http://", "ws://")
        ws = await rttp.connect_websocket(url)
        await accepted.wait()
        nursery.cancel_scope.cancel()
    with trio.fail_after(5):
        event = await ws.receive()
    assert isinstance(event, rttp.Closed)
    await ws.aclose()
