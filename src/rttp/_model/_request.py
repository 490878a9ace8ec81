"""The request: as a server handler receives it, or as a client sends it."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ..errors import CodecError, RTTPError
from ._forms import DEFAULT_CODEC_LIMITS, FIELD_END, CodecLimits, FieldInfo, FormAssembler, FormData
from ._headers import Headers, HeadersLike, _new
from ._media import lookup_codec, media_type_of
from ._messages import (
    Body,
    FieldCallback,
    _as_headers,
    _call,
    _Message,
)
from ._url import URL, QueryParams

if TYPE_CHECKING:
    from ._answer import Answer
    from ._response import Response

__all__ = ["Request"]


class Request(_Message):
    """An HTTP request, as a server handler receives it or as a client sends it.

    ``method`` and ``path`` are ``str``; ``path`` is percent-decoded, ``target`` is the raw
    request target. On the server, ``client`` is the peer's ``(host, port)``.
    """

    __slots__ = (
        "_answer",
        "_field_handlers_list",
        "_form",
        "_parameters",
        "_url",
        "client",
        "extensions",
        "http_version",
        "identity",
        "method",
        "root_path",
        "scheme",
        "target",
        "upgrader",
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
        self.method: str = method.upper()
        self.headers: Headers = _as_headers(headers)
        self.http_version: str = http_version
        self.client: tuple[str, int] | None = client
        self.extensions: dict[str, Any] = {}
        #: who the request proved to be (an :class:`rttp.auth.Identity`), once
        #: :func:`rttp.auth.require` has checked it; None before
        self.identity: Any = None
        #: the prefix a proxy serves the app under, taken off the path (``root_path``)
        self.root_path: str = ""
        self._parameters: dict[str, Any] | None = None
        #: set by a router that can take this connection over (see :meth:`upgrade`)
        self.upgrader: Callable[[], Response] | None = None
        self._field_handlers_list: list[tuple[Callable[[str], bool], FieldCallback]] | None = None
        if isinstance(url, URL) or "://" in url:
            # a copy: URL attributes can be assigned, so a caller's URL is not shared
            self._url: URL | None = URL(url)
            self.target: str = self._url.target
            self.scheme: str = self._url.scheme
        else:
            self._url = None
            self.target = url
            self.scheme = scheme
        self._form: FormData | None = None
        self._answer: Any = None
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
        if self._parameters is None:
            self._parameters = {}
        return self._parameters

    @parameters.setter
    def parameters(self, value: dict[str, Any]) -> None:
        self._parameters = value

    def upgrade(self) -> Response:
        """Accept this request's WebSocket handshake (when a router offers it): return the result.

        Raises RTTPError when nothing on this server can take the connection over.
        """
        upgrade = self.upgrader
        if upgrade is None:
            raise RTTPError(
                f"{self.method} {self.target} cannot be upgraded here: no socket route serves it"
            )
        return upgrade()

    def respond(
        self, status: int = 200, headers: HeadersLike = None, *, reason: str | None = None
    ) -> Answer:
        """Answer this request push-style: the head is ``status`` and ``headers`` (sent with
        the first piece), and the returned :class:`~rttp.Answer` sends the body as it
        exists. The handler then returns None (see :class:`~rttp.Answer`)::

            async def download(request):
                answer = request.respond(200, {"Content-Type": "application/x-ndjson"})
                async for row in rows():
                    await answer.send(json.dumps(row) + "\\n")
                await answer.finish()

        Raises RuntimeError for a request no server received, or one already answered.
        """
        answer = self._answer
        if answer is None:
            raise RuntimeError(
                f"{self.method} {self.target} was not received by a server: only a "
                "handler's request can be answered with respond()"
            )
        started: Answer = answer.start(status, headers, reason=reason)
        return started

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
        request = _new(cls)
        request.method = method
        request.target = target
        request.headers = headers
        request.http_version = http_version
        request.scheme = scheme
        request.client = client
        request.extensions = {}
        request.identity = None
        request.root_path = ""
        request._parameters = None
        request.upgrader = None
        request._field_handlers_list = None
        request._url = None
        request._form = None
        request._answer = None
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
        if self._field_handlers_list is None:
            self._field_handlers_list = []
        return self._field_handlers_list

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
        handlers = self._field_handlers_list or []
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
