"""``rttp.HTTPConnection``: the seed's HTTP/1.1 protocol object over any
``trio.abc.Stream``, a façade over the engine's two sides.

========================  =====================================================
server                    ``read_request`` → handler → ``send_response``
                          (or ``send_head`` / ``send_data`` / ``finish``)
client                    ``make_request`` → ``send_request`` → ``read_response``
either                    ``detach()`` after a 101; ``aclose()``
========================  =====================================================

The role is chosen by ``config`` (a :class:`~rttp.ServerConfig` or
:class:`~rttp.ClientConfig`) or by the first call; the façade then forwards to a
:class:`~rttp._io.engine._server.ServerConnection` or a
:class:`~rttp._io.engine._client.ClientConnection`, which the server and the client's
pool use directly.
"""

from __future__ import annotations

from typing import Any

import trio

from ..._config import ClientConfig, ServerConfig
from ..._model import HeadersLike, Request, Response
from ..._plugins import Plugins, get_plugins
from ..._proto._events import ProtocolLimits
from ...errors import ProtocolError
from ...plugin import ProtocolBackend
from ._base import MIN_LINE_SIZE
from ._client import ClientConnection, Progress
from ._content import Content
from ._exchange import ReceiveContent
from ._framing import make_response
from ._server import ServerConnection
from ._settings import ServerSettings

__all__ = ["HTTPConnection"]


class HTTPConnection:
    """HTTP/1.1 over ``stream``, as a client or as a server (the seed's protocol object).

    Server role::

        conn = rttp.HTTPConnection(stream)
        while (request := await conn.read_request("bytes")) is not None:
            await conn.send_response(conn.make_response(request, content=b"hi"))

    Client role::

        request = conn.make_request(host="example.org", uri="/")
        await conn.send_request(request)
        response = await conn.read_response(request)
        body = await response.read()

    ``max_line_size`` (at least 1024) bounds the request or status line, each header
    line and each chunk-size line; crossing it is a 414 (request line), 431 (header
    line) or 400 (chunk line). ``config`` is a :class:`~rttp.ServerConfig` or
    :class:`~rttp.ClientConfig` for every other limit; ``http_backend`` names the
    parser plugin (``"auto"``: the fastest loaded). ``timeout`` bounds each receive and
    send (None: no bound).

    Errors carry ``errtype``: ``"protocol"`` (:class:`~rttp.errors.ProtocolError`, the
    peer broke HTTP; ``status`` is the answer due) or ``"io"`` (the network; may be
    retried). The connection is closed for further exchanges after either.
    """

    __slots__ = (
        "_config",
        "_limits",
        "_plugins",
        "_role",
        "_stream",
        "_timeout",
        "_where",
        "backend",
    )

    def __init__(
        self,
        stream: trio.abc.Stream,
        *,
        max_line_size: int | None = 8192,
        config: ServerConfig | ClientConfig | None = None,
        plugins: Plugins | None = None,
        http_backend: str | None = None,
        timeout: float | None = None,
        where: str = "",
    ) -> None:
        if max_line_size is not None and (
            not isinstance(max_line_size, int) or max_line_size < MIN_LINE_SIZE
        ):
            raise ValueError(
                f"max_line_size must be an int of at least {MIN_LINE_SIZE}, got {max_line_size!r}"
            )
        if plugins is None:
            plugins = get_plugins(config.plugins, config.disable) if config else get_plugins()
        self._plugins = plugins
        self._config = config
        #: the parser plugin this connection runs on
        self.backend: ProtocolBackend = plugins.backend(
            http_backend or (config.http_backend if config is not None else "auto")
        )
        limits = config.protocol_limits if config is not None else ProtocolLimits()
        if max_line_size is not None:
            limits = limits.with_line_size(max_line_size)
        self._limits = limits
        self._timeout = timeout
        self._where = where
        self._role: ServerConnection | ClientConnection | None = None
        if isinstance(config, ServerConfig):
            self._role = self._server_role(stream)
        elif isinstance(config, ClientConfig):
            self._role = self._client_role(stream)
        else:
            self._stream = stream

    # -- the two sides -----------------------------------------------------------------------
    _stream: trio.abc.Stream

    def _server_role(self, stream: trio.abc.Stream) -> ServerConnection:
        config = self._config if isinstance(self._config, ServerConfig) else ServerConfig()
        return ServerConnection(
            stream,
            ServerSettings(config, self._plugins),
            backend=self.backend,
            limits=self._limits,
            read_timeout=self._timeout,
            write_timeout=self._timeout,
            where=self._where,
        )

    def _client_role(self, stream: trio.abc.Stream) -> ClientConnection:
        config = self._config
        conn = ClientConnection(
            stream,
            plugins=self._plugins,
            backend=self.backend,
            limits=self._limits,
            read_size=config.read_size if config is not None else 65536,
            read_timeout=self._timeout,
            write_timeout=self._timeout,
            where=self._where,
        )
        if isinstance(config, ClientConfig):
            conn.configure(config)
        return conn

    @property
    def _server(self) -> ServerConnection:
        role = self._role
        if role is None:
            role = self._role = self._server_role(self._stream)
        if not isinstance(role, ServerConnection):
            raise RuntimeError("this connection plays the client role: it cannot read requests")
        return role

    @property
    def _client(self) -> ClientConnection:
        role = self._role
        if role is None:
            role = self._role = self._client_role(self._stream)
        if not isinstance(role, ClientConnection):
            raise RuntimeError("this connection plays the server role: it cannot send requests")
        return role

    # -- either role -------------------------------------------------------------------------
    @property
    def stream(self) -> trio.abc.Stream:
        """The stream this connection talks over."""
        return self._role.stream if self._role is not None else self._stream

    @property
    def closing(self) -> bool:
        """No more exchanges: the connection closes after the current one."""
        return self._role is not None and self._role.closing

    def detach(self) -> trio.abc.Stream:
        """Hand the stream to an upgraded protocol (after a 101, say); the connection is done.

        The stream returned replays any bytes already received after the HTTP head, so
        the new protocol loses nothing.
        """
        role = self._role
        if role is None:
            raise RuntimeError("nothing to detach: this connection has not been used")
        return role.detach()

    async def aclose(self, *, linger: bool = True) -> None:
        """Close the stream: gracefully within a second, else at once (works even when
        cancelled). After an error answer the server role first lingers (see
        :meth:`send_error`)."""
        if self._role is None:
            await trio.aclose_forcefully(self._stream)
        else:
            await self._role.aclose(linger=linger)

    async def __aenter__(self) -> HTTPConnection:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- the server role ---------------------------------------------------------------------
    @property
    def request(self) -> Request | None:
        """The request being answered (None before the first and between exchanges)."""
        role = self._role
        return role.exchange.request if isinstance(role, ServerConnection) else None

    @property
    def peer(self) -> tuple[str, int] | None:
        """The peer's ``(host, port)`` (``(path, 0)`` on a unix socket)."""
        return self._server.peer

    @property
    def upgraded(self) -> bool:
        """True once a 101 answer switched protocols: :meth:`detach` hands the stream over."""
        role = self._role
        return isinstance(role, ServerConnection) and role.exchange.upgraded

    @property
    def sent(self) -> int:
        """Body bytes of the last answer, or -1 if it was cut off."""
        return self._server.exchange.answer.sent

    async def read_request(self, receive_content: ReceiveContent = "stream") -> Request | None:
        """The next request, or None once the connection has no more (EOF between
        requests, or the previous exchange closes it).

        A request the peer got wrong raises :class:`~rttp.errors.ProtocolError` with the
        status to answer (:meth:`send_error` sends it); a broken connection raises
        :class:`~rttp.errors.ReadError`. ``receive_content`` says what happens to the
        body: ``"stream"`` (left for ``request.stream()``), ``"bytes"`` (read into
        ``request.body``), None (read and discarded) or a callable called (and awaited if
        async) per chunk.
        """
        exchange = await self._server.next_exchange()
        if exchange is None:
            return None
        await exchange.receive_content(receive_content)
        return exchange.request

    def make_response(
        self,
        request: Request,
        status: int = 200,
        *,
        headers: HeadersLike = None,
        close: bool = False,
        content: Content = None,
        content_size: int | None = None,
        compress: bool = True,
        allowed_methods: Any = None,
        content_type: str | None = None,
    ) -> Response:
        """A response to ``request`` (the seed's options).

        ``content`` is bytes, str, an iterable of chunks or a file; a sized body gets
        Content-Length (``content_size`` declares a stream's), an unsized one is chunked.
        ``compress=False`` never compresses it; otherwise it is compressed when the
        client accepts it and the seed's rules allow. ``close`` makes it the last answer
        on the connection. A method outside ``allowed_methods`` (names, or a mapping of
        name to true) gets a 405 with ``Allow`` instead.
        """
        return make_response(
            request,
            status,
            headers=headers,
            close=close,
            content=content,
            content_size=content_size,
            compress=compress,
            allowed_methods=allowed_methods,
            content_type=content_type,
        )

    async def send_response(self, response: Response) -> None:
        """Answer the current request with ``response`` (framed, compressed as negotiated).

        A 101 with an ``on_upgrade`` callback switches protocols: afterwards
        :attr:`upgraded` is True and :meth:`detach` hands the stream over. An invalid
        response is logged and answered 500 instead. If the body fails half-way, the
        connection is cut (the only honest signal left once the head is out).
        """
        await self._server.exchange.answer.send_response(response)

    async def send_head(
        self, status: int = 200, headers: HeadersLike = None, *, reason: str | None = None
    ) -> None:
        """Start the answer: the status line and headers go out with the first data (or
        at :meth:`finish`). Without a Content-Length the body is chunked (HTTP/1.1)."""
        answer = self._server.exchange.answer
        if answer.started:
            raise RuntimeError("send_head() was called already for this request")
        answer.start(status, headers, reason=reason)

    async def send_data(self, data: bytes) -> None:
        """Send one piece of the body (dropped for HEAD, 204 and 304 answers)."""
        answer = self._server.exchange.answer
        if not answer.started:
            raise RuntimeError("send_head() must come before send_data()")
        await answer.send(data)

    async def flush(self) -> None:
        """Send the head now if it is still waiting for data."""
        await self._server.exchange.answer.flush()

    async def finish(self, trailers: HeadersLike = None) -> None:
        """End the answer begun with :meth:`send_head` (idempotent)."""
        answer = self._server.exchange.answer
        if answer.started:
            await answer.finish(trailers)

    async def send_error(self, exc: ProtocolError) -> None:
        """Answer a protocol error with its status and a plain-text message, then close."""
        await self._server.send_error(exc)

    # -- the client role ---------------------------------------------------------------------
    def make_request(
        self,
        *,
        host: str | None = None,
        method: str = "GET",
        uri: str = "/",
        headers: HeadersLike = None,
        content: Content = None,
        content_size: int | None = None,
        compress: bool = True,
        close: bool = False,
    ) -> Request:
        """A request for this connection: ``uri`` on ``host`` (the Host header).

        ``content`` is bytes, str, an async iterable of chunks or a file; a sized body
        gets Content-Length (``content_size`` declares it for a stream), an unsized one
        is chunked. ``compress`` asks for a compressed answer (Accept-Encoding, decoded
        on arrival); ``close`` makes this the connection's last exchange.
        """
        return self._client.make_request(
            host=host,
            method=method,
            uri=uri,
            headers=headers,
            content=content,
            content_size=content_size,
            compress=compress,
            close=close,
        )

    async def send_request(
        self,
        request: Request,
        head: tuple[bytes, bytes, list[tuple[bytes, bytes]]] | None = None,
        *,
        progress: Progress | None = None,
    ) -> None:
        """Send ``request`` (its head and body). If the server answers early and closes
        (a 413 or 401 while the body is still going out), the write error is swallowed
        so that :meth:`read_response` can read what it said."""
        await self._client.send_request(request, head, progress=progress)

    async def read_response(self, request: Request | None = None) -> Response:
        """The response head; its body streams from this connection (``response.stream()``,
        ``await response.read()``)."""
        return await self._client.read_response(request)

    async def read_body(self, max_size: int | None = None) -> bytes:
        """The whole body of the response just read; ends the exchange."""
        return await self._client.read_body(max_size)

    def next_cycle(self) -> bool:
        """Ready the client role for its next exchange (idempotent); False if the
        connection cannot carry one (then close it)."""
        return self._client.next_cycle()
