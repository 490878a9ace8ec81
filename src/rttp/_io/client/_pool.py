"""The client connection pool: idle connections per origin, a cap on connections in use.

A connection is keyed by scheme, host, port, TLS settings and proxy, so a connection
made with one certificate policy, or through one proxy, is never handed to a request
that asked for another. Every
acquire is paired with exactly one release, in a ``finally``: a request cancelled at
any point (connect, TLS, send, read) gives its slot back.
"""

from __future__ import annotations

import dataclasses
import math
import os
import ssl
import time

import trio

from ..._config import ClientConfig, Timeouts
from ..._model import URL
from ..._plugins import Plugins
from ..._proto._proxyrules import ProxyRules
from ...errors import ConnectError, ConnectTimeout, PoolTimeout
from ...plugin import ConnectOptions, ProtocolBackend
from ..engine._client import ClientConnection
from ..engine._mux_client import MuxClientConnection
from ..net._errors import connect_errors
from ..net._proxy import open_proxied
from ..net._resolve import is_address, make_resolver, split_address
from ..net._sockinfo import raw_socket, readable_now
from ..net._sockio import fast_stream

__all__ = ["ConnectionPool"]

PoolKey = tuple[str, str, "int | None", int, "str | None"]

# Idle ages use the system's monotonic clock, not Trio's: servers close idle sockets in
# real time, and it is one C call where trio.current_time() is three Python ones.

#: idle connections older than this are checked for a close by the server before reuse
_CHECK_AFTER = 1.0


def _looks_alive(conn: ClientConnection) -> bool:
    """An idle connection that is readable has been closed (or sent garbage) by the server."""
    return raw_socket(conn.stream) is None or not readable_now(conn.stream)


class ConnectionPool:
    """Connections per origin for one :class:`~rttp.Client`."""

    def __init__(self, plugins: Plugins, backend: ProtocolBackend, config: ClientConfig) -> None:
        self._plugins = plugins
        self._backend = backend
        self._config = config
        self._resolver = make_resolver(config.resolver, plugins)
        limits = config.limits
        self._slots = trio.Semaphore(limits.max_connections) if limits.max_connections else None
        self._idle: dict[PoolKey, list[ClientConnection]] = {}
        self._limits = config.protocol_limits
        self._idle_count = 0
        self._closed = False
        self._proxies = ProxyRules(
            config.proxy, config.proxies, os.environ if config.trust_env else None
        )
        self._proxied = bool(self._proxies)  # (decided once: no proxy costs nothing)
        #: how an https:// proxy is reached (the client's verification settings)
        self.proxy_tls: ssl.SSLContext | None = None
        #: the HTTP/2 backend when the client asked for HTTP/2 and one is installed
        self._h2 = plugins.multiplexed_backend("h2") if config.http2 else None
        #: where HTTP/2 connections run their reader and writer (the client's nursery,
        #: while it is open): without one, every connection is HTTP/1.1
        self.nursery: trio.Nursery | None = None
        #: the HTTP/2 connection of each origin, and the origins being connected to
        self._muxes: dict[PoolKey, MuxClientConnection] = {}
        self._connecting: dict[PoolKey, trio.Event] = {}

    @property
    def idle_connections(self) -> int:
        """How many idle connections are kept for reuse."""
        return self._idle_count

    @property
    def connections_in_use(self) -> int:
        """How many connections are lent out to requests now."""
        if self._slots is None or self._config.limits.max_connections is None:
            return 0
        return self._config.limits.max_connections - self._slots.value

    async def acquire(
        self, url: URL, options: ConnectOptions, key_extra: int, timeouts: Timeouts | None = None
    ) -> ClientConnection:
        """A connection to ``url``'s origin: an idle one if fresh, else a new one.

        ``timeouts``: the request's (its pool and connect phases); the client's by default.
        """
        if timeouts is None:
            timeouts = self._config.timeout
        if self._h2 is not None and self.nursery is not None:
            return await self._acquire_shared(url, options, key_extra, timeouts)
        return await self._acquire(url, options, key_extra, timeouts)

    @property
    def multiplexing(self) -> bool:
        """Whether new connections may speak HTTP/2 (asked for, installed, and the
        client's nursery open)."""
        return self._h2 is not None and self.nursery is not None

    async def _acquire_shared(
        self, url: URL, options: ConnectOptions, key_extra: int, timeouts: Timeouts
    ) -> ClientConnection:
        """A stream of the origin's HTTP/2 connection if it has one; else a connection
        of its own, made while other requests to the origin wait to learn whether it
        speaks HTTP/2 (and then share it)."""
        key = self._key(url, key_extra)
        while True:
            mux = self._muxes.get(key)
            if mux is not None and mux.usable(self._config.limits.keepalive_expiry):
                try:
                    stream = await mux.take_stream(timeouts.pool)
                except trio.TooSlowError:
                    raise PoolTimeout(
                        f"no HTTP/2 stream to {url.netloc} became free within pool timeout "
                        f"{timeouts.pool}s (the server's stream limit is reached)",
                        timeouts.pool,
                    ) from None
                if stream is not None:
                    stream.configure(self._config)
                    stream.lend(timeouts.read, timeouts.write)
                    return stream
                continue
            pending = self._connecting.get(key)
            if pending is None:
                break
            await pending.wait()
        self._connecting[key] = pending = trio.Event()
        try:
            return await self._acquire(url, options, key_extra, timeouts)
        finally:
            del self._connecting[key]
            pending.set()

    def _key(self, url: URL, key_extra: int) -> PoolKey:
        proxy = self._proxies.for_url(url.scheme, url.host, url.port) if self._proxied else None
        return (url.scheme, url.host, url.port, key_extra, proxy)

    async def _acquire(
        self, url: URL, options: ConnectOptions, key_extra: int, timeouts: Timeouts
    ) -> ClientConnection:
        if self._slots is not None:
            seconds = timeouts.pool
            try:
                self._slots.acquire_nowait()  # the common case: a slot is free, no waiting
                scope = None
            except trio.WouldBlock:
                with trio.move_on_after(seconds if seconds is not None else math.inf) as scope:
                    await self._slots.acquire()
            if scope is not None and scope.cancelled_caught:
                raise PoolTimeout(
                    f"no connection became free within pool timeout {seconds}s "
                    f"(max_connections={self._config.limits.max_connections})",
                    seconds,
                )
        try:
            conn = await self._get(url, options, key_extra, timeouts)
        except BaseException:
            if self._slots is not None:
                self._slots.release()
            raise
        conn.lend(timeouts.read, timeouts.write)
        return conn

    async def _get(
        self, url: URL, options: ConnectOptions, key_extra: int, timeouts: Timeouts
    ) -> ClientConnection:
        connect_timeout = timeouts.connect
        key = self._key(url, key_extra)
        proxy = key[4]
        idle = self._idle.get(key)
        expiry = self._config.limits.keepalive_expiry
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            self._idle_count -= 1
            idle_for = now - conn.idle_since
            # a poll() costs a syscall; a connection idle under a second is almost always
            # still open, and one that is not is retried once for idempotent requests
            if idle_for < expiry and (idle_for < _CHECK_AFTER or _looks_alive(conn)):
                conn.reused = True
                return conn
            await trio.aclose_forcefully(conn.stream)
        route = None
        where = url.unix_path or f"{url.host}:{url.port}"
        if proxy is not None:
            where = f"{where} through proxy {URL(proxy).netloc}"
        with trio.move_on_after(
            connect_timeout if connect_timeout is not None else math.inf
        ) as scope:
            if proxy is not None:
                context = self.proxy_tls or ssl.create_default_context()
                stream, route = await open_proxied(
                    proxy, url, options, self._plugins, context, where
                )
                stream = fast_stream(stream)
            else:
                transport = self._plugins.transport_for_url(url.scheme)
                with connect_errors(
                    where, url.unix_path or url.host, None if url.unix_path else url.port
                ):
                    target, options = await self._resolved(url, options)
                    stream = fast_stream(await transport.connect(target, options))
            if self.multiplexing and (route is None or not route.forward):
                with connect_errors(where, url.host, url.port):
                    mux = await self._speaks_h2(stream, url)
                if mux:
                    return await self._open_mux(stream, url, key, where, timeouts)
        if scope.cancelled_caught:
            raise ConnectTimeout(
                f"connecting to {where} took longer than connect timeout {connect_timeout}s",
                connect_timeout,
            )
        conn = ClientConnection(
            stream,
            plugins=self._plugins,
            backend=self._backend,
            limits=self._limits,
            read_size=self._config.read_size,
            where=where,
        )
        conn.configure(self._config)
        conn.key = key
        if route is not None and route.forward:
            conn.forward_proxy = route  # requests go to the proxy in absolute form
        conn.on_release = self.release  # the connection's word that its exchange ended
        return conn

    async def _speaks_h2(self, stream: trio.abc.Stream, url: URL) -> bool:
        """Whether a new connection is to speak HTTP/2: its TLS handshake chose ``h2``
        by ALPN, or it is cleartext and the client has prior knowledge."""
        if isinstance(stream, trio.SSLStream):
            await stream.do_handshake()
            return bool(stream.selected_alpn_protocol() == "h2")
        return self._config.http2_prior_knowledge and not url.is_secure

    async def _open_mux(
        self, stream: trio.abc.Stream, url: URL, key: PoolKey, where: str, timeouts: Timeouts
    ) -> ClientConnection:
        """Start an HTTP/2 connection in the client's nursery (it keeps the slot this
        request took for as long as it lives) and take its first stream."""
        assert self._h2 is not None
        assert self.nursery is not None
        mux = MuxClientConnection(
            stream,
            self._h2,
            plugins=self._plugins,
            backend=self._backend,
            limits=self._limits,
            where=where,
            secure=url.is_secure,
            key=key,
            write_timeout=self._config.timeout.write,
            on_closed=self._mux_closed,
        )
        self._muxes[key] = mux
        await self.nursery.start(mux.run)
        first = await mux.take_stream(timeouts.pool)
        if first is None:
            raise ConnectError(
                f"the HTTP/2 connection to {where} closed as it opened", reason="closed"
            )
        first.configure(self._config)
        return first

    def _mux_closed(self, mux: MuxClientConnection) -> None:
        """An HTTP/2 connection takes no more streams: forget it and free its slot."""
        if self._muxes.get(mux.key) is mux:
            del self._muxes[mux.key]
        if mux.closed and mux.slot_held:
            mux.slot_held = False
            if self._slots is not None:
                self._slots.release()

    async def _resolved(self, url: URL, options: ConnectOptions) -> tuple[URL, ConnectOptions]:
        """Where to connect for ``url``: through the client's resolvers when it has some
        (TLS still checks the certificate for the name asked for)."""
        resolver = self._resolver
        if resolver is None or not url.host or url.unix_path or is_address(url.host):
            return url, options
        address = await resolver.resolve(url.host)
        if address is None:
            raise ConnectError(
                f"cannot resolve {url.host}: no resolver knows the name",
                reason="dns",
                host=url.host,
                port=url.port,
            )
        host, port = split_address(address)
        if options.ssl_context is not None and options.server_hostname is None:
            options = dataclasses.replace(options, server_hostname=url.host)
        return url.copy_with(host=host, port=port if port is not None else url.port), options

    def release(self, conn: ClientConnection, reusable: bool) -> bool:
        """Give a connection back: True if it is kept idle for reuse; False if the caller
        must close its stream (``trio.aclose_forcefully``, which works even when cancelled)."""
        try:
            limits = self._config.limits
            if (
                reusable
                and not self._closed
                and self._idle_count < limits.max_keepalive_connections
                and conn.next_cycle()
            ):
                conn.idle_since = time.monotonic()
                self._idle.setdefault(conn.key, []).append(conn)
                self._idle_count += 1
                return True
            return False
        finally:
            if self._slots is not None:
                self._slots.release()

    async def aclose(self) -> None:
        """Close every idle connection; connections in use close when released."""
        self._closed = True
        for mux in list(self._muxes.values()):
            mux.close()
        idle, self._idle = self._idle, {}
        self._idle_count = 0
        for conns in idle.values():
            for conn in conns:
                await trio.aclose_forcefully(conn.stream)
