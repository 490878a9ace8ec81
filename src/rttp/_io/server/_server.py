"""The HTTP server: listeners, accept loops, the sweeper and graceful shutdown.

Structure: :class:`Server` opens listeners through transport plugins, runs one accept
loop per listener and one task per connection in its own nursery, plus one *sweeper*
task. Each connection runs :func:`~rttp._io.server._serve.serve_connection`, the one
serve loop, with a responder that calls the handler and sends what it returns (unless
the handler pushed its answer through ``request.respond``). Instead of creating a
timeout per receive, each exchange records the float deadline of its current phase
(idle, head, body, handler, write) and the sweeper cancels the scopes whose deadline
has passed. The Date header is cached per second; a small response (head and body)
goes out in one write.
"""

from __future__ import annotations

import errno
import logging
import math
import random
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import trio

if TYPE_CHECKING:
    from typing_extensions import Unpack

if sys.version_info < (3, 11):  # pragma: no cover - 3.10
    from exceptiongroup import BaseExceptionGroup

from ..._config import SERVER_WEBSOCKETS, ServerConfig, ServerWebSockets
from ..._model import URL, Request, Response
from ..._options import ServerOptions
from ..._plugins import Plugins, get_plugins
from ...errors import LifespanFailed
from ...plugin import ListenOptions, ProtocolBackend, Transport
from .._util import first_leaf
from ..engine._clock import CoarseClock, sweep
from ..engine._exchange import ServerExchange
from ..engine._mux import ExchangesOf, MuxServerConnection
from ..engine._server import ServerConnection
from ..engine._settings import ServerSettings
from ..net._sockio import fast_stream
from ..net._tls import server_context
from ._accesslog import AccessLog
from ._forwarded import ProxyHeaders, strip_root
from ._negotiate import choose_within
from ._serve import ServeOptions, Slots, serve_connection
from ._serve_mux import serve_multiplexed

__all__ = ["Handler", "Server", "serve"]

Handler = Callable[[Request], Awaitable[Response]]

error_log = logging.getLogger("rttp.error")


#: how long an idle keep-alive connection is kept at shutdown for a request already on
#: its way (answered with Connection: close); then it is closed
SHUTDOWN_IDLE_WINDOW = 1.0


class Server:
    """An HTTP server for one handler on one or more bind targets: ``addresses = await
    Server(handler, "http://127.0.0.1:0").start(nursery)``. :meth:`shutdown` stops
    accepting, lets in-flight requests finish within ``shutdown_grace`` seconds, then
    cancels what is left."""

    def __init__(
        self,
        handler: Handler,
        *binds: str | URL,
        config: ServerConfig | None = None,
        **settings: Unpack[ServerOptions],
    ) -> None:
        fields: dict[str, Any] = dict(settings)
        for name in ("plugins", "disable"):  # (any sequence; the config keeps a tuple)
            if name in fields:
                fields[name] = tuple(fields[name])
        if config is None:
            config = ServerConfig(**fields)
        elif fields:
            config = config.replace(**fields)
        self.handler = handler
        self.config = config
        self.binds: list[URL] = [URL(b) for b in binds] or [URL("http://127.0.0.1:8000")]
        self.plugins: Plugins = get_plugins(config.plugins, config.disable)
        self.backend: ProtocolBackend = self.plugins.backend(config.http_backend)
        if config.websocket_backend != "auto":  # an unknown name fails here, not at a handshake
            self.plugins.websocket_backend(config.websocket_backend)
        self.addresses: list[URL] = []
        self._connections: set[ServerConnection] = set()
        #: what the sweeper watches: the exchange of every connection (a view, not a
        #: second set: a set entry is memory per connection)
        self._watched = ExchangesOf(self._connections)
        self._shutdown_requested = trio.Event()
        #: set once a shutdown has closed the listeners: from then on new clients are
        #: refused by the kernel (never accepted and then dropped) while in-flight
        #: requests finish
        self.stopped_accepting: trio.Event = trio.Event()
        self._drained: trio.Event | None = None  # set when the last connection closes
        self._slot_freed = trio.Event()  # set (and replaced) whenever a connection ends
        #: accepted connections waiting for a slot (max_connections)
        self._slots = Slots()
        self._accepting = trio.CancelScope()
        #: in a pool worker: the sockets the supervisor bound, one list per bind target
        self._inherited: list[list[Any]] | None = None
        self._limits = config.protocol_limits
        #: what every connection's engine reads (codecs, encodings, headers), worked out once
        self._settings = ServerSettings(config, self.plugins)
        self._websockets = ServerWebSockets(
            config.websocket_backend, config.websocket_compression, self.plugins
        )
        # a coarse clock (and the Date value) the sweeper advances each tick: deadlines
        # read it instead of asking trio for the time several times per request
        self._clock = CoarseClock(watched=True)
        self._proxy = ProxyHeaders(config.forwarded_allow_ips) if config.proxy_headers else None
        self._root = config.root_path.rstrip("/")
        self._access = (
            AccessLog(config.access_log_format, config.access_log_file)
            if config.access_log
            else None
        )
        #: the HTTP/2 backend when ``http2`` is on and one is installed
        self._h2 = self.plugins.multiplexed_backend("h2") if config.http2 else None
        if config.http2 and self._h2 is None:
            error_log.warning(
                "http2=True, but no HTTP/2 backend is installed (pip install "
                "'trio-rttp[http2]'): serving HTTP/1.1 only"
            )
        #: requests left before a graceful shutdown (``max_requests``)
        self._requests_left = 0
        if config.max_requests is not None:
            self._requests_left = config.max_requests + random.randint(
                0, max(config.max_requests_jitter, 0)
            )
            self._respond = self._respond_counting  # type: ignore[method-assign]  # (free without the limit)
        self._serve_options = ServeOptions(
            handler_timeout=float(config.handler_timeout or math.inf),
            log=error_log,
            access=self._access,
            slots=self._slots,
            write_timeout=config.write_timeout or math.inf,
        )

    def inherit(self, sockets: list[list[Any]]) -> None:
        """Serve sockets bound elsewhere instead of binding: one list of listening
        sockets per bind target (a pool's supervisor does this; so does ``rttp serve
        --fd`` with a socket from a process manager such as systemd)."""
        if len(sockets) != len(self.binds):
            raise ValueError(f"{len(sockets)} socket lists for {len(self.binds)} bind targets")
        self._inherited = sockets

    @property
    def protocols(self) -> tuple[str, ...]:
        """The protocols this server speaks, by their ALPN ids: ``("h2", "http/1.1")``
        with ``http2=True`` and an HTTP/2 backend installed, else ``("http/1.1",)``."""
        return ("h2", "http/1.1") if self._h2 is not None else ("http/1.1",)

    # -- lifecycle ------------------------------------------------------------------------
    def listen_options(self, target: URL) -> ListenOptions:
        """What a transport listens on ``target`` with: the TLS context (from
        ``ssl_context`` or ``certfile``/``keyfile``), the backlog, ``reuse_port``."""
        context = self.config.ssl_context
        alpn = ("h2", "http/1.1") if self._h2 is not None else ("http/1.1",)
        if context is None and target.is_secure and self.config.certfile:
            context = server_context(self.config.certfile, self.config.keyfile, alpn=alpn)
        elif context is not None and self._h2 is not None:
            context.set_alpn_protocols(list(alpn))  # HTTP/2 is negotiated by ALPN
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
            inherited = self._inherited
            if inherited is None and self.config.workers > 1:
                raise RuntimeError(
                    f"workers={self.config.workers} forks worker processes, which cannot "
                    "happen inside a running trio.run: call rttp.run(...) or use "
                    "rttp serve --workers"
                )
            for index, target in enumerate(self.binds):
                transport = self.plugins.transport_for_bind(target.scheme)
                options = self.listen_options(target)
                if inherited is not None:  # a worker of the pool: the supervisor bound them
                    listeners = transport.adopt(inherited[index], target, options)
                else:
                    listeners = await transport.listen(target, options)
                opened.append((transport, target, listeners))
                self.addresses.extend(transport.bound_address(lst, target) for lst in listeners)
            self._clock.tick()
            # for accept_websocket: the connection tasks inherit it from here
            serving = SERVER_WEBSOCKETS.set(self._websockets)
            try:
                await self._run(opened, shutdown_trigger, task_status)
            except BaseExceptionGroup as group:
                # a hosted app whose startup failed: its one-line reason, not a group
                failed = group.subgroup(LifespanFailed)
                if failed is not None:
                    raise first_leaf(failed) from None
                raise
            finally:
                SERVER_WEBSOCKETS.reset(serving)
        finally:
            await self._close_listeners(opened)

    async def start(self, nursery: trio.Nursery) -> list[URL]:
        """Serve in ``nursery`` (until it is cancelled, or :meth:`shutdown`); the bound
        addresses, typed, once listening (``nursery.start(server.serve)``'s are ``Any``)."""
        addresses: list[URL] = await nursery.start(self.serve)
        return addresses

    async def _run(
        self,
        opened: list[tuple[Transport, URL, list[trio.abc.Listener[Any]]]],
        shutdown_trigger: Callable[[], Awaitable[Any]] | None,
        task_status: trio.TaskStatus[list[URL]],
    ) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._sweeper)
            lifespan = getattr(self.handler, "lifespan", None)
            if lifespan is not None:  # an App's broker link, say: up before accepting
                await nursery.start(lifespan)
            if self._access is not None:
                nursery.start_soon(self._access.run_flusher)
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
            # new clients are refused from here on, not accepted and then lost
            await self._close_listeners(opened)
            self.stopped_accepting.set()
            await self._drain_connections()
            nursery.cancel_scope.cancel()

    @staticmethod
    async def _close_listeners(
        opened: list[tuple[Transport, URL, list[trio.abc.Listener[Any]]]],
    ) -> None:
        with trio.CancelScope(shield=True):
            while opened:
                transport, target, listeners = opened.pop()
                await transport.close_listeners(listeners, target)

    async def _wait_trigger(self, trigger: Callable[[], Awaitable[Any]]) -> None:
        await trigger()
        self.shutdown()

    def shutdown(self) -> None:
        """Start a graceful shutdown (idempotent; returns at once)."""
        self._shutdown_requested.set()

    async def _drain_connections(self) -> None:
        # every answer from now on says Connection: close. An idle keep-alive connection
        # stays open a moment longer, so that a request its client is sending right now
        # is answered (with close) instead of meeting a closed socket: the keep-alive
        # race of RFC 9112 §9.3.1, which every client must otherwise retry
        window = min(SHUTDOWN_IDLE_WINDOW, self.config.shutdown_grace)
        for conn in list(self._connections):
            conn.drain(window)
        with trio.move_on_after(self.config.shutdown_grace):
            while self._connections:
                self._drained = trio.Event()
                await self._drained.wait()

    async def _sweeper(self) -> None:
        await sweep(self._watched, self._clock, self._settings.sweep_tick)

    async def _accept_loop(self, listener: trio.abc.Listener[Any], nursery: trio.Nursery) -> None:
        limit = self.config.connection_limit
        failures = 0
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:
                if exc.errno not in (errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS):
                    raise
                if not failures:  # once per episode, not every retry
                    error_log.error(
                        "accept() failed (%s) with %d connections open; closing idle "
                        "connections and retrying (lower max_connections or raise the "
                        "open-file limit)",
                        exc,
                        len(self._connections),
                    )
                failures += 1
                self._close_oldest_idle()
                with trio.move_on_after(0.1):
                    await self._slot_freed.wait()
                continue
            if failures:
                error_log.warning("accept() works again after %d failed attempts", failures)
                failures = 0
            if len(self._connections) >= limit and not self._close_oldest_idle():
                # every connection is busy: this one waits for a slot (answers meanwhile
                # close their connections), and no more are accepted (they wait in the
                # listen backlog)
                self._slots.waiting += 1
                try:
                    while len(self._connections) >= limit:
                        await self._slot_freed.wait()
                except BaseException:
                    await trio.aclose_forcefully(stream)
                    raise
                finally:
                    self._slots.waiting -= 1
            if self._h2 is not None:  # HTTP/2 or HTTP/1.1: the client says which
                nursery.start_soon(self._serve_negotiated, stream)
                continue
            # the connection's task is the serve loop itself (one coroutine frame less per
            # idle connection than a wrapper around it)
            conn = self._open(stream)
            nursery.start_soon(
                serve_connection, conn, self._respond, self._serve_options, self._closed
            )

    def _close_oldest_idle(self) -> bool:
        """Close the keep-alive connection idle the longest, to the sweeper's tick (True if
        there was one): connections that went idle within one tick are alike."""
        idle = [c for c in self._connections if c.idle]
        if not idle:
            return False
        # idle since: its deadline less the keep-alive timeout, the same for all
        min(idle, key=lambda c: c.exchange.deadline).close_now()
        return True

    # -- one connection -------------------------------------------------------------------
    async def serve_stream(self, stream: trio.abc.Stream) -> None:
        """Serve one connection on a stream that is already open (a memory stream, a
        socket accepted elsewhere), until it closes; the server need not be listening."""
        serving = SERVER_WEBSOCKETS.set(self._websockets)  # for accept_websocket
        try:
            if self._h2 is not None:
                await self._serve_negotiated(stream)
            else:
                await serve_connection(
                    self._open(stream), self._respond, self._serve_options, self._closed
                )
        finally:
            SERVER_WEBSOCKETS.reset(serving)

    async def _serve_negotiated(self, stream: trio.abc.Stream) -> None:
        """Serve a connection in the protocol its client chose: HTTP/2 by ALPN or by its
        preface, HTTP/1.1 otherwise. The choice must be made within ``header_timeout``."""
        backend = self._h2
        assert backend is not None
        stream = fast_stream(stream)
        chosen = await choose_within(stream, backend, self._settings.header_timeout)
        if chosen is None:
            return
        multiplexed, initial = chosen
        if multiplexed:
            mux = MuxServerConnection(
                stream, self._settings, backend, clock=self._clock, initial=initial
            )
            self._connections.add(mux)
            await serve_multiplexed(mux, self._respond, self._serve_options, self._closed)
            return
        conn = self._open(stream)
        conn.receive_first(initial)
        await serve_connection(conn, self._respond, self._serve_options, self._closed)

    def _open(self, stream: trio.abc.Stream) -> ServerConnection:
        """A connection for ``stream``, counted and watched by the sweeper. (The
        connection tasks inherit SERVER_WEBSOCKETS from serve().)"""
        conn = ServerConnection(
            fast_stream(stream),
            self._settings,
            backend=self.backend,
            limits=self._limits,
            clock=self._clock,
        )
        self._connections.add(conn)
        return conn

    async def _closed(self, conn: ServerConnection) -> None:
        """The serve loop is done with ``conn``: forget it, free its slot, close it."""
        self._connections.discard(conn)
        self._slot_freed.set()
        self._slot_freed = trio.Event()
        if not self._connections and self._drained is not None:
            self._drained.set()
        await conn.aclose(linger=not self._shutdown_requested.is_set())

    def _respond_counting(self, exchange: ServerExchange) -> Awaitable[Any]:
        """:meth:`_respond`, counting down ``max_requests``: the last one starts a
        graceful shutdown (it and those in flight are answered)."""
        self._requests_left -= 1
        if self._requests_left == 0:
            error_log.info("max_requests=%s reached: shutting down", self.config.max_requests)
            self.shutdown()
        return Server._respond(self, exchange)

    def _respond(self, exchange: ServerExchange) -> Awaitable[Any]:
        """Start the handler on the exchange's request (after the trusted proxy headers and
        the root path are applied): its coroutine, which the serve loop awaits and
        answers with what it returns."""
        request = exchange.request
        assert request is not None
        if self._proxy is not None:
            self._proxy.apply(request)
        if self._root:
            strip_root(request, self._root)
        return self.handler(request)


# -- helpers ------------------------------------------------------------------------------
async def serve(
    handler: Handler,
    *binds: str | URL,
    shutdown_trigger: Callable[[], Awaitable[Any]] | None = None,
    task_status: trio.TaskStatus[list[URL]] = trio.TASK_STATUS_IGNORED,
    **settings: Unpack[ServerOptions],
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
