"""Moonbridge's socket object: buffered reads to a length or a terminator, buffered
writes, half-close, reset, and the raw addresses, on a non-blocking socket.

Each blocking form of the seed is an awaitable here (which also stands for its
``_call``/``_yield`` variants); each ``_nb`` form is a plain call that never waits. Where
the seed returns ``nil, message`` on an I/O error, :class:`~rttp.errors.ReadError` or
:class:`~rttp.errors.WriteError` is raised; using a socket after ``close()`` or
``reset()`` raises :class:`~rttp.errors.SocketClosed`.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from typing import Literal

import trio
from trio.lowlevel import checkpoint, checkpoint_if_cancelled, wait_readable, wait_writable

from ..errors import ReadError, SocketClosed, WriteError

__all__ = ["ReadStatus", "Socket"]

#: why a read returned: the terminator was read, maxlen bytes were, the peer closed, or
#: (``read_nb`` only) waiting would have been needed
ReadStatus = Literal["term", "maxlen", "eof", "block"]

_CHUNK = 65536
#: buffered output past this is sent before ``write`` returns (memory stays bounded)
_WRITE_HIGH = 256 * 1024


def _terminator(terminator: bytes | str | None) -> bytes | None:
    if terminator is None:
        return None
    value = terminator.encode("latin-1") if isinstance(terminator, str) else bytes(terminator)
    if not value:
        raise ValueError("terminator must not be empty")
    return value


class Socket:
    """One connection (or an interval tick, when :attr:`interval` is set and there is no
    connection), as the ``connect`` handler receives it."""

    def __init__(self, sock: socket.socket | None, *, interval: str | None = None) -> None:
        if sock is not None:
            sock.setblocking(False)
        self._sock = sock
        #: the name of the interval timer this call is for, or None for a connection
        self.interval = interval
        self._read = bytearray()
        self._out = bytearray()
        self._eof = sock is None
        self._closed = False
        self._finished = False
        self._local = sock.family == socket.AF_UNIX if sock is not None else False

    # -- addresses ------------------------------------------------------------------------
    def _address(self, which: Literal["local", "remote"]) -> tuple[str, int] | None:
        sock = self._sock
        if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
            return None
        try:
            address = sock.getsockname() if which == "local" else sock.getpeername()
        except OSError:
            return None
        return address[0], address[1]

    @property
    def local_address(self) -> tuple[str, int] | None:
        """``(host, port)`` of this end of a TCP connection (None otherwise)."""
        return self._address("local")

    @property
    def remote_address(self) -> tuple[str, int] | None:
        """``(host, port)`` of the peer of a TCP connection (None otherwise)."""
        return self._address("remote")

    def _ip(self, which: Literal["local", "remote"], version: int) -> bytes | None:
        address = self._address(which)
        if address is None:
            return None
        host = address[0].split("%", 1)[0]
        if ":" in host:
            packed = socket.inet_pton(socket.AF_INET6, host)
            if version == 6:
                return packed
            mapped = packed[:12] == b"\0" * 10 + b"\xff\xff"
            return packed[12:] if mapped else None
        packed = socket.inet_pton(socket.AF_INET, host)
        return packed if version == 4 else None

    @property
    def local_ip4(self) -> bytes | None:
        """The local IPv4 address as 4 raw bytes (also for a v4-mapped IPv6 one)."""
        return self._ip("local", 4)

    @property
    def local_ip6(self) -> bytes | None:
        """The local IPv6 address as 16 raw bytes (None on an IPv4 socket)."""
        return self._ip("local", 6)

    @property
    def local_tcpport(self) -> int | None:
        """The local TCP port."""
        address = self._address("local")
        return address[1] if address else None

    @property
    def remote_ip4(self) -> bytes | None:
        """The peer's IPv4 address as 4 raw bytes (also for a v4-mapped IPv6 one)."""
        return self._ip("remote", 4)

    @property
    def remote_ip6(self) -> bytes | None:
        """The peer's IPv6 address as 16 raw bytes (None on an IPv4 socket)."""
        return self._ip("remote", 6)

    @property
    def remote_tcpport(self) -> int | None:
        """The peer's TCP port."""
        address = self._address("remote")
        return address[1] if address else None

    def fileno(self) -> int:
        """The file descriptor (for :func:`rttp.moonbridge.poll`), -1 without one."""
        return self._sock.fileno() if self._sock is not None and not self._closed else -1

    @property
    def closed(self) -> bool:
        """True after :meth:`close` or :meth:`reset`."""
        return self._closed

    @property
    def raw_socket(self) -> socket.socket | None:
        """The :class:`socket.socket` underneath (for socket options, or for an engine
        that drives it directly, as ``generate_handler`` does); None for an interval or
        main call."""
        return self._sock

    def _check(self) -> socket.socket | None:
        if self._closed:
            raise SocketClosed("the socket was already closed (or reset)")
        return self._sock

    # -- reading --------------------------------------------------------------------------
    def _fill(self) -> bool:
        """Receive what is there without waiting; False if a receive would block."""
        sock = self._check()
        if self._eof or sock is None:
            self._eof = True
            return True
        try:
            data = sock.recv(_CHUNK)
        except BlockingIOError:
            return False
        except OSError as exc:
            raise ReadError(f"reading from the socket failed: {exc.strerror or exc}") from exc
        if data:
            self._read += data
        else:
            self._eof = True
        return True

    def _take(
        self, maxlen: int | None, terminator: bytes | None, blocked: bool
    ) -> tuple[bytes, ReadStatus] | None:
        """What a read returns from the buffer now, or None if it must wait for more."""
        buf = self._read
        limit = len(buf) if maxlen is None else min(maxlen, len(buf))
        if terminator is not None:
            at = buf.find(terminator, 0, limit)
            if at >= 0:
                return self._cut(at + len(terminator)), "term"
        if maxlen is not None and len(buf) >= maxlen:
            return self._cut(maxlen), "maxlen"
        if self._eof:
            return self._cut(len(buf)), "eof"
        if blocked:
            return self._cut(len(buf)), "block"
        return None

    def _cut(self, size: int) -> bytes:
        data = bytes(self._read[:size])
        del self._read[:size]
        return data

    async def read(
        self, maxlen: int | None = None, terminator: bytes | str | None = None
    ) -> tuple[bytes, ReadStatus]:
        """Up to ``maxlen`` bytes, or through ``terminator`` (included), or to EOF; with
        why it stopped: ``"term"``, ``"maxlen"`` or ``"eof"``."""
        if maxlen is not None and maxlen < 0:
            raise ValueError(f"maxlen must be >= 0 or None, got {maxlen!r}")
        term = _terminator(terminator)
        await checkpoint_if_cancelled()
        while True:
            got = self._take(maxlen, term, False)
            if got is not None:
                await checkpoint()
                return got
            while not self._fill():
                sock = self._sock
                assert sock is not None
                await wait_readable(sock)

    def read_nb(
        self, maxlen: int | None = None, terminator: bytes | str | None = None
    ) -> tuple[bytes, ReadStatus]:
        """:meth:`read` without waiting: ``"block"`` with what was there when more would
        have to be waited for."""
        term = _terminator(terminator)
        while True:
            got = self._take(maxlen, term, False)
            if got is not None:
                return got
            if not self._fill():
                blocked = self._take(maxlen, term, True)
                assert blocked is not None
                return blocked

    async def drain(
        self, maxlen: int | None = None, terminator: bytes | str | None = None
    ) -> tuple[int, ReadStatus]:
        """:meth:`read`, discarding the input: the number of bytes dropped and why."""
        data, status = await self.read(maxlen, terminator)
        return len(data), status

    def drain_nb(
        self, maxlen: int | None = None, terminator: bytes | str | None = None
    ) -> tuple[int, ReadStatus]:
        """:meth:`read_nb`, discarding the input."""
        data, status = self.read_nb(maxlen, terminator)
        return len(data), status

    # -- writing --------------------------------------------------------------------------
    @staticmethod
    def _bytes(chunk: bytes | bytearray | memoryview | str) -> bytes | bytearray | memoryview:
        return chunk.encode("utf-8") if isinstance(chunk, str) else chunk

    def _send_now(self) -> int:
        """Send what the buffer holds without waiting; the bytes still buffered."""
        sock = self._check()
        if sock is None:
            if self._out:
                raise WriteError("an interval call has no connection to write to")
            return 0
        if self._finished:
            raise WriteError("cannot write after finish() (the sending side is closed)")
        out = self._out
        while out:
            try:
                sent = sock.send(out)
            except BlockingIOError:
                break
            except OSError as exc:
                raise WriteError(f"writing to the socket failed: {exc.strerror or exc}") from exc
            del out[:sent]
        return len(out)

    async def _send_all(self) -> None:
        await checkpoint_if_cancelled()
        while self._send_now():
            sock = self._sock
            assert sock is not None
            await wait_writable(sock)
        await checkpoint()

    async def write(self, *chunks: bytes | bytearray | memoryview | str) -> Socket:
        """Buffer ``chunks`` (str is sent as UTF-8); they go out at :meth:`flush`,
        :meth:`finish` or :meth:`close`, or as soon as the buffer passes 256 KiB."""
        self._check()
        for chunk in chunks:
            self._out += self._bytes(chunk)
        if len(self._out) > _WRITE_HIGH:
            await self._send_all()
        else:
            await checkpoint_if_cancelled()
        return self

    def write_nb(self, *chunks: bytes | bytearray | memoryview | str) -> int:
        """Buffer ``chunks`` and send what can go without waiting; the bytes still
        buffered (0 when all went out)."""
        self._check()
        for chunk in chunks:
            self._out += self._bytes(chunk)
        return self._send_now()

    async def flush(self, *chunks: bytes | bytearray | memoryview | str) -> Socket:
        """:meth:`write`, then send everything buffered."""
        self._check()
        for chunk in chunks:
            self._out += self._bytes(chunk)
        await self._send_all()
        return self

    def flush_nb(self, *chunks: bytes | bytearray | memoryview | str) -> int:
        """:meth:`write_nb` (the bytes that could not be sent yet)."""
        return self.write_nb(*chunks)

    # -- ending ---------------------------------------------------------------------------
    async def finish(self) -> None:
        """Flush and send EOF (a TCP FIN); reads still work. On a local socket this closes
        the socket and later reads see EOF, as in Moonbridge."""
        await self._send_all()
        sock = self._sock
        if sock is None or self._finished:
            return
        self._finished = True
        if self._local:
            sock.close()
            self._eof = True
            return
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            raise WriteError(f"sending EOF failed: {exc.strerror or exc}") from exc

    async def close(self) -> None:
        """Flush, then close (a FIN). Read what the peer still sends first: unread input
        makes the kernel answer with an RST."""
        try:
            if not self._finished:
                await self._send_all()
        finally:
            self._release()

    def reset(self) -> None:
        """Close at once with a TCP RST (SO_LINGER 0); buffered output is dropped."""
        sock = self._check()
        if sock is not None and not self._finished and sock.family != socket.AF_UNIX:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._out.clear()
        self._release()

    def _release(self) -> None:
        self._check()
        self._closed = True
        sock = self._sock
        if sock is not None and sock.fileno() >= 0:  # a finished local socket is closed
            trio.lowlevel.notify_closing(sock)
            sock.close()

    def __repr__(self) -> str:
        if self.interval is not None:
            return f"<rttp.moonbridge.Socket interval={self.interval!r}>"
        state = "closed" if self._closed else "open"
        return f"<rttp.moonbridge.Socket {state} remote={self.remote_address}>"
