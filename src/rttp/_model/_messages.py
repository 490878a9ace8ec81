"""What Request and Response share: the body (bytes or a stream), codecs, text and JSON.

Request (:mod:`._request`) and Response (:mod:`._response`): one model for the server
and the client.

A body is either ``bytes`` or an async iterable of ``bytes`` chunks (streaming, in both
directions). ``await message.read()`` collects a streamed body; ``message.stream()``
iterates it. This module does no I/O of its own: the server and client hand it the
async iterables that read from their connections.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from typing import Any, Union

from ..errors import HTTPStatusError, RTTPError
from ._forms import DEFAULT_CODEC_LIMITS, CodecLimits
from ._headers import Headers, HeadersLike
from ._media import default_codecs, lookup_codec, media_type_of, parse_json
from ._unset import UNSET as _UNSET

__all__ = [
    "Body",
    "FieldCallback",
    "HTTPStatusError",
    "StreamConsumed",
]

#: ``callback(chunk, metadata)`` for a field's first chunk, ``callback(chunk)`` for the
#: rest, ``callback()`` at its end (the seeds' stream_post_param); may be async.
FieldCallback = Callable[..., Any]


async def _call(callback: FieldCallback, *args: Any) -> None:
    result = callback(*args)
    if inspect.isawaitable(result):
        await result


Body = Union[bytes, bytearray, memoryview, str, AsyncIterable[bytes], None]


class StreamConsumed(RTTPError):
    """A streamed body was iterated a second time; read it with ``await read()`` to keep it."""


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
        if self._codecs is None:  # built by hand: the default plugin set's
            self._codecs = default_codecs()
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
        """The body parsed as JSON. Invalid JSON, or JSON nested deeper than the codec
        limits' ``max_json_depth`` (the server's setting on a request, 128 elsewhere), is
        a :class:`~rttp.errors.CodecError` (a ValueError) with status 400."""
        return parse_json(self.body, "application/json", self._codec_limits.max_json_depth)
