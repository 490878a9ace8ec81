"""Files from a directory as an rttp handler: :func:`static`.

Safe by construction: the request's path is split into segments, each decoded once and
refused when it could climb or smuggle (``..``, ``.``, an encoded slash or backslash, a
NUL, a drive or an absolute path); the file found is resolved and must lie inside the
directory's own resolved path (a symlink that leaves it is refused unless
``follow_symlinks``). Only then is it opened.

Each answer carries ``ETag`` and ``Last-Modified``; ``If-None-Match``,
``If-Modified-Since``, ``If-Match`` and ``If-Unmodified-Since`` answer 304 or 412;
``Range`` (one range or several, under ``If-Range``) answers 206, or 416 when nothing
overlaps. The bytes go out with ``os.sendfile`` on plain TCP (the answer's
:meth:`~rttp.Answer.send_file`), in bounded pieces over TLS.
"""

from __future__ import annotations

import mimetypes
import os
import secrets
import stat
from typing import NamedTuple
from urllib.parse import unquote

from ..._model import Request, Response
from ..._proto._ranges import (
    Unsatisfiable,
    condition_status,
    etag_of,
    http_date,
    if_range_holds,
    parse_ranges,
)

__all__ = ["StaticFiles", "static"]

#: precompressed siblings looked for, by content coding, in order of preference
PRECOMPRESSED = (("br", ".br"), ("zstd", ".zst"), ("gzip", ".gz"))


def static(
    directory: str | os.PathLike[str],
    *,
    index: str | None = "index.html",
    cache_control: str | None = None,
    follow_symlinks: bool = False,
    precompressed: bool = True,
) -> StaticFiles:
    """An rttp handler serving the files under ``directory`` (GET and HEAD).

    ``index`` is the file a directory's path answers with (None: a directory is a 404;
    there are no listings); ``cache_control`` is sent as ``Cache-Control`` with every
    file; ``follow_symlinks`` lets a symlink lead outside the directory; with
    ``precompressed``, a ``.br``, ``.zst`` or ``.gz`` sibling is sent instead of the file
    when the client accepts that coding. Raises ValueError when ``directory`` is not one.
    """
    root = os.path.realpath(directory)
    if not os.path.isdir(root):
        raise ValueError(f"static files need a directory, got {os.fspath(directory)!r}")
    return StaticFiles(root, index, cache_control, follow_symlinks, precompressed)


class _Found(NamedTuple):
    path: str
    size: int
    mtime: float
    mtime_ns: int
    coding: str


class StaticFiles:
    """The handler :func:`static` makes."""

    def __init__(
        self,
        root: str,
        index: str | None,
        cache_control: str | None,
        follow_symlinks: bool,
        precompressed: bool,
    ) -> None:
        self.root = root
        self.index = index
        self.cache_control = cache_control
        self.follow_symlinks = follow_symlinks
        self.precompressed = precompressed

    def __repr__(self) -> str:
        return f"rttp.static({self.root!r})"

    async def __call__(self, request: Request) -> Response | None:
        return await self.serve(request, request.raw_path)

    async def serve(self, request: Request, raw_path: str) -> Response | None:
        """Answer ``request`` with the file at ``raw_path`` (percent-encoded, relative
        to the directory): what a router calls with the part of the path after its
        prefix."""
        if request.method not in ("GET", "HEAD"):
            return Response(405, {"Allow": "GET, HEAD"}, "405 Method Not Allowed\n")
        relative = self._relative(raw_path)
        if relative is None:
            return _not_found()
        path = os.path.join(self.root, *relative)
        try:
            info = os.stat(path)
        except (OSError, ValueError):
            return _not_found()
        if stat.S_ISDIR(info.st_mode):
            if self.index is None:
                return _not_found()
            if not raw_path.endswith("/"):  # as a browser resolves relative links
                location = request.root_path + request.raw_path + "/"
                query = f"?{request.query}" if request.query else ""
                return Response(301, {"Location": location + query}, b"")
            path = os.path.join(path, self.index)
            try:
                info = os.stat(path)
            except OSError:
                return _not_found()
        if not stat.S_ISREG(info.st_mode) or not self._inside(path):
            return _not_found()
        found = self._representation(request, path, info)
        return await self._answer(request, found)

    # -- where the file is -----------------------------------------------------------------
    @staticmethod
    def _relative(raw_path: str) -> list[str] | None:
        """The path's segments, each decoded once; None for one that could climb out,
        carry a separator or a NUL, or name a drive."""
        segments = []
        for raw in raw_path.split("/"):
            if not raw:
                continue
            try:
                segment = unquote(raw, errors="strict") if "%" in raw else raw
            except UnicodeDecodeError:
                return None
            if segment in (".", "..") or any(c in segment for c in "/\\\0") or ":" in segment:
                return None
            segments.append(segment)
        return segments

    def _inside(self, path: str) -> bool:
        """Whether ``path`` resolves inside the root (or symlinks may lead anywhere)."""
        if self.follow_symlinks:
            return True
        real = os.path.realpath(path)
        return os.path.commonpath((real, self.root)) == self.root

    def _representation(self, request: Request, path: str, info: os.stat_result) -> _Found:
        """The file, or its precompressed sibling in a coding the client accepts."""
        if self.precompressed:
            accepted = _codings(request.headers.get("accept-encoding"))
            for coding, suffix in PRECOMPRESSED:
                if coding not in accepted:
                    continue
                try:
                    sibling = os.stat(path + suffix)
                except OSError:
                    continue
                if stat.S_ISREG(sibling.st_mode) and self._inside(path + suffix):
                    return _Found(
                        path + suffix,
                        sibling.st_size,
                        sibling.st_mtime,
                        sibling.st_mtime_ns,
                        coding,
                    )
        return _Found(path, info.st_size, info.st_mtime, info.st_mtime_ns, "")

    # -- the answer --------------------------------------------------------------------------
    async def _answer(self, request: Request, found: _Found) -> Response | None:
        etag = etag_of(found.size, found.mtime_ns, found.coding)
        headers = {
            "ETag": etag,
            "Last-Modified": http_date(found.mtime),
            "Accept-Ranges": "bytes",
        }
        if self.precompressed:
            headers["Vary"] = "Accept-Encoding"
        if self.cache_control is not None:
            headers["Cache-Control"] = self.cache_control
        fields = request.headers
        status = condition_status(
            request.method,
            etag,
            found.mtime,
            if_match=fields.get("if-match"),
            if_none_match=fields.get("if-none-match"),
            if_modified_since=fields.get("if-modified-since"),
            if_unmodified_since=fields.get("if-unmodified-since"),
        )
        if status is not None:
            return Response(status, headers, b"")
        content_type = _content_type(found.path, found.coding)
        ranges = None
        if if_range_holds(fields.get("if-range"), etag, found.mtime):
            try:
                ranges = parse_ranges(fields.get("range"), found.size)
            except Unsatisfiable:
                headers["Content-Range"] = f"bytes */{found.size}"
                return Response(416, headers, b"")
        if found.coding:
            headers["Content-Encoding"] = found.coding
        if ranges is None:
            headers["Content-Type"] = content_type
            headers["Content-Length"] = str(found.size)
            await self._send(request, 200, headers, found.path, [(0, found.size)], [b"", b""])
            return None
        if len(ranges) == 1:
            start, end = ranges[0]
            headers["Content-Type"] = content_type
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{found.size}"
            headers["Content-Length"] = str(end - start)
            await self._send(request, 206, headers, found.path, ranges, [b"", b""])
            return None
        # several ranges: a multipart/byteranges body, each part with its own head
        boundary = secrets.token_hex(12)
        parts = [
            (
                f"\r\n--{boundary}\r\nContent-Type: {content_type}\r\n"
                f"Content-Range: bytes {start}-{end - 1}/{found.size}\r\n\r\n"
            ).encode("latin-1")
            for start, end in ranges
        ]
        parts.append(f"\r\n--{boundary}--\r\n".encode("latin-1"))
        length = sum(map(len, parts)) + sum(end - start for start, end in ranges)
        headers["Content-Type"] = f"multipart/byteranges; boundary={boundary}"
        headers["Content-Length"] = str(length)
        await self._send(request, 206, headers, found.path, ranges, parts)
        return None

    @staticmethod
    async def _send(
        request: Request,
        status: int,
        headers: dict[str, str],
        path: str,
        ranges: list[tuple[int, int]],
        parts: list[bytes],
    ) -> None:
        """The head, then each range of the file after its part head (``parts`` has one
        more item than ``ranges``: what closes the body)."""
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            async with request.respond(status, headers) as answer:
                for head, (start, end) in zip(parts, ranges, strict=False):
                    if head:
                        await answer.send(head)
                    if end > start:
                        await answer.send_file(fd, start, end - start)
                if parts[-1]:
                    await answer.send(parts[-1])
        finally:
            os.close(fd)


def _not_found() -> Response:
    return Response(404, {"Content-Type": "text/plain; charset=utf-8"}, "404 Not Found\n")


def _codings(field: str | None) -> set[str]:
    """The content codings an Accept-Encoding field accepts (q=0 refuses one)."""
    accepted = set()
    for item in (field or "").split(","):
        name, _, params = item.strip().partition(";")
        quality = params.strip().removeprefix("q=").strip()
        if name and quality not in ("0", "0.0", "0.00", "0.000"):
            accepted.add(name.strip().lower())
    return accepted


def _content_type(path: str, coding: str) -> str:
    """The media type by the file's extension (the original's, for a precompressed
    sibling), with ``charset=utf-8`` for text."""
    original = path[: path.rfind(".")] if coding else path
    kind, _ = mimetypes.guess_type(original)
    kind = kind or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
        return f"{kind}; charset=utf-8"
    return kind
