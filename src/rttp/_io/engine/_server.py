"""The server side of a connection: :class:`ServerConnection` reads requests into its
exchange, answers protocol errors and timeouts, and hands the stream over after a 101.

On HTTP/1.1 a connection has one :class:`~rttp._io.engine._exchange.ServerExchange`,
created with it and reset per request; the serve loop (:mod:`rttp._io.server._serve`)
runs each exchange in the connection's own task. Nothing outside the engine writes
its state: phases and deadlines change through the exchange, closing through
:meth:`ServerConnection.close_after_exchange` and :meth:`ServerConnection.drain`.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Final, NoReturn

import trio

from ..._proto._events import NEED_DATA, ProtocolLimits, RequestHead
from ...errors import ProtocolError, TransportError
from ...plugin import ProtocolBackend
from .._util import aclose_iterable
from ..net._errors import IO_ERRORS
from ..net._sockinfo import address_of, peer_left_now, readable_now
from ._base import ConnectionBase
from ._clock import CoarseClock, Phase
from ._exchange import ServerExchange
from ._settings import ServerSettings, error_response

__all__ = ["ServerConnection"]

#: an address not looked up yet
_UNKNOWN: Final = object()

#: the serve loop's phases as module globals (Python 3.11 caches a global's lookup, not a
#: class attribute's)
_IDLE: Final = Phase.IDLE
_HEAD: Final = Phase.HEAD


class ServerConnection(ConnectionBase):
    """One HTTP/1.1 connection a server accepted (or :class:`~rttp.HTTPConnection` in
    the server role): requests in, answers out, one exchange at a time."""

    __slots__ = (
        "_early",
        "_local",
        "exchange",
        "exchanges",
        "hosted",
        "multiplexed",
        "peer",
        "scheme",
        "settings",
    )

    def __init__(
        self,
        stream: trio.abc.Stream,
        settings: ServerSettings,
        *,
        backend: ProtocolBackend | None = None,
        limits: ProtocolLimits | None = None,
        clock: CoarseClock | None = None,
        read_timeout: float | None = None,
        write_timeout: float | None = None,
        where: str = "",
        proto: Any = None,
        peer: Any = _UNKNOWN,
    ) -> None:
        config = settings.config
        plugins = settings.plugins
        if limits is None:
            limits = config.protocol_limits
        super().__init__(
            stream,
            plugins=plugins,
            backend=backend or plugins.backend(config.http_backend),
            limits=limits,
            read_size=config.read_size,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            clock=clock,
            where=where,
        )
        self.settings = settings
        self.linger_timeout = config.linger_timeout
        #: the backend's protocol object (``proto``: one made elsewhere, an HTTP/2
        #: stream's view of its connection)
        self._proto = proto = self.backend.server(limits) if proto is None else proto
        #: False: one exchange at a time, in the connection's task (HTTP/1.1)
        self.multiplexed: bool = False
        #: requests read so far
        self.exchanges: int = 0
        #: the peer's ``(host, port)`` (``(path, 0)`` on a unix socket; None for a stream
        #: without a socket), looked up once here (``peer``: known already)
        self.peer: tuple[str, int] | None = address_of(stream) if peer is _UNKNOWN else peer
        self._local: Any = _UNKNOWN
        #: bytes read while watching for the peer's departure (a pipelined request)
        self._early = b""
        #: what a hosted interface keeps of this connection (the ASGI scope's fixed parts)
        self.hosted: Any = None
        self.scheme = "https" if isinstance(stream, trio.SSLStream) else "http"
        self.exchange = exchange = ServerExchange(self, proto)
        exchange.deadline = self.clock.now + (config.header_timeout or math.inf)

    @property
    def local(self) -> tuple[str, int] | None:
        """Our ``(host, port)`` (``(path, 0)`` on a unix socket), looked up once."""
        if self._local is _UNKNOWN:
            self._local = address_of(self.stream, remote=False)
        local: tuple[str, int] | None = self._local
        return local

    @property
    def tls(self) -> Any:
        """The :class:`ssl.SSLObject` of a TLS connection, None on plain TCP."""
        stream = self.stream
        return stream._ssl_object if isinstance(stream, trio.SSLStream) else None

    # -- the peer's departure while a handler runs ------------------------------------------
    def peer_left(self) -> bool:
        """Whether the peer has closed or reset the connection, told without waiting
        (HTTP/1.1 says so only by the socket's end of file)."""
        return peer_left_now(self.stream)

    async def until_peer_leaves(self) -> None:
        """Return once the peer closes or resets the connection. Only while the request
        body has all been read (nothing else reads then): a handler's wait for the
        client's departure. Bytes that arrive meanwhile (the next pipelined request)
        are kept for it, and the peer is alive from then on: this waits forever."""
        if not self.exchange.body_done:
            raise RuntimeError("the request body is still being read")
        try:
            data = await self._receive_some(self.read_size)
        except IO_ERRORS:
            return
        if not data:
            return
        self._early = bytes(data)
        await trio.sleep_forever()

    def receive_first(self, data: bytes) -> None:
        """Bytes read before this connection was made (while choosing the protocol):
        the start of the first request."""
        if data:
            self._proto.receive_data(data)
            self.exchange.phase = Phase.HEAD

    @property
    def idle(self) -> bool:
        """Between requests on a kept-alive connection (it may be closed to make room)."""
        return self.exchange.phase == Phase.IDLE and self.exchanges > 0 and not self.closing

    # -- reading a request -------------------------------------------------------------------
    async def next_exchange(self) -> ServerExchange | None:
        """The exchange of the next request, its head read, or None once the connection
        has no more (EOF between requests, or the previous exchange closed it).

        A request the peer got wrong raises :class:`~rttp.errors.ProtocolError` with the
        status to answer (:meth:`send_error` sends it); a broken connection raises
        :class:`~rttp.errors.ReadError`.
        """
        proto = self._proto
        exchange = self.exchange
        settings = self.settings
        clock = self.clock
        if self.exchanges:
            abandoned = exchange.end()
            if abandoned is not None:
                await aclose_iterable(abandoned)  # a request body the handler left unread
            if self.closing or not proto.start_next_cycle():
                self.closing = True
                return None
            if self._early:  # read while the handler waited for the peer to leave
                proto.receive_data(self._early)
                self._early = b""
            exchange.phase = _IDLE
            exchange.deadline = clock.now + settings.keep_alive_timeout
        elif self.closing:
            return None
        header_timeout = settings.header_timeout
        try:
            event = proto.next_event()
            while event is NEED_DATA:
                # (an idle connection's keep-alive deadline is set above: the first read
                # turns the phase to HEAD, and no later pass through here is idle)
                if self.watched:  # the hot path: the sweeper times it, errors mapped once
                    try:
                        data = await self._receive_some(self.read_size)
                    except IO_ERRORS as exc:
                        raise self._broken(exc) from exc
                else:
                    data = await self._receive()
                proto.receive_data(data)
                if exchange.phase == _IDLE:
                    exchange.phase = _HEAD
                    exchange.deadline = clock.now + header_timeout
                event = proto.next_event()
        except ProtocolError:
            self.closing = True
            raise
        if type(event) is not RequestHead:  # (CLOSED, PAUSED: no more requests here)
            self.closing = True
            return None
        self.exchanges += 1
        exchange.begin(event)
        return exchange

    def refuse(self, error: ProtocolError) -> NoReturn:
        """Refuse the current request with ``error``; the connection closes after it."""
        self.closing = True
        raise error

    # -- ending ------------------------------------------------------------------------------
    def close_after_exchange(self) -> None:
        """The current exchange is the last: its answer says ``Connection: close``."""
        self.closing = True

    def drain(self, window: float) -> None:
        """Graceful shutdown: every answer from now on closes its connection. An idle
        keep-alive connection stays open ``window`` seconds longer, so that a request its
        client is sending right now is answered (with close) instead of meeting a closed
        socket: the keep-alive race of RFC 9112 §9.3.1."""
        self.closing = True
        exchange = self.exchange
        if exchange.phase == Phase.IDLE and not readable_now(self.stream):
            exchange.deadline = min(exchange.deadline, self.clock.now + window)

    def close_now(self) -> None:
        """Close an idle connection at once (to make room for a new client)."""
        self.closing = True
        self.scope.cancel()

    def hold(self, data: bytes) -> None:
        """Keep ``data`` (a 101 answer) for the stream :meth:`detach` hands over."""
        self._unsent = data

    # -- answering what went wrong -----------------------------------------------------------
    def _closing_answer(self, status: int, message: str) -> bytes | None:
        """The bytes of a ``Connection: close`` error answer, or None if one can't be sent now."""
        proto = self._proto
        proto.close_after_response()
        self.closing = True
        response = error_response(status, message)
        try:
            data: bytes = proto.send_response(
                response.status,
                response.reason.encode("latin-1"),
                self.settings.final_headers(
                    [*response.headers.raw, (b"Connection", b"close")], self.clock
                )[0],
                response.body,
            )
        except ProtocolError:
            return None
        return data

    async def send_error(self, exc: ProtocolError) -> None:
        """Answer a protocol error with its status and a plain-text message, then close
        (lingering, so that the peer reads the answer)."""
        self.linger = True
        data = self._closing_answer(exc.status, str(exc))
        if data is None:
            return
        self.exchange.enter(Phase.WRITE, self.settings.write_timeout)
        await self._send(data)

    async def send_timeout_answer(self) -> None:
        """After the sweeper cut a phase short: the 408 (head, body) or 503 (handler)."""
        exchange = self.exchange
        phase = exchange.phase
        if phase in (Phase.IDLE, Phase.WRITE) or exchange.upgraded or exchange.answer.started:
            return  # nothing due, or an answer has begun: cutting the connection says it
        config = self.settings.config
        if phase == Phase.HEAD:
            status = 408
            message = f"request head not received within header_timeout={config.header_timeout}s"
        elif phase == Phase.BODY:
            status = 408
            message = f"request body stalled for longer than body_timeout={config.body_timeout}s"
        else:
            status = 503
            message = f"the handler did not answer within handler_timeout={config.handler_timeout}s"
        data = self._closing_answer(status, message)  # no lingering: the peer gets nothing more
        if data is None:
            return
        with trio.move_on_after(1.0), contextlib.suppress(TransportError):
            await self._send(data)
