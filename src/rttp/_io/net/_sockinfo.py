"""What a socket under a stream says of itself, without reading from it: its address,
whether the peer has left or sent something, and its send-buffer option."""

from __future__ import annotations

import contextlib
import select
import socket
from typing import Any

import trio

__all__ = ["address_of", "allow_unsent", "peer_left_now", "raw_socket", "readable_now"]


def raw_socket(stream: trio.abc.Stream) -> Any:
    """The socket under ``stream`` (through TLS and other wrapping streams), or None for
    a stream with none."""
    inner: Any = stream
    while not hasattr(inner, "socket") and hasattr(inner, "transport_stream"):
        inner = inner.transport_stream
    return getattr(inner, "socket", None)


def address_of(stream: trio.abc.Stream, *, remote: bool = True) -> tuple[str, int] | None:
    """The ``(host, port)`` at the peer's end of a socket stream (``remote=False``: at
    ours); ``(path, 0)`` on a unix socket; None for a stream with no socket."""
    sock = raw_socket(stream)
    if sock is None:
        return None
    try:
        address = sock.getpeername() if remote else sock.getsockname()
    except OSError:
        return None
    if isinstance(address, tuple):
        return (address[0], address[1])
    return (str(address) or "unix", 0)


def peer_left_now(stream: trio.abc.Stream) -> bool:
    """Whether the peer has closed or reset the connection, told without waiting (a
    peek at the socket: its end of file or error). False while it is open, has sent
    bytes not read yet, or when there is no socket to ask."""
    sock = raw_socket(stream)
    if sock is None:
        return False
    try:
        # a stdlib socket on the same descriptor, for one peek (detached, not closed)
        peek = socket.socket(fileno=sock.fileno())
    except (OSError, ValueError):  # closed under us
        return True
    try:
        return peek.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:  # reset
        return True
    finally:
        peek.detach()


def readable_now(stream: trio.abc.Stream) -> bool:
    """Whether a receive would not wait: bytes, a close or an error is pending on the
    socket (one ``poll`` with no timeout). False for a stream without a socket."""
    sock = raw_socket(stream)
    if sock is None:
        return False
    try:
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    except (OSError, ValueError):  # closed under us: a receive would fail at once
        return True


def allow_unsent(stream: trio.abc.Stream, limit: int) -> None:
    """Let a plain TCP stream hold up to ``limit`` unsent bytes before a send waits
    (``TCP_NOTSENT_LOWAT``; others are left alone)."""
    option = getattr(socket, "TCP_NOTSENT_LOWAT", None)
    # (a trio.SocketStream, or the direct socket I/O over one: TLS has no socket of its own)
    sock = getattr(stream, "socket", None)
    if option is None or sock is None:
        return
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, option, limit)
