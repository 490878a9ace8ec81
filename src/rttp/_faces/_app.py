"""The routing app (seed 003's ``serve``): per-method routes, ``any`` filters, WebSocket paths.

``app = rttp.App()`` is an ordinary handler for :func:`rttp.serve` and ``rttp serve``;
:meth:`App.serve` gives the seed's served-app object (``start``/``stop``/``active``/
``port``/``handlers``/``sockets``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any, overload

import trio

from .._io._util import call_maybe_async
from .._io.server._static import StaticFiles, static
from .._io.websocket._websocket import (
    DEFAULT_MAX_FRAGMENTS,
    DEFAULT_MAX_MESSAGE_SIZE,
    Closed,
    PingEvent,
    WebSocket,
    WebSocketMessage,
)
from .._io.websocket._wshandshake import accept_websocket, is_websocket_request
from .._model import URL, Request, Response
from .._model._enums import Opcode
from .._model._unset import UNSET as _UNSET
from .._proto._wsdeflate import Deflate
from ..errors import WebSocketClosed
from ._broadcast import Broadcaster, RemoteConnection
from ._middleware import CallNext, Middleware, chain
from ._routes import (
    HandlerInfo,
    HandlerT,
    Route,
    RouteRegistrar,
    RouteResponse,
    to_response,
)
from ._served import ServedApp
from ._sockets import SocketCallback, SocketConnection

__all__ = ["App", "HandlerInfo", "RouteResponse", "ServedApp", "SocketConnection"]

log = logging.getLogger("rttp.app")
_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


def _method(method: str, doc: str) -> RouteRegistrar:
    def register(self: App, path: str, handler: Any = _UNSET, *, stream: bool = False) -> Any:
        return self.route(method, path, handler, stream=stream)

    register.__name__ = method.lower()
    register.__doc__ = doc
    return register  # type: ignore[return-value]  # a function, bound as a method on App


class App:
    """An express-like router; use it as the handler of :func:`rttp.serve` or ``rttp serve``.

    ``@app.get("/users/{id:int}")`` registers a route (``get/post/put/delete/patch/head/
    options``); ``app.get(path, None)`` removes it. ``@app.any(path)`` runs before the
    method routes and may answer or pass on by returning None; ``"*"`` filters every
    path. ``@app.socket(path)`` receives ``(connection, opcode, data, extra)`` for each
    WebSocket event. Unknown paths get 404, a known path with another method 405 with
    ``Allow``; HEAD falls back to GET and OPTIONS is answered from the routes.

    Request bodies are read before a route runs (``stream=True`` on a route leaves the
    body to the handler, for ``stream_post_param`` and large uploads).

    ``broker="redis://host:6379/0"`` (any registered broker's URL) carries
    :meth:`broadcast` and :meth:`send_to` to every worker and machine serving the app;
    ``app.sockets(path)`` stays this process's connections and :meth:`count_sockets`
    counts them all.
    """

    def __init__(
        self,
        *,
        ws_max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        ws_ping_interval: float | None = 30.0,
        ws_ping_timeout: float = 20.0,
        ws_send_timeout: float | None = 10.0,
        ws_close_timeout: float = 5.0,
        ws_max_fragments: int | None = DEFAULT_MAX_FRAGMENTS,
        ws_compression: Deflate | None = _UNSET,
        websocket_backend: str | None = None,
        broker: str | URL | None = None,
        broker_prefix: str = "rttp",
        broker_presence_interval: float = 3.0,
    ) -> None:
        self.ws_max_message_size = ws_max_message_size
        self.ws_max_fragments = ws_max_fragments
        self.ws_ping_interval = ws_ping_interval
        self.ws_ping_timeout = ws_ping_timeout
        self.ws_send_timeout = ws_send_timeout
        self.ws_close_timeout = ws_close_timeout
        #: permessage-deflate (:class:`rttp.Deflate`, None: off) and the WebSocket backend;
        #: UNSET and None take the serving Server's ``websocket_compression``/``_backend``
        self.ws_compression: Deflate | None = ws_compression
        self.websocket_backend: str | None = websocket_backend
        self._routes: list[Route] = []
        self._any: list[Route] = []
        self._socket_routes: list[Route] = []
        self._sockets: dict[str, dict[str, SocketConnection]] = {}
        self._middleware: list[tuple[Middleware, str]] = []
        #: the dispatch, wrapped in the middleware
        self._handler: CallNext = self._dispatch
        #: how often presence is refreshed (a dead worker drops out after three of these)
        self.broker_presence_interval = broker_presence_interval
        self.use_broker(broker, broker_prefix)

    # -- registration ---------------------------------------------------------------------
    def _register(
        self, table: list[Route], method: str, path: str, handler: Any, stream: bool
    ) -> Any:
        def add(callback: Any) -> Any:
            table[:] = [r for r in table if not (r.method == method and r.path == path)]
            if callback is not None:
                table.append(Route(method, path, callback, stream))
            return callback

        if handler is _UNSET:
            return add
        return add(handler)

    def route(self, method: str, path: str, handler: Any = _UNSET, *, stream: bool = False) -> Any:
        """Register ``handler`` for ``method`` (any case) on ``path``; None removes the route.

        Without ``handler`` it is a decorator.
        """
        return self._register(self._routes, method.upper(), path, handler, stream)

    get: RouteRegistrar = _method(
        "GET", "A GET route (HEAD is answered by it too, without the body)."
    )
    post: RouteRegistrar = _method("POST", "A POST route.")
    put: RouteRegistrar = _method("PUT", "A PUT route.")
    delete: RouteRegistrar = _method("DELETE", "A DELETE route.")
    patch: RouteRegistrar = _method("PATCH", "A PATCH route.")
    head: RouteRegistrar = _method("HEAD", "A HEAD route (otherwise HEAD uses the GET route).")
    options: RouteRegistrar = _method(
        "OPTIONS", "An OPTIONS route (otherwise OPTIONS is answered with ``Allow``)."
    )

    @overload
    def any(self, path: str, *, stream: bool = False) -> Callable[[HandlerT], HandlerT]: ...
    @overload
    def any(self, path: str, handler: HandlerT, *, stream: bool = False) -> HandlerT: ...
    @overload
    def any(self, path: str, handler: None, *, stream: bool = False) -> None: ...
    def any(self, path: str, handler: Any = _UNSET, *, stream: bool = False) -> Any:
        """A filter run before the method routes; returning None passes the request on."""
        return self._register(self._any, "ANY", path, handler, stream)

    @overload
    def socket(self, path: str) -> Callable[[HandlerT], HandlerT]: ...
    @overload
    def socket(self, path: str, handler: HandlerT) -> HandlerT: ...
    @overload
    def socket(self, path: str, handler: None) -> None: ...
    def socket(self, path: str, handler: Any = _UNSET) -> Any:
        """WebSocket events on ``path``: ``callback(connection, opcode, data, extra)``.

        Events: ``Opcode.open`` (data None), ``text``/``binary`` (the payload), ``ping``/
        ``pong`` (the payload), ``close`` (data the code, 1005 when the frame had none;
        extra the reason). The callback may be async.
        """
        return self._register(self._socket_routes, "SOCKET", path, handler, False)

    def handlers(self) -> list[HandlerInfo]:
        """Every registered handler, ``any`` filters first, then routes, then socket paths."""
        return [
            HandlerInfo(r.method, r.path, r.callback)
            for r in (*self._any, *self._routes, *self._socket_routes)
        ]

    def static(self, prefix: str, directory: str | os.PathLike[str], **options: Any) -> StaticFiles:
        """Serve the files under ``directory`` at ``prefix`` (``app.static("/assets",
        "public")``: ``GET /assets/app.js`` is ``public/app.js``), with
        :func:`rttp.static`'s ``options``; returns that handler."""
        if not prefix.startswith("/"):
            raise ValueError(f"a static prefix must start with '/', got {prefix!r}")
        files = static(directory, **options)
        base = prefix.rstrip("/")

        async def serve(request: Request) -> Response | None:
            return await files.serve(request, request.raw_path[len(base) :])

        self.route("GET", base + "/{path:path}", serve, stream=True)
        if base:
            self.route("GET", base, serve, stream=True)
        return files

    def sockets(self, path: str) -> list[SocketConnection]:
        """The live WebSocket connections on ``path`` (for broadcasting)."""
        return list(self._sockets.get(path, {}).values())

    def _find_socket(self, connection_id: str) -> SocketConnection | None:
        for live in self._sockets.values():
            found = live.get(connection_id)
            if found is not None:
                return found
        return None

    def use_broker(self, broker: str | URL | None, prefix: str = "rttp") -> None:
        """Carry broadcasts through ``broker`` (before serving; ``rttp serve --broker``)."""
        #: the broker link that carries :meth:`broadcast` to every process (None: this one)
        self.broadcaster: Broadcaster = Broadcaster(
            broker,
            self.sockets,
            self._find_socket,
            lambda: list(self._sockets),
            prefix=prefix,
            presence_interval=self.broker_presence_interval,
        )

    async def broadcast(self, path: str, data: str | bytes) -> None:
        """Send ``data`` (text for a str) to every connection on ``path``, in every worker
        and on every machine when the App has a broker; each gets it once, in order."""
        await self.broadcaster.broadcast(path, data)

    def connection(self, connection_id: str) -> SocketConnection | RemoteConnection:
        """The connection ``connection_id``: this process's own, or one that sends
        through the broker to whichever worker holds it (``.text()``, ``.binary()``)."""
        local = self._find_socket(connection_id)
        return local if local is not None else RemoteConnection(self.broadcaster, connection_id)

    async def send_to(self, connection_id: str, data: str | bytes) -> None:
        """Send ``data`` to one connection, here or (through the broker) in another process."""
        await self.broadcaster.send_to(connection_id, data)

    async def count_sockets(self, path: str) -> int:
        """The connections on ``path`` in every process (presence keys in the broker, so
        a worker that died drops out); without a broker, ``len(app.sockets(path))``."""
        return await self.broadcaster.count(path)

    async def lifespan(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Run for the server's life (the server starts it before accepting): the broker
        connection, when there is one."""
        await self.broadcaster.run(task_status=task_status)

    def serve(self, port: int = 0, host: str = "127.0.0.1", **settings: Any) -> ServedApp:
        """The seed's served-app object for this app (not started yet)."""
        return ServedApp(self, port, host, **settings)

    # -- middleware -----------------------------------------------------------------------
    @overload
    def middleware(self, middleware: Middleware, *, prefix: str = "") -> Middleware: ...
    @overload
    def middleware(
        self, middleware: None = None, *, prefix: str = ""
    ) -> Callable[[Middleware], Middleware]: ...
    def middleware(self, middleware: Middleware | None = None, *, prefix: str = "") -> Any:
        """Run ``middleware`` (``async def mw(request, call_next) -> Response``) around
        every route, ``any`` filter and WebSocket handshake of the App, or only of the
        paths under ``prefix``; the first registered is the outermost. Without
        ``middleware`` it is a decorator. See :class:`rttp.CORS`."""
        if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
            raise ValueError(f"a middleware prefix is a path like '/api', got {prefix!r}")

        def add(layer: Middleware) -> Middleware:
            self._middleware.append((layer, prefix))
            self._handler = chain(self._middleware, self._dispatch)
            return layer

        return add if middleware is None else add(middleware)

    # -- dispatch -------------------------------------------------------------------------
    async def __call__(self, request: Request) -> Response:
        return await self._handler(request)

    async def _dispatch(self, request: Request) -> Response:
        # the upgrader refers to the request it is stored on: taken off again after the
        # routing, so that no request is left in a reference cycle (each one would wait
        # for the garbage collector, whose full passes stall every connection)
        request.upgrader = lambda: self._upgrade(request)
        try:
            return await self._route(request)
        finally:
            request.upgrader = None

    async def _route(self, request: Request) -> Response:
        path = request.path
        for route in self._any:
            params = route.match(path)
            if params is not None:
                result = await self._run(route, request, params)
                if result is not None:
                    return to_response(result)
        if (
            is_websocket_request(request)
            and self._socket_route(path) is not None
            and not any(r.method == "GET" and r.match(path) is not None for r in self._routes)
        ):
            # no GET route wants to see the handshake first (and call request.upgrade())
            return self._upgrade(request)
        allowed: list[str] = []
        get_route: tuple[Route, dict[str, Any]] | None = None
        for route in self._routes:
            params = route.match(path)
            if params is None:
                continue
            if route.method == request.method:
                return to_response(await self._run(route, request, params))
            allowed.append(route.method)
            if route.method == "GET" and get_route is None:
                get_route = (route, params)
        if request.method == "HEAD" and get_route is not None:
            return to_response(await self._run(get_route[0], request, get_route[1]))
        if allowed:
            methods = sorted({*allowed, *(["HEAD"] if "GET" in allowed else []), "OPTIONS"})
            if request.method == "OPTIONS":
                return Response(204, {"Allow": ", ".join(methods)})
            return Response(
                405,
                {"Allow": ", ".join(methods)},
                f"405 Method Not Allowed: {request.method} {path} (allowed: {', '.join(methods)})\n",
            )
        if self._socket_route(path) is not None:
            return Response(
                426, {"Upgrade": "websocket"}, "426 Upgrade Required: this path speaks WebSocket\n"
            )
        return Response(404, body=f"404 Not Found: no route for {path}\n")

    async def _run(self, route: Route, request: Request, params: dict[str, Any]) -> Any:
        request.parameters = params
        if not route.stream and request.method not in _BODYLESS:
            await request.read()
        if route.takes_res:
            res = RouteResponse()
            result = await call_maybe_async(route.callback, request, res)
            return result if result is not None else res.to_response()
        return await call_maybe_async(route.callback, request)

    def _socket_route(self, path: str) -> tuple[Route, dict[str, Any]] | None:
        for route in self._socket_routes:
            params = route.match(path)
            if params is not None:
                return route, params
        return None

    def _upgrade(self, request: Request) -> Response:
        found = self._socket_route(request.path)
        if found is None:
            return Response(404, body=f"404 Not Found: no socket route for {request.path}\n")
        route, params = found
        request.parameters = params

        async def run(ws: WebSocket) -> None:
            await self._run_socket(ws, route.callback)

        return accept_websocket(
            request,
            run,
            max_message_size=self.ws_max_message_size,
            close_timeout=self.ws_close_timeout,
            send_timeout=self.ws_send_timeout,
            max_fragments=self.ws_max_fragments,
            compression=self.ws_compression,
            websocket_backend=self.websocket_backend,
        )

    async def _run_socket(self, ws: WebSocket, callback: SocketCallback) -> None:
        connection = SocketConnection(ws)
        live = self._sockets.setdefault(ws.path, {})
        live[connection.id] = connection  # listed before the client learns it is connected
        self.broadcaster.changed()
        try:
            await ws.accept()
            async with trio.open_nursery() as nursery:
                if self.ws_ping_interval:
                    nursery.start_soon(self._keepalive, ws)
                if ws.send_timeout is not None:
                    await nursery.start(ws.watch_sends)  # watched from the first send
                await call_maybe_async(callback, connection, Opcode.open, None, None)
                while True:
                    try:
                        event = await ws.receive()
                    except WebSocketClosed:
                        break
                    if isinstance(event, Closed):
                        live.pop(connection.id, None)  # no longer listed when the callback runs
                        await call_maybe_async(
                            callback, connection, Opcode.close, event.code, event.reason
                        )
                        break
                    data: Any
                    if isinstance(event, WebSocketMessage):
                        opcode, data = Opcode.binary if event.is_binary else Opcode.text, event.data
                    else:
                        opcode = Opcode.ping if isinstance(event, PingEvent) else Opcode.pong
                        data = event.payload
                    try:
                        await call_maybe_async(callback, connection, opcode, data, None)
                    except WebSocketClosed:
                        if ws.closed is None:
                            raise
                        # it answered a message that came before the close (or a protocol
                        # error): the close callback still follows
                nursery.cancel_scope.cancel()
        finally:
            live.pop(connection.id, None)
            if not live:
                self._sockets.pop(ws.path, None)
            self.broadcaster.changed()

    async def _keepalive(self, ws: WebSocket) -> None:
        assert self.ws_ping_interval is not None
        while ws.is_open:
            await trio.sleep(self.ws_ping_interval)
            if not ws.is_open:
                return
            try:
                answered = await ws.ping_and_wait(self.ws_ping_timeout)
            except WebSocketClosed:
                return
            if not answered:
                log.info(
                    "WebSocket %s: no pong within %ss, dropping it", ws.id, self.ws_ping_timeout
                )
                await ws.abort()
                return
