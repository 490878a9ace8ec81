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
from wsproto.events import (
    AcceptConnection,
    RejectConnection,
    RejectData,
)
from wsproto.events import Request as WSRequest
from wsproto.utilities import LocalProtocolError as WSLocalError
from wsproto.utilities import RemoteProtocolError as WSRemoteError
from wsproto.utilities import generate_accept_token

from .._model import URL, Headers, HeadersLike, Request, Response
from .._plugins import Plugins, get_plugins
from ..errors import ConnectTimeout, WebSocketRejected
from ..plugin import ConnectOptions
from ._conn import PrefixedStream
from ._errors import connect_errors
from ._sockio import fast_stream
from ._tls import client_context
from ._websocket import DEFAULT_MAX_MESSAGE_SIZE, WebSocket

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
        if received:
            connection.receive_data(received)
        ws = WebSocket(
            stream,
            connection,
            request=request,
            subprotocol=chosen,
            max_message_size=max_message_size,
            close_timeout=close_timeout,
            send_timeout=send_timeout,
        )
        ws._handshake = unsent
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
    connection = WSConnection(ConnectionType.CLIENT)
    stream: trio.abc.Stream | None = None
    with trio.move_on_after(seconds) as scope:
        with connect_errors(where):
            stream = fast_stream(await transport.connect(target, options))
        try:
            extra = [(n, v) for n, v in Headers(headers).raw]
            host = target.host_header
            await stream.send_all(
                connection.send(
                    WSRequest(
                        host=host,
                        target=target.target,
                        extra_headers=extra,
                        subprotocols=list(subprotocols),
                    )
                )
            )
            leftover, accepted = await _read_handshake(stream, connection, where)
        except BaseException:
            await trio.aclose_forcefully(stream)
            raise
    if scope.cancelled_caught:
        if stream is not None:
            await trio.aclose_forcefully(stream)
        raise ConnectTimeout(
            f"WebSocket handshake with {where} took longer than {handshake_timeout}s",
            handshake_timeout,
        )
    assert stream is not None
    ws = WebSocket(
        stream,
        connection,
        url=target,
        subprotocol=accepted.subprotocol,
        max_message_size=max_message_size,
        close_timeout=close_timeout,
        send_timeout=send_timeout,
    )
    if leftover:
        ws._events = iter(leftover)
    return ws


async def _read_handshake(
    stream: trio.abc.Stream, connection: WSConnection, where: str
) -> tuple[list[Any], AcceptConnection]:
    rejected: RejectConnection | None = None
    body = b""
    while True:
        data = await stream.receive_some(_READ_SIZE)
        try:
            connection.receive_data(bytes(data) if data else None)
            events = list(connection.events())
        except WSRemoteError as exc:
            raise WebSocketRejected(
                502, [], f"invalid handshake answer from {where}: {exc}".encode()
            ) from exc
        for index, event in enumerate(events):
            if isinstance(event, AcceptConnection):
                return events[index + 1 :], event
            if isinstance(event, RejectConnection):
                rejected = event
                if not event.has_body:
                    raise WebSocketRejected(event.status_code, event.headers, b"")
            elif isinstance(event, RejectData):
                body += bytes(event.data)
                if event.body_finished and rejected is not None:
                    raise WebSocketRejected(rejected.status_code, rejected.headers, body)
        if not data:
            status = rejected.status_code if rejected is not None else 502
            raise WebSocketRejected(
                status, [], body or f"{where} closed during the handshake".encode()
            )
