"""What ``request.respond()`` hands a handler: :class:`Answer`, an answer pushed piece by
piece. The model only names the interface; the engine implements it per protocol."""

from __future__ import annotations

import os
from types import TracebackType
from typing import Protocol

from ._headers import HeadersLike

__all__ = ["Answer"]


class Answer(Protocol):
    """An answer a handler pushes: the head is decided by ``request.respond(status,
    headers)``, then body pieces go out as they exist::

        async def events(request: rttp.Request) -> None:
            async with request.respond(200, {"Content-Type": "text/event-stream"}) as answer:
                for n in range(3):
                    await answer.send(f"data: {n}\\n\\n")

    Without a Content-Length the body is chunked (HTTP/1.1); with one, exactly that many
    bytes must be sent. For a HEAD request, a 204 or a 304 the pieces are dropped. The
    ``async with`` block finishes the answer on exit; a handler that returns without
    finishing has it finished by the server; one that raises after the answer started
    has its connection cut (a client then sees a truncated body) and the error logged.
    """

    #: the head is decided
    started: bool
    #: the answer is complete on the wire
    finished: bool
    #: body bytes sent so far (-1 once the answer was cut off)
    sent: int
    #: the status answered
    status: int

    async def send(self, data: bytes | bytearray | memoryview | str) -> None:
        """Send one piece of the body (a str as UTF-8). Raises
        :class:`~rttp.errors.WriteError` when the client has gone away, and
        :class:`~rttp.errors.LocalProtocolError` past the declared Content-Length."""

    async def send_file(
        self, file: str | os.PathLike[str] | int, offset: int = 0, count: int | None = None
    ) -> None:
        """Send ``count`` bytes of ``file`` (a path or an open descriptor) from
        ``offset`` (to its end by default) as the next piece of the body: by the kernel
        (``os.sendfile``) on plain TCP, in bounded pieces over TLS."""

    async def flush(self) -> None:
        """Send the head now, before the first piece."""

    async def finish(self, trailers: HeadersLike = None) -> None:
        """End the answer (idempotent); ``trailers`` follow a chunked body."""

    async def __aenter__(self) -> Answer: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
