"""WebSocket handshakes: the server's (a 101 the engine sends) and the client's.

Server side, :func:`accept_websocket` turns a handshake request the HTTP server parsed
into a 101 :class:`~rttp.Response` whose ``on_upgrade`` runs the handler on the
detached stream: one upgrade path, through the engine's writer. The checks and keys of
RFC 6455 §4 and the permessage-deflate negotiation are sans-IO (``_proto._wskeys``,
``_proto._wsdeflate``), the same whichever backend plugin frames the connection.
Client side, :func:`connect_websocket` opens a stream through the transport plugins and
performs the handshake.
"""

from __future__ import annotations

import math
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import trio

from ..._config import SERVER_WEBSOCKETS
from ..._model import URL, Headers, HeadersLike, Request, Response
from ..._model._unset import UNSET
from ..._plugins import Plugins, get_plugins
from ..._proto._events import ProtocolLimits
from ..._proto._proxyrules import ProxyRules
from ..._proto._wsbackend import DEFAULT_MAX_FRAGMENTS, DEFAULT_MAX_MESSAGE_SIZE, WebSocketSettings
from ..._proto._wsdeflate import Deflate, DeflateParams
from ..._proto._wskeys import WEBSOCKET_VERSION, accept_token, handshake_problem, new_key
from ...errors import ConnectTimeout, ProtocolError, TransportError, WebSocketRejected
from ...plugin import ConnectOptions, WebSocketBackend
from ..engine._answering import ExchangeAnswer
from ..engine._client import ClientConnection
from ..net._errors import connect_errors
from ..net._prefixed import PrefixedStream
from ..net._proxy import open_proxied
from ..net._sockio import fast_stream
from ..net._tls import client_context
from ._websocket import WebSocket

__all__ = [
    "WebSocketHandler",
    "accept_websocket",
    "connect_websocket",
    "is_websocket_request",
    "websocket_handshake",
]

#: the client's permessage-deflate offer unless told otherwise
DEFAULT_COMPRESSION = Deflate()


# -- server side ----------------------------------------------------------------------------
def is_websocket_request(request: Request) -> bool:
    """True for a GET asking to upgrade to ``websocket``."""
    if request.method != "GET":
        return False
    answer = request._answer
    if type(answer) is ExchangeAnswer and not answer.asks_upgrade:
        return False  # the engine's parsed head: no Upgrade with the upgrade option
    headers = request.headers
    return (
        bool(headers.get_raw(b"upgrade"))  # the common request: no Upgrade, nothing parsed
        and "websocket" in headers.flags("upgrade")
        and "upgrade" in headers.flags("connection")
    )


WebSocketHandler = Callable[[WebSocket], Awaitable[Any]]


def _extensions(headers: Headers) -> list[str]:
    return [value.decode("latin-1") for value in headers.get_raw(b"sec-websocket-extensions")]


def server_backend(
    websocket_backend: str | None,
    compression: Deflate | None,
    plugins: Plugins | None,
) -> tuple[WebSocketBackend, Deflate | None]:
    """The backend and compression a server-side handshake uses: those given, else the
    serving Server's (``websocket_backend`` and ``websocket_compression``), else the
    defaults."""
    serving = SERVER_WEBSOCKETS.get()
    if plugins is None:
        plugins = serving.plugins if serving is not None else get_plugins()
    if websocket_backend is None:
        websocket_backend = serving.backend if serving is not None else "auto"
    if compression is UNSET:
        compression = serving.compression if serving is not None else DEFAULT_COMPRESSION
    return plugins.websocket_backend(websocket_backend), compression


def accept_websocket(
    request: Request,
    handler: WebSocketHandler,
    *,
    subprotocols: Sequence[str] = (),
    headers: HeadersLike = None,
    max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
    close_timeout: float = 5.0,
    send_timeout: float | None = None,
    max_fragments: int | None = DEFAULT_MAX_FRAGMENTS,
    compression: Deflate | None = UNSET,
    websocket_backend: str | None = None,
    plugins: Plugins | None = None,
) -> Response:
    """Accept a WebSocket handshake: the returned response takes the connection over.

    A request that is not a valid handshake gets a 400 (426 when it asks for no
    upgrade at all, or for a version other than 13) naming the problem. ``handler(ws)``
    runs once the 101 is sent; when it returns, the connection closes (1000, or 1011 if
    it raised).

    ``compression`` (:class:`rttp.Deflate`, or None to turn it off) and
    ``websocket_backend`` default to the serving Server's ``websocket_compression`` and
    ``websocket_backend``.
    """
    if not is_websocket_request(request):
        return Response(
            426,
            {"Upgrade": "websocket", "Connection": "Upgrade"},
            "426 Upgrade Required: send a WebSocket handshake\n",
        )
    problem = handshake_problem(request.headers, request.http_version == "2")
    if problem is not None:
        if problem.startswith("Sec-WebSocket-Version"):  # RFC 6455 §4.4: say which we speak
            return Response(
                426,
                {"Sec-WebSocket-Version": WEBSOCKET_VERSION.decode()},
                f"426 Upgrade Required: invalid WebSocket handshake: {problem}\n",
            )
        return Response(400, body=f"400 Bad Request: invalid WebSocket handshake: {problem}\n")
    response, opened = websocket_handshake(
        request,
        subprotocols=subprotocols,
        headers=headers,
        max_message_size=max_message_size,
        close_timeout=close_timeout,
        send_timeout=send_timeout,
        max_fragments=max_fragments,
        compression=compression,
        websocket_backend=websocket_backend,
        plugins=plugins,
    )

    async def on_upgrade(stream: trio.abc.Stream) -> None:
        ws = await opened(stream)
        try:
            await handler(ws)
        except Exception:
            await ws.close(1011, "internal error")
            raise
        else:
            await ws.close(1000)

    response.on_upgrade = on_upgrade
    return response


def websocket_handshake(
    request: Request,
    *,
    subprotocols: Sequence[str] = (),
    headers: HeadersLike = None,
    max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
    close_timeout: float = 5.0,
    send_timeout: float | None = None,
    max_fragments: int | None = DEFAULT_MAX_FRAGMENTS,
    compression: Deflate | None = UNSET,
    websocket_backend: str | None = None,
    plugins: Plugins | None = None,
) -> tuple[Response, Callable[[trio.abc.Stream], Awaitable[WebSocket]]]:
    """The 101 answering a valid handshake ``request`` (checked by the caller), and what
    makes the :class:`WebSocket` out of the stream once the 101 switched it: the first
    subprotocol of ``subprotocols`` the client offered, permessage-deflate as negotiated,
    the backend's framing under these limits."""
    backend, compression = server_backend(websocket_backend, compression, plugins)
    offered = request.headers.csv_list("sec-websocket-protocol")
    chosen = next((p for p in offered if p in subprotocols), None)
    answer = [(b"Upgrade", b"websocket"), (b"Connection", b"Upgrade")]
    keys = request.headers.get_raw(b"sec-websocket-key")
    if keys:  # (HTTP/2's extended CONNECT has none: its answer is a 200 on the stream)
        answer.append((b"Sec-WebSocket-Accept", accept_token(keys[0])))
    if chosen is not None:
        answer.append((b"Sec-WebSocket-Protocol", chosen.encode("ascii")))
    deflate = compression.accept(_extensions(request.headers)) if compression else None
    extensions = deflate.answer() if deflate is not None else None
    if extensions is not None:
        answer.append((b"Sec-WebSocket-Extensions", extensions.encode("ascii")))
    answer += Headers(headers).raw
    protocol = backend.protocol(False, WebSocketSettings(max_message_size, max_fragments, deflate))

    async def opened(stream: trio.abc.Stream) -> WebSocket:
        # the engine wrote the 101 and holds it back: the WebSocket sends it before its first
        # frame (or at accept()), on the bare stream, so frames pay for no wrapper
        stream, received, unsent = PrefixedStream.split(stream)
        ws = WebSocket(
            stream,
            protocol,
            request=request,
            subprotocol=chosen,
            extensions=extensions,
            close_timeout=close_timeout,
            send_timeout=send_timeout,
        )
        ws._handshake = unsent
        if received:  # frames that came with the handshake
            await ws.feed(received)
        return ws

    return Response(101, answer), opened


# -- client side ----------------------------------------------------------------------------
async def connect_websocket(
    url: str | URL,
    *,
    headers: HeadersLike = None,
    subprotocols: Sequence[str] = (),
    handshake_timeout: float | None = 15.0,
    max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
    close_timeout: float = 5.0,
    send_timeout: float | None = None,
    max_fragments: int | None = DEFAULT_MAX_FRAGMENTS,
    compression: Deflate | None = DEFAULT_COMPRESSION,
    websocket_backend: str = "auto",
    verify: Any = True,
    plugins: Plugins | Sequence[object] | None = None,
    proxy: str | None = None,
    trust_env: bool = True,
) -> WebSocket:
    """Open a WebSocket to ``ws://``, ``wss://`` or ``ws+unix://`` and complete the handshake.

    ``proxy`` (``http://[user:pass@]host:port``) carries the connection through a
    ``CONNECT`` tunnel; with ``trust_env`` and no ``proxy``, ``HTTP_PROXY``,
    ``HTTPS_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` are read, as by :class:`rttp.Client`.

    ``compression``: the permessage-deflate offer (:class:`rttp.Deflate`), None for
    none. ``websocket_backend``: the framing plugin (``"websockets"``, ``"wsproto"``;
    ``"auto"`` picks the fastest loaded). A refused handshake raises
    :class:`~rttp.errors.WebSocketRejected` with the status, headers and body; a slow
    one :class:`~rttp.errors.ConnectTimeout`.
    """
    target = URL(url)
    # a plugin set, or plugin objects to add to the defaults (AppTransport(app), say)
    plugin_set = plugins if isinstance(plugins, Plugins) else get_plugins(plugins or ())
    backend = plugin_set.websocket_backend(websocket_backend)
    transport = plugin_set.transport_for_url(target.scheme)
    where = target.unix_path or f"{target.host}:{target.port}"
    options = ConnectOptions(ssl_context=client_context(verify) if target.is_secure else None)
    seconds = handshake_timeout if handshake_timeout is not None else math.inf
    offer = _Offer(new_key(), list(subprotocols), compression)
    stream: trio.abc.Stream | None = None
    received = b""
    unix = target.unix_path
    rules = ProxyRules(proxy, None, os.environ if trust_env else None)
    via = rules.for_url(target.scheme, target.host, target.port) if rules and not unix else None
    with trio.move_on_after(seconds) as scope:
        if via is not None:
            where = f"{where} through proxy {URL(via).netloc}"
            context = options.ssl_context or client_context(verify)
            tunnel, _ = await open_proxied(via, target, options, plugin_set, context, where)
            stream = fast_stream(tunnel)
        else:
            with connect_errors(where, unix or target.host, None if unix else target.port):
                stream = fast_stream(await transport.connect(target, options))
        conn = ClientConnection(
            stream,
            plugins=plugin_set,
            backend=plugin_set.backend("auto"),
            limits=ProtocolLimits(),
            where=where,
        )
        try:
            stream, received = await _handshake(conn, target, headers, offer, where)
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
    settings = WebSocketSettings(max_message_size, max_fragments, offer.agreed)
    ws = WebSocket(
        stream,
        backend.protocol(True, settings),
        url=target,
        subprotocol=offer.chosen,
        extensions=offer.agreed.answer() if offer.agreed is not None else None,
        close_timeout=close_timeout,
        send_timeout=send_timeout,
    )
    if received:  # frames that came with the 101
        await ws.feed(received)
    return ws


class _Offer:
    """What a client's handshake offers, and what the server chose of it."""

    __slots__ = ("agreed", "chosen", "compression", "key", "subprotocols")

    def __init__(self, key: bytes, subprotocols: list[str], compression: Deflate | None) -> None:
        self.key = key
        self.subprotocols = subprotocols
        self.compression = compression
        self.chosen: str | None = None
        self.agreed: DeflateParams | None = None

    def fields(self) -> list[tuple[bytes, bytes]]:
        fields = [
            (b"Upgrade", b"websocket"),
            (b"Connection", b"Upgrade"),
            (b"Sec-WebSocket-Key", self.key),
            (b"Sec-WebSocket-Version", WEBSOCKET_VERSION),
        ]
        if self.subprotocols:
            fields.append((b"Sec-WebSocket-Protocol", ", ".join(self.subprotocols).encode("ascii")))
        if self.compression is not None:
            fields.append((b"Sec-WebSocket-Extensions", self.compression.offer().encode("ascii")))
        return fields

    def check(self, answer: Headers) -> str | None:
        """What is wrong with the server's 101, or None (then ``chosen`` and ``agreed``
        are set)."""
        if "websocket" not in answer.flags("upgrade") or "upgrade" not in answer.flags(
            "connection"
        ):
            return "the 101 does not upgrade to websocket"
        if answer.get_raw(b"sec-websocket-accept") != [accept_token(self.key)]:
            return "wrong Sec-WebSocket-Accept"
        chosen = answer.get("sec-websocket-protocol")
        if chosen is not None and chosen not in self.subprotocols:
            return f"unrequested subprotocol {chosen!r}"
        self.chosen = chosen
        extensions = _extensions(answer)
        if self.compression is None:
            return "unrequested extensions" if any(v.strip() for v in extensions) else None
        try:
            self.agreed = self.compression.agree(extensions)
        except ValueError as exc:
            return f"invalid Sec-WebSocket-Extensions: {exc}"
        return None


async def _handshake(
    conn: ClientConnection, target: URL, headers: HeadersLike, offer: _Offer, where: str
) -> tuple[trio.abc.Stream, bytes]:
    """The opening handshake through the engine: a GET with the upgrade fields, the
    answer read like any response, then the stream detached. Returns the bare stream
    and the bytes that came after the 101."""
    request = conn.make_request(
        host=target.host_header,
        uri=target.target,
        headers=[*offer.fields(), *Headers(headers).raw],
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
    problem = offer.check(response.headers)
    if problem is not None:
        raise WebSocketRejected(
            502, response.headers.raw, f"invalid handshake answer from {where}: {problem}".encode()
        )
    stream, received, _ = PrefixedStream.split(conn.detach())
    return stream, received


async def _bounded(response: Response, limit: int = 65536) -> bytes:
    """The start of a refusal's body (at most ``limit`` bytes)."""
    body = b""
    async for chunk in response.stream():
        body += chunk
        if len(body) >= limit:
            break
    await response.aclose()
    return body[:limit]
