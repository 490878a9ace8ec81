"""The answer to one request: :class:`ExchangeAnswer` (the engine's :class:`rttp.Answer`),
both ways a handler can give it.

- **Returned**: the handler returns a :class:`~rttp.Response`; :meth:`ExchangeAnswer.send_response`
  frames it (Content-Length or chunked), compresses it as negotiated and writes it, a
  small one in a single write with its head.
- **Pushed**: the handler calls ``request.respond(status, headers)``, which starts the
  answer and hands back this object; it then :meth:`~ExchangeAnswer.send`\\ s body pieces and
  :meth:`~ExchangeAnswer.finish`\\ es (with trailers, on a chunked body). Nothing is buffered
  beyond the head, which rides with the first piece.

Keep-alive is decided here, once: the answer closes the connection when the request
asked, when a body was left unread past its budget, when an upgrade was refused, or
when the server is draining.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import trio

from ..._model import HeadersLike, Request, Response
from ..._model._headers import Headers
from ..._proto._head import status_has_body
from ..._proto._validate import HAS_FRAMING, check_headers
from ...errors import CodecError, LocalProtocolError
from ..net._errors import IO_ERRORS
from ._clock import Phase
from ._files import send_file
from ._framing import Prepared, framed, prepare, with_true_length, without_length
from ._settings import error_response, status_reason
from ._writing import JOIN_MAX, WRITE_PIECE, write_prepared

if TYPE_CHECKING:
    from ._exchange import ServerExchange
    from ._server import ServerConnection

__all__ = ["JOIN_MAX", "WRITE_PIECE", "ExchangeAnswer", "answer_of"]

error_log = logging.getLogger("rttp.error")


class ExchangeAnswer:
    """The answer to the request of one exchange (see the module).

    A handler gets it from ``request.respond(status, headers)``::

        async def events(request):
            answer = request.respond(200, {"Content-Type": "text/event-stream"})
            for n in range(3):
                await answer.send(f"data: {n}\\n\\n")
            await answer.finish()

    or as ``async with request.respond(...) as answer:``, which finishes on exit.
    Without a Content-Length the body is chunked; with one, exactly that many bytes
    must be sent. For a HEAD request (and a 204 or 304) body pieces are dropped. If the
    handler returns without finishing, the server finishes the answer; if it raises
    after the answer started, the connection is cut (the only honest signal left) and
    the error is logged.
    """

    __slots__ = (
        "_exchange",
        "_no_body",
        "_pending",
        "asks_upgrade",
        "connection",
        "finished",
        "sent",
        "started",
        "status",
    )

    def __init__(self, exchange: ServerExchange) -> None:
        self._exchange = exchange
        #: the connection the exchange runs on
        self.connection: ServerConnection = exchange.conn
        self._pending = b""
        self._no_body = False
        #: the head is decided (by :meth:`start` or :meth:`send_response`)
        self.started = False
        #: the answer is complete on the wire
        self.finished = False
        #: body bytes sent so far, or -1 if the answer was cut off (for an access log)
        self.sent = 0
        #: the status of the answer (once started)
        self.status = 0
        #: the request has an Upgrade field with the ``upgrade`` connection option (a
        #: WebSocket handshake, say): the head's verdict, without searching the fields
        self.asks_upgrade = False

    def reset(self, asks_upgrade: bool) -> None:
        """Ready for the next exchange's answer (to a request that ``asks_upgrade``)."""
        self.started = self.finished = False
        self.sent = 0
        self.asks_upgrade = asks_upgrade
        if self._pending:
            self._pending = b""

    def send_whole(
        self,
        status: int,
        headers: HeadersLike,
        body: bytes,
        reason: str | None = None,
        *,
        raw: bool = False,
    ) -> Awaitable[None]:
        """Answer with a whole body in one write with its head, framed by its length and
        never compressed: a hosted application's answer (ASGI, WSGI), which decides
        compression itself. (Await it; the head is decided before.) ``raw``: ``headers``
        is a list of ``(name, value)`` byte pairs, taken as it is (an ASGI app's)."""
        if status == 101 or not 100 <= status <= 999:  # (refused by Response, or a switch)
            if raw:
                headers = Headers.from_raw(list(headers))  # type: ignore[arg-type]
            return self.send_response(Response(status, headers, body, reason=reason))
        if raw:
            fields: list[tuple[bytes, bytes]] = headers  # type: ignore[assignment]
        else:
            fields = (headers if type(headers) is Headers else Headers(headers)).raw
        exchange = self._exchange
        request = exchange.request
        if request is None or exchange.head is None or self.started:
            request = self._unstarted()  # (raises what is wrong)
        self._begin(status)
        conn = exchange.conn
        try:  # (never compressed: the app decides that)
            final, present = conn.settings.final_headers(fields, conn.clock)
            phrase = status_reason(status, reason)
        except LocalProtocolError as exc:
            return self._send_prepared(request, self._invalid(request, exc), None)
        has_body = status_has_body(status)
        if has_body and conn.watched and len(body) <= JOIN_MAX and request.method != "HEAD":
            # the common answer, straight to the wire with its true length (no Prepared)
            final = with_true_length(final, present, body)
            return self._send_whole_now(status, phrase, final, body, not present & HAS_FRAMING)
        prepared = framed(request, status, phrase, final, present, body, None, not has_body)
        return self._send_prepared(request, prepared, None)

    # -- pushed, piece by piece ------------------------------------------------------------
    def start(
        self, status: int = 200, headers: HeadersLike = None, *, reason: str | None = None
    ) -> ExchangeAnswer:
        """Decide the head: it goes out with the first :meth:`send` (or at :meth:`flush`
        or :meth:`finish`). Returns this object, for ``request.respond``."""
        request = self._unstarted()
        if status == 101:
            raise ValueError("switch protocols by returning Response(101, ...) with on_upgrade")
        response = Response(status, headers, reason=reason)
        response.compress = False
        self._close_decisions()
        prepared = prepare(self._exchange.conn, request, response)
        # the given length, not the empty body's: the pieces to come are checked against it
        raw = without_length(prepared.headers)
        raw += [(n, v) for n, v in response.headers.raw if n.lower() == b"content-length"]
        self._pending = self._exchange.proto.send_response(prepared.status, prepared.reason, raw)
        self._no_body = prepared.no_body
        self.status = prepared.status
        self.started = True
        return self

    async def send(self, data: bytes | bytearray | memoryview | str) -> None:
        """Send one piece of the body (a str as UTF-8); dropped for a HEAD, 204 or 304.

        Raises :class:`~rttp.errors.WriteError` when the client has gone away, and
        :class:`~rttp.errors.LocalProtocolError` past the declared Content-Length."""
        if not self.started:
            raise RuntimeError("start the answer (request.respond) before sending its body")
        if self.finished:
            raise RuntimeError("send() after finish()")
        if self._no_body or not data:
            return
        piece = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        pending, self._pending = self._pending, b""
        await self._write_piece(pending + self._exchange.proto.send_data(piece))
        self.sent += len(piece)

    async def send_file(
        self, file: str | os.PathLike[str] | int, offset: int = 0, count: int | None = None
    ) -> None:
        """Send ``count`` bytes of ``file`` (a path, or an open file's descriptor) from
        ``offset`` (to its end by default) as the next piece of the body, without
        reading it into memory where the connection allows (``os.sendfile`` on plain
        TCP)."""
        if not self.started:
            raise RuntimeError("start the answer (request.respond) before sending its body")
        if self.finished:
            raise RuntimeError("send_file() after finish()")
        if self._no_body:
            return
        self.sent += await send_file(self, file, offset, count)

    async def _write_piece(self, data: bytes) -> None:
        """Write under ``write_timeout``; the time between pieces is the handler's own
        (``handler_timeout``), so a feed that waits for its next event is not cut."""
        exchange = self._exchange
        conn = exchange.conn
        phase, deadline = exchange.phase, exchange.deadline
        exchange.enter(Phase.WRITE, conn.settings.write_timeout)
        await conn._send(data)
        exchange.phase, exchange.deadline = phase, deadline

    async def flush(self) -> None:
        """Send the head now if it is still waiting for the first piece."""
        if self._pending:
            pending, self._pending = self._pending, b""
            await self._write_piece(pending)

    async def finish(self, trailers: HeadersLike = None) -> None:
        """End the answer (a second call does nothing). ``trailers`` go after a chunked
        body (they need one: an answer with a Content-Length cannot carry them)."""
        if not self.started:
            raise RuntimeError("start the answer (request.respond) before finishing it")
        if self.finished:
            return
        self.finished = True
        exchange = self._exchange
        conn = exchange.conn
        pending, self._pending = self._pending, b""
        raw = None
        if trailers and not self._no_body:
            raw = Headers(trailers).raw
            check_headers(raw)
        try:
            # also without a body (a 204, 304, a HEAD answer): the protocol learns the
            # answer is complete, so the connection carries the next request
            end = exchange.proto.send_end(raw) if raw else exchange.proto.send_end()
        except LocalProtocolError:
            conn.closing = True
            raise
        exchange.enter(Phase.WRITE, conn.settings.write_timeout)
        await conn._send(pending + end)
        await exchange.after_answer()

    def cut(self) -> None:
        """The answer will never be finished (its handler failed after it started): the
        connection closes after it, the only honest signal left, and the access log
        counts it as cut off."""
        self._exchange.conn.closing = True
        self.sent = -1

    async def __aenter__(self) -> ExchangeAnswer:
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            await self.finish()

    def __repr__(self) -> str:
        state = "finished" if self.finished else "started" if self.started else "not started"
        return f"<rttp.Answer {state}, {self.sent} body bytes sent>"

    # -- returned: a whole Response --------------------------------------------------------
    def send_response(self, response: Response) -> Awaitable[None]:
        """Answer with ``response`` (framed, compressed as negotiated).

        A 101 with an ``on_upgrade`` callback switches protocols: the exchange is then
        ``upgraded`` and the connection's ``detach`` hands the stream over. An invalid
        response from the handler is logged and answered 500 instead. If the body fails
        half-way, the connection is cut (the only honest signal left once the head is out).
        (Await it; the head is decided before, and the awaited part is the one coroutine
        that writes.)
        """
        exchange = self._exchange
        request = exchange.request
        if request is None or exchange.head is None or self.started:
            request = self._unstarted()  # (raises what is wrong)
        if response.status == 101:
            return self._switch_protocols(request, response)
        self._begin(response.status)
        try:
            prepared = prepare(self._exchange.conn, request, response)
        except (LocalProtocolError, CodecError) as exc:
            prepared = self._invalid(request, exc)
        return self._send_prepared(request, prepared, response)

    def _unstarted(self) -> Request:
        """The request, whose answer must not have started."""
        request = self._exchange.request
        if request is None or self._exchange.head is None:
            raise RuntimeError("no request to answer: read one first")
        if self.started:
            raise RuntimeError(
                f"the answer to {request.method} {request.target} has started already"
            )
        return request

    def _begin(self, status: int) -> None:
        """The answer (found unstarted) starts with ``status`` (see :meth:`_close_decisions`)."""
        self.started = True
        self.status = status
        self._close_decisions()

    def _close_decisions(self) -> None:
        """The connection closes after this answer when the request asked for that, or
        tried an upgrade, or left a body unread after ``Expect: 100-continue``."""
        exchange = self._exchange
        head = exchange.head
        assert head is not None
        if head.upgrade is not None or exchange.conn.closing or not head.keep_alive:
            # bytes after a refused upgrade are never parsed as HTTP
            exchange.proto.close_after_response()
        if exchange.expect_continue and not exchange.body_done:
            exchange.proto.close_after_response()

    def _invalid(self, request: Request, exc: Exception) -> Prepared:
        """The handler's answer was invalid: logged, and a 500 instead."""
        error_log.error(
            "handler for %s %s returned an invalid response: %s",
            request.method,
            request.target,
            exc,
        )
        self.status = 500
        return prepare(self._exchange.conn, request, error_response(500, "Internal Server Error"))

    def _send_prepared(
        self, request: Request, prepared: Prepared, response: Response | None
    ) -> Awaitable[None]:
        body = prepared.body
        if (
            body is not None
            and not prepared.no_body
            and self._exchange.conn.watched
            and len(body) <= JOIN_MAX
        ):
            return self._send_whole_now(
                prepared.status, prepared.reason, prepared.headers, body, prepared.plain
            )
        return self._write_prepared(request, prepared, response)

    async def _send_whole_now(
        self,
        status: int,
        reason: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        plain: bool,
    ) -> None:
        """The common answer, whole: head and body in one write, in this one coroutine.
        ``plain``: the protocol's ``send_plain`` may write it (see :class:`Prepared`)."""
        exchange = self._exchange
        conn = exchange.conn
        proto = exchange.proto
        if plain:
            data = proto.send_plain(status, reason, headers, body)
        else:
            data = proto.send_response(status, reason, headers, body)
        reply = conn._send_reply
        try:
            # no scheduler pass here, deep in a hosted app's stack: the serve loop's
            # next receive makes it (and the write is timed only if it must wait)
            sent = -1 if reply is None else reply(data, False)
            if sent < len(data):
                exchange.phase = Phase.WRITE
                exchange.deadline = conn.clock.now + conn.settings.write_timeout
                await conn._send_all(memoryview(data)[sent:] if sent > 0 else data)
        except IO_ERRORS as exc:
            raise conn._broken(exc, writing=True) from exc
        self.sent = len(body)
        self.finished = True
        if not exchange.body_done:
            await exchange.after_answer()

    async def _write_prepared(
        self, request: Request, prepared: Prepared, response: Response | None
    ) -> None:
        """Any other answer: streamed, sent in pieces, or with no body."""
        exchange = self._exchange
        if not await write_prepared(self, request, response, prepared):
            exchange.conn.closing = True
            self.finished = True
            return
        self.finished = True
        if not exchange.body_done:
            await exchange.after_answer()

    async def _switch_protocols(self, request: Request, response: Response) -> None:
        """Switch protocols: the 101 is held for ``detach``'s stream to send first."""
        exchange = self._exchange
        conn = exchange.conn
        if response.on_upgrade is None or request.headers.get("upgrade") is None:
            error_log.error(
                "handler answered 101 without an upgrade callback for %s", request.target
            )
            await self.answer_closing(error_response(500, "Internal Server Error"))
            return
        if not exchange.body_done:
            await self.answer_closing(
                error_response(400, "an upgrade request may not carry a body")
            )
            return
        headers = conn.settings.final_headers(response.headers.raw, conn.clock)[0]
        # held for detach(): it goes out with the new protocol's first send or receive
        conn.hold(exchange.proto.send_informational(101, b"Switching Protocols", headers))
        self.started = self.finished = True
        self.sent = 0
        self.status = 101
        exchange.on_upgrade = response.on_upgrade
        exchange.enter(Phase.HANDLER, float("inf"))

    def switch(self, response: Response) -> trio.abc.Stream:
        """Switch protocols now, from inside the handler (push-style, as a hosted ASGI
        app accepts a WebSocket): ``response`` is the 101 (its ``on_upgrade`` is not
        used); the stream is returned, holding the 101 for its first send or receive,
        and the caller owns it from here (the serve loop ends without closing it).
        Raises RuntimeError when the answer has started or the request carries a body."""
        exchange = self._exchange
        request = exchange.request
        if request is None or self.started:
            raise RuntimeError("switch() needs a request whose answer has not started")
        if response.status != 101:
            raise ValueError(f"switch() takes a 101 response, got {response.status}")
        if not exchange.body_done:
            raise RuntimeError("an upgrade request may not carry a body")
        conn = exchange.conn
        headers = conn.settings.final_headers(response.headers.raw, conn.clock)[0]
        conn.hold(exchange.proto.send_informational(101, b"Switching Protocols", headers))
        self.started = self.finished = True
        self.sent = 0
        self.status = 101
        exchange.enter(Phase.HANDLER, math.inf)  # the new protocol keeps its own time
        return conn.detach()

    async def answer_closing(self, response: Response) -> None:
        """Answer with ``response`` and close the connection afterwards."""
        exchange = self._exchange
        request = exchange.request
        assert request is not None
        exchange.proto.close_after_response()
        exchange.conn.closing = True
        self.started = True
        self.status = response.status
        await write_prepared(self, request, response, prepare(exchange.conn, request, response))
        self.finished = True


def answer_of(request: Request) -> ExchangeAnswer:
    """The engine's answer to ``request`` (a request a server received), for what the
    public :class:`rttp.Answer` does not offer: switching protocols from inside the
    handler (:meth:`ExchangeAnswer.switch`)."""
    answer = request._answer
    if not isinstance(answer, ExchangeAnswer):
        raise RuntimeError(f"{request.method} {request.target} was not received by a server")
    return answer
