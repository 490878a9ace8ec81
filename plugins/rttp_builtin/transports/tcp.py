"""The ``tcp`` transport: ``http://``, ``ws://``, ``rttp://`` and ``tcp://`` over TCP, IPv4 and IPv6."""

from __future__ import annotations

import errno
import socket
from collections.abc import Mapping
from typing import Any, ClassVar

import trio

from rttp.errors import BindError
from rttp.plugin import URL, ConnectOptions, ListenOptions, Transport, hookimpl

__all__ = ["TCPTransport", "bind_tcp_sockets", "open_tcp_listeners", "tcp_bound_address"]


async def open_tcp_listeners(target: URL, options: ListenOptions) -> list[trio.SocketListener]:
    """Listeners for ``target``'s host and port; with ``reuse_port``, SO_REUSEPORT is set.

    An empty host or ``*`` listens on every interface (IPv4 and IPv6).
    """
    host: str | None = target.host or None
    if host == "*":
        host = None
    port = target.explicit_port or 0
    try:
        if not options.reuse_port:
            return await trio.open_tcp_listeners(port, host=host, backlog=options.backlog)
        return await _reuse_port_listeners(host, port, options.backlog)
    except OSError as exc:
        raise _bind_error(target, exc) from exc


def _bind_error(target: URL, exc: OSError) -> BindError:
    """The BindError for a failed listen, its ``reason`` from the errno."""
    gai = isinstance(exc, socket.gaierror)
    reason = "address" if gai else _REASONS.get(exc.errno or 0, "")
    return BindError(f"cannot listen on {target}: {exc.strerror or exc}", reason=reason)


_REASONS = {
    errno.EADDRINUSE: "in_use",
    errno.EACCES: "permission",
    errno.EPERM: "permission",
    errno.EADDRNOTAVAIL: "address",
}


async def _reuse_port_listeners(
    host: str | None, port: int, backlog: int | None
) -> list[trio.SocketListener]:
    infos = await trio.socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    listeners: list[trio.SocketListener] = []
    for family, kind, proto, _, sockaddr in infos:
        sock = trio.socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            await sock.bind(sockaddr)
            sock.listen(backlog or 128)
        except BaseException:
            sock.close()
            raise
        listeners.append(trio.SocketListener(sock))
    return listeners


def bind_tcp_sockets(target: URL, options: ListenOptions) -> list[socket.socket]:
    """Listening sockets for ``target``, bound without Trio (before a fork): one per
    address family, as Trio's ``open_tcp_listeners`` would."""
    host: str | None = target.host or None
    if host == "*":
        host = None
    port = target.explicit_port or 0
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise _bind_error(target, exc) from exc
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, sockaddr in infos:
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if options.reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and len(sockets) > 1:  # the same free port on every family
                sockaddr = (sockaddr[0], sockets[0].getsockname()[1], *sockaddr[2:])
            sock.bind(sockaddr)
            sock.listen(options.backlog or 128)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        raise _bind_error(target, exc) from exc
    return sockets


def tcp_bound_address(listener: trio.SocketListener, target: URL) -> URL:
    """The URL of a TCP listener, with the real port."""
    sockname = listener.socket.getsockname()
    host, port = sockname[0], sockname[1]
    if ":" in host:
        host = f"[{host}]"
    scheme = target.scheme if target.scheme != "tcp" else "http"
    return URL(f"{scheme}://{host}:{port}")


class TCPTransport(Transport):
    """Plain TCP (``trio.open_tcp_stream`` with happy eyeballs; TCP_NODELAY is trio's default)."""

    name = "tcp"
    client_schemes = frozenset({"http", "ws", "rttp", "tcp"})
    bind_schemes = frozenset({"http", "ws", "rttp", "tcp"})
    scheme_families: ClassVar[Mapping[str, str]] = {
        "http": "http",
        "ws": "ws",
        "rttp": "rttp",
        "tcp": "tcp",
    }

    async def connect(self, url: URL, options: ConnectOptions) -> trio.abc.Stream:
        assert url.port is not None, url
        return await trio.open_tcp_stream(
            url.host, url.port, happy_eyeballs_delay=options.happy_eyeballs_delay
        )

    async def listen(self, target: URL, options: ListenOptions) -> list[trio.abc.Listener[Any]]:
        return list(await open_tcp_listeners(target, options))

    def bind_sockets(self, target: URL, options: ListenOptions) -> list[socket.socket]:
        return bind_tcp_sockets(target, options)

    def bound_address(self, listener: trio.abc.Listener[Any], target: URL) -> URL:
        assert isinstance(listener, trio.SocketListener)
        return tcp_bound_address(listener, target)


@hookimpl
def rttp_register_transports(register: Any) -> None:
    """Register the TCP transport."""
    register(TCPTransport())
