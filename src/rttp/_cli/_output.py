"""What the client commands print: heads, bodies (pretty on a terminal, exact when
piped) and a download progress bar (rich's, when rich is installed and stderr is a
terminal)."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

from .. import rtml
from .._model import Request, Response

if TYPE_CHECKING:
    from .._io.client._client import Client

__all__ = ["Printer", "download_progress"]

_BINARY_NOTE = (
    "+-----------------------------------------+\n"
    "| NOTE: binary data not shown in terminal |\n"
    "| (-o FILE writes it, or pipe the output) |\n"
    "+-----------------------------------------+\n"
)


class Printer:
    """Prints an exchange to ``out`` the way httpie does."""

    def __init__(
        self,
        out: TextIO,
        *,
        verbose: bool = False,
        head_only: bool = False,
        body_only: bool = False,
        what: str | None = None,
    ) -> None:
        self.out = out
        self.tty = out.isatty()
        self.color = self.tty and not os.environ.get("NO_COLOR")
        piped_default = not self.tty and not verbose
        self.show_head = head_only or (not body_only and not piped_default)
        self.show_body = body_only or not head_only
        #: the request's head and body are printed first
        self.request_head = self.request_body = verbose
        if what is not None:  # --print: httpie's letters, which decide alone
            self.request_head, self.request_body = "H" in what, "B" in what
            self.show_head, self.show_body = "h" in what, "b" in what
        self.verbose = self.request_head or self.request_body

    def _paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def _fields(self, first_line: str, fields: Any) -> None:
        self.out.write(self._paint(first_line, "1;34") + "\n")
        for name, value in fields:
            self.out.write(f"{self._paint(name, '36')}: {value}\n")
        self.out.write("\n")

    def request(self, request: Request, client: Client) -> None:
        """The request line, its fields (with the client's defaults) and a short body,
        as far as asked (``--print H``, ``B``)."""
        from ._fetch import _request_headers

        if self.request_head:
            self._fields(
                f"{request.method} {request.target} HTTP/1.1",
                _request_headers(request, client).multi_items(),
            )
        body = request._content
        if body and self.request_body:
            self._text(body, request.headers.get("content-type") or "")
            self.out.write("\n")
        self.out.flush()

    def head(self, response: Response, *, to_terminal_only: bool = False) -> None:
        """The status line and fields (for a download: only on a terminal, or asked for)."""
        if not self.show_head or (to_terminal_only and not self.tty and not self.verbose):
            return
        self._fields(
            f"HTTP/{response.http_version} {response.status} {response.reason}",
            response.headers.multi_items(),
        )
        self.out.flush()

    async def response(self, response: Response) -> None:
        """The head and body as chosen: pretty on a terminal, exact bytes when piped."""
        self.head(response)
        if not self.show_body:
            return
        if not self.tty:
            sink = self.out.buffer
            async for chunk in response.stream():
                sink.write(chunk)
            sink.flush()
            return
        body = await response.read()
        if response.media_type == rtml.MEDIA_TYPE:  # an RTML page on a terminal: draw it
            self.out.write(rtml.to_terminal(response.value))
        elif body:
            self._text(body, response.headers.get("content-type") or "")
        self.out.flush()

    def _text(self, body: bytes, content_type: str) -> None:
        """A body on a terminal: JSON pretty-printed, text as it is, binary as a note."""
        if b"\x00" in body[:8192]:
            self.out.write(_BINARY_NOTE)
            return
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            self.out.write(_BINARY_NOTE)
            return
        if "json" in content_type:
            with contextlib.suppress(ValueError):
                text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        self.out.write(text if text.endswith("\n") else text + "\n")


@contextmanager
def download_progress(
    stream: TextIO, total: int | None, name: str
) -> Iterator[Callable[[int], None]]:
    """``advance(n)`` for each chunk; a bar with the size, speed and time left."""
    if not stream.isatty():
        yield lambda n: None
        return
    try:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
    except ImportError:  # pragma: no cover - the cli extra is not installed
        yield lambda n: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(file=stream), transient=False) as progress:
        task = progress.add_task(name, total=total)
        yield lambda n: progress.advance(task, n)
