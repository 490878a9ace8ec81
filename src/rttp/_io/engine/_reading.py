"""The server role of :class:`~rttp.HTTPConnection`, reading: ``read_request`` parses
one request head and, as asked, its body (``receive_content``), under the body limits.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final, Union

import trio

from ..._model import URL, Headers, Request
from ..._model._enums import Method
from ..._proto._encoding import BoundedDecoder, parse_content_encoding
from ..._proto._events import CLOSED, NEED_DATA, PAUSED, EndOfMessage, RequestHead, ServerProtocol
from ...errors import (
    DecodingError,
    ProtocolError,
    RemoteProtocolError,
    TooLarge,
    TransportError,
)
from .._util import aclose_iterable
from ..net._errors import IO_ERRORS
from ._base import BODY, HEAD, IDLE, ConnectionBase
from ._settings import ServerSettings

__all__ = ["ReceiveContent", "RequestReader", "peer_of"]

#: how ``read_request`` treats a request body: ``"stream"`` (left for the caller to read
#: with ``request.stream()``, the server's way), ``"bytes"`` (read into ``request.body``),
#: ``None`` (read and discarded) or a callable called (and awaited if async) per chunk
ReceiveContent = Union[str, None, Callable[[bytes], Any]]

_METHODS: Final = {m.value.encode("ascii"): m.value for m in Method}
_VERSIONS: Final = {b"1.1": "1.1", b"1.0": "1.0"}
_STRIP_FOR_DECODED = frozenset({b"content-encoding", b"content-length"})
_UNKNOWN_PEER: Final = object()
#: an unread request body is discarded up to this much so the connection can be reused
_DRAIN_MAX_BYTES: Final = 1 << 20


class RequestReader(ConnectionBase):
    """Reading requests (the server role's first half; see :class:`~rttp.HTTPConnection`)."""

    __slots__ = ()
    _sproto: ServerProtocol | None
    settings: ServerSettings

    def _start_server(self, settings: ServerSettings) -> ServerProtocol:
        self.settings = settings
        self._sproto = proto = self.backend.server(self.limits)
        #: the request being answered (None between exchanges)
        self.request: Request | None = None
        self.exchanges: int = 0
        #: body bytes of the last answer, or -1 if it was cut off (for an access log)
        self.sent: int = 0
        self.upgraded = False
        self.linger = False
        self.expect_continue: bool = False
        self._head: RequestHead | None = None
        self._body_iter: AsyncIterator[bytes] | None = None
        self._body_done = True
        self._codings: list[str] | None = None
        #: a request-body failure, answered instead of whatever the handler says
        self.body_error: ProtocolError | None = None
        self._peer: Any = _UNKNOWN_PEER
        self.scheme = "https" if isinstance(self.stream, trio.SSLStream) else "http"
        self._pending = b""
        self._piece: tuple[Any, bool] | None = None  # (encoder, no_body) of send_head
        self.deadline: float = self.clock.now + (settings.config.header_timeout or math.inf)
        return proto

    @property
    def peer(self) -> tuple[str, int] | None:
        """The peer's ``(host, port)`` (``(path, 0)`` on a unix socket), looked up once."""
        if self._peer is _UNKNOWN_PEER:
            self._peer = peer_of(self.stream)
        peer: tuple[str, int] | None = self._peer
        return peer

    # -- reading a request -------------------------------------------------------------------
    async def read_request(self, receive_content: ReceiveContent = "stream") -> Request | None:
        """The next request, or None once the connection has no more (EOF between
        requests, or the previous exchange closes it).

        A request the peer got wrong raises :class:`~rttp.errors.ProtocolError` with the
        status to answer (:meth:`send_error` sends it); a broken connection raises
        :class:`~rttp.errors.ReadError`. ``receive_content`` says what happens to the
        body: see :data:`ReceiveContent`.
        """
        proto = self._sproto
        if proto is None:
            proto = self._start_server(self._default_server_settings())
        settings = self.settings
        clock = self.clock
        keep_alive_timeout = settings.keep_alive_timeout
        if self.request is not None:
            if self._body_iter is not None:
                await self._end_exchange()
            if self.closing or not proto.start_next_cycle():
                self.closing = True
                return None
            self.phase: int = IDLE
            self.deadline = clock.now + keep_alive_timeout
        elif self.closing:
            return None
        first = self.exchanges == 0
        header_timeout = settings.header_timeout
        try:
            event = proto.next_event()
            while event is NEED_DATA:
                if self.phase == IDLE and not first:
                    self.deadline = clock.now + keep_alive_timeout
                if self.watched:  # the hot path: the sweeper times it, errors mapped once
                    try:
                        data = await self._receive_some(self.read_size)
                    except IO_ERRORS as exc:
                        raise self._broken(exc) from exc
                else:
                    data = await self._receive()
                proto.receive_data(data)
                if self.phase == IDLE:
                    self.phase = HEAD
                    self.deadline = clock.now + header_timeout
                event = proto.next_event()
        except ProtocolError:
            self.closing = True
            raise
        if event is CLOSED or event is PAUSED or type(event) is not RequestHead:
            self.closing = True
            return None
        self.exchanges += 1
        request = self._make_request(event)
        if receive_content != "stream" and not self._body_done:
            await self._receive_content(request, receive_content)
        return request

    def _default_server_settings(self) -> ServerSettings:
        from ..._config import ServerConfig

        return ServerSettings(ServerConfig(), self.plugins)

    def _make_request(self, head: RequestHead) -> Request:
        """Build the Request; raises the ProtocolError of an early answer (413, 501…)."""
        settings = self.settings
        config = settings.config
        method = _METHODS.get(head.method) or head.method.decode("ascii")
        target = head.target.decode("latin-1")
        request = Request.received(
            method,
            target,
            Headers.from_raw(head.headers),
            _VERSIONS.get(head.http_version) or head.http_version.decode("ascii"),
            scheme=self.scheme,
            client=self._peer if self._peer is not _UNKNOWN_PEER else self.peer,
            codecs=settings.codecs,
            codec_limits=settings.codec_limits,
        )
        self.request = request
        self._head = head
        if self._codings is not None:
            self._codings = None
        if self.body_error is not None:
            self.body_error = None
        if head.expect_continue:
            self.expect_continue = True
        early: ProtocolError | None = None
        if target[:1] != "/":
            if target == "*" and method == "OPTIONS":
                pass
            elif "://" in target:
                try:
                    url = URL(target)
                    request._url = url
                    target = url.target
                except ValueError:
                    early = RemoteProtocolError(f"invalid request target {target!r}")
            else:
                early = RemoteProtocolError(f"invalid request target {target[:100]!r}")
        request.target = target
        if method == "CONNECT":
            early = RemoteProtocolError("CONNECT is not supported by this server", 501)
        # body framing: nothing to read without Content-Length or Transfer-Encoding
        length = head.content_length
        if not (head.chunked or length):
            self._body_done = True
            event = self._sproto.next_event()  # type: ignore[union-attr]
            if type(event) is not EndOfMessage:  # pragma: no cover - backend contract
                raise RemoteProtocolError("a request without a body did not end")
            if early is not None:
                self._refuse(early)
            return request
        self._body_done = False
        request._content = None
        limit = config.max_body_size
        if early is None and length is not None and limit is not None and length > limit:
            early = TooLarge(
                f"request body of {length} bytes is larger than max_body_size={limit}",
                limit="max_body_size",
                value=limit,
            )
        coding = head.content_encoding
        if early is None and coding and config.decode_request_bodies:
            codings = parse_content_encoding(coding.decode("latin-1"))
            unknown = [c for c in codings if c != "identity" and c not in settings.encodings]
            if unknown:
                early = RemoteProtocolError(f"unsupported Content-Encoding {unknown[0]!r}", 415)
            else:
                self._codings = codings
                request.headers = Headers.from_raw(
                    [(n, v) for n, v in head.headers if n.lower() not in _STRIP_FOR_DECODED]
                )
        if early is not None:
            self._refuse(early)
        self._body_iter = body = self._request_body()
        request._stream = body
        return request

    def _refuse(self, error: ProtocolError) -> None:
        self.closing: bool = True
        raise error

    def _proto_server(self) -> ServerProtocol:
        proto = self._sproto
        assert proto is not None
        return proto

    async def _receive_content(self, request: Request, mode: ReceiveContent) -> None:
        stream = request._stream
        assert stream is not None
        if mode == "bytes":
            await request.read()
            return
        if mode is not None and not callable(mode):
            raise ValueError(
                f"receive_content must be 'stream', 'bytes', None or a callable, got {mode!r}"
            )
        async for chunk in stream:
            if mode is not None:
                result = mode(chunk)
                if isinstance(result, Awaitable):
                    await result
        request._content, request._stream = b"", None

    async def _request_body(self) -> AsyncIterator[bytes]:
        """Read the current request's body, enforcing the body limits."""
        settings = self.settings
        config = settings.config
        proto = self._proto_server()
        limit = config.max_body_size
        body_timeout = settings.body_timeout
        decoder: BoundedDecoder | None = None
        codings = self._codings
        if codings:
            decoder = BoundedDecoder(
                [settings.encodings[c].decoder() for c in reversed(codings) if c != "identity"],
                max_size=limit,
                max_ratio=config.max_decompression_ratio,
            )
        received = 0
        saved_phase, saved_deadline = self.phase, self.deadline
        try:
            if self.expect_continue:
                self.expect_continue = False
                await self._send(proto.send_informational(100, b"Continue", []))
            while True:
                event = proto.next_event()
                if type(event) is bytes:
                    received += len(event)
                    if limit is not None and received > limit:
                        raise TooLarge(
                            f"request body is larger than max_body_size={limit} bytes",
                            limit="max_body_size",
                            value=limit,
                        )
                    if decoder is None:
                        yield event
                    else:
                        for piece in decoder.feed(event):
                            yield piece
                elif event is NEED_DATA:
                    self.phase = BODY
                    self.deadline = self.clock.now + body_timeout
                    proto.receive_data(await self._receive())
                    self.phase, self.deadline = saved_phase, saved_deadline
                elif type(event) is EndOfMessage:
                    if decoder is not None:
                        for piece in decoder.finish():
                            yield piece
                    self._body_done = True
                    return
                else:
                    raise RemoteProtocolError(
                        "connection closed before the request body was complete"
                    )
        except ProtocolError as exc:
            self.body_error = exc
            raise
        except DecodingError as exc:
            wrapped = RemoteProtocolError(f"cannot decode the request body: {exc}")
            self.body_error = wrapped
            raise wrapped from exc

    async def _end_exchange(self) -> None:
        body, self._body_iter = self._body_iter, None
        if body is not None:
            await aclose_iterable(body)  # a request body the handler abandoned

    async def _drain_body(self) -> bool:
        """Discard an unread request body (up to 1 MiB) so the connection can be reused."""
        request = self.request
        if self.body_error is not None or request is None or request._stream is None:
            return False
        if not self._proto_server().keep_alive:
            return False
        budget = _DRAIN_MAX_BYTES
        try:
            async for chunk in request._stream:
                budget -= len(chunk)
                if budget < 0:
                    return False
        except (ProtocolError, TransportError):
            return False
        return True


def peer_of(stream: trio.abc.Stream) -> tuple[str, int] | None:
    """The ``(host, port)`` at the other end of a socket stream (through TLS and prefixes)."""
    inner: Any = stream
    while hasattr(inner, "transport_stream") and not hasattr(inner, "socket"):
        inner = inner.transport_stream
    sock = getattr(inner, "socket", None)
    if sock is None:
        return None
    try:
        peer = sock.getpeername()
    except OSError:
        return None
    if isinstance(peer, tuple):
        return (peer[0], peer[1])
    return (str(peer) or "unix", 0)
