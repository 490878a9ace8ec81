"""Direct socket I/O for plain TCP and Unix connections.

:class:`trio.SocketStream` spends more time per call than the system call itself: a
conflict detector, a checkpoint before, a context manager around, and a second full
pass through the scheduler after every successful ``recv`` or ``send``. On a loopback
request/response exchange that is most of the cost of an HTTP server (measured: a bare
Trio server that parses nothing answers 2.3x more requests when it calls the socket
directly).

:class:`SocketIO` keeps Trio's guarantees with fewer scheduler passes: it tries the
system call first and waits (:func:`trio.lowlevel.wait_readable` /
:func:`~trio.lowlevel.wait_writable`) only when it would block. Every operation is a
cancel point; every ``send_all`` ends with a pass through the scheduler, and two
receives never follow each other without one, so a connection that always has data
can neither starve other tasks nor miss a cancellation. The pass after a send also
makes the next receive cheap under load: while the other tasks run, the peer answers,
so with 50 busy connections about 97 % of receives find their data waiting and never
register with epoll (counted on the client and on the server). Skipping that pass after
a client's request took it from 10,400 to 5,700 requests/s with 50 tasks. Two tasks
sending (or receiving) at once get :class:`trio.BusyResourceError`. Errors are Trio's
stream errors, exactly as :class:`trio.SocketStream` raises them. Trio's own stream
conformance checks run against it in the tests.

:func:`receive_within` and :func:`send_all_within` bound one operation by a timeout.
On a :class:`SocketIO` the cancel scope that enforces it is created only when the
operation has to wait: an answer that is already there costs no scope (the issue's
measurement: a scope per receive cost 27-48 % of a server's throughput). Other streams
(TLS) get one scope per call.
"""

from __future__ import annotations

import contextlib
import errno
import math
import select
import socket
from typing import Any

import trio
from trio.lowlevel import (
    cancel_shielded_checkpoint,
    checkpoint,
    checkpoint_if_cancelled,
    wait_readable,
    wait_writable,
)

__all__ = [
    "SocketIO",
    "address_of",
    "allow_unsent",
    "fast_stream",
    "peer_left_now",
    "raw_socket",
    "readable_now",
    "receive_within",
    "send_all_within",
]

_CLOSED_ERRNOS = frozenset({errno.EBADF, errno.ENOTSOCK})


def _stream_error(exc: OSError) -> trio.BrokenResourceError | trio.ClosedResourceError:
    if exc.errno in _CLOSED_ERRNOS:
        return trio.ClosedResourceError("this socket was already closed")
    return trio.BrokenResourceError(f"socket connection broken: {exc}")


def _try_recv(sock: socket.socket, max_bytes: int) -> bytes | None:
    """What ``recv`` returns now, or None if it would block."""
    try:
        return sock.recv(max_bytes)
    except BlockingIOError:
        return None
    except OSError as exc:
        raise _stream_error(exc) from exc


async def _receive_waiting(sock: socket.socket, max_bytes: int) -> bytes:
    """Wait until ``sock`` is readable and receive."""
    while True:
        await wait_readable(sock)
        data = _try_recv(sock, max_bytes)
        if data is not None:
            return data


class SocketIO(trio.abc.HalfCloseableStream):
    """A :class:`trio.SocketStream` whose ``receive_some``/``send_all`` call the socket directly.

    Everything else (``send_eof``, ``aclose``, socket options) is the wrapped stream's.
    ``socket`` is the Trio socket, as on :class:`trio.SocketStream`.
    """

    __slots__ = (
        "_eof_sent",
        "_fresh",
        "_owed",
        "_receiving",
        "_sending",
        "_sock",
        "_yielded",
        "socket",
        "transport_stream",
        "waited",
    )

    def __init__(self, stream: trio.SocketStream, sock: socket.socket) -> None:
        self.transport_stream = stream
        self.socket = stream.socket
        self._sock = sock
        self._yielded = True  # a scheduler pass happened since the last receive
        self._receiving = self._sending = False  # a task is inside an operation that waits
        #: the last receive waited for its data (it passed through the scheduler)
        self.waited = False
        self._owed = False  # a reply skipped its pass: the next receive makes it
        #: a receive since the last answer that skipped its pass (at most one per receive)
        self._fresh = False
        self._eof_sent = False  # send_eof ran: every send now fails (as trio's do)

    async def receive_within(
        self, max_bytes: int | None = None, seconds: float | None = None
    ) -> bytes:
        """``receive_some``; :class:`trio.TooSlowError` if it waits over ``seconds``."""
        sock = self._sock
        if self._receiving:
            raise trio.BusyResourceError("another task is already receiving on this stream")
        self._fresh = True
        if max_bytes is None:
            max_bytes = 65536
        elif max_bytes < 1:
            raise ValueError("max_bytes must be >= 1")
        if self._owed:  # after a reply: the pass it skipped is made here, whichever way
            self._owed = False
            await checkpoint_if_cancelled()
            data = _try_recv(sock, max_bytes)
            if data is not None:
                await cancel_shielded_checkpoint()  # (a cancel now would lose the data)
                self.waited = self._yielded = False
                return data
        else:
            if self._yielded:
                await checkpoint_if_cancelled()
            else:
                await checkpoint()
            self._yielded = self.waited = False
            data = _try_recv(sock, max_bytes)
            if data is not None:
                return data
        self._yielded = False
        self._receiving = True
        try:
            if seconds is None:  # no timeout: no cancel scope, and no coroutine frame more
                while True:  # (an idle keep-alive connection waits here)
                    await wait_readable(sock)
                    data = _try_recv(sock, max_bytes)
                    if data is not None:
                        break
            else:
                with trio.move_on_after(seconds):
                    data = await _receive_waiting(sock, max_bytes)
        finally:
            self._receiving = False
        if data is None:
            raise trio.TooSlowError
        self.waited = True
        return data

    async def send_all_within(
        self, data: bytes | bytearray | memoryview, seconds: float | None = None
    ) -> None:
        """``send_all``; :class:`trio.TooSlowError` if it waits over ``seconds``."""
        sock = self._sock
        if self._sending:
            raise trio.BusyResourceError("another task is already sending on this stream")
        if self._eof_sent:
            raise trio.ClosedResourceError("can't send data after sending EOF")
        await checkpoint_if_cancelled()
        try:
            sent = sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            raise _stream_error(exc) from exc
        if sent < len(data):
            self._sending = True
            try:
                with trio.move_on_after(math.inf if seconds is None else seconds) as scope:
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
            finally:
                self._sending = False
            if scope.cancelled_caught:
                raise trio.TooSlowError
        self.waited = self._owed = False
        self._sending = True  # until the pass through the scheduler is over
        try:
            await checkpoint()
        finally:
            self._sending = False
        self._yielded = True

    def send_reply(self, data: bytes | bytearray | memoryview, try_first: bool = True) -> int:
        """Start sending ``data`` without the pass through the scheduler that ends
        ``send_all``; the caller's next receive on this stream makes it instead.

        ``try_first``: a WebSocket's request/reply traffic, sent by the task whose last
        receive waited for its data (so it passed): the next receive tries the socket
        before its pass, one pass per exchange instead of two (-1, nothing sent, when
        the last receive did not wait). Without it, an HTTP answer: the next receive
        passes first (the peer needs that time to send its next request), at the
        shallow depth of the serve loop rather than deep in a hosted app's stack; one
        answer per receive skips its pass (-1 for the next ones: pipelined requests
        answered from what one receive brought each pass as before, so a pipelining
        client cannot hold the scheduler).

        Returns how many bytes went out (send the rest with ``send_all``); errors as
        ``send_all``. Not async, and no cancel point: one non-blocking send, whose pass
        through the scheduler (and whose cancellation, if any) the next receive makes.
        """
        if self._sending or not (self.waited if try_first else self._fresh):
            return -1
        if self._eof_sent:
            raise trio.ClosedResourceError("can't send data after sending EOF")
        try:
            sent = self._sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            raise _stream_error(exc) from exc
        self.waited = False
        if try_first:
            self._owed = sent == len(data)
        else:
            self._owed = self._yielded = self._fresh = False
        return sent

    # the stream interface is the timed operations without a timeout (no extra coroutine)
    receive_some = receive_within
    send_all = send_all_within

    async def wait_send_all_might_not_block(self) -> None:
        await self.transport_stream.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        await self.transport_stream.send_eof()
        self._eof_sent = True

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


async def receive_within(
    stream: trio.abc.Stream, max_bytes: int, seconds: float | None
) -> bytes | bytearray:
    """``stream.receive_some(max_bytes)``, or :class:`trio.TooSlowError` after ``seconds``."""
    if type(stream) is SocketIO:
        return await stream.receive_within(max_bytes, seconds)
    with trio.move_on_after(math.inf if seconds is None else seconds):
        return await stream.receive_some(max_bytes)
    raise trio.TooSlowError


async def send_all_within(
    stream: trio.abc.Stream, data: bytes | bytearray | memoryview, seconds: float | None
) -> None:
    """``stream.send_all(data)``, or :class:`trio.TooSlowError` after ``seconds``."""
    if type(stream) is SocketIO:
        await stream.send_all_within(data, seconds)
        return
    with trio.move_on_after(math.inf if seconds is None else seconds):
        await stream.send_all(data)
        return
    raise trio.TooSlowError


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
    if option is None or not isinstance(stream, (SocketIO, trio.SocketStream)):
        return
    if stream.socket.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            stream.setsockopt(socket.IPPROTO_TCP, option, limit)
