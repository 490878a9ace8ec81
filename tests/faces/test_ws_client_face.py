"""The seed 003 WebSocket client face: short sessions that close at once, and every
WebSocket setting reachable from it as from the other faces."""

from __future__ import annotations

import inspect

import pytest
import trio

import rttp
from rttp._io.websocket._wshandshake import accept_websocket, connect_websocket
from rttp.testing import ws_frame
from tests.faces.test_websockets import _raw_server, make_app, ws_url

pytestmark = pytest.mark.usefixtures("ws_backend")


@pytest.fixture
async def echo_url(serve):
    app = make_app(ws_ping_interval=None)
    _, url = await serve(app)
    return ws_url(url)


async def test_a_session_closed_right_after_connecting_never_races_its_reader(echo_url):
    """``async with rttp.websocket(url): pass`` raised BusyResourceError in 6 of 20 runs:
    close() read the socket while the reader task, started a moment later, did too."""
    for _ in range(40):
        with trio.fail_after(5):
            async with rttp.websocket(echo_url, ping_interval=None) as ws:
                pass
        assert ws.is_closed()
        assert ws.closed is not None
        assert ws.closed.code == 1000


async def test_connect_then_close_at_once_many_times(echo_url, nursery):
    for _ in range(40):
        ws = rttp.websocket(echo_url, ping_interval=None)
        with trio.fail_after(5):
            await ws.connect(nursery)
            await ws.close()
        assert ws.is_closed()


async def test_close_while_the_reader_is_in_a_message_callback(echo_url):
    """The reader is between two receives (inside a callback) when close() is called."""
    entered = trio.Event()
    release = trio.Event()

    async def slow(payload, is_binary):
        entered.set()
        await release.wait()

    async with rttp.websocket(echo_url, ping_interval=None) as ws:
        ws.add("message", "slow", slow)
        await ws.text("hi")
        await entered.wait()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ws.close)
            await trio.testing.wait_all_tasks_blocked()
            release.set()
    assert ws.closed is not None
    assert ws.closed.code == 1000


def _settings(function) -> set[str]:
    return {
        name
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    }


def test_every_connect_websocket_setting_is_reachable_from_the_client_face():
    """Every WebSocket setting of connect_websocket exists on rttp.websocket, and the
    server-side ones on App (as ``ws_<name>``) and accept_websocket."""
    missing = (
        _settings(connect_websocket)
        - _settings(rttp.WebSocketClient.__init__)
        - {
            "headers"  # the seed's second positional argument
        }
    )
    assert not missing
    limits = {"max_message_size", "max_fragments", "close_timeout", "send_timeout"}
    app = {name.removeprefix("ws_") for name in _settings(rttp.App.__init__)}
    assert limits <= app
    assert limits <= _settings(accept_websocket)


async def test_the_client_face_lifts_the_fragment_cap(nursery):
    """A message in 64-byte fragments (Autobahn 9.3.x/9.4.x send 4 MiB so): past the
    default 4,096-fragment cap it closes with 1009; delivered once the client raises
    ``max_fragments`` (as connect_websocket and App's ``ws_max_fragments`` could)."""
    size = 4097 * 64
    for max_fragments, expected in ((None, size), (4097, size), (4096, None)):
        url, _, _ = await _raw_server(nursery, _fragments(b"x" * size, 64))
        async with rttp.websocket(
            url,
            ping_interval=None,
            max_message_size=size + 1,
            max_fragments=max_fragments,
            close_timeout=0.2,  # this peer never answers a close
        ) as ws:
            with trio.fail_after(20):
                if expected is None:
                    with pytest.raises(rttp.errors.WebSocketClosed):
                        await ws.receive()
                    assert ws.closed is not None
                    assert ws.closed.code == 1009
                else:
                    assert len(await ws.receive()) == expected


def _fragments(payload: bytes, piece: int) -> bytes:
    """``payload`` as an unmasked binary message in ``piece``-byte fragments."""
    parts = [payload[i : i + piece] for i in range(0, len(payload), piece)]
    return b"".join(
        ws_frame(2 if index == 0 else 0, part, fin=index == len(parts) - 1, mask=False)
        for index, part in enumerate(parts)
    )
