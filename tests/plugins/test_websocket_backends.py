"""WebSocket backend plugins: selection, the conformance kit, and the mutants it catches."""

from __future__ import annotations

import pytest
import trio
from wsproto.extensions import PerMessageDeflate

import rttp
from rttp.errors import PluginError
from rttp.plugin import WebSocketBackend, WebSocketProtocol, WebSocketSettings, hookimpl
from rttp.testing import check_websocket_backend
from rttp_builtin.websocket import _websockets, _wsproto


@pytest.mark.parametrize("name", ["websockets", "wsproto"])
def test_every_builtin_passes_the_kit(name):
    check_websocket_backend(rttp.get_plugins().websocket_backend(name))


def test_auto_prefers_websockets_and_falls_back_to_wsproto():
    assert rttp.get_plugins().websocket_backend().name == "websockets"
    fallback = rttp.get_plugins(disable=["websocket-websockets"])
    assert fallback.websocket_backend("auto").name == "wsproto"
    with pytest.raises(
        PluginError, match=r"no WebSocket backend called 'nope' \(loaded: wsproto\)"
    ):
        fallback.websocket_backend("nope")
    nothing = rttp.get_plugins(disable=["websocket-websockets", "websocket-wsproto"])
    with pytest.raises(PluginError, match="no WebSocket backend plugin is loaded"):
        nothing.websocket_backend()


def test_an_unknown_backend_fails_when_the_server_is_made():
    with pytest.raises(PluginError, match="'nope'"):
        rttp.Server(lambda request: rttp.Response(200), websocket_backend="nope")


class _Lenient(WebSocketBackend):
    """A mutant: one of the built-ins with one safeguard taken away."""

    name = "lenient"

    def __init__(self, make: type) -> None:
        self.make = make

    def protocol(self, client: bool, settings: WebSocketSettings) -> WebSocketProtocol:
        protocol: WebSocketProtocol = self.make(client, settings)
        return protocol


class _UnboundedInflate(_wsproto.WsprotoProtocol):
    """wsproto's own permessage-deflate: no limit on what a frame inflates to."""

    def __init__(self, client: bool, settings: WebSocketSettings) -> None:
        super().__init__(client, settings)
        if settings.deflate is not None:
            from wsproto.connection import Connection, ConnectionType

            ext = PerMessageDeflate()
            ext._enabled = True
            self._conn = Connection(
                ConnectionType.CLIENT if client else ConnectionType.SERVER, [ext]
            )
            self._limit = None  # the frame-header check would catch a plain oversize


class _NoUtf8Check(_websockets.WebsocketsProtocol):
    """Text handed on without validating it."""

    def receive_data(self, data: bytes | bytearray) -> list[object]:  # type: ignore[override]
        events = super().receive_data(data)
        return [e for e in events if not (isinstance(e, rttp.Closed) and e.code == 1007)]


class _NoFragmentLimit(_websockets.WebsocketsProtocol):
    def __init__(self, client: bool, settings: WebSocketSettings) -> None:
        super().__init__(
            client, WebSocketSettings(settings.max_message_size, None, settings.deflate)
        )


@pytest.mark.parametrize(
    ("mutant", "named"),
    [
        (_UnboundedInflate, "bomb"),
        (_NoUtf8Check, "UTF-8"),
        (_NoFragmentLimit, "max_fragments"),
    ],
)
def test_the_kit_catches_a_backend_without_a_safeguard(mutant, named):
    with pytest.raises(AssertionError, match=named):
        check_websocket_backend(_Lenient(mutant))


async def test_a_third_party_backend_is_used_by_name(serve):
    """A backend given as a plugin of one server frames its connections."""
    made: list[bool] = []

    class Counting(WebSocketBackend):
        name = "counting"

        def protocol(self, client: bool, settings: WebSocketSettings) -> WebSocketProtocol:
            made.append(client)
            return _wsproto.WsprotoProtocol(client, settings)

    class Plugin:
        @hookimpl
        def rttp_register_websocket_backends(self, register):
            register(Counting())

    app = rttp.App(ws_ping_interval=None, websocket_backend="counting")

    @app.socket("/")
    async def echo(conn, opcode, data, extra):
        if opcode == rttp.Opcode.text:
            await conn.text(data)

    _, url = await serve(app, plugins=(Plugin(),))
    ws = await rttp.connect_websocket(f"ws://{url.host}:{url.port}/")
    await ws.send("hi")
    with trio.fail_after(5):
        assert (await ws.receive()).data == "hi"  # type: ignore[union-attr]
    await ws.close()
    assert made == [False]
