"""The request object of Moonbridge's HTTP module (seed 004), over the core's Request,
Headers and form machinery (no second header or multipart parser).

A Python property cannot wait, so the body is read by an awaitable:
``await request.process_request_body()`` (or ``consume_input()``, or the first
``send_*`` that writes, unless ``defer_reading()`` was called). ``body`` and the
``post_*`` tables are there after it; reading them before says so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .._io._util import call_maybe_async
from .._io.engine._settings import error_response
from .._model import FormData, Headers
from .._model._messages import FieldCallback
from ..errors import CodecError, TransportError

if TYPE_CHECKING:
    from .._io.engine._exchange import ServerExchange
    from ._http import HttpOptions
    from ._socket import Socket

__all__ = ["HttpRequest"]

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class _Flags(frozenset[str]):
    """A header's comma-separated tokens; ``flags["Close"]`` is True or False."""

    def __getitem__(self, token: str) -> bool:
        return token.lower() in self


class _HeaderView(Mapping[str, Any]):
    """A case-insensitive table over the request's headers (one of the seed's views)."""

    def __init__(self, headers: Headers, view: Callable[[str], Any]) -> None:
        self._headers = headers
        self._view = view

    def __getitem__(self, name: str) -> Any:
        if name not in self._headers:
            raise KeyError(name)
        return self._view(name)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name.lower() for name in self._headers))

    def __len__(self) -> int:
        return len(dict.fromkeys(name.lower() for name in self._headers))


class HttpRequest:
    """One HTTP request as the ``generate_handler`` callback sees it."""

    def __init__(self, exchange: ServerExchange, sock: Socket, options: HttpOptions) -> None:
        request = exchange.request
        assert request is not None
        self._exchange = exchange
        self._answer = exchange.answer
        self._request = request
        self._options = options
        #: the underlying :class:`~rttp.moonbridge.Socket` (``request.socket.reset()``)
        self.socket = sock
        #: True once a read or write on the connection failed
        self.faulty: bool = False
        #: the request method, e.g. ``"GET"``
        self.method: str = request.method
        asterisk = request.method == "OPTIONS" and request.target == "*"
        #: the path without its leading slash and query (None for ``OPTIONS *``)
        self.path: str | None = None if asterisk else request.path.removeprefix("/")
        #: the query with its ``?`` (``""`` without one; None for ``OPTIONS *``)
        self.query: str | None = (
            None if asterisk else ("?" + request.query if request.query else "")
        )
        headers = request.headers
        #: name -> every value (case-insensitive)
        self.headers: _HeaderView = _HeaderView(headers, headers.get_all)
        #: name -> the values joined with commas
        self.headers_csv_string: _HeaderView = _HeaderView(headers, headers.csv_string)
        #: name -> every comma-separated element
        self.headers_csv_table: _HeaderView = _HeaderView(headers, headers.csv_list)
        #: name -> its tokens, ``headers_flags["connection"]["close"]`` → bool
        self.headers_flags: _HeaderView = _HeaderView(
            headers, lambda name: _Flags(headers.flags(name))
        )
        #: name -> the single value (falsy :data:`rttp.MULTIPLE` when it repeats)
        self.headers_value: _HeaderView = _HeaderView(headers, headers.value)
        params = request.params
        #: the first value of each query field, and every value
        self.get_params: dict[str, str] = {k: params.get_all(k)[0] for k in params}
        self.get_params_list: dict[str, list[str]] = {k: params.get_all(k) for k in params}
        #: the cookies the client sent
        self.cookies: dict[str, str] = request.cookies
        self._status: tuple[int, str] | None = None
        self._fields: list[tuple[str, str]] = []
        self._head_sent = self._finished = self._close = self._deferred = False
        self._processed = False
        self._body: bytes | None = None
        self._form: FormData | None = None
        self._out = bytearray()

    @property
    def started(self) -> bool:
        """Whether the answer's head has gone out."""
        return self._head_sent

    @property
    def answered(self) -> bool:
        """Whether the handler gave a status (a status-only answer is an answer: the
        server finishes it when the handler returns, as Moonbridge does)."""
        return self._status is not None

    async def _write(self, operation: Awaitable[None]) -> None:
        """A write to the client; a failed one sets :attr:`faulty` before it is raised."""
        try:
            await operation
        except TransportError:
            self.faulty = True
            raise

    # -- the body --------------------------------------------------------------------------
    def defer_reading(self) -> None:
        """Do not read the body before the first write (answer before it is in)."""
        self._deferred = True

    def _is_form(self) -> bool:
        content_type = (self._request.headers.get("content-type") or "").lower()
        return any(content_type.startswith(kind) for kind in _FORM_TYPES)

    async def process_request_body(self) -> None:
        """Read the body (once): a form fills the ``post_*`` tables and feeds the stream
        handlers registered with :meth:`stream_post_param`; anything else is :attr:`body`."""
        if self._processed:
            return
        self._processed = True
        if self._is_form():
            self._form = await self._request.process_body()
        else:
            self._body = await self._request.read()

    async def consume_input(self) -> None:
        """Read the rest of the body (the seed's example does before it answers)."""
        await self.process_request_body()

    async def stream_request_body(self, callback: Callable[[bytes], Any] | None) -> None:
        """Each chunk of the body (at most ``maximum_input_chunk_size``) to ``callback``,
        sync or async; returns at the end. None reads and discards it (a no-op when the
        body was processed already)."""
        if self._processed:
            if callback is None:
                return
            raise RuntimeError("the request body was already processed")
        self._processed = True
        size = self._options.input_chunk
        async for chunk in self._request.stream():
            if callback is None:
                continue
            for start in range(0, len(chunk), size):
                await call_maybe_async(callback, chunk[start : start + size])

    def stream_post_param(self, name: str, callback: FieldCallback) -> None:
        """Stream the form field ``name``: ``callback(first, metadata)``, ``callback(chunk)``
        …, then ``callback()`` (register before the body is processed)."""
        self._before_processing()
        self._request.stream_post_param(name, callback)

    def stream_post_params(self, pattern: str, callback: FieldCallback) -> None:
        """:meth:`stream_post_param` for every field whose name matches ``pattern``."""
        self._before_processing()
        self._request.stream_post_params(pattern, callback)

    def _before_processing(self) -> None:
        if self._processed:
            raise RuntimeError("register stream handlers before the request body is processed")

    def _processed_form(self, what: str) -> FormData:
        if not self._processed:
            raise RuntimeError(f"{what} needs the body: await request.process_request_body() first")
        if self._form is None and self._body:
            content_type = self._request.headers.get("content-type")
            raise CodecError(
                f"{what}: the body is not a form (Content-Type {content_type!r}; send "
                "application/x-www-form-urlencoded or multipart/form-data)",
                status=415,
            )
        return self._form if self._form is not None else FormData()

    @property
    def body(self) -> bytes:
        """The body as bytes (after :meth:`process_request_body`; not for a form)."""
        if not self._processed:
            raise RuntimeError("body needs the body: await request.process_request_body() first")
        if self._body is None:
            raise RuntimeError("the body was read as a form: use post_params")
        return self._body

    @property
    def post_params(self) -> dict[str, Any]:
        """The first value of each form field."""
        return self._processed_form("post_params").params

    @property
    def post_params_list(self) -> dict[str, list[Any]]:
        """Every value of each form field."""
        return self._processed_form("post_params_list").params_list

    @property
    def post_metadata(self) -> dict[str, dict[str, str | None]]:
        """File name and content type of the first file of each multipart field."""
        form = self._processed_form("post_metadata")
        return {name: meta for name in form if (meta := form.metadata(name)) is not None}

    @property
    def post_metadata_list(self) -> dict[str, list[dict[str, str | None]]]:
        """File name and content type of every file of each multipart field."""
        form = self._processed_form("post_metadata_list")
        return {name: metas for name in form if (metas := form.metadata_list(name))}

    # -- the answer ------------------------------------------------------------------------
    def close_after_finish(self) -> None:
        """Close the connection after this answer (``Connection: close`` is sent)."""
        if self._head_sent:
            raise RuntimeError("close_after_finish() must come before the head is finished")
        self._close = True

    def send_status(self, status: str) -> None:
        """The status, as ``"200 OK"`` (once, before any header)."""
        if self._status is not None:
            raise RuntimeError(f"send_status() was called already (with {self._status[0]})")
        code, _, reason = str(status).strip().partition(" ")
        if len(code) != 3 or not code.isdigit() or not 100 <= int(code) <= 599:
            raise ValueError(f"a status is a 3-digit code and a reason, got {status!r}")
        self._status = (int(code), reason.strip())

    def send_header(self, name: str, value: Any) -> None:
        """One header field (after :meth:`send_status`, before the body starts)."""
        if self._status is None:
            raise RuntimeError("send_status() must come before send_header()")
        if self._head_sent:
            raise RuntimeError(f"header {name!r} after the body has started")
        self._fields.append((str(name), str(value)))

    async def finish_headers(self) -> None:
        """Send the head (the body is read first unless :meth:`defer_reading`)."""
        if self._head_sent:
            return
        if self._status is None:
            raise RuntimeError("send_status() must come before the head is finished")
        if not self._deferred:
            await self.process_request_body()
        if self._close:
            self._exchange.conn.close_after_exchange()
        code, reason = self._status
        self._answer.start(
            code, [*self._options.static_headers, *self._fields], reason=reason or None
        )
        self._head_sent = True

    async def send_data(self, *parts: Any) -> None:
        """Body data: each part as bytes (str as UTF-8, anything else as ``str()``);
        small pieces are held until ``minimum_output_chunk_size`` (ignored for HEAD)."""
        if self._finished:
            raise RuntimeError("send_data() after finish()")
        await self.finish_headers()
        if self.method == "HEAD":
            return
        for part in parts:
            if isinstance(part, (bytes, bytearray, memoryview)):
                self._out += part
            else:
                self._out += str(part).encode("utf-8")
        if len(self._out) >= self._options.output_chunk:
            await self._send_out()

    async def _send_out(self) -> None:
        if self._out:
            data, self._out = bytes(self._out), bytearray()
            await self._write(self._answer.send(data))

    async def flush(self) -> None:
        """Send what is held, now."""
        await self.finish_headers()
        await self._send_out()
        await self._write(self._answer.flush())

    async def finish(self) -> None:
        """End the answer (a second call does nothing)."""
        if self._finished:
            return
        await self.finish_headers()
        await self._send_out()
        await self._write(self._answer.finish())
        self._finished = True

    async def fail(self, status: int, message: str) -> None:
        """An error answer in place of one the handler did not (or could not) send."""
        self._finished = self._head_sent = True
        self._exchange.conn.close_after_exchange()
        await self._answer.send_response(error_response(status, message))

    def __repr__(self) -> str:
        return f"<rttp.moonbridge.HttpRequest {self.method} {self._request.target}>"
