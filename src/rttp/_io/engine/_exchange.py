"""One request/response cycle on the server side: :class:`ServerExchange`.

A server connection creates its exchange once and resets it for every request, so the
hot path allocates nothing per request beyond the :class:`~rttp.Request` itself. The
exchange holds what a cycle needs: the request, the phase and deadline the sweeper
watches, the body's framing and reader, and the answer (:attr:`ServerExchange.answer`,
which sends a returned :class:`~rttp.Response` or one pushed piece by piece).

It carries a :attr:`~ServerExchange.stream_id`: always ``1`` on HTTP/1.1, where the
connection runs one exchange after another; a multiplexing protocol runs several at
once, each with its own id, deadline and task.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, Union

import trio

from ..._model import URL, Headers, Request
from ..._model._enums import Method
from ..._proto._encoding import BoundedDecoder, parse_content_encoding
from ..._proto._events import HTTP1_STREAM, NEED_DATA, EndOfMessage, RequestHead, ServerProtocol
from ...errors import DecodingError, ProtocolError, RemoteProtocolError, TooLarge, TransportError
from ._answering import ExchangeAnswer
from ._clock import Phase

if TYPE_CHECKING:
    from ._server import ServerConnection

__all__ = ["ReceiveContent", "ServerExchange"]

#: how ``read_request`` treats a request body: ``"stream"`` (left for the caller to read
#: with ``request.stream()``, the server's way), ``"bytes"`` (read into ``request.body``),
#: ``None`` (read and discarded) or a callable called (and awaited if async) per chunk
ReceiveContent = Union[str, None, Callable[[bytes], Any]]

_METHODS: Final = {m.value.encode("ascii"): m.value for m in Method}
_VERSIONS: Final = {b"1.1": "1.1", b"1.0": "1.0"}
_STRIP_FOR_DECODED = frozenset({b"content-encoding", b"content-length"})
#: what every request calls, as module globals (a class attribute's lookup is not cached
#: on Python 3.11, a global's is)
_HANDLER: Final = Phase.HANDLER
_received = Request.received
_wrap_fields = Headers.from_raw
#: an unread request body is discarded up to this much so the connection can be reused
_DRAIN_MAX_BYTES: Final = 1 << 20


class ServerExchange:
    """One request and its answer on a :class:`ServerConnection` (see the module)."""

    __slots__ = (
        "_body_iter",
        "answer",
        "body_done",
        "body_error",
        "codings",
        "conn",
        "deadline",
        "expect_continue",
        "head",
        "on_upgrade",
        "phase",
        "proto",
        "request",
        "scope",
        "started_at",
        "stream_id",
        "timed_out",
    )

    def __init__(
        self, conn: ServerConnection, proto: ServerProtocol, stream_id: int = HTTP1_STREAM
    ) -> None:
        self.conn = conn
        self.proto = proto
        self.stream_id = stream_id
        #: the request being answered (None before the first)
        self.request: Request | None = None
        self.head: RequestHead | None = None
        #: what :attr:`deadline` guards, and the deadline the sweeper enforces
        self.phase: int = Phase.IDLE
        self.deadline: float = math.inf
        self.timed_out = False
        #: cancelled by the sweeper (the connection's scope on HTTP/1.1)
        self.scope: trio.CancelScope = conn.scope
        self.body_done = True
        self.expect_continue = False
        #: the content codings to undo on the request body (None: none)
        self.codings: list[str] | None = None
        #: a request-body failure, answered instead of whatever the handler says
        self.body_error: ProtocolError | None = None
        #: after a 101: the protocol the stream is handed to
        self.on_upgrade: Callable[[trio.abc.Stream], Awaitable[Any]] | None = None
        self._body_iter: AsyncIterator[bytes] | None = None
        #: ``perf_counter()`` when the request began arriving, for the access log (-1: none)
        self.started_at: float = -1.0
        #: the answer (a returned Response, or one pushed piece by piece)
        self.answer = ExchangeAnswer(self)

    # -- phases ----------------------------------------------------------------------------
    def enter(self, phase: int, seconds: float) -> None:
        """Enter ``phase`` with ``seconds`` to complete it (inf: no deadline)."""
        self.phase = phase
        self.deadline = self.conn.clock.now + seconds

    def start_handler(self, seconds: float) -> None:
        """The request is read: the handler has ``seconds`` to answer (inf: no bound)."""
        self.phase = _HANDLER
        self.deadline = self.conn.clock.now + seconds

    @property
    def upgraded(self) -> bool:
        """True once a 101 switched protocols: :meth:`ServerConnection.detach` hands over."""
        return self.on_upgrade is not None

    @property
    def sent(self) -> int:
        """Body bytes of the answer so far, or -1 if it was cut off (for an access log)."""
        return self.answer.sent

    # -- the request -----------------------------------------------------------------------
    def begin(self, head: RequestHead) -> Request:
        """Start a cycle on ``head``: build the Request and its body reader. Raises the
        ProtocolError of an early answer (413, 415, 501...), the connection closing."""
        conn = self.conn
        settings = conn.settings
        config = settings.config
        answer = self.answer
        answer.reset(head.upgrade is not None)
        if self.codings is not None:
            self.codings = None
        if self.body_error is not None:
            self.body_error = None
        method = _METHODS.get(head.method) or head.method.decode("ascii")
        target = head.target.decode("latin-1")
        request = _received(
            method,
            target,
            _wrap_fields(head.headers),
            _VERSIONS.get(head.http_version) or head.http_version.decode("ascii"),
            scheme=conn.scheme,
            client=conn.peer,
            codecs=settings.codecs,
            codec_limits=settings.codec_limits,
        )
        request._answer = answer
        self.request = request
        self.head = head
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
            self.body_done = True
            event = self.proto.next_event()
            if type(event) is not EndOfMessage:  # pragma: no cover - backend contract
                raise RemoteProtocolError("a request without a body did not end")
            if early is not None:
                conn.refuse(early)
            return request
        self.body_done = False
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
                self.codings = codings
                request.headers = Headers.from_raw(
                    [(n, v) for n, v in head.headers if n.lower() not in _STRIP_FOR_DECODED]
                )
        if early is not None:
            conn.refuse(early)
        self._body_iter = body = self._request_body()
        request._stream = body
        return request

    def end(self) -> AsyncIterator[bytes] | None:
        """End the cycle. Returns a request body the handler abandoned, for the caller to
        close (``aclose_iterable``); None, the common case, costs no coroutine."""
        self.request = self.head = None
        body, self._body_iter = self._body_iter, None
        return body

    # -- the request body ------------------------------------------------------------------
    async def receive_content(self, mode: ReceiveContent) -> None:
        """Read the body as ``mode`` says (see :data:`ReceiveContent`)."""
        request = self.request
        assert request is not None
        stream = request._stream
        if stream is None or mode == "stream":
            return
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
        conn = self.conn
        settings = conn.settings
        config = settings.config
        proto = self.proto
        limit = config.max_body_size
        body_timeout = settings.body_timeout
        decoder: BoundedDecoder | None = None
        codings = self.codings
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
                await conn._send(proto.send_informational(100, b"Continue", []))
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
                    self.enter(Phase.BODY, body_timeout)
                    proto.receive_data(await conn._receive())
                    self.phase, self.deadline = saved_phase, saved_deadline
                elif type(event) is EndOfMessage:
                    if decoder is not None:
                        for piece in decoder.finish():
                            yield piece
                    self.body_done = True
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

    async def drain_body(self) -> bool:
        """Discard an unread request body (up to 1 MiB) so the connection can be reused."""
        request = self.request
        if self.body_error is not None or request is None or request._stream is None:
            return False
        if not self.proto.keep_alive:
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

    async def after_answer(self) -> None:
        """The answer is out: drain what is left of the request body, or, when that
        cannot be done, close (lingering, or the kernel's reset may destroy the answer
        before the client reads it)."""
        if not self.body_done and not await self.drain_body():
            conn = self.conn
            conn.closing = conn.linger = True
