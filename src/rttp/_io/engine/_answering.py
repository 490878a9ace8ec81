"""The server role of :class:`~rttp.HTTPConnection`, answering: ``send_response``
frames, compresses and writes an answer; ``send_head``/``send_data``/``finish`` write
one piece by piece. Keep-alive is decided here, once: the answer closes the connection
when the request asked, when a body was left unread past its budget, when an upgrade
was refused, or when the server is draining.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any, Final

import trio

from ..._model import HeadersLike, Request, Response
from ..._model._unset import UNSET as _UNSET
from ..._proto._head import status_has_body
from ..._proto._validate import HAS_CONTENT_LENGTH
from ...errors import (
    CodecError,
    LocalProtocolError,
    ProtocolError,
    TransportError,
)
from .._util import aclose_iterable
from ..net._errors import IO_ERRORS
from ._base import BODY, HANDLER, HEAD, IDLE, WRITE
from ._content import Content, body_from_content
from ._reading import RequestReader
from ._settings import error_response, reason_bytes

__all__ = ["JOIN_MAX", "WRITE_PIECE", "ServerRole"]

#: a body up to this size goes out joined with its head in one write; a larger one is
#: sent after the head, uncopied, in pieces of WRITE_PIECE bytes
JOIN_MAX: Final = 64 << 10
WRITE_PIECE: Final = 256 << 10

error_log = logging.getLogger("rttp.error")

#: a response ready for the wire: (status, reason, headers, body or None, encoder or None,
#: no_body) with the head validated
_Prepared = tuple[int, bytes, list[tuple[bytes, bytes]], "bytes | None", Any, bool]


class ServerRole(RequestReader):
    """Reading requests and writing responses (see :class:`~rttp.HTTPConnection`)."""

    __slots__ = ()

    # -- answering -----------------------------------------------------------------------
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
        allowed_methods: Iterable[str] | Mapping[str, Any] | None = None,
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
        if allowed_methods is not None:
            allowed = sorted(
                {m.upper() for m, ok in allowed_methods.items() if ok}
                if isinstance(allowed_methods, Mapping)
                else {m.upper() for m in allowed_methods}
            )
            if request.method not in allowed:
                response = error_response(
                    405,
                    f"method {request.method} is not allowed here (allowed: {', '.join(allowed)})",
                )
                response.headers["Allow"] = ", ".join(allowed)
                response.request = request
                if close:
                    response.headers["Connection"] = "close"
                return response
        body, size = body_from_content(content, content_size)
        response = Response(status, headers, body)
        if size is not None and not isinstance(body, bytes) and body is not None:
            response.headers.setdefault("Content-Length", str(size))
        if content_type is not None:
            response.headers["Content-Type"] = content_type
        response.compress = compress
        if close:
            response.headers["Connection"] = "close"
        response.request = request
        return response

    async def send_response(self, response: Response) -> None:
        """Answer the current request with ``response`` (framed, compressed as negotiated).

        A 101 with an ``on_upgrade`` callback switches protocols: afterwards
        :attr:`upgraded` is True and :meth:`detach` hands the stream over. An invalid
        response from the handler is logged and answered 500 instead. If the body fails
        half-way, the connection is cut (the only honest signal left once the head is out).
        """
        request = self.request
        proto = self._sproto
        head = self._head
        if request is None or proto is None or head is None:
            raise RuntimeError("no request to answer: call read_request() first")
        if response.status == 101:
            await self._switch_protocols(request, response)
            return
        if head.upgrade is not None or self.closing:
            # bytes after a refused upgrade are never parsed as HTTP
            proto.close_after_response()
        if not head.keep_alive:
            proto.close_after_response()
        if self.expect_continue and not self._body_done:
            proto.close_after_response()
        try:
            prepared = self._prepare(request, response)
        except (LocalProtocolError, CodecError) as exc:
            error_log.error(
                "handler for %s %s returned an invalid response: %s",
                request.method,
                request.target,
                exc,
            )
            response = error_response(500, "Internal Server Error")
            prepared = self._prepare(request, response)
        body = prepared[3]
        if body is not None and not prepared[5] and self.watched and len(body) <= JOIN_MAX:
            # the common answer, whole and in one write, without another coroutine
            self.phase = WRITE
            self.deadline = self.clock.now + self.settings.write_timeout
            data = proto.send_response(prepared[0], prepared[1], prepared[2], body)
            try:
                await self._send_all(data)
            except IO_ERRORS as exc:
                raise self._broken(exc, writing=True) from exc
            self.sent = len(body)
        elif not await self._write(request, response, prepared):
            self.closing = True
            return
        if not self._body_done and not await self._drain_body():
            # closing with the client still sending: linger, or the kernel's reset may
            # destroy the answer before the client reads it
            self.closing = self.linger = True

    def _current_request(self) -> Request:
        if self._sproto is None or self.request is None:
            raise RuntimeError("no request to answer: call read_request() first")
        return self.request

    async def _switch_protocols(self, request: Request, response: Response) -> None:
        """Switch protocols: the 101 is held for :meth:`detach`'s stream to send first."""
        proto = self._proto_server()
        if response.on_upgrade is None or request.headers.get("upgrade") is None:
            error_log.error(
                "handler answered 101 without an upgrade callback for %s", request.target
            )
            await self._answer_closing(request, error_response(500, "Internal Server Error"))
            return
        if not self._body_done:
            await self._answer_closing(
                request, error_response(400, "an upgrade request may not carry a body")
            )
            return
        headers = self.settings.final_headers(response.headers.raw, self.clock)[0]
        # held for detach(): it goes out with the new protocol's first send or receive
        self._unsent = proto.send_informational(101, b"Switching Protocols", headers)
        self.phase = HANDLER
        self.deadline = math.inf
        self.upgraded = True
        self.sent: int = 0

    async def _answer_closing(self, request: Request, response: Response) -> None:
        self._proto_server().close_after_response()
        self.closing = True
        await self._write(request, response, self._prepare(request, response))

    def _prepare(self, request: Request, response: Response) -> _Prepared:
        """Final status line, headers and body framing of a response, validated."""
        settings = self.settings
        if response._pending is not _UNSET:
            response.encode_value(settings.codecs)
        status = response.status
        bodiless_status = not status_has_body(status)
        headers, present = settings.final_headers(response.headers._items, self.clock)
        reason = reason_bytes(response)
        encoder = None
        body = response._content
        if response.compress and settings.compressing and not bodiless_status:
            encoding = settings.negotiate(request, response, body)
            if encoding is not None:
                encoder = settings.encodings[encoding].encoder()
                headers = [(n, v) for n, v in headers if n.lower() != b"content-length"]
                present &= ~HAS_CONTENT_LENGTH
                headers.append((b"Content-Encoding", encoding.encode("ascii")))
                _add_vary(headers)
                if body is not None:
                    body = encoder.compress(body) + encoder.flush()
                    encoder = None
        if body is not None and not bodiless_status:
            if present & HAS_CONTENT_LENGTH:
                headers = [(n, v) for n, v in headers if n.lower() != b"content-length"]
            headers.append((b"Content-Length", b"%d" % len(body)))
        return (status, reason, headers, body, encoder, bodiless_status or request.method == "HEAD")

    async def _write(self, request: Request, response: Response, prepared: _Prepared) -> bool:
        """Send a prepared response; False if the connection must close afterwards."""
        proto: Any = self._sproto
        write_timeout = self.settings.write_timeout
        self.phase = WRITE
        self.deadline = self.clock.now + write_timeout
        status, reason, headers, body, encoder, no_body = prepared
        if no_body:
            body = b""
        if body is not None and len(body) > JOIN_MAX:
            # a large body is never copied into one buffer with the head, and goes out in
            # pieces: write_timeout bounds each piece (no progress), not the whole transfer
            await self._send(proto.send_response(status, reason, headers))
            data = memoryview(proto.send_data(body))  # the same bytes (a length check only)
            end = proto.send_end()
            for offset in range(0, len(data), WRITE_PIECE):
                self.deadline = self.clock.now + write_timeout
                await self._send(data[offset : offset + WRITE_PIECE])
            if end:
                await self._send(end)
            self.sent = len(body)
            return True
        if body is not None:  # the whole answer in one write
            await self._send(proto.send_response(status, reason, headers, body))
            if no_body and response._stream is not None:
                await aclose_iterable(response._stream)
            self.sent = len(body)
            return True
        self.sent = -1
        sent = 0
        pending = proto.send_response(status, reason, headers)
        finished = False
        try:
            async for chunk in response.stream():
                if encoder is not None:
                    chunk = encoder.compress(chunk) + encoder.sync()
                # the head rides with the first chunk; every chunk leaves as soon as it exists
                await self._send(
                    pending + proto.send_data(chunk) if pending else proto.send_data(chunk)
                )
                pending = b""
                self.deadline = self.clock.now + write_timeout
                sent += len(chunk)
            if encoder is not None:
                tail = encoder.flush()
                if tail:
                    pending += proto.send_data(tail)
                    sent += len(tail)
            pending += proto.send_end()
            finished = True
        except TransportError:
            raise
        except Exception as exc:
            # the head may be out already: the only honest signal left is to cut the connection
            error_log.error(
                "response body for %s %s failed after %d bytes: %r",
                request.method,
                request.target,
                sent,
                exc,
                exc_info=not isinstance(exc, ProtocolError),
            )
            return False
        finally:
            if not finished and response._stream is not None:
                await aclose_iterable(response._stream)
        await self._send(pending)
        self.sent = sent
        return True

    # -- piece by piece --------------------------------------------------------------------
    async def send_head(
        self, status: int = 200, headers: Any = None, *, reason: str | None = None
    ) -> None:
        """Start the answer: the status line and headers go out with the first data (or
        at :meth:`finish`). Without a Content-Length the body is chunked (HTTP/1.1)."""
        request = self._current_request()
        if self._piece is not None:
            raise RuntimeError("send_head() was called already for this request")
        response = Response(status, headers, reason=reason)
        response.compress = False
        if status == 101:
            raise ValueError("switch protocols with send_response(Response(101, ...))")
        head = self._head
        assert head is not None
        proto = self._proto_server()
        if head.upgrade is not None or self.closing or not head.keep_alive:
            proto.close_after_response()
        status_, reason_, raw, _, _, no_body = self._prepare(request, response)
        raw = [(n, v) for n, v in raw if n.lower() != b"content-length"] + [
            (n, v) for n, v in response.headers.raw if n.lower() == b"content-length"
        ]
        self.phase = WRITE
        self.deadline = self.clock.now + self.settings.write_timeout
        self._pending = proto.send_response(status_, reason_, raw)
        self._piece = (None, no_body)
        self.sent = 0

    async def send_data(self, data: bytes) -> None:
        """Send one piece of the body (dropped for HEAD, 204 and 304 answers)."""
        if self._piece is None:
            raise RuntimeError("send_head() must come before send_data()")
        if self._piece[1] or not data:
            return
        pending, self._pending = self._pending, b""
        await self._send(pending + self._proto_server().send_data(bytes(data)))
        self.sent += len(data)

    async def flush(self) -> None:
        """Send the head now if it is still waiting for data."""
        if self._pending:
            pending, self._pending = self._pending, b""
            await self._send(pending)

    async def finish(self) -> None:
        """End the answer begun with :meth:`send_head` (idempotent)."""
        if self._piece is None:
            return
        pending, self._pending = self._pending, b""
        self._piece = None
        try:
            # also without a body (a 204, 304, a HEAD answer): the protocol learns the
            # answer is complete, so the connection carries the next request
            end = self._proto_server().send_end()
        except LocalProtocolError:
            self.closing = True
            raise
        await self._send(pending + end)
        if not self._body_done and not await self._drain_body():
            # closing with the client still sending: linger, or the kernel's reset may
            # destroy the answer before the client reads it
            self.closing = self.linger = True

    # -- answering what went wrong ---------------------------------------------------------
    def _closing_answer(self, response: Response) -> bytes | None:
        """The bytes of a ``Connection: close`` error answer, or None if one can't be sent now."""
        proto = self._proto_server()
        proto.close_after_response()
        self.closing: bool = True
        try:
            return proto.send_response(
                response.status,
                response.reason.encode("latin-1"),
                self.settings.final_headers(
                    [*response.headers.raw, (b"Connection", b"close")], self.clock
                )[0],
                response.body,
            )
        except ProtocolError:
            return None

    async def send_error(self, exc: ProtocolError) -> None:
        """Answer a protocol error with its status and a plain-text message, then close."""
        if self._sproto is None:
            self._start_server(self._default_server_settings())
        self.linger: bool = True
        data = self._closing_answer(error_response(exc.status, str(exc)))
        if data is None:
            return
        self.phase: int = WRITE
        self.deadline: float = self.clock.now + self.settings.write_timeout
        await self._send(data)

    async def send_timeout_answer(self) -> None:
        """After the sweeper cut a phase short: the 408 (head, body) or 503 (handler)."""
        phase = self.phase
        if phase in (IDLE, WRITE) or self._sproto is None:
            return
        config = self.settings.config
        if phase == HEAD:
            message = f"request head not received within header_timeout={config.header_timeout}s"
            response = error_response(408, message)
        elif phase == BODY:
            message = f"request body stalled for longer than body_timeout={config.body_timeout}s"
            response = error_response(408, message)
        else:
            message = f"the handler did not answer within handler_timeout={config.handler_timeout}s"
            response = error_response(503, message)
        data = self._closing_answer(response)  # no lingering: the peer gets nothing more
        if data is None:
            return
        with trio.move_on_after(1.0), contextlib.suppress(TransportError):
            await self._send(data)


def _add_vary(headers: list[tuple[bytes, bytes]]) -> None:
    for index, (name, value) in enumerate(headers):
        if name.lower() == b"vary":
            if b"accept-encoding" not in value.lower() and value.strip() != b"*":
                headers[index] = (name, value + b", Accept-Encoding")
            return
    headers.append((b"Vary", b"Accept-Encoding"))
