"""The response: as a handler returns it, or as a client receives it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from http.cookies import CookieError, SimpleCookie
from typing import Any

from ._headers import Headers, HeadersLike
from ._media import encode_value
from ._messages import (
    Body,
    HTTPStatusError,
    _as_headers,
    _Message,
)
from ._request import Request
from ._status import reason_phrase
from ._unset import UNSET as _UNSET
from ._url import URL

__all__ = ["Response"]


_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class Response(_Message):
    """An HTTP response.

    ``Response(status=200, headers=[("content-type", "text/html")], body="<p>hi</p>")``.
    A ``str`` body is sent as UTF-8 (with ``text/plain; charset=utf-8`` unless a
    Content-Type is given); an async iterable body is streamed (chunked unless a
    Content-Length is given).
    """

    __slots__ = (
        "_aclose",
        "_history",
        "_pending",
        "_pending_type",
        "_reason",
        "compress",
        "extensions",
        "http_version",
        "on_upgrade",
        "request",
        "status",
        "url",
    )

    def __init__(
        self,
        status: int = 200,
        headers: HeadersLike = None,
        body: Body = None,
        *,
        reason: str | None = None,
        http_version: str = "1.1",
        value: Any = _UNSET,
        content_type: str | None = None,
    ) -> None:
        if not isinstance(status, int) or not 100 <= status <= 999:
            raise ValueError(f"a status must be an int from 100 to 999, got {status!r}")
        self.status: int = status
        self._reason = reason
        self.headers: Headers = _as_headers(headers)
        self.http_version: str = http_version
        self.request: Request | None = None
        self.url: URL | None = None
        self.extensions: dict[str, Any] = {}
        self._history: list[Response] | None = None
        #: a server may compress this body when the client accepts it (False: never)
        self.compress: bool = True
        #: for a 101 answer: ``async def on_upgrade(stream)`` takes the connection over once
        #: the 101 is sent; ``stream`` replays any bytes already received after the head
        self.on_upgrade: Callable[[Any], Awaitable[Any]] | None = None
        self._aclose: Callable[[], Awaitable[None]] | None = None
        self._init_codecs()
        self._pending: Any = _UNSET
        self._pending_type = content_type
        if value is not _UNSET:
            if body is not None:
                raise TypeError("give a Response either body= or value=, not both")
            self._pending = value
            self._decoded = value
            self._content, self._stream, self._consumed = None, None, False
        else:
            self._set_body(body, b"text/plain; charset=utf-8")
            if content_type is not None:
                self.headers["Content-Type"] = content_type

    @classmethod
    def received(
        cls,
        status: int,
        reason: str,
        headers: Headers,
        http_version: str,
        *,
        codecs: Mapping[str, Any] | None = None,
    ) -> Response:
        """A response as a client received it; the client sets its body stream."""
        response = cls.__new__(cls)
        response.status = status
        response._reason = reason
        response.headers = headers
        response.http_version = http_version
        response.request = None
        response.url = None
        response.extensions = {}
        response._history = None
        response.compress = True
        response.on_upgrade = None
        response._aclose = None
        response._consumed = False
        response._content = None
        response._stream = None
        response._init_codecs(codecs)
        response._pending = _UNSET
        response._pending_type = None
        return response

    @property
    def has_pending_value(self) -> bool:
        """True while a ``value=`` still waits to be encoded (the server encodes it)."""
        return self._pending is not _UNSET

    def encode_value(self, codecs: Mapping[str, Any] | None = None) -> None:
        """Encode a pending ``value=`` into the body with ``codecs`` (the default set if None)."""
        if self._pending is _UNSET:
            return
        value, self._pending = self._pending, _UNSET
        if value is None and self._pending_type is None:
            self._content = b""
            return
        body, content_type, length = encode_value(value, self._pending_type, codecs or self.codecs)
        self.headers.setdefault_raw(b"Content-Type", content_type.encode("latin-1"))
        if isinstance(body, bytes):
            self._content, self._stream = body, None
        else:
            self._content, self._stream = None, body
            if length is not None:
                self.headers["Content-Length"] = str(length)

    @property
    def body(self) -> bytes:
        """The whole body. For a streamed body, ``await read()`` first."""
        if self._pending is not _UNSET:
            self.encode_value()
        return super().body

    @property
    def is_streaming(self) -> bool:
        """True while the body is a stream that has not been read into memory."""
        if self._pending is not _UNSET:
            self.encode_value()
        return self._content is None

    async def read(self) -> bytes:
        """The whole body (a pending ``value=`` is encoded first, as the server would)."""
        if self._pending is not _UNSET:
            self.encode_value()
        return await super().read()

    def stream(self) -> AsyncIterator[bytes]:
        """The body chunk by chunk (a pending ``value=`` is encoded first)."""
        if self._pending is not _UNSET:
            self.encode_value()
        return super().stream()

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

    @property
    def history(self) -> list[Response]:
        """The redirects a client followed to get here, oldest first."""
        if self._history is None:
            self._history = []
        return self._history

    @history.setter
    def history(self, value: list[Response]) -> None:
        self._history = value

    @property
    def redirect_location(self) -> str | None:
        """For a 301, 302, 303, 307 or 308 with a Location: where it points, made absolute
        against the request's URL when the request is known; None otherwise."""
        if self.status not in _REDIRECT_STATUSES:
            return None
        location = self.headers.get("location")
        if location is None:
            return None
        base = self.url if self.url is not None else None
        if base is None and self.request is not None and self.request._url is not None:
            base = self.request._url
        if base is None:
            return location
        try:
            return str(base.join(location))
        except ValueError:
            return location

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
