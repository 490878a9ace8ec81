"""WebSocket handshakes: the server's (a 101 the engine sends) and the client's.

Server side, :func:`accept_websocket` turns a handshake request the HTTP server parsed
into a 101 :class:`~rttp.Response` whose ``on_upgrade`` runs the handler on the
detached stream: one upgrade path, through the engine's writer. wsproto validates the
handshake and computes the accept token. Client side, :func:`connect_websocket` opens a
stream through the transport plugins and performs the handshake.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.connection import Connection
from wsproto.events import Request as WSRequest
from wsproto.utilities import LocalProtocolError as WSLocalError
from wsproto.utilities import RemoteProtocolError as WSRemoteError
from wsproto.utilities import generate_accept_token, generate_nonce

from .._model import URL, Headers, HeadersLike, Request, Response
from .._plugins import Plugins, get_plugins
from ..errors import ConnectTimeout, ProtocolError, TransportError, WebSocketRejected
from ..plugin import ConnectOptions
from ._conn import PrefixedStream
from ._connection import HTTPConnection
from ._errors import connect_errors
from ._sockio import fast_stream
from ._tls import client_context
from ._websocket import DEFAULT_MAX_FRAGMENTS, DEFAULT_MAX_MESSAGE_SIZE, WebSocket

__all__ = ["WebSocketHandler", "accept_websocket", "connect_websocket", "is_websocket_request"]

_READ_SIZE = 65536


# -- server side ----------------------------------------------------------------------------
def is_websocket_request(request: Request) -> bool:
    """True for a GET asking to upgrade to ``websocket``."""
    return (
        request.method == "GET"
        and "websocket" in request.headers.flags("upgrade")
        and "upgrade" in request.headers.flags("connection")
    )


WebSocketHandler = Callable[[WebSocket], Awaitable[Any]]


def accept_websocket(
    request: Request,
    handler: WebSocketHandler,
    *,
    subprotocols: Sequence[str] = (),
    headers: HeadersLike = None,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    close_timeout: float = 5.0,
    send_timeout: float | None = None,
    max_fragments: int | None = DEFAULT_MAX_FRAGMENTS,
) -> Response:
    """Accept a WebSocket handshake: the returned response takes the connection over.

    A request that is not a valid handshake gets a 400 (426 when it asks for no
    upgrade at all) naming the problem. ``handler(ws)`` runs once the 101 is sent; when
    it returns, the connection closes (1000, or 1011 if it raised).
    """
    if not is_websocket_request(request):
        return Response(
            426,
            {"Upgrade": "websocket", "Connection": "Upgrade"},
            "426 Upgrade Required: send a WebSocket handshake\n",
        )
    connection = WSConnection(ConnectionType.SERVER)
    try:
        # wsproto validates the handshake (version, key, upgrade tokens)
        connection.initiate_upgrade_connection(request.headers.raw, request.target)
        handshake = next(connection.events())
    except (WSRemoteError, WSLocalError, StopIteration) as exc:
        return Response(400, body=f"400 Bad Request: invalid WebSocket handshake: {exc}\n")
    assert isinstance(handshake, WSRequest)
    chosen = next((p for p in handshake.subprotocols if p in subprotocols), None)
    key = request.headers.get_raw(b"sec-websocket-key")[0]
    answer = [
        (b"Upgrade", b"websocket"),
        (b"Connection", b"Upgrade"),
        (b"Sec-WebSocket-Accept", generate_accept_token(key)),
    ]
    if chosen is not None:
        answer.append((b"Sec-WebSocket-Protocol", chosen.encode("ascii")))
    answer += Headers(headers).raw

    async def on_upgrade(stream: trio.abc.Stream) -> None:
        # the engine wrote the 101 and holds it back: the WebSocket sends it before its first
        # frame (or at accept()), on the bare stream, so frames pay for no wrapper
        stream, received, unsent = PrefixedStream.split(stream)
        connection = Connection(ConnectionType.SERVER)
        ws = WebSocket(
            stream,
            connection,
            request=request,
            subprotocol=chosen,
            max_message_size=max_message_size,
            close_timeout=close_timeout,
            send_timeout=send_timeout,
            max_fragments=max_fragments,
        )
        ws._handshake = unsent
        if received:  # frames that came with the handshake: the first receive reads them
            connection.receive_data(received)
            ws._events = connection.events()
        try:
            await handler(ws)
        except Exception:
            await ws.close(1011, "internal error")
            raise
        else:
            await ws.close(1000)

    response = Response(101, answer)
    response.on_upgrade = on_upgrade
    return response


# -- client side ----------------------------------------------------------------------------
async def connect_websocket(
    url: str | URL,
    *,
    headers: HeadersLike = None,
    subprotocols: Sequence[str] = (),
    handshake_timeout: float | None = 15.0,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    close_timeout: float = 5.0,
    send_timeout: float | None = None,
    max_fragments: int | None = DEFAULT_MAX_FRAGMENTS,
    verify: Any = True,
    plugins: Plugins | None = None,
) -> WebSocket:
    """Open a WebSocket to ``ws://``, ``wss://`` or ``ws+unix://`` and complete the handshake.

    A refused handshake raises :class:`~rttp.errors.WebSocketRejected` with the status,
    headers and body; a slow one :class:`~rttp.errors.ConnectTimeout`.
    """
    target = URL(url)
    plugin_set = plugins or get_plugins()
    transport = plugin_set.transport_for_url(target.scheme)
    where = target.unix_path or f"{target.host}:{target.port}"
    options = ConnectOptions(ssl_context=client_context(verify) if target.is_secure else None)
    seconds = handshake_timeout if handshake_timeout is not None else math.inf
    nonce = generate_nonce()
    offered = list(subprotocols)
    conn: HTTPConnection | None = None
    with trio.move_on_after(seconds) as scope:
        with connect_errors(where):
            stream = fast_stream(await transport.connect(target, options))
        conn = HTTPConnection(stream, plugins=plugin_set, where=where, max_line_size=None)
        try:
            chosen, received = await _handshake(conn, target, headers, nonce, offered, where)
        except BaseException:
            await trio.aclose_forcefully(stream)
            raise
    if scope.cancelled_caught:
        if conn is not None:
            await trio.aclose_forcefully(conn.stream)
        raise ConnectTimeout(
            f"WebSocket handshake with {where} took longer than {handshake_timeout}s",
            handshake_timeout,
        )
    assert conn is not None
    connection = Connection(ConnectionType.CLIENT)
    ws = WebSocket(
        conn.stream,
        connection,
        url=target,
        subprotocol=chosen,
        max_message_size=max_message_size,
        close_timeout=close_timeout,
        send_timeout=send_timeout,
        max_fragments=max_fragments,
    )
    if received:  # frames that came with the 101: the first receive reads them
        connection.receive_data(received)
        ws._events = connection.events()
    return ws


async def _handshake(
    conn: HTTPConnection,
    target: URL,
    headers: HeadersLike,
    nonce: bytes,
    offered: list[str],
    where: str,
) -> tuple[str | None, bytes]:
    """The opening handshake through the engine: a GET with the upgrade fields, the
    answer read like any response, then the stream detached. Returns the chosen
    subprotocol and the bytes that came after the 101."""
    fields = [
        (b"Upgrade", b"websocket"),
        (b"Connection", b"Upgrade"),
        (b"Sec-WebSocket-Key", nonce),
        (b"Sec-WebSocket-Version", b"13"),
    ]
    if offered:
        fields.append((b"Sec-WebSocket-Protocol", ", ".join(offered).encode("ascii")))
    request = conn.make_request(
        host=target.host_header,
        uri=target.target,
        headers=[*fields, *Headers(headers).raw],
        compress=False,
    )
    try:
        await conn.send_request(request)
        response = await conn.read_response(request)
    except ProtocolError as exc:
        raise WebSocketRejected(
            502, [], f"invalid handshake answer from {where}: {exc}".encode()
        ) from exc
    if response.status != 101:
        try:
            body = await _bounded(response)
        except (ProtocolError, TransportError):
            body = b""
        raise WebSocketRejected(response.status, response.headers.raw, body)
    answer = response.headers
    problem = None
    if "websocket" not in answer.flags("upgrade") or "upgrade" not in answer.flags("connection"):
        problem = "the 101 does not upgrade to websocket"
    elif answer.get_raw(b"sec-websocket-accept") != [generate_accept_token(nonce)]:
        problem = "wrong Sec-WebSocket-Accept"
    chosen = answer.get("sec-websocket-protocol")
    if problem is None and chosen is not None and chosen not in offered:
        problem = f"unrequested subprotocol {chosen!r}"
    if problem is None and answer.get("sec-websocket-extensions"):
        problem = "unrequested extensions"
    if problem is not None:
        raise WebSocketRejected(
            502, response.headers.raw, f"invalid handshake answer from {where}: {problem}".encode()
        )
    stream, received, _ = PrefixedStream.split(conn.detach())
    conn.stream = stream
    return chosen, received


async def _bounded(response: Response, limit: int = 65536) -> bytes:
    """The start of a refusal's body (at most ``limit`` bytes)."""
    body = b""
    async for chunk in response.stream():
        body += chunk
        if len(body) >= limit:
            break
    await response.aclose()
    return body[:limit]
