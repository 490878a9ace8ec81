"""Hosting an ASGI 3 application (Starlette, FastAPI, Quart-Trio…): :func:`asgi` turns it
into an rttp handler, so ``rttp.serve(rttp.asgi(app), …)`` and ``rttp serve module:app``
run it on the same engine, limits and timeouts as any rttp handler.

The adapter stands on the two public seams of the engine: the request body is
``request.stream()`` (read as ``receive()`` asks, never buffered whole), and the answer
is pushed (``request.respond``): ``http.response.start`` decides the head,
``http.response.body`` pieces go out as they come, sized or chunked as the headers say.
The lifespan protocol runs in the server's lifespan task: startup before the first
connection is accepted, shutdown after the drain.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import unquote

import trio

from ..._model import Answer, Request, Response
from ...errors import LifespanFailed, ProtocolError, TransportError
from ..engine._answering import ExchangeAnswer, answer_of
from ..engine._server import ServerConnection
from ..websocket._wshandshake import is_websocket_request
from ._asgi_scope import connection_of, tls_extension
from ._asgi_ws import WebSocketExchange

__all__ = ["SHUTDOWN_TIMEOUT", "ASGIApp", "ClientDisconnected", "asgi"]

log = logging.getLogger("rttp.asgi")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGI3 = Callable[[Scope, Receive, Send], Awaitable[None]]

#: what the scope says of the interface (ASGI 3, HTTP spec 2.4)
_ASGI = {"version": "3.0", "spec_version": "2.4"}
#: how long the app's lifespan shutdown may take once the server has drained
SHUTDOWN_TIMEOUT = 10.0


def asgi(app: ASGI3, *, lifespan: str = "auto") -> ASGIApp:
    """An rttp handler that runs the ASGI 3 application ``app``.

    ``lifespan`` is ``"auto"`` (run the lifespan protocol; an app that does not support
    it is served anyway), ``"on"`` (an app that fails it stops the server) or ``"off"``.
    """
    if lifespan not in ("auto", "on", "off"):
        raise ValueError(f"lifespan must be 'auto', 'on' or 'off', got {lifespan!r}")
    return ASGIApp(app, lifespan)


class ClientDisconnected(ConnectionResetError):
    """What ``send()`` raises in a hosted ASGI app once the client has gone away (the
    ASGI spec asks for an OSError subclass, which frameworks catch as a disconnect)."""


class ASGIApp:
    """An ASGI 3 application as an rttp handler (see :func:`asgi`)."""

    def __init__(self, app: ASGI3, lifespan: str = "auto") -> None:
        self.app = app
        self.lifespan_mode = lifespan
        #: the lifespan ``state``, copied into every request's scope
        self.state: dict[str, Any] = {}
        self._supports_lifespan = lifespan != "off"

    def __repr__(self) -> str:
        return f"rttp.asgi({self.app!r})"

    # -- one request ------------------------------------------------------------------------
    async def __call__(self, request: Request) -> Response | None:
        answer = request._answer
        engine = answer if type(answer) is ExchangeAnswer else None
        # (the engine's parsed head says whether the request asks to upgrade at all)
        if (engine is None or engine.asks_upgrade) and is_websocket_request(request):
            return await self._websocket(request)
        conn = connection_of(request) if engine is None else engine.connection
        exchange = _Exchange(request, engine)
        try:
            await self.app(self._scope(request, conn), exchange.receive, exchange.send)
        except Exception:
            # the client left under a send: whatever the app made of it (Starlette raises
            # its ClientDisconnect), the server's own error again, handled quietly
            if exchange.gone is not None:
                raise exchange.gone from None
            if exchange.refused is not None and exchange.answer is None:
                raise exchange.refused from None  # the server's answer to the body: a 413…
            raise
        if exchange.refused is not None and exchange.answer is None:
            raise exchange.refused  # the app gave up on the body it was refused
        if exchange.answer is None:
            if exchange.status is None:
                log.error(
                    "ASGI app %r returned without answering %s %s",
                    self.app,
                    request.method,
                    request.target,
                )
                return Response(
                    500,
                    {"Content-Type": "text/plain; charset=utf-8"},
                    "500 Internal Server Error: the application sent no response\n",
                )
            exchange.start_answer()  # a start without a body: an empty answer
        answer = exchange.answer
        assert answer is not None
        if not answer.finished:
            await answer.finish()
        return None

    async def _websocket(self, request: Request) -> Response | None:
        """A WebSocket handshake: the app decides (accept, close, or an HTTP answer)."""
        problem = WebSocketExchange.problem(request)
        if problem is not None:
            return Response(400, body=f"400 Bad Request: invalid WebSocket handshake: {problem}\n")
        scope = self._scope(request, connection_of(request))
        scope["type"] = "websocket"
        scope["scheme"] = "wss" if request.scheme == "https" else "ws"
        scope["subprotocols"] = request.headers.csv_list("sec-websocket-protocol")
        scope["extensions"] = {
            key: value for key, value in scope["extensions"].items() if key == "tls"
        }
        scope["extensions"]["websocket.http.response"] = {}
        exchange = WebSocketExchange(request)
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except BaseException:
            await exchange.fail()
            raise
        await exchange.end()
        return None

    def _scope(self, request: Request, conn: ServerConnection | None) -> Scope:
        root = request.root_path
        target = request.target
        if "?" in target:
            raw_path, _, query = target.partition("?")
        else:
            raw_path, query = target, ""
        server = tls = None
        if conn is not None:
            fixed = conn.hosted  # (the server's address and TLS: once per connection)
            if fixed is None:
                ssl_object = conn.tls
                tls_info = tls_extension(ssl_object) if ssl_object is not None else None
                fixed = conn.hosted = (conn.local, tls_info)
            server, tls = fixed
        offered: dict[str, Any] = {"http.response.trailers": {}, "http.response.pathsend": {}}
        if tls is not None and request.scheme == "https":  # (as the proxy headers say)
            offered["tls"] = dict(tls)
        return {
            "type": "http",
            "asgi": _ASGI,
            "http_version": request.http_version,
            "method": request.method,
            "scheme": request.scheme,
            # the full path, root_path included (as uvicorn and hypercorn give it)
            "path": root + (unquote(raw_path) if "%" in raw_path else raw_path),
            "raw_path": (root + raw_path).encode("latin-1"),
            "query_string": query.encode("latin-1") if query else b"",
            "root_path": root,
            "headers": [(name.lower(), value) for name, value in request.headers.raw],
            # (pairs as uvicorn gives them: the spec asks for an iterable)
            "client": request.client,
            "server": server,
            "extensions": offered,
            "state": self.state.copy() if self.state else {},
        }

    # -- lifespan ---------------------------------------------------------------------------
    async def lifespan(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Run the application's lifespan for the server's life: the server starts this
        before it accepts, and cancels it after the drain (the shutdown then runs)."""
        if not self._supports_lifespan:
            task_status.started()
            await trio.sleep_forever()
        to_app_send, to_app = trio.open_memory_channel[Message](1)
        from_app_send, from_app = trio.open_memory_channel[Message](1)
        scope = {"type": "lifespan", "asgi": _ASGI, "state": self.state}
        # the app's lifespan task outlives the server's cancellation until its shutdown
        # has run (or SHUTDOWN_TIMEOUT has passed)
        app_scope = trio.CancelScope(shield=True)

        async def run_app() -> None:
            with app_scope:
                try:
                    await self.app(scope, to_app.receive, from_app_send.send)
                except Exception as exc:
                    await from_app_send.send({"type": "rttp.lifespan.raised", "error": exc})
                else:
                    await from_app_send.send({"type": "rttp.lifespan.returned"})

        async with trio.open_nursery() as nursery:
            nursery.start_soon(run_app)
            try:
                await to_app_send.send({"type": "lifespan.startup"})
                message = await from_app.receive()
                self._check_startup(message)
            except BaseException:
                app_scope.cancel()
                raise
            if message["type"] != "lifespan.startup.complete":
                log.info("the application does not support lifespan: serving without it")
                app_scope.cancel()
                task_status.started()
                return
            task_status.started()
            try:
                await trio.sleep_forever()
            finally:
                with trio.CancelScope(shield=True), trio.move_on_after(SHUTDOWN_TIMEOUT):
                    await to_app_send.send({"type": "lifespan.shutdown"})
                    message = await from_app.receive()
                    if message["type"] == "lifespan.shutdown.failed":
                        log.error("the application's shutdown failed: %s", message.get("message"))
                app_scope.cancel()

    def _check_startup(self, message: Message) -> None:
        """Raise LifespanFailed when the startup failed, or when the app does not support
        lifespan and ``lifespan="on"`` asked for it."""
        kind = message["type"]
        if kind == "lifespan.startup.failed":
            said = str(message.get("message") or "")
            # frameworks send a whole traceback (Starlette does): its last line says what
            lines = [line for line in said.splitlines() if line.strip()]
            reason = lines[-1].strip() if lines else "no reason given"
            if len(lines) > 1:
                log.debug("the application's startup failed:\n%s", said)
            failed = LifespanFailed(f"the application's startup failed: {reason}")
            failed.message = said or reason
            raise failed
        if kind != "lifespan.startup.complete" and self.lifespan_mode == "on":
            raise LifespanFailed(
                "the application does not support the lifespan protocol (lifespan='on'): "
                f"{message.get('error')!r}"
            )


class _Exchange:
    """``receive`` and ``send`` of one HTTP request."""

    __slots__ = (
        "_closed",
        "answer",
        "body",
        "done",
        "engine",
        "gone",
        "headers",
        "reading",
        "refused",
        "request",
        "status",
        "trailers",
        "watching",
    )

    def __init__(self, request: Request, engine: ExchangeAnswer | None) -> None:
        self.request = request
        #: the engine's answer to the request (None for a request made by hand)
        self.engine = engine
        #: the body as it arrives (made at the first receive(); None once it has all
        #: been handed to the app)
        self.body: AsyncIterator[bytes] | None = None
        self.reading = False
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.trailers = False
        self.answer: Answer | None = None
        #: the answer is complete or the client is gone: receive() then says
        #: http.disconnect (set by :meth:`close`)
        self.done = False
        #: made only when a receive() waits for that (most requests never do)
        self._closed: trio.Event | None = None
        #: how the connection broke under a send (raised again once the app is done)
        self.gone: TransportError | None = None
        #: the request body crossed a limit or broke its framing: the server answers it
        #: (413, 400…), and the app was told the client is gone
        self.refused: ProtocolError | None = None
        #: a receive() is watching the connection for the client's departure
        self.watching = False

    async def receive(self) -> Message:
        """The next piece of the body (read now: the client is held back by TCP while
        the app does not ask), then, once the exchange is over, ``http.disconnect``."""
        body = self.body
        if not self.reading:
            self.reading = True
            body = self.body = self.request.stream().__aiter__()
        if body is not None and not self.done:
            try:
                chunk = await body.__anext__()
            except StopAsyncIteration:
                self.body = None
                return {"type": "http.request", "body": b"", "more_body": False}
            except TransportError:
                self.body = None
                self.close()
                return {"type": "http.disconnect"}
            except ProtocolError as exc:
                # not the app's to answer: the server says 413 (or 400), the app sees the
                # client go
                self.body = None
                self.refused = exc
                self.close()
                return {"type": "http.disconnect"}
            return {"type": "http.request", "body": chunk, "more_body": True}
        if not self.done:
            conn = connection_of(self.request)
            # told at once, also in a cancelled scope (Starlette's is_disconnected())
            if conn is not None and conn.peer_left():
                self.close()
            elif conn is None or self.watching:
                await self._wait_closed()
            else:
                await self._until_gone(conn)
        return {"type": "http.disconnect"}

    def close(self) -> None:
        """The answer is complete, or the client is gone: wake the waiting receive()."""
        self.done = True
        if self._closed is not None:
            self._closed.set()

    async def _wait_closed(self) -> None:
        if not self.done:
            if self._closed is None:
                self._closed = trio.Event()
            await self._closed.wait()

    async def _until_gone(self, conn: ServerConnection) -> None:
        """Wait until the exchange is over or the client closes the connection."""
        self.watching = True
        try:
            async with trio.open_nursery() as nursery:

                async def watch() -> None:
                    await conn.until_peer_leaves()
                    self.close()

                nursery.start_soon(watch)
                await self._wait_closed()
                nursery.cancel_scope.cancel()
        finally:
            self.watching = False

    async def send(self, message: Message) -> None:
        if self.refused is not None:
            return  # the server answers this request (its body was refused): not the app
        kind = message["type"]
        if kind == "http.response.start":
            if self.status is not None:
                raise RuntimeError("http.response.start sent twice")
            self.status = int(message["status"])
            self.headers = _byte_pairs(message.get("headers", ()))
            if message.get("trailers"):
                self.trailers = True
        elif kind == "http.response.body":
            more = message.get("more_body")
            status = self.status
            if not more and self.answer is None and status is not None and not self.trailers:
                # the common answer, its whole body in one message: framed by its length
                # and written with its head in one send (never compressed: the app
                # decides that)
                whole = self.answer = self.engine or answer_of(self.request)
                body = message.get("body", b"")
                if type(body) is not bytes:
                    body = bytes(body)
                try:
                    await whole.send_whole(status, self.headers, body, raw=True)
                finally:
                    self.close()
                return
            await self._write(message.get("body", b""), None, bool(more))
        elif kind == "http.response.pathsend":
            await self._write(b"", str(message["path"]), False)
        elif kind == "http.response.trailers":
            answer = self.answer or self.start_answer()
            if not message.get("more_trailers", False):
                fields = _byte_pairs(message.get("headers", ()))
                await answer.finish(fields or None)
                self.close()
        else:
            raise RuntimeError(f"unexpected ASGI message type {kind!r} for an HTTP request")

    async def _write(self, body: bytes, path: str | None, more: bool) -> None:
        """One piece of the answer: ``body`` bytes or the file at ``path``."""
        answer = self.answer or self.start_answer()
        try:
            if body:
                await answer.send(body)
            if path is not None:
                await answer_of(self.request).send_file(path)
            if not more and not self.trailers:
                await answer.finish()
                self.close()
        except TransportError as exc:
            self.close()
            self.gone = exc
            # ASGI 2.4: a send on a closed connection raises an OSError subclass
            raise ClientDisconnected(str(exc)) from exc

    def start_answer(self) -> Answer:
        if self.status is None:
            raise RuntimeError("http.response.body sent before http.response.start")
        self.answer = answer = self.request.respond(self.status, self.headers)
        return answer


def _byte_pairs(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """An app's header pairs as bytes (the spec's byte strings, or any bytes-like): its
    own list when every name and value is bytes already (the common case: no copy)."""
    pairs = headers if type(headers) is list else list(headers)
    # (a loop, not a set of the types gathered in C: fewer bytecodes, but three times
    # the time for an answer's few fields)
    for name, value in pairs:
        if type(name) is not bytes or type(value) is not bytes:
            return [(bytes(name), bytes(value)) for name, value in pairs]
    return pairs
