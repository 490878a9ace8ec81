"""Request and Response: one model for the server and the client.

A body is either ``bytes`` or an async iterable of ``bytes`` chunks (streaming, in both
directions). ``await message.read()`` collects a streamed body; ``message.stream()``
iterates it. This module does no I/O of its own: the server and client hand it the
async iterables that read from their connections.
"""

from __future__ import annotations

import json as _json
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from http.cookies import CookieError, SimpleCookie
from typing import Any, Union
from urllib.parse import unquote

from ..errors import RTTPError
from ._headers import Headers, HeadersLike
from ._status import reason_phrase
from ._url import URL, QueryParams

__all__ = [
    "Body",
    "HTTPStatusError",
    "Request",
    "Response",
    "StreamConsumed",
]

Body = Union[bytes, bytearray, memoryview, str, AsyncIterable[bytes], None]


class StreamConsumed(RTTPError):
    """A streamed body was iterated a second time; read it with ``await read()`` to keep it."""


class HTTPStatusError(RTTPError):
    """Raised by :meth:`Response.raise_for_status` for 4xx and 5xx responses."""

    def __init__(self, message: str, response: Response) -> None:
        super().__init__(message)
        self.response = response


def _charset(content_type: str | None) -> str:
    if content_type:
        for param in content_type.split(";")[1:]:
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "charset" and value:
                return value.strip().strip('"')
    return "utf-8"


class _BodyIterator:
    """Yields a bytes body once, or the non-empty chunks of a streamed one."""

    __slots__ = ("_content", "_source")

    def __init__(self, content: bytes | None, stream: AsyncIterable[bytes] | None) -> None:
        self._content = content
        self._source = stream.__aiter__() if content is None and stream is not None else None

    def __aiter__(self) -> _BodyIterator:
        return self

    async def __anext__(self) -> bytes:
        if self._source is None:
            content, self._content = self._content, None
            if content:
                return content
            raise StopAsyncIteration
        while True:
            chunk = await self._source.__anext__()
            if chunk:
                return bytes(chunk) if not isinstance(chunk, bytes) else chunk


class _Message:
    """Body handling shared by requests and responses."""

    __slots__ = ("_consumed", "_content", "_stream", "headers")

    headers: Headers
    _content: bytes | None
    _stream: AsyncIterable[bytes] | None
    _consumed: bool

    def _set_body(self, body: Body, default_type: bytes | None = None) -> None:
        self._consumed = False
        if body is None:
            self._content, self._stream = b"", None
        elif isinstance(body, bytes):
            self._content, self._stream = body, None
        elif isinstance(body, (bytearray, memoryview)):
            self._content, self._stream = bytes(body), None
        elif isinstance(body, str):
            self._content, self._stream = body.encode("utf-8"), None
            if default_type is not None:
                self.headers.setdefault_raw(b"Content-Type", default_type)
        elif hasattr(body, "__aiter__"):
            self._content, self._stream = None, body
        else:
            raise TypeError(
                f"a body must be bytes, str or an async iterable of bytes, got {type(body).__name__}"
            )

    @property
    def is_streaming(self) -> bool:
        """True while the body is a stream that has not been read into memory."""
        return self._content is None

    @property
    def body(self) -> bytes:
        """The whole body. For a streamed body, ``await read()`` first."""
        if self._content is None:
            raise RTTPError("the body is still a stream: call 'await read()' before using '.body'")
        return self._content

    @property
    def content(self) -> bytes:
        """Alias of :attr:`body` (the httpx spelling)."""
        return self.body

    async def read(self) -> bytes:
        """Read the whole body into memory and return it; later calls return the same bytes."""
        if self._content is None:
            chunks = [chunk async for chunk in self.stream()]
            self._content = b"".join(chunks)
        return self._content

    def stream(self) -> AsyncIterator[bytes]:
        """Iterate the body chunk by chunk (once, for a streamed body).

        The iterator is a plain object, not an async generator, so abandoning a loop
        (a break, a cancellation) leaves nothing for the garbage collector to finalise.
        """
        if self._content is None:
            if self._consumed or self._stream is None:
                raise StreamConsumed("the body stream has already been consumed")
            self._consumed = True
        return _BodyIterator(self._content, self._stream)

    @property
    def charset(self) -> str:
        """The charset named in Content-Type, ``utf-8`` if none."""
        return _charset(self.headers.get("content-type"))

    @property
    def text(self) -> str:
        """The body decoded with :attr:`charset` (undecodable bytes replaced)."""
        try:
            return self.body.decode(self.charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return _json.loads(self.body)


class Request(_Message):
    """An HTTP request, as a server handler receives it or as a client sends it.

    ``method`` and ``path`` are ``str``; ``path`` is percent-decoded, ``target`` is the raw
    request target. On the server, ``client`` is the peer's ``(host, port)``.
    """

    __slots__ = ("_url", "client", "extensions", "http_version", "method", "scheme", "target")

    def __init__(
        self,
        method: str,
        url: str | URL,
        *,
        headers: HeadersLike = None,
        body: Body = None,
        http_version: str = "1.1",
        client: tuple[str, int] | None = None,
        scheme: str = "http",
    ) -> None:
        self.method = method.upper()
        self.headers = headers if isinstance(headers, Headers) else Headers(headers)
        self.http_version = http_version
        self.client = client
        self.extensions: dict[str, Any] = {}
        if isinstance(url, URL) or "://" in url:
            self._url: URL | None = URL(url)
            self.target = self._url.target
            self.scheme = self._url.scheme
        else:
            self._url = None
            self.target = url
            self.scheme = scheme
        self._set_body(body, b"text/plain; charset=utf-8")

    @property
    def url(self) -> URL:
        """The full URL (on the server: rebuilt from the scheme, Host header and target)."""
        if self._url is None:
            host = self.headers.get("host") or "localhost"
            self._url = URL(f"{self.scheme}://{host}{self.target}")
        return self._url

    @property
    def raw_path(self) -> str:
        """The path part of the target, still percent-encoded."""
        return self.target.partition("?")[0]

    @property
    def path(self) -> str:
        """The path, percent-decoded."""
        return unquote(self.target.partition("?")[0])

    @property
    def query(self) -> str:
        """The raw query string, without the ``?``."""
        return self.target.partition("?")[2]

    @property
    def params(self) -> QueryParams:
        """The query parameters."""
        return QueryParams(self.query)

    @property
    def cookies(self) -> dict[str, str]:
        """Cookies sent in the ``Cookie`` header."""
        out: dict[str, str] = {}
        for header in self.headers.get_all("cookie"):
            for pair in header.split(";"):
                name, sep, value = pair.strip().partition("=")
                if sep and name:
                    out[name] = value
        return out

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.target}>"


class Response(_Message):
    """An HTTP response.

    ``Response(status=200, headers=[("content-type", "text/html")], body="<p>hi</p>")``.
    A ``str`` body is sent as UTF-8 (with ``text/plain; charset=utf-8`` unless a
    Content-Type is given); an async iterable body is streamed (chunked unless a
    Content-Length is given).
    """

    __slots__ = ("_aclose", "_reason", "extensions", "http_version", "request", "status", "url")

    def __init__(
        self,
        status: int = 200,
        headers: HeadersLike = None,
        body: Body = None,
        *,
        reason: str | None = None,
        http_version: str = "1.1",
    ) -> None:
        if not isinstance(status, int) or not 100 <= status <= 999:
            raise ValueError(f"a status must be an int from 100 to 999, got {status!r}")
        self.status = status
        self._reason = reason
        self.headers = headers if isinstance(headers, Headers) else Headers(headers)
        self.http_version = http_version
        self.request: Request | None = None
        self.url: URL | None = None
        self.extensions: dict[str, Any] = {}
        self._aclose: Callable[[], Awaitable[None]] | None = None
        self._set_body(body, b"text/plain; charset=utf-8")

    @property
    def reason(self) -> str:
        """The reason phrase (the standard phrase unless one was given or received)."""
        if self._reason is None:
            return reason_phrase(self.status)
        return self._reason

    @property
    def is_success(self) -> bool:
        """True for 2xx."""
        return 200 <= self.status < 300

    @property
    def is_redirect(self) -> bool:
        """True for a 3xx with a Location header."""
        return 300 <= self.status < 400 and "location" in self.headers

    def raise_for_status(self) -> Response:
        """Raise :class:`HTTPStatusError` for a 4xx or 5xx response; return self otherwise."""
        if self.status >= 400:
            where = f" for {self.url}" if self.url is not None else ""
            raise HTTPStatusError(f"{self.status} {self.reason}{where}", self)
        return self

    @property
    def cookies(self) -> dict[str, str]:
        """Cookies set by ``Set-Cookie`` headers (name → value)."""
        out: dict[str, str] = {}
        for header in self.headers.get_all("set-cookie"):
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(header)
            except CookieError:
                continue
            for name, morsel in jar.items():
                out[name] = morsel.value
        return out

    async def aclose(self) -> None:
        """Release the connection behind a streamed response (reading to the end does too)."""
        close, self._aclose = self._aclose, None
        if close is not None:
            await close()

    def __repr__(self) -> str:
        return f"<Response [{self.status} {self.reason}]>"
