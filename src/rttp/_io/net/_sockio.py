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

HTTP answers made with :meth:`SocketIO.send_reply` are coalesced: after the first of a
scheduler batch, they leave together when the batch ends (:mod:`rttp._io.net._outbox`),
so that a peer on the same host is woken about once per batch rather than once per
answer.

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

from ._outbox import Outbox, outbox

__all__ = ["SocketIO", "fast_stream", "receive_within", "send_all_within"]

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
        "_box",
        "_eof_sent",
        "_fresh",
        "_held",
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
        #: a coalesced reply not sent yet (or the rest the kernel did not take), or the
        #: error its flush met: the next operation sends it (or raises the error) first
        self._held: bytes | bytearray | memoryview | OSError | None = None
        self._box: Outbox | None = None  # the run's outbox, once a reply used it

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
                await checkpoint()  # (a coalesced reply went out during it)
            if self._held is not None:  # not all of it: the rest first
                await self._send_held(seconds)
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
        held = self._held
        if held is not None:  # a reply of this batch, not flushed yet: it goes first
            self._held = None
            if isinstance(held, OSError):
                raise _stream_error(held) from held
            data = b"".join((held, data))
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
        """Send ``data`` without the pass through the scheduler that ends ``send_all``;
        the caller's next receive on this stream makes it instead.

        ``try_first``: a WebSocket's request/reply traffic, sent by the task whose last
        receive waited for its data (so it passed): sent now, and the next receive
        tries the socket before its pass, one pass per exchange instead of two (-1,
        nothing sent, when the last receive did not wait).

        Without it, an HTTP answer, coalesced: the first of a scheduler batch is sent
        now, the batch's later ones leave together when it ends (see
        :mod:`rttp._io.net._outbox`); whatever the kernel does not take then, the next
        operation on the stream sends first, bounded as that operation is, and an error
        the send meets, it raises. The next receive passes first (the peer needs that
        time to send its next request), at the shallow depth of the serve loop rather
        than deep in a hosted app's stack. One answer per receive is a reply (-1 for the
        next ones: pipelined requests answered from what one receive brought each pass
        as before, so a pipelining client cannot hold the scheduler).

        Returns how many bytes went out or were taken to go out (send the rest with
        ``send_all``); errors as ``send_all``. Not async, and no cancel point: the
        pass through the scheduler (and the cancellation, if any) is the next receive's.
        """
        if self._sending or not (self.waited if try_first else self._fresh):
            return -1
        if self._eof_sent:
            raise trio.ClosedResourceError("can't send data after sending EOF")
        if not try_first:
            if self._held is not None:
                return -1  # (the last reply's rest, still unsent: send_all sends both)
            box = self._box
            if box is None:
                box = self._box = outbox()
            if box.answered:  # not the batch's first answer: it leaves when the batch ends
                self._held = data
                box.pending.append(self)
                self.waited = self._owed = self._yielded = self._fresh = False
                return len(data)
            box.answered = True  # the first goes now (alone in its batch, it waits for nothing)
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

    def flush(self) -> None:
        """One non-blocking send of the held reply (the outbox's call at the end of the
        batch); what the kernel does not take, and any error, stay held. Never raises."""
        held = self._held
        if held is None or isinstance(held, OSError):
            return
        try:
            sent = self._sock.send(held)
        except BlockingIOError:
            return
        except OSError as exc:  # (an instrument must not raise: the owner will)
            self._held = exc
            return
        self._held = None if sent == len(held) else memoryview(held)[sent:]

    async def _send_held(self, seconds: float | None = None) -> None:
        """Send what is held (waiting until the socket takes it, :class:`trio.TooSlowError`
        after ``seconds``), or raise its error."""
        self.flush()
        held = self._held
        if held is None:
            return
        self._sending = True
        try:
            with trio.move_on_after(math.inf if seconds is None else seconds):
                while not isinstance(held, OSError):
                    await wait_writable(self._sock)
                    self.flush()
                    held = self._held
                    if held is None:
                        return
        finally:
            self._sending = False
        if not isinstance(held, OSError):
            raise trio.TooSlowError
        self._held = None
        raise _stream_error(held) from held

    # the stream interface is the timed operations without a timeout (no extra coroutine)
    receive_some = receive_within
    send_all = send_all_within

    async def wait_send_all_might_not_block(self) -> None:
        if self._held is not None:
            await self._send_held()
        await self.transport_stream.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        if self._held is not None:
            await self._send_held()
        await self.transport_stream.send_eof()
        self._eof_sent = True

    async def aclose(self) -> None:
        """Close, after sending a held reply (the last answer of a connection that
        closes after it) as far as the peer takes it before a cancel."""
        try:
            if self._held is not None:
                with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                    await self._send_held()
        finally:
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
