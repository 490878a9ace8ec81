"""Moonbridge's I/O library: connecting, listening and ``poll``.

``tcpconnect``/``localconnect`` wait for the connection; their ``_nb`` forms start it and
return at once (a failure shows on the first read or write; the name lookup of
``tcpconnect_nb`` still blocks, as in the seed: pass a numeric address). Errors raise
:class:`~rttp.errors.ConnectError` or :class:`~rttp.errors.BindError`.
"""

from __future__ import annotations

import errno
import math
import os
import socket
import stat
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import trio
from trio.lowlevel import checkpoint_if_cancelled, wait_readable, wait_writable

from .._io.net._errors import connect_errors
from ..errors import BindError, ConnectError, SocketClosed
from ._socket import Socket

__all__ = [
    "Listener",
    "localconnect",
    "localconnect_nb",
    "locallisten",
    "poll",
    "tcpconnect",
    "tcpconnect_nb",
    "tcplisten",
]

_IN_PROGRESS = (errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK)


def _start_connect(family: int, address: Any, where: str) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    code = sock.connect_ex(address)
    if code and code not in _IN_PROGRESS:
        sock.close()
        reason = "refused" if code == errno.ECONNREFUSED else "unreachable"
        raise ConnectError(f"cannot connect to {where}: {os.strerror(code)}", reason=reason)
    return sock


def _resolve(host: str, port: int) -> tuple[int, Any]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConnectError(
            f"cannot resolve {host}:{port}: {exc.strerror or exc}", reason="dns"
        ) from exc
    return found[0][0], found[0][4]


def _own(stream: trio.SocketStream) -> Socket:
    """The connected socket of ``stream``, taken over by a :class:`Socket`."""
    sock = stream.socket
    return Socket(socket.socket(sock.family, sock.type, sock.proto, fileno=sock.detach()))


async def tcpconnect(host: str, port: int) -> Socket:
    """A TCP connection to ``host``:``port`` (Trio's happy eyeballs over every address)."""
    with connect_errors(f"{host}:{port}", host, port):
        return _own(await trio.open_tcp_stream(host, port))


def tcpconnect_nb(host: str, port: int) -> Socket:
    """Start a TCP connection and return at once (the first resolved address)."""
    family, address = _resolve(host, port)
    return Socket(_start_connect(family, address, f"{host}:{port}"))


async def localconnect(path: str) -> Socket:
    """A connection to the local (Unix domain) socket at ``path``."""
    with connect_errors(path, path):
        return _own(await trio.open_unix_socket(path))


def localconnect_nb(path: str) -> Socket:
    """Start a connection to a local socket and return at once."""
    return Socket(_start_connect(socket.AF_UNIX, path, path))


class Listener:
    """A listening socket: :meth:`accept`, :meth:`accept_nb`, :meth:`close`."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._closed = False

    @property
    def address(self) -> Any:
        """What it is bound to: ``(host, port)`` for TCP, the path for a local socket."""
        return self._sock.getsockname()

    @property
    def raw_socket(self) -> socket.socket:
        """The listening :class:`socket.socket` (the pool hands it to its workers)."""
        return self._sock

    @property
    def port(self) -> int | None:
        """The TCP port (None for a local socket)."""
        address = self._sock.getsockname()
        return address[1] if isinstance(address, tuple) else None

    def fileno(self) -> int:
        """The file descriptor (for :func:`poll`)."""
        return self._sock.fileno()

    def _check(self) -> socket.socket:
        if self._closed:
            raise SocketClosed("the listener was already closed")
        return self._sock

    def accept_nb(self) -> Socket | Literal[False]:
        """A waiting connection, or False when none is."""
        sock = self._check()
        try:
            conn, _ = sock.accept()
        except BlockingIOError:
            return False
        except OSError as exc:
            raise ConnectError(f"accept() failed: {exc.strerror or exc}") from exc
        return Socket(conn)

    async def accept(self) -> Socket:
        """The next connection (waits for one)."""
        await checkpoint_if_cancelled()
        while True:
            got = self.accept_nb()
            if got is not False:
                await trio.lowlevel.checkpoint()
                return got
            await wait_readable(self._sock)

    def close(self) -> None:
        """Stop listening (a local socket's file is left in place, as in the seed)."""
        sock = self._check()
        self._closed = True
        trio.lowlevel.notify_closing(sock)
        sock.close()


def _listen(family: int, address: Any, where: str, backlog: int = 128) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if family != socket.AF_UNIX:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise BindError(f"cannot listen on {where}: {exc.strerror or exc}") from exc
    return sock


def tcplisten(host: str, port: int) -> Listener:
    """Listen on ``host``:``port`` (``"::"`` takes IPv6 and IPv4; port 0 picks one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return Listener(_listen(family, (host, port), f"{host}:{port}"))


def locallisten(path: str) -> Listener:
    """Listen on a local socket at ``path``; a stale socket file there is replaced (any
    other kind of file is an error)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISSOCK(mode):
            raise BindError(f"cannot listen on {path}: it exists and is not a socket")
        os.unlink(path)
    return Listener(_listen(socket.AF_UNIX, path, path))


Pollable = Socket | Listener | int


def _fd(item: Pollable) -> int:
    return item if isinstance(item, int) else item.fileno()


def _ready_now(item: Pollable) -> bool:
    # a socket with buffered input (or one that saw EOF) reads without waiting
    return isinstance(item, Socket) and (bool(item._read) or item._eof)


def _members(handles: Iterable[Pollable] | None) -> list[Pollable]:
    """The handles in a poll set: a mapping's keys whose value is true (``{sock: False}``
    leaves ``sock`` out), or an iterable's items (None skipped)."""
    if handles is None:
        return []
    if isinstance(handles, Mapping):
        return [item for item, wanted in handles.items() if wanted and item is not None]
    return [item for item in handles if item is not None]


async def poll(
    input_set: Iterable[Pollable] | None = None,
    output_set: Iterable[Pollable] | None = None,
    timeout: float | None = None,
) -> Literal[True] | tuple[Literal[False], str]:
    """Wait until one of ``input_set`` is readable or one of ``output_set`` writable
    (sockets, listeners or file descriptors; a mapping's keys count when their value is
    true, as the seed's table does): True, or ``(False, "timeout")`` after ``timeout``
    seconds (None waits for ever)."""
    inputs = _members(input_set)
    outputs = _members(output_set)
    if any(_ready_now(item) for item in inputs):
        await trio.lowlevel.checkpoint()
        return True
    if not inputs and not outputs and timeout is None:
        raise ValueError("poll() with nothing to wait for and no timeout would wait for ever")
    ready = False
    with trio.move_on_after(math.inf if timeout is None else timeout):
        async with trio.open_nursery() as nursery:

            async def wait(item: Pollable, writable: bool) -> None:
                nonlocal ready
                fd = _fd(item)
                if fd < 0:
                    raise SocketClosed(f"poll() got a closed socket: {item!r}")
                if writable:
                    await wait_writable(fd)
                else:
                    await wait_readable(fd)
                ready = True
                nursery.cancel_scope.cancel()

            for item in inputs:
                nursery.start_soon(wait, item, False)
            for item in outputs:
                nursery.start_soon(wait, item, True)
    return True if ready else (False, "timeout")
