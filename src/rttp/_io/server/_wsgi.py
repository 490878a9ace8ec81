"""Hosting a WSGI application (Flask, Django, Bottle…; PEP 3333): :func:`wsgi` turns it
into an rttp handler.

A WSGI application is synchronous, so it runs in worker threads (``trio.to_thread``,
bounded by a :class:`trio.CapacityLimiter`): the one place in the library where threads
are right. ``wsgi.input`` streams the request body from the connection as the
application reads it (a thread asks the Trio side for the next piece), the response
iterable is consumed piece by piece and each piece sent as it comes, and the
iterable's ``close()`` is always called, also when the client has gone away.
"""

from __future__ import annotations

import contextvars
import io
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any
from urllib.parse import unquote_to_bytes

import trio

from ..._model import Answer, Request
from ..engine._answering import answer_of

__all__ = ["DEFAULT_WSGI_THREADS", "FileWrapper", "WSGIApp", "wsgi"]

log = logging.getLogger("rttp.wsgi")

WSGI = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: worker threads a hosted WSGI application runs in at most, by default
DEFAULT_WSGI_THREADS = 40
#: a streamed answer that declares a Content-Length up to this is collected in the
#: application's thread and sent whole (one trip to a thread per request)
COLLECT_MAX = 256 * 1024
_END = object()


def wsgi(app: WSGI, *, threads: int = DEFAULT_WSGI_THREADS) -> WSGIApp:
    """An rttp handler that runs the WSGI application ``app`` in at most ``threads``
    worker threads at once."""
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be an int of at least 1, got {threads!r}")
    return WSGIApp(app, threads)


class WSGIApp:
    """A WSGI application as an rttp handler (see :func:`wsgi`)."""

    def __init__(self, app: WSGI, threads: int = DEFAULT_WSGI_THREADS) -> None:
        self.app: WSGI = app
        #: bounds the threads the application runs in
        self.limiter: trio.CapacityLimiter = trio.CapacityLimiter(threads)

    def __repr__(self) -> str:
        return f"rttp.wsgi({self.app!r})"

    async def __call__(self, request: Request) -> None:
        limiter = self.limiter
        token = trio.lowlevel.current_trio_token()
        answer = _Answer(request, token)
        environ = environ_of(request, _Input(request.stream().__aiter__(), token))

        # every call into the application runs in one context, as it would in a threaded
        # WSGI server's one thread (Flask's stream_with_context needs its request
        # context where the generator goes on)
        context = contextvars.copy_context()

        def call() -> tuple[Iterable[bytes], bytes | None]:
            # one trip to a thread for the common answer: a body of known, modest length
            # is collected there (and the iterable closed), then sent whole
            result = context.run(self.app, environ, answer.start_response)
            return result, context.run(answer.collect, result)

        def in_context(fn: Callable[..., Any], *args: Any) -> Any:
            return context.run(fn, *args)

        result, whole = await trio.to_thread.run_sync(call, limiter=limiter)
        if whole is not None:
            await answer.whole(whole)
            return
        try:
            fd = result.fileno() if isinstance(result, FileWrapper) else None
            if fd is not None:  # a real file: sent by the kernel where it can be
                await answer.send_file(fd)
            elif isinstance(result, (list, tuple)):
                for piece in result:
                    await answer.send(piece)
            else:  # streamed: each piece as the application yields it
                pieces = await trio.to_thread.run_sync(in_context, iter, result, limiter=limiter)
                while True:
                    piece = await trio.to_thread.run_sync(
                        in_context, _next, pieces, limiter=limiter
                    )
                    if piece is _END:
                        break
                    await answer.send(piece)
            await answer.finish()
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                with trio.CancelScope(shield=True):
                    await trio.to_thread.run_sync(in_context, close, limiter=limiter)


class FileWrapper:
    """``wsgi.file_wrapper``: a file-like object returned by the application as its
    answer. A real file (with a ``fileno()``) is sent without reading it through
    Python where the connection allows (``os.sendfile``); anything else is read in
    blocks of ``block_size`` like any iterable."""

    def __init__(self, filelike: Any, block_size: int = 8192) -> None:
        self.filelike = filelike
        self.block_size = block_size

    def fileno(self) -> int | None:
        """The descriptor of a real file (its buffered position flushed), else None."""
        fileno = getattr(self.filelike, "fileno", None)
        if fileno is None:
            return None
        try:
            fd = int(fileno())
            # what a buffered reader holds is not where the descriptor stands
            self.filelike.seek(self.filelike.tell())
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            return None
        return fd

    def __iter__(self) -> Iterator[bytes]:
        read = self.filelike.read
        while True:
            block = read(self.block_size)
            if not block:
                return
            yield block

    def close(self) -> None:
        """Close the file (PEP 3333: the server calls this)."""
        close = getattr(self.filelike, "close", None)
        if close is not None:
            close()


def _next(pieces: Iterator[bytes]) -> Any:
    return next(pieces, _END)


class _Answer:
    """``start_response`` and the answer it leads to."""

    def __init__(self, request: Request, token: trio.lowlevel.TrioToken) -> None:
        self.request = request
        self.token = token
        self.status: tuple[int, str] | None = None
        self.headers: list[tuple[str, str]] = []
        #: the pushed answer once the first piece went out
        self.sent: Answer | None = None

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        """PEP 3333's ``start_response`` (in the application's thread)."""
        if exc_info is not None:
            try:
                if self.sent is not None:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise RuntimeError("start_response() was called already (without exc_info)")
        code, _, reason = status.partition(" ")
        self.status = (int(code), reason)
        self.headers = list(headers)
        return self.write

    def write(self, data: bytes) -> None:
        """The legacy ``write()`` callable (from the application's thread)."""
        trio.from_thread.run(self.send, data, trio_token=self.token)

    def _started(self) -> Answer:
        if self.sent is None:
            if self.status is None:
                raise RuntimeError("the WSGI application returned before start_response()")
            code, reason = self.status
            self.sent = self.request.respond(code, self.headers, reason=reason or None)
        return self.sent

    async def send(self, data: bytes) -> None:
        if data:
            await self._started().send(data)

    def collect(self, result: Iterable[bytes]) -> bytes | None:
        """The whole body of ``result`` (read in the application's thread, the iterable
        then closed) when it is a list or declares a Content-Length up to
        :data:`COLLECT_MAX`, nothing was written through ``write()``, and it is not a
        file; else None: the body is streamed."""
        if self.status is None or self.sent is not None or isinstance(result, FileWrapper):
            return None
        if not isinstance(result, (list, tuple)):
            length = next((v for n, v in self.headers if n.lower() == "content-length"), "")
            if not length.isdigit() or int(length) > COLLECT_MAX:
                return None
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return body

    async def send_file(self, fd: int) -> None:
        """The rest of the open file ``fd`` (from where it stands; as many bytes as the
        Content-Length says, when there is one)."""
        length = next((v for n, v in self.headers if n.lower() == "content-length"), None)
        offset = os.lseek(fd, 0, os.SEEK_CUR)
        self._started()
        await answer_of(self.request).send_file(fd, offset, int(length) if length else None)

    async def whole(self, body: bytes) -> None:
        """The whole answer in one piece: framed by its length, one write with its head."""
        if self.status is None:
            raise RuntimeError("the WSGI application returned before start_response()")
        code, reason = self.status
        self.sent = answer = answer_of(self.request)
        await answer.send_whole(code, self.headers, body, reason or None)

    async def finish(self) -> None:
        await self._started().finish()


class _Input(io.RawIOBase):
    """``wsgi.input``: the request body, read from the connection as the application
    asks (each read that needs more asks the Trio side for the next piece)."""

    def __init__(self, body: AsyncIterator[bytes], token: trio.lowlevel.TrioToken) -> None:
        self._body: AsyncIterator[bytes] | None = body
        self._token = token
        self._buffer = bytearray()

    def readable(self) -> bool:
        return True

    def _more(self) -> bool:
        body = self._body
        if body is None:
            return False
        chunk = trio.from_thread.run(_next_piece, body, trio_token=self._token)
        if chunk is None:
            self._body = None
            return False
        self._buffer += chunk
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            while self._more():
                pass
        else:
            while len(self._buffer) < size and self._more():
                pass
        n = len(self._buffer) if size is None or size < 0 else min(size, len(self._buffer))
        data = bytes(self._buffer[:n])
        del self._buffer[:n]
        return data

    def readinto(self, target: Any) -> int:
        data = self.read(len(target))
        target[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        while b"\n" not in self._buffer and (size is None or size < 0 or len(self._buffer) < size):
            if not self._more():
                break
        end = self._buffer.find(b"\n") + 1 or len(self._buffer)
        if size is not None and size >= 0:
            end = min(end, size)
        data = bytes(self._buffer[:end])
        del self._buffer[:end]
        return data


async def _next_piece(body: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await body.__anext__()
    except StopAsyncIteration:
        return None


class _Errors(io.TextIOBase):
    """``wsgi.errors``: what the application writes goes to the ``rttp.wsgi`` log."""

    def write(self, text: str) -> int:
        if text.strip():
            log.error("%s", text.rstrip())
        return len(text)


def environ_of(request: Request, body: io.RawIOBase) -> dict[str, Any]:
    """The PEP 3333 environ of ``request``."""
    host = request.headers.get("host") or "localhost"
    name, _, port = host.rpartition(":") if host.rsplit(":", 1)[-1].isdigit() else (host, "", "")
    client = request.client
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": request.root_path,
        # PEP 3333: the decoded path's bytes, as latin-1
        "PATH_INFO": unquote_to_bytes(request.raw_path).decode("latin-1"),
        "QUERY_STRING": request.query,
        "SERVER_NAME": name or host,
        "SERVER_PORT": port or ("443" if request.scheme == "https" else "80"),
        "SERVER_PROTOCOL": f"HTTP/{request.http_version}",
        "REMOTE_ADDR": client[0] if client else "",
        "REMOTE_PORT": str(client[1]) if client else "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": request.scheme,
        "wsgi.input": body,
        "wsgi.errors": _Errors(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        # the body ends where the connection says (chunked uploads have no length)
        "wsgi.input_terminated": True,
        "wsgi.file_wrapper": FileWrapper,
    }
    for raw_name, raw_value in request.headers.raw:
        field = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if field == "CONTENT_TYPE" or field == "CONTENT_LENGTH":
            environ[field] = value
            continue
        key = "HTTP_" + field
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ
