"""``check_websocket_backend``: what every WebSocket backend plugin must do, built-in or
third-party.

It drives the backend's client and server protocol objects without I/O (the sans-IO
contract in :mod:`rttp.plugin`): messages of every size both ways, fed whole and one
byte at a time, with and without permessage-deflate under several agreements;
fragments with pings between them; the closing handshake; each RFC 6455 violation
closed with its code and the close frame owed; and the limits, including a compressed
message that would inflate far past ``max_message_size``. A failure raises
AssertionError naming the case. The I/O-level suite (``tests/faces/test_websockets.py``)
runs on top, on real sockets, against every built-in backend.
"""

from __future__ import annotations

import os
import tracemalloc
import zlib
from collections.abc import Callable

from ..errors import WebSocketClosed
from ..plugin import (
    Closed,
    DeflateParams,
    PingEvent,
    PongEvent,
    WebSocketBackend,
    WebSocketMessage,
    WebSocketProtocol,
    WebSocketSettings,
)

__all__ = ["VIOLATIONS", "check_websocket_backend", "ws_frame"]


def ws_frame(
    opcode: int, payload: bytes, *, fin: bool = True, rsv: int = 0, mask: bool = True
) -> bytes:
    """One raw WebSocket frame: masked, as a client sends it, unless ``mask=False``;
    ``rsv`` is OR-ed into the first byte (``0x40`` is RSV1)."""
    head = bytes([(0x80 if fin else 0) | rsv | opcode])
    bit = 0x80 if mask else 0
    size = len(payload)
    if size < 126:
        head += bytes([bit | size])
    elif size < 65536:
        head += bytes([bit | 126]) + size.to_bytes(2, "big")
    else:
        head += bytes([bit | 127]) + size.to_bytes(8, "big")
    if mask:
        key = os.urandom(4)
        whole = int.from_bytes(payload, "big") ^ int.from_bytes(
            (key * (size // 4 + 1))[:size], "big"
        )
        payload = whole.to_bytes(size, "big") if size else b""
        head += key
    return head + payload


def _deflated(data: bytes, bits: int = 15) -> bytes:
    """``data`` as one permessage-deflate payload (RFC 7692 §7.2.1)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -bits)
    return (compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]


#: name → (frames a client sends to the server, the close code the server must answer)
VIOLATIONS: dict[str, tuple[bytes, frozenset[int]]] = {
    "unmasked client frame": (ws_frame(1, b"hi", mask=False), frozenset({1002})),
    "reserved bit without an extension": (ws_frame(1, b"hi", rsv=0x40), frozenset({1002})),
    "RSV2 set": (ws_frame(1, b"hi", rsv=0x20), frozenset({1002})),
    "unknown opcode 3": (ws_frame(3, b"hi"), frozenset({1002})),
    "unknown control opcode 11": (ws_frame(11, b""), frozenset({1002})),
    "control frame over 125 bytes": (ws_frame(9, b"x" * 126), frozenset({1002})),
    "fragmented control frame": (ws_frame(9, b"x", fin=False), frozenset({1002})),
    "continuation without a message": (ws_frame(0, b"x"), frozenset({1002})),
    "new message inside a fragmented one": (
        ws_frame(1, b"a", fin=False) + ws_frame(1, b"b"),
        frozenset({1002}),
    ),
    "invalid UTF-8 text": (ws_frame(1, b"\xff\xfe"), frozenset({1007})),
    "invalid UTF-8 across fragments": (
        ws_frame(1, b"ok", fin=False) + ws_frame(0, b"\xc0\xaf"),
        frozenset({1007}),
    ),
    "truncated UTF-8 at the end": (ws_frame(1, "é".encode()[:1]), frozenset({1007})),
    "close with a one-byte payload": (ws_frame(8, b"\x03"), frozenset({1002})),
    "close code 999": (ws_frame(8, (999).to_bytes(2, "big")), frozenset({1002})),
    "close code 1005 on the wire": (ws_frame(8, (1005).to_bytes(2, "big")), frozenset({1002})),
    "close code 1006 on the wire": (ws_frame(8, (1006).to_bytes(2, "big")), frozenset({1002})),
    "close code 5000": (ws_frame(8, (5000).to_bytes(2, "big")), frozenset({1002})),
    "close reason not UTF-8": (ws_frame(8, b"\x03\xe8\xff"), frozenset({1002, 1007})),
}


def _pair(
    backend: WebSocketBackend, settings: WebSocketSettings
) -> tuple[WebSocketProtocol, WebSocketProtocol]:
    return backend.protocol(True, settings), backend.protocol(False, settings)


def _events(protocol: WebSocketProtocol, data: bytes, step: int | None = None) -> list[object]:
    if step is None:
        return list(protocol.receive_data(data))
    out: list[object] = []
    for i in range(0, len(data), step):
        out += protocol.receive_data(data[i : i + step])
    return out


def _closed(events: list[object], case: str) -> Closed:
    closes = [e for e in events if isinstance(e, Closed)]
    assert closes, f"{case}: no Closed event (got {events!r})"
    assert events[-1] is closes[0], f"{case}: events after the Closed: {events!r}"
    return closes[0]


def _check_messages(backend: WebSocketBackend, deflate: DeflateParams | None) -> None:
    settings = WebSocketSettings(max_message_size=2 << 20, deflate=deflate)
    samples: list[str | bytes] = [
        "",
        b"",
        "hello",
        "héllo wörld ✓ 🎉",
        b"\x00\xff" * 3,
        b"x" * 125,
        b"y" * 126,
        os.urandom(65535),
        os.urandom(65536),
        "z" * (1 << 20),
    ]
    for step in (None, 1):
        client, server = _pair(backend, settings)
        for sample in samples:
            if step == 1 and len(sample) > 300:  # byte by byte: the small ones, every boundary
                continue
            case = f"{backend.name}, deflate={deflate}, {len(sample)} bytes, step={step}"
            got = _events(server, client.send_message(sample), step)
            assert [type(e) for e in got] == [WebSocketMessage], f"{case}: {got!r}"
            assert got[0].data == sample, f"{case}: client → server changed the message"  # type: ignore[attr-defined]
            back = _events(client, server.send_message(sample), step)
            assert [type(e) for e in back] == [WebSocketMessage], f"{case}: {back!r}"
            assert back[0].data == sample, f"{case}: server → client changed the message"  # type: ignore[attr-defined]
        assert server.data_to_send() == b"", f"{backend.name}: the server owes bytes"
        assert client.data_to_send() == b"", f"{backend.name}: the client owes bytes"


def _check_control(backend: WebSocketBackend) -> None:
    client, server = _pair(backend, WebSocketSettings())
    pieces = ws_frame(1, "hé".encode()[:2], fin=False) + ws_frame(9, b"ping!")
    pieces += ws_frame(0, "hé".encode()[2:] + b"!", fin=True)
    got = _events(server, pieces)
    assert [type(e) for e in got] == [PingEvent, WebSocketMessage], f"fragments + ping: {got!r}"
    assert got[1].data == "hé!", f"fragmented text split inside a character: {got[1]!r}"  # type: ignore[attr-defined]
    pong = _events(client, server.data_to_send())
    assert [type(e) for e in pong] == [PongEvent], f"no pong owed for a ping: {pong!r}"
    assert pong[0].payload == b"ping!", f"the pong does not echo the ping: {pong!r}"  # type: ignore[attr-defined]
    unsolicited = _events(server, client.send_pong(b"u"))
    assert [type(e) for e in unsolicited] == [PongEvent], unsolicited
    assert server.data_to_send() == b"", "an unsolicited pong was answered"
    # the closing handshake, started by the client
    closing = _events(server, client.send_close(1000, "bye"))
    closed = _closed(closing, "client close")
    assert (closed.code, closed.reason) == (1000, "bye"), f"peer's close reported as {closed!r}"
    answer = _closed(_events(client, server.data_to_send()), "close answer")
    assert answer.code == 1000, f"the close echo carries {answer!r}"
    assert server.receive_data(ws_frame(1, b"late")) == [], "events after the close"
    try:
        server.send_message("after the close")
    except WebSocketClosed:
        pass
    else:
        raise AssertionError(f"{backend.name}: a message was framed after the close")
    # a close between the fragments of a message is a close like any other (the
    # unfinished message is dropped): echoed with its code, not failed (Autobahn 7.1.5)
    client, server = _pair(backend, WebSocketSettings())
    closed = _closed(
        _events(server, ws_frame(1, b"part", fin=False) + ws_frame(8, b"\x03\xe8")),
        "close between fragments",
    )
    assert closed.code == 1000, f"a close between fragments reported as {closed!r}"
    echo = _closed(_events(client, server.data_to_send()), "close between fragments: echo")
    assert echo.code == 1000, f"a close between fragments answered with {echo!r}"
    # a close without a code is 1005; the server starts this one
    client, server = _pair(backend, WebSocketSettings())
    closed = _closed(_events(server, ws_frame(8, b"")), "empty close")
    assert closed.code == 1005, f"an empty close frame reported as {closed!r}"


def _check_violations(backend: WebSocketBackend) -> None:
    for case, (data, codes) in VIOLATIONS.items():
        for step in (None, 1):
            client, server = _pair(backend, WebSocketSettings())
            closed = _closed(_events(server, data, step), case)
            assert closed.code in codes, f"{backend.name}: {case}: closed with {closed!r}"
            sent = _closed(_events(client, server.data_to_send()), f"{case}: the close frame")
            assert sent.code == closed.code, f"{case}: close frame {sent!r}, reported {closed!r}"
    client, _ = _pair(backend, WebSocketSettings())
    closed = _closed(_events(client, ws_frame(1, b"hi", mask=True)), "masked server frame")
    assert closed.code == 1002, f"a masked frame to a client closed with {closed!r}"


def _check_limits(backend: WebSocketBackend) -> None:
    small = WebSocketSettings(max_message_size=1000, max_fragments=10)
    cases: dict[str, bytes] = {
        "one frame over max_message_size": ws_frame(2, b"x" * 1001),
        "a header declaring 2**62 bytes": ws_frame(2, b"")[:1]
        + bytes([0xFF])
        + (1 << 62).to_bytes(8, "big")
        + os.urandom(4),
        "a header declaring 1001 bytes": ws_frame(2, b"x" * 1001)[:8],
        "fragments past max_message_size": ws_frame(2, b"x" * 600, fin=False)
        + ws_frame(0, b"y" * 600),
        "more than max_fragments": b"".join(
            ws_frame(0 if i else 2, b"x", fin=False) for i in range(11)
        ),
    }
    for case, data in cases.items():
        _, server = _pair(backend, small)
        closed = _closed(_events(server, data), case)
        assert closed.code == 1009, f"{backend.name}: {case}: closed with {closed!r}"
    _, server = _pair(backend, small)
    got = _events(server, ws_frame(2, b"x" * 1000))
    assert [type(e) for e in got] == [WebSocketMessage], f"a message at the limit: {got!r}"


def _check_deflate_bomb(backend: WebSocketBackend) -> None:
    """20 MiB of zeros in a 20 KiB compressed frame, against a 1 MiB limit: 1009, and the
    protocol object never holds the inflated message."""
    params = DeflateParams()
    bomb = ws_frame(2, _deflated(bytes(20 << 20)), rsv=0x40)
    _, server = _pair(backend, WebSocketSettings(max_message_size=1 << 20, deflate=params))
    tracemalloc.start()
    try:
        events = _events(server, bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    closed = _closed(events, "deflate bomb")
    assert closed.code == 1009, f"{backend.name}: a deflate bomb closed with {closed!r}"
    assert peak < 6 << 20, f"{backend.name}: inflating a bomb peaked at {peak} bytes"
    _, server = _pair(backend, WebSocketSettings(deflate=params))
    closed = _closed(_events(server, ws_frame(2, b"\xff" * 40, rsv=0x40)), "bad deflate data")
    assert closed.code in (1002, 1007), f"corrupt compressed data closed with {closed!r}"
    _, server = _pair(backend, WebSocketSettings(deflate=params))
    closed = _closed(
        _events(
            server, ws_frame(1, _deflated(b"a"), fin=False, rsv=0x40) + ws_frame(0, b"b", rsv=0x40)
        ),
        "RSV1 on a continuation",
    )
    assert closed.code == 1002, f"RSV1 on a continuation frame closed with {closed!r}"


#: the permessage-deflate agreements every backend round-trips messages under
AGREEMENTS: list[DeflateParams | None] = [
    None,
    DeflateParams(),
    DeflateParams(server_no_context_takeover=True, client_no_context_takeover=True),
    DeflateParams(server_max_window_bits=9, client_max_window_bits=10, mem_level=1),
    DeflateParams(server_max_window_bits=8, client_max_window_bits=8),
]

CHECKS: list[Callable[[WebSocketBackend], None]] = [
    _check_control,
    _check_violations,
    _check_limits,
    _check_deflate_bomb,
]


def check_websocket_backend(backend: WebSocketBackend) -> None:
    """Run the conformance suite against ``backend``; AssertionError names a failure."""
    assert isinstance(backend.name, str), "a backend's name is a str"
    assert backend.name, "a backend needs a name"
    for agreement in AGREEMENTS:
        _check_messages(backend, agreement)
    for check in CHECKS:
        check(backend)
