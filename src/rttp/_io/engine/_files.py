"""A file as (part of) an answer's body, without reading it into Python memory where
the connection allows: on plain TCP, ``os.sendfile`` hands the kernel the file and the
socket, the protocol framing only the bytes around it (a chunk size line, say). Over
TLS, or when the protocol cannot pass bytes through, the file is read in pieces with
Trio's file API and sent as any body piece.

What the ASGI ``http.response.pathsend`` extension and WSGI's ``wsgi.file_wrapper``
stand on.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import trio

from ...errors import LocalProtocolError, WriteTimeout
from ..net._errors import IO_ERRORS
from ..net._sockio import SocketIO
from ._clock import Phase

if TYPE_CHECKING:
    from ._answering import ExchangeAnswer

__all__ = ["FILE_PIECE", "send_file"]

#: how much of a file one read (over TLS) or one ``sendfile`` call moves at most
FILE_PIECE = 256 * 1024


async def send_file(
    answer: ExchangeAnswer, file: str | os.PathLike[str] | int, offset: int, count: int | None
) -> int:
    """Send ``count`` bytes of ``file`` (a path, or an open file's descriptor) from
    ``offset`` (to its end when ``count`` is None) as the next piece of ``answer``'s
    body; the bytes sent.

    Raises :class:`~rttp.errors.LocalProtocolError` when the file is shorter than
    ``count`` (the answer cannot be completed: the connection closes after it)."""
    path = f"descriptor {file}" if isinstance(file, int) else os.fspath(file)
    fd = file if isinstance(file, int) else os.open(file, os.O_RDONLY | os.O_CLOEXEC)
    try:
        size = os.fstat(fd).st_size
        if count is None:
            count = max(size - offset, 0)
        if offset + count > size:
            raise LocalProtocolError(
                f"file {path!r} has {size} bytes: fewer than the "
                f"{count} asked for from offset {offset}"
            )
        exchange = answer._exchange
        conn = exchange.conn
        sock = _plain_socket(conn.stream)
        frame = exchange.proto.frame_passthrough(count) if sock is not None else None
        if frame is None or sock is None:
            await _send_read(answer, fd, offset, count)
            return count
        prefix, suffix = frame
        pending, answer._pending = answer._pending, b""
        phase, deadline = exchange.phase, exchange.deadline
        if pending or prefix:
            await answer._write_piece(pending + prefix)
        exchange.enter(Phase.WRITE, conn.settings.write_timeout)
        try:
            await _sendfile(sock, fd, offset, count, None if conn.watched else conn.write_timeout)
        except trio.TooSlowError:
            conn.closing = True
            seconds = conn.write_timeout
            raise WriteTimeout(
                f"sending a file to {conn.where} took longer than write timeout {seconds}s",
                seconds,
            ) from None
        except IO_ERRORS as exc:
            raise conn._broken(exc, writing=True) from exc
        exchange.phase, exchange.deadline = phase, deadline
        if suffix:
            await answer._write_piece(suffix)
        return count
    finally:
        if fd is not file:
            os.close(fd)


def _plain_socket(stream: trio.abc.Stream) -> Any:
    """The socket of a plain TCP or unix stream (sendfile can write to it), else None."""
    if isinstance(stream, (SocketIO, trio.SocketStream)):
        return stream.socket
    return None


async def _sendfile(sock: Any, fd: int, offset: int, count: int, seconds: float | None) -> None:
    """``os.sendfile`` until ``count`` bytes went out, waiting (at most ``seconds`` each
    time) while the socket's buffer is full."""
    out = sock.fileno()
    end = offset + count
    while offset < end:
        try:
            sent = os.sendfile(out, fd, offset, min(end - offset, FILE_PIECE))
        except BlockingIOError:
            if seconds is None:
                await trio.lowlevel.wait_writable(sock)
            else:
                with trio.fail_after(seconds):
                    await trio.lowlevel.wait_writable(sock)
            continue
        if not sent:  # the file shrank under us
            raise LocalProtocolError(f"the file ended {end - offset} bytes early")
        offset += sent
        await trio.lowlevel.checkpoint()


async def _send_read(answer: ExchangeAnswer, fd: int, offset: int, count: int) -> None:
    """The file read in pieces (Trio's file API) and sent as body pieces."""
    async with await trio.open_file(os.dup(fd), "rb", buffering=0) as file:
        await file.seek(offset)
        left = count
        while left:
            piece = await file.read(min(left, FILE_PIECE))
            if not piece:
                raise LocalProtocolError(f"the file ended {left} bytes early")
            await answer.send(piece)
            left -= len(piece)
