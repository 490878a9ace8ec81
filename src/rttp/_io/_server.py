"""The HTTP/1.1 server: Trio I/O around a protocol backend.

Structure: :class:`Server` opens listeners through transport plugins, runs one accept
loop per listener and one task per connection in its own nursery, plus one *sweeper*
task. Each connection owns a single cancel scope; instead of creating a timeout per
receive, a connection records the float deadline of its current phase (idle, head,
body, handler, write) and the sweeper cancels the scopes whose deadline has passed.
The Date header is cached per second; a small response (head and body) goes out in
one write.
"""

from __future__ import annotations

import contextlib
import email.utils
import errno
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final

import trio

from .._config import ServerConfig
from .._model import URL, Headers, Request, Response, reason_phrase
from .._model._enums import Method
from .._model._messages import _UNSET
from .._plugins import Plugins, get_plugins
from .._proto._encoding import (
    BoundedDecoder,
    choose_encoding,
    is_compressible,
    parse_content_encoding,
)
from .._proto._events import CLOSED, NEED_DATA, PAUSED, EndOfMessage, RequestHead, ServerProtocol
from .._proto._validate import (
    HAS_CONTENT_LENGTH,
    HAS_DATE,
    HAS_SERVER,
    check_headers,
    check_reason,
)
from ..errors import (
    CodecError,
    DecodingError,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    RTTPError,
    TooLarge,
)
from ..plugin import ListenOptions, Transport
from ._errors import is_peer_gone
from ._sockio import fast_stream
from ._tls import server_context
from ._util import aclose_iterable

__all__ = ["Handler", "Server", "serve"]

Handler = Callable[[Request], Awaitable[Response]]

access_log = logging.getLogger("rttp.access")
error_log = logging.getLogger("rttp.error")

# connection phases (what the current deadline guards)
_IDLE: Final = 0
_HEAD: Final = 1
_BODY: Final = 2
_HANDLER: Final = 3
_WRITE: Final = 4

_NO_BODY_STATUS = frozenset({204, 304})
# decoded once: the methods and versions almost every request has
_METHODS: Final = {m.value.encode("ascii"): m.value for m in Method}
_VERSIONS: Final = {b"1.1": "1.1", b"1.0": "1.0"}
_STRIP_FOR_DECODED = frozenset({b"content-encoding", b"content-length"})

_date_cache: list[Any] = [0, b""]
_UNKNOWN_PEER: Final = object()
#: after an error answer, at most this much of the client's input is read and discarded
_LINGER_MAX_BYTES: Final = 16 << 20


def _date_header() -> bytes:
    """The ``Date`` value, formatted at most once a second."""
    now = int(time.time())
    if now != _date_cache[0]:
        _date_cache[0] = now
        _date_cache[1] = email.utils.formatdate(now, usegmt=True).encode("ascii")
    value: bytes = _date_cache[1]
    return value


class _Connection:
    """Per-connection state the sweeper and shutdown look at."""

    __slots__ = (
        "body_iters",
        "closing",
        "deadline",
        "expect_continue",
        "linger",
        "peer",
        "phase",
        "proto",
        "scheme",
        "scope",
        "stream",
        "timed_out",
    )

    def __init__(self, stream: trio.abc.Stream, proto: ServerProtocol) -> None:
        self.stream = stream
        self.proto = proto
        self.scope = trio.CancelScope()
        self.deadline = math.inf
        self.phase = _IDLE
        self.timed_out = False
        self.closing = False
        self.expect_continue = False
        self.body_iters: list[Any] = []
        self.peer: Any = _UNKNOWN_PEER  # (host, port), looked up once per connection
        self.linger = False  # closed after an error answer: drain before closing
        self.scheme = "https" if isinstance(stream, trio.SSLStream) else "http"


#: a response ready for the wire: (status, reason, headers, body or None, encoder or None,
#: no_body) with the head validated
_Prepared = tuple[int, bytes, list[tuple[bytes, bytes]], "bytes | None", Any, bool]


class _PrefixedStream(trio.abc.Stream):
    """A stream that first returns bytes already received (after a protocol upgrade)."""

    def __init__(self, stream: trio.abc.Stream, prefix: bytes) -> None:
        self.transport_stream = stream
        self._prefix = prefix

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.transport_stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.transport_stream.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        if self._prefix:
            if max_bytes is None or max_bytes >= len(self._prefix):
                data, self._prefix = self._prefix, b""
            else:
                data, self._prefix = self._prefix[:max_bytes], self._prefix[max_bytes:]
            return data
        return await self.transport_stream.receive_some(max_bytes)

    async def aclose(self) -> None:
        await self.transport_stream.aclose()


class Server:
    """An HTTP/1.1 server for one handler on one or more bind targets.

    ``async with trio.open_nursery() as nursery:
    addresses = await nursery.start(Server(handler, "http://127.0.0.1:0").serve)``.
    :meth:`shutdown` stops accepting, lets in-flight requests finish within
    ``shutdown_grace`` seconds, then cancels what is left.
    """

    def __init__(
        self,
        handler: Handler,
        *binds: str | URL,
        config: ServerConfig | None = None,
        **settings: Any,
    ) -> None:
        if config is None:
            config = ServerConfig(**settings)
        elif settings:
            config = config.replace(**settings)
        self.handler = handler
        self.config = config
        self.binds = [URL(b) for b in binds] or [URL("http://127.0.0.1:8000")]
        self.plugins: Plugins = get_plugins(config.plugins, config.disable)
        self.backend = self.plugins.backend(config.http_backend)
        self.addresses: list[URL] = []
        self._connections: set[_Connection] = set()
        self._shutdown_requested = trio.Event()
        self._drained: trio.Event | None = None  # set when the last connection closes
        self._accepting = trio.CancelScope()
        self._limits = config.protocol_limits
        self._server_header = (
            config.server_header.encode("latin-1") if config.server_header else b""
        )
        check_headers([(b"Server", self._server_header)])
        self._codecs = self.plugins.body_codecs
        self._codec_limits = config.codec_limits
        timeouts = [
            t
            for t in (
                config.header_timeout,
                config.keep_alive_timeout,
                config.body_timeout,
                config.handler_timeout,
                config.write_timeout,
            )
            if t is not None
        ]
        # the sweeper's period: timeouts are enforced to within a tenth of the smallest one
        self._tick = max(0.01, min([1.0, *(t / 10 for t in timeouts)]))
        # a coarse clock the sweeper advances each tick: deadlines read it instead of
        # asking trio for the time several times per request
        self._clock = 0.0
        # the Date value, refreshed by the sweeper (which ticks at least once a second)
        self._date = _date_header()
        if config.compress_encodings is None:
            self._encodings = list(self.plugins.encodings)
        else:
            self._encodings = [e for e in config.compress_encodings if e in self.plugins.encodings]

    # -- lifecycle ------------------------------------------------------------------------
    def _listen_options(self, target: URL) -> ListenOptions:
        context = self.config.ssl_context
        if context is None and target.is_secure and self.config.certfile:
            context = server_context(self.config.certfile, self.config.keyfile)
        return ListenOptions(
            ssl_context=context, backlog=self.config.backlog, reuse_port=self.config.reuse_port
        )

    async def serve(
        self,
        *,
        shutdown_trigger: Callable[[], Awaitable[Any]] | None = None,
        task_status: trio.TaskStatus[list[URL]] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Listen, report the bound addresses through ``task_status``, serve until shut down."""
        opened: list[tuple[Transport, URL, list[trio.abc.Listener[Any]]]] = []
        self.addresses = []
        try:
            for target in self.binds:
                transport = self.plugins.transport_for_bind(target.scheme)
                listeners = await transport.listen(target, self._listen_options(target))
                opened.append((transport, target, listeners))
                self.addresses.extend(transport.bound_address(lst, target) for lst in listeners)
            self._clock = trio.current_time()
            self._date = _date_header()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._sweeper)
                with self._accepting:
                    async with trio.open_nursery() as accept_nursery:
                        for _, _, listeners in opened:
                            for listener in listeners:
                                accept_nursery.start_soon(self._accept_loop, listener, nursery)
                        if shutdown_trigger is not None:
                            accept_nursery.start_soon(self._wait_trigger, shutdown_trigger)
                        task_status.started(list(self.addresses))
                        await self._shutdown_requested.wait()
                        self._accepting.cancel()
                await self._drain_connections()
                nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True):
                for transport, target, listeners in opened:
                    await transport.close_listeners(listeners, target)

    async def _wait_trigger(self, trigger: Callable[[], Awaitable[Any]]) -> None:
        await trigger()
        self.shutdown()

    def shutdown(self) -> None:
        """Start a graceful shutdown (idempotent; returns at once)."""
        self._shutdown_requested.set()

    async def _drain_connections(self) -> None:
        for conn in list(self._connections):
            conn.closing = True
            if conn.phase == _IDLE:
                conn.scope.cancel()
        with trio.move_on_after(self.config.shutdown_grace):
            while self._connections:
                self._drained = trio.Event()
                await self._drained.wait()

    async def _sweeper(self) -> None:
        connections = self._connections
        while True:
            await trio.sleep(self._tick)
            self._clock = now = trio.current_time()
            self._date = _date_header()
            for conn in connections:
                if conn.deadline <= now and not conn.timed_out:
                    conn.timed_out = True
                    conn.scope.cancel()

    async def _accept_loop(self, listener: trio.abc.Listener[Any], nursery: trio.Nursery) -> None:
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS):
                    error_log.error("accept() failed (%s); pausing 100 ms", exc)
                    await trio.sleep(0.1)
                    continue
                raise
            nursery.start_soon(self._handle_connection, stream)

    # -- one connection -------------------------------------------------------------------
    async def _handle_connection(self, stream: trio.abc.Stream) -> None:
        stream = fast_stream(stream)
        conn = _Connection(stream, self.backend.server(self._limits))
        self._connections.add(conn)
        upgraded = False
        try:
            with conn.scope:
                upgraded = await self._run(conn)
            if conn.timed_out and not upgraded:
                await self._answer_timeout(conn)
        except Exception as exc:
            if not is_peer_gone(exc):
                error_log.exception("connection failed with an unexpected error")
        finally:
            self._connections.discard(conn)
            if not self._connections and self._drained is not None:
                self._drained.set()
            if not upgraded:
                if conn.linger and not self._shutdown_requested.is_set():
                    await self._linger(stream)
                await trio.aclose_forcefully(stream)

    async def _linger(self, stream: trio.abc.Stream) -> None:
        """Half-close, then discard what the client still sends for up to ``linger_timeout``.

        Closing a socket with unread input makes the kernel send a reset, which can
        destroy the error answer before the client reads it.
        """
        seconds = self.config.linger_timeout
        if not seconds:
            return
        with trio.move_on_after(seconds):
            try:
                if isinstance(stream, trio.abc.HalfCloseableStream):
                    await stream.send_eof()
                budget = _LINGER_MAX_BYTES
                while budget > 0:
                    data = await stream.receive_some(65536)
                    if not data:
                        return
                    budget -= len(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                return

    async def _run(self, conn: _Connection) -> bool:
        """Serve requests until the connection closes; True if it was upgraded away."""
        config = self.config
        proto = conn.proto
        receive = conn.stream.receive_some
        read_size = config.read_size
        keep_alive_timeout = config.keep_alive_timeout or math.inf
        header_timeout = config.header_timeout or math.inf
        conn.deadline = self._clock + header_timeout
        first = True
        while True:
            try:
                event = proto.next_event()
                while event is NEED_DATA:
                    if conn.phase == _IDLE and not first:
                        conn.deadline = self._clock + keep_alive_timeout
                    proto.receive_data(await receive(read_size))
                    if conn.phase == _IDLE:
                        conn.phase = _HEAD
                        conn.deadline = self._clock + header_timeout
                    event = proto.next_event()
            except ProtocolError as exc:
                await self._answer_error(conn, exc)
                return False
            if event is CLOSED or event is PAUSED:
                return False
            if type(event) is not RequestHead:
                return False
            first = False
            try:
                outcome = await self._exchange(conn, event)
            finally:
                if conn.body_iters:  # a request body the handler abandoned
                    for iterator in conn.body_iters:
                        await aclose_iterable(iterator)
                    conn.body_iters.clear()
            if outcome is not True:
                return outcome is None
            if conn.closing or not proto.start_next_cycle():
                return False
            conn.phase = _IDLE
            conn.deadline = self._clock + keep_alive_timeout

    async def _exchange(self, conn: _Connection, head: RequestHead) -> bool | None:
        """One request/response. True: go on; False: close; None: upgraded."""
        config = self.config
        proto = conn.proto
        started = trio.current_time() if self._logging() else -1.0
        request, early = self._make_request(conn, head)
        if early is not None:
            proto.close_after_response()
            conn.linger = True
            await self._write(conn, request, early, self._prepare(request, early), started)
            return False
        conn.expect_continue = head.expect_continue
        conn.phase = _HANDLER
        conn.deadline = self._clock + config.handler_timeout if config.handler_timeout else math.inf
        body_error: list[ProtocolError] = []
        if request._content is None:
            body_iter = self._request_body(conn, request, body_error)
            conn.body_iters.append(body_iter)
            request._stream = body_iter
        try:
            result = await self.handler(request)
            if isinstance(result, Response):
                response = result
            elif result is None:
                response = Response(204)
            else:
                response = Response(value=result)  # encoded by our codecs in _prepare
        except Exception as exc:
            status = _client_error_status(exc)
            if body_error:
                proto.close_after_response()
                conn.linger = True
                response = _error_response(body_error[0].status, str(body_error[0]))
            elif status is not None:
                # the client's fault (a malformed body, an unsupported type, a limit)
                response = _error_response(status, str(exc))
            else:
                error_log.error(
                    "handler failed for %s %s", request.method, request.target, exc_info=exc
                )
                response = _error_response(500, "Internal Server Error")
        if "takeover" in response.extensions:
            return await self._takeover(conn, request, response)
        if response.status == 101:
            return await self._upgrade(conn, request, response)
        if head.upgrade is not None or conn.closing:
            # bytes after a refused upgrade are never parsed as HTTP
            proto.close_after_response()
        if not head.keep_alive:
            proto.close_after_response()
        if conn.expect_continue and not _body_done(request):
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
            response = _error_response(500, "Internal Server Error")
            prepared = self._prepare(request, response)
        if not await self._write(conn, request, response, prepared, started):
            return False
        if request._stream is not None and not _body_done(request):
            return await self._drain_body(conn, request, body_error)
        return True

    def _make_request(
        self, conn: _Connection, head: RequestHead
    ) -> tuple[Request, Response | None]:
        """Build the Request; the second value is an early answer (413, 501…) if one is due."""
        config = self.config
        method = _METHODS.get(head.method) or head.method.decode("ascii")
        target = head.target.decode("latin-1")
        if conn.peer is _UNKNOWN_PEER:
            conn.peer = _peer(conn.stream)
        request = Request.received(
            method,
            target,
            Headers.from_raw(head.headers),
            _VERSIONS.get(head.http_version) or head.http_version.decode("ascii"),
            scheme=conn.scheme,
            client=conn.peer,
            codecs=self._codecs,
            codec_limits=self._codec_limits,
        )
        early: Response | None = None
        if target[:1] != "/":
            if target == "*" and method == "OPTIONS":
                pass
            elif "://" in target:
                try:
                    url = URL(target)
                    request._url = url
                    target = url.target
                except ValueError:
                    early = _error_response(400, f"invalid request target {target!r}")
            else:
                early = _error_response(400, f"invalid request target {target[:100]!r}")
        request.target = target
        if method == "CONNECT":
            early = _error_response(501, "CONNECT is not supported by this server")
        # body framing: nothing to read without Content-Length or Transfer-Encoding
        length = head.content_length
        has_body = head.chunked or bool(length)
        coding = head.content_encoding.decode("latin-1") if head.content_encoding else None
        if not has_body:
            event = conn.proto.next_event()
            if type(event) is not EndOfMessage:  # pragma: no cover - backend contract
                raise RemoteProtocolError("a request without a body did not end")
            return request, early
        request._content = None
        request._stream = None
        limit = config.max_body_size
        if early is None and length is not None and limit is not None and length > limit:
            early = _error_response(
                413,
                f"request body of {length} bytes is larger than max_body_size={limit}",
            )
        if early is None and coding and config.decode_request_bodies:
            codings = parse_content_encoding(coding)
            unknown = [c for c in codings if c != "identity" and c not in self.plugins.encodings]
            if unknown:
                early = _error_response(415, f"unsupported Content-Encoding {unknown[0]!r}")
            else:
                request.extensions["content_codings"] = codings
                request.headers = Headers.from_raw(
                    [(n, v) for n, v in head.headers if n.lower() not in _STRIP_FOR_DECODED]
                )
        return request, early

    async def _request_body(
        self, conn: _Connection, request: Request, errors: list[ProtocolError]
    ) -> AsyncIterator[bytes]:
        """Read the request body from the connection, enforcing the body limits."""
        config = self.config
        proto = conn.proto
        limit = config.max_body_size
        body_timeout = config.body_timeout or math.inf
        decoder: BoundedDecoder | None = None
        codings = request.extensions.get("content_codings")
        if codings:
            decoder = BoundedDecoder(
                [self.plugins.encodings[c].decoder() for c in reversed(codings) if c != "identity"],
                max_size=limit,
                max_ratio=config.max_decompression_ratio,
            )
        received = 0
        saved_phase, saved_deadline = conn.phase, conn.deadline
        try:
            if conn.expect_continue:
                conn.expect_continue = False
                await conn.stream.send_all(proto.send_informational(100, b"Continue", []))
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
                    conn.phase = _BODY
                    conn.deadline = self._clock + body_timeout
                    proto.receive_data(await conn.stream.receive_some(config.read_size))
                    conn.phase, conn.deadline = saved_phase, saved_deadline
                elif type(event) is EndOfMessage:
                    if decoder is not None:
                        for piece in decoder.finish():
                            yield piece
                    request.extensions["body_done"] = True
                    return
                else:
                    raise RemoteProtocolError(
                        "connection closed before the request body was complete"
                    )
        except ProtocolError as exc:
            errors.append(exc)
            raise
        except DecodingError as exc:
            wrapped = RemoteProtocolError(f"cannot decode the request body: {exc}")
            errors.append(wrapped)
            raise wrapped from exc

    async def _drain_body(
        self, conn: _Connection, request: Request, errors: list[ProtocolError]
    ) -> bool:
        """Discard an unread request body (up to 1 MiB) so the connection can be reused."""
        if errors or not conn.proto.keep_alive or request._stream is None:
            return False
        budget = 1 << 20
        try:
            async for chunk in request._stream:
                budget -= len(chunk)
                if budget < 0:
                    return False
        except (ProtocolError, trio.BrokenResourceError, trio.ClosedResourceError):
            return False
        return True

    async def _upgrade(
        self, conn: _Connection, request: Request, response: Response
    ) -> bool | None:
        on_upgrade = response.extensions.get("on_upgrade")
        if on_upgrade is None or request.headers.get("upgrade") is None:
            error_log.error(
                "handler answered 101 without an upgrade callback for %s", request.target
            )
            conn.proto.close_after_response()
            error = _error_response(500, "Internal Server Error")
            await self._write(conn, request, error, self._prepare(request, error), 0.0)
            return False
        headers = self._final_headers(response.headers.raw)[0]
        conn.phase = _WRITE
        conn.deadline = trio.current_time() + (self.config.write_timeout or math.inf)
        await conn.stream.send_all(
            conn.proto.send_informational(101, b"Switching Protocols", headers)
        )
        stream = _PrefixedStream(conn.stream, conn.proto.upgrade_trailing_data())
        conn.phase = _HANDLER
        conn.deadline = math.inf
        self._log(request, 101, 0, 0.0)
        try:
            await on_upgrade(stream)
        finally:
            await trio.aclose_forcefully(stream)
        return None

    async def _takeover(
        self, conn: _Connection, request: Request, response: Response
    ) -> bool | None:
        """Hand the connection to a protocol that answers the handshake itself (WebSockets)."""
        if not _body_done(request):
            proto = conn.proto
            proto.close_after_response()
            error = _error_response(400, "an upgrade request may not carry a body")
            await self._write(conn, request, error, self._prepare(request, error), 0.0)
            return False
        trailing = conn.proto.upgrade_trailing_data()
        # replay bytes that came after the handshake, or hand over the stream itself
        stream: trio.abc.Stream = (
            _PrefixedStream(conn.stream, trailing) if trailing else conn.stream
        )
        conn.phase = _HANDLER
        conn.deadline = math.inf
        self._log(request, 101, 0, 0.0)
        try:
            await response.extensions["takeover"](stream)
        except Exception:
            error_log.exception("protocol handler for %s failed", request.target)
        finally:
            await trio.aclose_forcefully(stream)
        return None

    # -- writing --------------------------------------------------------------------------
    def _prepare(self, request: Request, response: Response) -> _Prepared:
        """Final status line, headers and body framing of a response, validated."""
        config = self.config
        if response._pending is not _UNSET:
            response.encode_value(self._codecs)
        status = response.status
        bodiless_status = status < 200 or status in _NO_BODY_STATUS
        headers, present = self._final_headers(response.headers._items)
        reason = _reason_bytes(response)
        encoder = None
        body = response._content
        if config.compress and self._encodings and not bodiless_status:
            encoding = self._negotiate(request, response, body)
            if encoding is not None:
                encoder = self.plugins.encodings[encoding].encoder()
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
        return (
            status,
            reason,
            headers,
            body,
            encoder,
            bodiless_status or request.method == "HEAD",
        )

    def _final_headers(
        self, raw: list[tuple[bytes, bytes]]
    ) -> tuple[list[tuple[bytes, bytes]], int]:
        """A validated copy of ``raw`` with Date and Server added when missing, and the
        ``HAS_*`` bits of what ``raw`` had (one pass over the handler's headers)."""
        present = check_headers(raw)
        headers = list(raw)
        if not present & HAS_DATE:
            headers.append((b"Date", self._date))
        if not present & HAS_SERVER and self._server_header:
            headers.append((b"Server", self._server_header))
        return headers, present

    async def _write(
        self,
        conn: _Connection,
        request: Request,
        response: Response,
        prepared: _Prepared,
        started: float,
    ) -> bool:
        """Send a prepared response; False if the connection must close afterwards.

        ``started`` is when the request arrived, for the access log (negative: no log).
        """
        proto = conn.proto
        stream = conn.stream
        write_timeout = self.config.write_timeout or math.inf
        conn.phase = _WRITE
        conn.deadline = self._clock + write_timeout
        status, reason, headers, body, encoder, no_body = prepared
        if no_body:
            body = b""
        if body is not None:  # the whole answer in one write
            await stream.send_all(proto.send_response(status, reason, headers, body))
            if no_body and response._stream is not None:
                await aclose_iterable(response._stream)
            self._log(request, status, len(body), started)
            return True
        sent = 0
        pending = proto.send_response(status, reason, headers)
        finished = False
        try:
            async for chunk in response.stream():
                if encoder is not None:
                    chunk = encoder.compress(chunk) + encoder.sync()
                # the head rides with the first chunk; every chunk leaves as soon as it exists
                await stream.send_all(
                    pending + proto.send_data(chunk) if pending else proto.send_data(chunk)
                )
                pending = b""
                conn.deadline = self._clock + write_timeout
                sent += len(chunk)
            if encoder is not None:
                tail = encoder.flush()
                if tail:
                    pending += proto.send_data(tail)
                    sent += len(tail)
            pending += proto.send_end()
            finished = True
        except Exception as exc:
            if is_peer_gone(exc):
                raise
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
        await stream.send_all(pending)
        self._log(request, status, sent, started)
        return True

    def _negotiate(self, request: Request, response: Response, body: bytes | None) -> str | None:
        config = self.config
        if body is not None and len(body) < config.compress_min_size:
            return None
        accept = request.headers.get("accept-encoding")
        if not accept:
            return None
        headers = response.headers
        if "content-encoding" in headers or "content-range" in headers:
            return None
        content_type = headers.get("content-type")
        if not is_compressible(content_type, config.compress_types):
            return None
        if content_type and content_type.startswith("text/event-stream"):
            return None
        if body is None:
            declared = headers.get("content-length")
            if (
                declared is not None
                and declared.isdigit()
                and int(declared) < config.compress_min_size
            ):
                return None
        return choose_encoding(accept, self._encodings)

    def _closing_answer(self, conn: _Connection, response: Response) -> bytes | None:
        """The bytes of a ``Connection: close`` error answer, or None if one can't be sent now."""
        conn.proto.close_after_response()
        try:
            return conn.proto.send_response(
                response.status,
                response.reason.encode("latin-1"),
                self._final_headers([*response.headers.raw, (b"Connection", b"close")])[0],
                response.body,
            )
        except ProtocolError:
            return None

    async def _answer_error(self, conn: _Connection, exc: ProtocolError) -> None:
        """Answer a protocol error with its status and a plain-text message, then close."""
        conn.linger = True
        data = self._closing_answer(conn, _error_response(exc.status, str(exc)))
        if data is None:
            return
        conn.phase = _WRITE
        conn.deadline = trio.current_time() + (self.config.write_timeout or math.inf)
        await conn.stream.send_all(data)
        access_log.info('%s - "<malformed request>" %d', _client_text(conn.stream), exc.status)

    async def _answer_timeout(self, conn: _Connection) -> None:
        phase = conn.phase
        if phase in (_IDLE, _WRITE):
            return
        config = self.config
        if phase == _HEAD:
            response = _error_response(
                408, f"request head not received within header_timeout={config.header_timeout}s"
            )
        elif phase == _BODY:
            response = _error_response(
                408, f"request body stalled for longer than body_timeout={config.body_timeout}s"
            )
        else:
            response = _error_response(
                503, f"the handler did not answer within handler_timeout={config.handler_timeout}s"
            )
        data = self._closing_answer(conn, response)  # no lingering: the peer gets nothing more
        if data is None:
            return
        with trio.move_on_after(1.0):
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await conn.stream.send_all(data)

    def _logging(self) -> bool:
        return self.config.access_log and access_log.isEnabledFor(logging.INFO)

    def _log(self, request: Request, status: int, sent: int, started: float) -> None:
        """Log one answer; ``started`` is when the request arrived (negative: no log)."""
        if started >= 0 and self._logging():
            elapsed = (trio.current_time() - started) * 1000 if started else 0.0
            access_log.info(
                '%s - "%s %s HTTP/%s" %d %d %.1fms',
                _client_text_of(request.client),
                request.method,
                request.target,
                request.http_version,
                status,
                sent,
                elapsed,
            )


# -- helpers ------------------------------------------------------------------------------
def _body_done(request: Request) -> bool:
    return request._stream is None or bool(request.extensions.get("body_done"))


def _client_error_status(exc: BaseException) -> int | None:
    """The 4xx status an rttp error raised in a handler carries, if any."""
    if isinstance(exc, RTTPError):
        status = getattr(exc, "status", None)
        if isinstance(status, int) and 400 <= status < 500:
            return status
    return None


def _error_response(status: int, message: str) -> Response:
    body = (f"{status} {reason_phrase(status)}: {message}\n" if message else "").encode()
    return Response(
        status,
        [
            (b"Content-Type", b"text/plain; charset=utf-8"),
            (b"Content-Length", str(len(body)).encode()),
        ],
        body,
    )


_default_reasons: dict[int, bytes] = {}


def _reason_bytes(response: Response) -> bytes:
    """The reason phrase to send, checked (the standard phrases encoded once)."""
    if response._reason is None:
        reason = _default_reasons.get(response.status)
        if reason is None:
            reason = _default_reasons[response.status] = (
                reason_phrase(response.status).encode("latin-1") or b"Unknown"
            )
        return reason
    reason = response._reason.encode("latin-1", "replace") or b"Unknown"
    check_reason(reason)
    return reason


def _add_vary(headers: list[tuple[bytes, bytes]]) -> None:
    for index, (name, value) in enumerate(headers):
        if name.lower() == b"vary":
            if b"accept-encoding" not in value.lower() and value.strip() != b"*":
                headers[index] = (name, value + b", Accept-Encoding")
            return
    headers.append((b"Vary", b"Accept-Encoding"))


def _peer(stream: trio.abc.Stream) -> tuple[str, int] | None:
    inner: Any = stream
    while isinstance(inner, (trio.SSLStream, _PrefixedStream)):
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


def _client_text_of(client: tuple[str, int] | None) -> str:
    if client is None:
        return "-"
    return f"{client[0]}:{client[1]}" if client[1] else client[0]


def _client_text(stream: trio.abc.Stream) -> str:
    return _client_text_of(_peer(stream))


async def serve(
    handler: Handler,
    *binds: str | URL,
    shutdown_trigger: Callable[[], Awaitable[Any]] | None = None,
    task_status: trio.TaskStatus[list[URL]] = trio.TASK_STATUS_IGNORED,
    **settings: Any,
) -> None:
    """Serve ``handler`` on ``binds`` until cancelled (or until ``shutdown_trigger`` returns).

    Use with ``nursery.start``: it returns the bound addresses once listening::

        addresses = await nursery.start(rttp.serve, handler, "http://127.0.0.1:0")

    Keyword settings are those of :class:`rttp.ServerConfig`. When ``shutdown_trigger``
    returns, the server stops accepting, lets in-flight requests finish within
    ``shutdown_grace`` seconds, and returns.
    """
    server = Server(handler, *binds, **settings)
    await server.serve(shutdown_trigger=shutdown_trigger, task_status=task_status)
