"""Which protocol a new connection speaks: HTTP/2 when TLS negotiated it by ALPN, or
when a cleartext client opens with the HTTP/2 preface (prior knowledge, h2c);
HTTP/1.1 otherwise, on the same port."""

from __future__ import annotations

import trio

from ..._proto._mux import MultiplexedBackend
from ..net._errors import IO_ERRORS

__all__ = ["choose_protocol", "choose_within"]


async def choose_protocol(
    stream: trio.abc.Stream, backend: MultiplexedBackend
) -> tuple[bool, bytes]:
    """Whether ``stream`` speaks ``backend``'s protocol, and the bytes read to find
    out (to be fed to whichever protocol serves it). On TLS this completes the
    handshake; on cleartext it reads until the bytes part from the preface (at once,
    for an HTTP/1.1 request) or match it whole."""
    if isinstance(stream, trio.SSLStream):
        await stream.do_handshake()
        return stream.selected_alpn_protocol() == backend.alpn, b""
    preface = backend.preface
    data = b""
    while len(data) < len(preface) and preface.startswith(data):
        chunk = await stream.receive_some(65536)
        if not chunk:
            break
        data += chunk
    return data.startswith(preface), data


async def choose_within(
    stream: trio.abc.Stream, backend: MultiplexedBackend, seconds: float
) -> tuple[bool, bytes] | None:
    """:func:`choose_protocol` within ``seconds``; None, ``stream`` closed, when the
    client did not say in time, broke the connection, or the wait was cancelled (a
    shutdown: no connection owns the stream yet)."""
    chosen: tuple[bool, bytes] | None = None
    try:
        with trio.move_on_after(seconds):
            chosen = await choose_protocol(stream, backend)
    except IO_ERRORS:
        pass
    finally:
        if chosen is None:
            await trio.aclose_forcefully(stream)
    return chosen
