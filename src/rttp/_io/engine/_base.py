"""What every connection has, whatever its role: the stream, the protocol backend,
timed I/O through the one error map, reuse and ``detach``.

Timeouts come in two forms, chosen once per connection:

- **Watched** (a server's connections): each exchange records the phase it is in and
  that phase's deadline on a :class:`~rttp._io.engine._clock.CoarseClock`; the server's
  sweeper cancels :attr:`ConnectionBase.scope` when a deadline passes.
- **Per operation** (the client, and a connection used on its own): each receive or
  send is bounded by its timeout. On a plain socket the cancel scope that enforces it
  is created only when the operation has to wait (see :mod:`rttp._io.net._sockio`).
  :attr:`ConnectionBase.total_deadline` bounds a whole client exchange on top.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Awaitable, Callable
from typing import Any, Final

import trio

from ..._plugins import Plugins
from ..._proto._events import ProtocolLimits
from ...errors import ReadTimeout, TotalTimeout, TransportError, WriteTimeout
from ...plugin import ProtocolBackend
from ..net._errors import IO_ERRORS, io_error
from ..net._prefixed import PrefixedStream
from ..net._sockio import SocketIO, receive_within, send_all_within
from ._clock import CoarseClock

__all__ = ["MIN_LINE_SIZE", "ConnectionBase", "PrefixedStream", "linger"]

#: after an error answer, at most this much of the peer's input is read and discarded
_LINGER_MAX_BYTES: Final = 16 << 20

#: the smallest ``max_line_size`` accepted (the seed's floor)
MIN_LINE_SIZE: Final = 1024


class ConnectionBase:
    """The role-independent half of every connection: a server's
    (:class:`~rttp._io.engine._server.ServerConnection`) and a client's
    (:class:`~rttp._io.engine._client.ClientConnection`) add their own state and
    exchanges; :class:`~rttp.HTTPConnection` is the public façade over either.
    """

    __slots__ = (
        "_proto",
        "_receive_some",
        "_receive_within",
        "_send_all",
        "_send_reply",
        "_send_within",
        "_unsent",
        "backend",
        "clock",
        "closing",
        "detached",
        "limits",
        "linger",
        "linger_timeout",
        "plugins",
        "read_size",
        "read_timeout",
        "scope",
        "stream",
        "total_deadline",
        "watched",
        "where",
        "write_timeout",
    )

    def __init__(
        self,
        stream: trio.abc.Stream,
        *,
        plugins: Plugins,
        backend: ProtocolBackend,
        limits: ProtocolLimits,
        read_size: int = 65536,
        read_timeout: float | None = None,
        write_timeout: float | None = None,
        clock: CoarseClock | None = None,
        where: str = "",
    ) -> None:
        self.stream: trio.abc.Stream = stream
        self.plugins: Plugins = plugins
        self.backend: ProtocolBackend = backend
        self.limits: ProtocolLimits = limits
        #: what the peer is called in error messages (``"example.org:443"``)
        self.where: str = where or "the peer"
        self.read_size: int = read_size
        self.read_timeout: float | None = read_timeout
        self.write_timeout: float | None = write_timeout
        #: deadlines count on this clock; when ``clock.watched``, a sweeper enforces them
        self.clock: CoarseClock = clock if clock is not None else CoarseClock()
        self.watched: bool = self.clock.watched
        #: the cancel scope a sweeper cancels when an exchange's deadline passes
        self.scope: trio.CancelScope = trio.CancelScope()
        #: unwatched I/O: the end of the current exchange's total timeout (inf: none)
        self.total_deadline: float = math.inf
        #: no more exchanges: the next read returns None, reuse is refused
        self.closing: bool = False
        self.detached: bool = False
        #: after an error answer: read and discard what the peer still sends before closing
        self.linger: bool = False
        self.linger_timeout: float = 0.0
        #: bytes held back for the protocol a ``detach`` hands the stream to (a 101)
        self._unsent = b""
        #: the role's protocol object (the backend's server or client half)
        self._proto: Any = None
        self._receive_some: Callable[[int], Awaitable[bytes | bytearray]] = stream.receive_some
        self._send_all: Callable[[bytes | bytearray | memoryview], Awaitable[None]]
        self._send_all = stream.send_all
        #: on direct socket I/O: send a reply without the scheduler pass that ends a
        #: send, the next receive making it (SocketIO.send_reply)
        self._send_reply: Callable[[bytes | bytearray | memoryview, bool], int] | None
        self._send_reply = stream.send_reply if type(stream) is SocketIO else None
        self._receive_within: Callable[[int, float | None], Awaitable[bytes | bytearray]]
        self._send_within: Callable[[bytes | bytearray | memoryview, float | None], Awaitable[None]]
        if self.watched:
            return  # a sweeper times its I/O: no per-operation timeouts (and no memory for them)
        if type(stream) is SocketIO:
            self._receive_within = stream.receive_within
            self._send_within = stream.send_all_within
        else:
            self._receive_within = functools.partial(receive_within, stream)
            self._send_within = functools.partial(send_all_within, stream)

    # -- timed I/O, errors mapped once ------------------------------------------------------
    async def _receive(self) -> bytes | bytearray:
        """The next bytes from the peer (``b""`` at EOF), as :mod:`rttp.errors` on failure."""
        seconds = self.read_timeout
        try:
            if self.watched:
                return await self._receive_some(self.read_size)
            if self.total_deadline != math.inf:  # a client exchange's total timeout
                left = max(self.total_deadline - trio.current_time(), 0.0)
                if seconds is None or left < seconds:
                    return await self._receive_by_deadline(left)
            return await self._receive_within(self.read_size, seconds)
        except trio.TooSlowError:
            raise ReadTimeout(
                f"no data from {self.where} within read timeout {seconds}s", seconds
            ) from None
        except IO_ERRORS as exc:
            raise self._broken(exc) from exc

    async def _receive_by_deadline(self, left: float) -> bytes | bytearray:
        try:
            return await self._receive_within(self.read_size, left)
        except trio.TooSlowError:
            self.closing = True
            raise TotalTimeout(
                f"the exchange with {self.where} took longer than its total timeout", None
            ) from None

    def _broken(self, exc: BaseException, writing: bool = False) -> TransportError:
        """The connection broke: closing from now on; the ReadError/WriteError to raise."""
        self.closing = True
        return io_error(exc, self.where, writing)

    async def _send(self, data: bytes | bytearray | memoryview) -> None:
        """Send ``data`` whole, as :mod:`rttp.errors` on failure."""
        try:
            if self.watched:
                await self._send_all(data)
            else:
                await self._send_within(data, self.write_timeout)
        except trio.TooSlowError:
            self.closing = True
            seconds = self.write_timeout
            raise WriteTimeout(
                f"sending to {self.where} took longer than write timeout {seconds}s", seconds
            ) from None
        except IO_ERRORS as exc:
            raise self._broken(exc, writing=True) from exc

    # -- ending ----------------------------------------------------------------------------
    def _trailing_data(self) -> bytes:
        """Bytes received after the head that belong to the next protocol."""
        proto = self._proto
        return proto.upgrade_trailing_data() if proto is not None else b""

    def detach(self) -> trio.abc.Stream:
        """Hand the stream to an upgraded protocol (after a 101, say); the connection is done.

        The stream returned replays any bytes already received after the HTTP head, so
        the new protocol loses nothing.
        """
        if self.detached:
            raise RuntimeError("this connection was detached already")
        self.detached = self.closing = True
        trailing = self._trailing_data()
        unsent, self._unsent = self._unsent, b""
        if trailing or unsent:
            return PrefixedStream(self.stream, trailing, unsent)
        return self.stream

    async def aclose(self, *, linger: bool = True) -> None:
        """Close the stream: gracefully within a second, else at once (works even when
        cancelled).

        After an error answer the connection first *lingers*: it half-closes, then
        discards what the peer still sends for up to ``linger_timeout`` seconds (at most
        16 MiB). Closing a socket with unread input makes the kernel send a reset, which
        can destroy the error answer before the peer reads it. ``linger=False`` skips it.
        """
        self.closing = True
        if self.detached:
            return
        try:
            if linger and self.linger and self.linger_timeout:
                await self._linger()
            # gracefully (TLS sends its close_notify) when it can be done at once
            with trio.move_on_after(1.0):
                with contextlib.suppress(*IO_ERRORS):
                    await self.stream.aclose()
        finally:
            await trio.aclose_forcefully(self.stream)  # whatever happened (even a cancel)

    async def _linger(self) -> None:
        await linger(self.stream, self.linger_timeout)

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


async def linger(stream: trio.abc.Stream, seconds: float) -> None:
    """Half-close ``stream``, then discard what the peer still sends for up to
    ``seconds`` (at most 16 MiB), so that closing with unread input, which makes the
    kernel send a reset, cannot destroy the last thing we sent (an error answer, a
    close frame)."""
    with trio.move_on_after(seconds):
        try:
            if isinstance(stream, trio.abc.HalfCloseableStream):
                await stream.send_eof()
            budget = _LINGER_MAX_BYTES
            while budget > 0:
                data = await stream.receive_some(65536)
                if not data:
                    return
                budget -= len(data)
        except IO_ERRORS:
            return
