"""Request and Response: one model for the server and the client.

A body is either ``bytes`` or an async iterable of ``bytes`` chunks (streaming, in both
directions). ``await message.read()`` collects a streamed body; ``message.stream()``
iterates it. This module does no I/O of its own: the server and client hand it the
async iterables that read from their connections.
"""

from __future__ import annotations

import inspect
import json as _json
import re
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from http.cookies import CookieError, SimpleCookie
from typing import Any, Union
from urllib.parse import unquote

from ..errors import CodecError, RTTPError
from ._forms import DEFAULT_CODEC_LIMITS, FIELD_END, CodecLimits, FieldInfo, FormAssembler, FormData
from ._headers import Headers, HeadersLike
from ._media import encode_value, lookup_codec, media_type_of
from ._status import reason_phrase
from ._url import URL, QueryParams

__all__ = [
    "Body",
    "FieldCallback",
    "HTTPStatusError",
    "Request",
    "Response",
    "StreamConsumed",
    "set_default_codecs",
]

#: ``callback(chunk, metadata)`` for a field's first chunk, ``callback(chunk)`` for the
#: rest, ``callback()`` at its end (the seeds' stream_post_param); may be async.
FieldCallback = Callable[..., Any]

_default_codecs: Callable[[], Mapping[str, Any]] | None = None
_UNSET: Any = object()


def set_default_codecs(provider: Callable[[], Mapping[str, Any]]) -> None:
    """Where messages built by hand find codecs (the default plugin set's)."""
    global _default_codecs
    _default_codecs = provider


async def _call(callback: FieldCallback, *args: Any) -> None:
    result = callback(*args)
    if inspect.isawaitable(result):
        await result


Body = Union[bytes, bytearray, memoryview, str, AsyncIterable[bytes], None]


class StreamConsumed(RTTPError):
    """A streamed body was iterated a second time; read it with ``await read()`` to keep it."""


class HTTPStatusError(RTTPError):
    """Raised by :meth:`Response.raise_for_status` for 4xx and 5xx responses."""

    def __init__(self, message: str, response: Response) -> None:
        super().__init__(message)
        self.response = response


def _as_headers(headers: HeadersLike) -> Headers:
    """``headers`` itself when it is a Headers (or a subclass), else a new Headers of it."""
    if type(headers) is Headers:
        return headers
    if type(headers) is list or not isinstance(headers, Headers):  # list: no ABC check
        return Headers(headers)
    return headers


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

    __slots__ = (
        "_codec_limits",
        "_codecs",
        "_consumed",
        "_content",
        "_decoded",
        "_stream",
        "headers",
    )

    headers: Headers
    _content: bytes | None
    _stream: AsyncIterable[bytes] | None
    _consumed: bool
    _codecs: Mapping[str, Any] | None
    _codec_limits: CodecLimits
    _decoded: Any

    def _init_codecs(
        self,
        codecs: Mapping[str, Any] | None = None,
        limits: CodecLimits = DEFAULT_CODEC_LIMITS,
    ) -> None:
        self._codecs = codecs
        self._codec_limits = limits
        self._decoded = _UNSET

    @property
    def codecs(self) -> Mapping[str, Any]:
        """The body codecs this message decodes with (its server's or client's, or the default)."""
        if self._codecs is None:
            if _default_codecs is None:  # pragma: no cover - set when rttp is imported
                raise RTTPError("no body codecs are available")
            self._codecs = _default_codecs()
        return self._codecs

    @property
    def media_type(self) -> str:
        """The Content-Type's media type, lower-cased, without parameters (``""`` if none)."""
        return media_type_of(self.headers.get("content-type"))

    @property
    def value(self) -> Any:
        """The body decoded by the codec for its Content-Type (read a streamed body first).

        No Content-Type: None for an empty body, the bytes otherwise. An unknown type is
        a :class:`~rttp.errors.CodecError` with status 415; a malformed body one with 400.
        """
        if self._decoded is _UNSET:
            body = self.body
            content_type = self.headers.get("content-type")
            if not content_type:
                self._decoded = body or None
            else:
                codec = lookup_codec(self.codecs, content_type)
                self._decoded = codec.decode(body, content_type, self._codec_limits)
        return self._decoded

    async def read_value(self) -> Any:
        """Read the body and decode it (:attr:`value`)."""
        await self.read()
        return self.value

    def _set_body(self, body: Body, default_type: bytes | None = None) -> None:
        self._consumed = False
        if isinstance(body, bytes):  # the common case first
            self._content, self._stream = body, None
        elif body is None:
            self._content, self._stream = b"", None
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

    __slots__ = (
        "_form",
        "_url",
        "client",
        "extensions",
        "http_version",
        "method",
        "scheme",
        "target",
    )

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
        self.headers = _as_headers(headers)
        self.http_version = http_version
        self.client = client
        self.extensions: dict[str, Any] = {}
        if isinstance(url, URL) or "://" in url:
            # a copy: URL attributes can be assigned, so a caller's URL is not shared
            self._url: URL | None = URL(url)
            self.target = self._url.target
            self.scheme = self._url.scheme
        else:
            self._url = None
            self.target = url
            self.scheme = scheme
        self._form: FormData | None = None
        self._init_codecs()
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
    def ip(self) -> str | None:
        """The peer's address (server side)."""
        return self.client[0] if self.client else None

    @property
    def port(self) -> int | None:
        """The peer's port (server side; 0 for unix sockets)."""
        return self.client[1] if self.client else None

    @property
    def parameters(self) -> dict[str, Any]:
        """Path parameters a router matched (``/users/{id:int}`` → ``{"id": 7}``)."""
        params: dict[str, Any] = self.extensions.get("parameters", {})
        return params

    def upgrade(self) -> Response:
        """Accept this request's WebSocket handshake (when a router offers it): return the result.

        Raises RTTPError when nothing on this server can take the connection over.
        """
        upgrade = self.extensions.get("upgrade")
        if upgrade is None:
            raise RTTPError(
                f"{self.method} {self.target} cannot be upgraded here: no socket route serves it"
            )
        response: Response = upgrade()
        return response

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

    @classmethod
    def received(
        cls,
        method: str,
        target: str,
        headers: Headers,
        http_version: str,
        *,
        scheme: str,
        client: tuple[str, int] | None,
        codecs: Mapping[str, Any] | None = None,
        codec_limits: CodecLimits = DEFAULT_CODEC_LIMITS,
    ) -> Request:
        """A request as a server received it (a fast path: no parsing, no copying)."""
        request = cls.__new__(cls)
        request.method = method
        request.target = target
        request.headers = headers
        request.http_version = http_version
        request.scheme = scheme
        request.client = client
        request.extensions = {}
        request._url = None
        request._form = None
        request._consumed = False
        request._content = b""
        request._stream = None
        request._init_codecs(codecs, codec_limits)
        return request

    # -- forms -----------------------------------------------------------------------------
    def stream_post_param(self, name: str, callback: FieldCallback) -> None:
        """Stream the field called ``name`` to ``callback`` instead of collecting it.

        The seeds' call sequence: ``callback(first_chunk, metadata)`` (``b""`` for an
        empty field), ``callback(chunk)`` for each further chunk, then ``callback()``.
        ``metadata`` is ``{"field_name", "file_name", "content_type"}``. The callback may
        be a coroutine function. Register before :meth:`process_body` runs.
        """
        self._field_handlers().append((lambda field: field == name, callback))

    def stream_post_params(self, pattern: str, callback: FieldCallback) -> None:
        """Like :meth:`stream_post_param` for every field whose name matches the regex ``pattern``."""
        regex = re.compile(pattern)
        self._field_handlers().append((lambda field: regex.search(field) is not None, callback))

    def _field_handlers(self) -> list[tuple[Callable[[str], bool], FieldCallback]]:
        if self._form is not None:
            raise RTTPError("the form body was already processed: register stream handlers before")
        handlers: list[tuple[Callable[[str], bool], FieldCallback]] = self.extensions.setdefault(
            "field_handlers", []
        )
        return handlers

    async def process_body(self) -> FormData:
        """Parse a form body (urlencoded or multipart) as it arrives, once.

        Fields with a stream handler go to it chunk by chunk; the others are collected
        and returned (and kept: later calls and :meth:`form` return the same FormData).
        """
        if self._form is not None:
            return self._form
        content_type = self.headers.get("content-type") or ""
        codec = lookup_codec(self.codecs, content_type)
        decoder = codec.field_decoder(content_type, self._codec_limits)
        if decoder is None:
            raise CodecError(
                f"Content-Type {content_type!r} is not a form (send urlencoded or multipart/form-data)",
                status=415,
                media_type=media_type_of(content_type),
            )
        handlers = self.extensions.get("field_handlers", [])
        assembler = FormAssembler(media_type_of(content_type))
        streaming: FieldCallback | None = None
        pending: FieldInfo | None = None

        async def dispatch(event: Any) -> None:
            nonlocal streaming, pending
            if isinstance(event, FieldInfo):
                streaming = next((cb for match, cb in handlers if match(event.name)), None)
                if streaming is None:
                    assembler.add(event)
                else:
                    pending = event
            elif streaming is None:
                assembler.add(event)
            elif isinstance(event, bytes):
                if pending is not None:
                    await _call(streaming, event, pending.metadata)
                    pending = None
                elif event:
                    await _call(streaming, event)
            elif event is FIELD_END:
                if pending is not None:
                    await _call(streaming, b"", pending.metadata)
                    pending = None
                await _call(streaming)
                streaming = None

        async for chunk in self.stream():
            for event in decoder.feed(chunk):
                await dispatch(event)
        for event in decoder.finish():
            await dispatch(event)
        self._form = assembler.form
        return self._form

    async def form(self) -> FormData:
        """The form fields (urlencoded or multipart), parsed once; see :meth:`process_body`."""
        return await self.process_body()

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.target}>"


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
        self.status = status
        self._reason = reason
        self.headers = _as_headers(headers)
        self.http_version = http_version
        self.request: Request | None = None
        self.url: URL | None = None
        self.extensions: dict[str, Any] = {}
        #: a server may compress this body when the client accepts it (False: never)
        self.compress = True
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
