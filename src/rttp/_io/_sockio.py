"""Direct socket I/O for plain TCP and Unix connections.

:class:`trio.SocketStream` spends more time per call than the system call itself: a
conflict detector, a checkpoint before, a context manager around, and a second full
pass through the scheduler after every successful ``recv`` or ``send``. On a loopback
request/response exchange that is most of the cost of an HTTP server (measured: a bare
Trio server that parses nothing answers 2.3x more requests when it calls the socket
directly).

:class:`SocketIO` keeps Trio's guarantees with fewer scheduler passes: it tries the
system call first and waits (:func:`trio.lowlevel.wait_readable` /
:func:`~trio.lowlevel.wait_writable`) only when it would block. Every ``send_all``
ends with one checkpoint, and two receives never follow each other without a yield,
so a connection that always has data can neither starve other tasks nor miss a
cancellation. Errors are Trio's stream errors, exactly as :class:`trio.SocketStream`
raises them.
"""

from __future__ import annotations

import errno
import socket
from typing import Any

import trio
from trio.lowlevel import checkpoint, wait_readable, wait_writable

__all__ = ["SocketIO", "fast_stream"]

_CLOSED_ERRNOS = frozenset({errno.EBADF, errno.ENOTSOCK})


def _stream_error(exc: OSError) -> trio.BrokenResourceError | trio.ClosedResourceError:
    if exc.errno in _CLOSED_ERRNOS:
        return trio.ClosedResourceError("this socket was already closed")
    return trio.BrokenResourceError(f"socket connection broken: {exc}")


class SocketIO(trio.abc.HalfCloseableStream):
    """A :class:`trio.SocketStream` whose ``receive_some``/``send_all`` call the socket directly.

    Everything else (``send_eof``, ``aclose``, socket options) is the wrapped stream's.
    ``socket`` is the Trio socket, as on :class:`trio.SocketStream`.
    """

    __slots__ = ("_sock", "_yielded", "socket", "transport_stream")

    def __init__(self, stream: trio.SocketStream, sock: socket.socket) -> None:
        self.transport_stream = stream
        self.socket = stream.socket
        self._sock = sock
        self._yielded = True  # a scheduler pass happened since the last receive

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        sock = self._sock
        if not self._yielded:
            await checkpoint()
        self._yielded = False
        size = 65536 if max_bytes is None else max_bytes
        if size < 1:
            raise ValueError("max_bytes must be >= 1")
        while True:
            try:
                return sock.recv(size)
            except BlockingIOError:
                pass
            except OSError as exc:
                raise _stream_error(exc) from exc
            await wait_readable(sock)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        sock = self._sock
        try:
            sent = sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            raise _stream_error(exc) from exc
        if sent < len(data):
            view = memoryview(data)[sent:]
            while view:
                await wait_writable(sock)
                try:
                    sent = sock.send(view)
                except BlockingIOError:
                    continue
                except OSError as exc:
                    raise _stream_error(exc) from exc
                view = view[sent:]
        await checkpoint()
        self._yielded = True

    async def wait_send_all_might_not_block(self) -> None:
        await self.transport_stream.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        await self.transport_stream.send_eof()

    async def aclose(self) -> None:
        await self.transport_stream.aclose()

    def setsockopt(self, level: int, option: int, value: int | bytes) -> None:
        """Set a socket option on the underlying socket (as :class:`trio.SocketStream`)."""
        self.transport_stream.setsockopt(level, option, value)

    def getsockopt(self, level: int, option: int, buffersize: int = 0) -> Any:
        """Read a socket option of the underlying socket (as :class:`trio.SocketStream`)."""
        return self.transport_stream.getsockopt(level, option, buffersize)


def fast_stream(stream: trio.abc.Stream) -> trio.abc.Stream:
    """``stream`` with direct socket I/O when it is a plain :class:`trio.SocketStream`.

    TLS and every other stream are returned unchanged.
    """
    if type(stream) is trio.SocketStream:
        sock = getattr(stream.socket, "_sock", None)
        if isinstance(sock, socket.socket) and sock.gettimeout() == 0.0:
            return SocketIO(stream, sock)
    return stream
