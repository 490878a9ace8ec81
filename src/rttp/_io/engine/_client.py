"""The client side of a connection: :class:`ClientConnection` sends requests and reads
responses, one :class:`ClientExchange` at a time (HTTP/1.1).

``send_request`` writes the head and body, ``read_response`` reads the head (skipping
1xx) and hands back a :class:`~rttp.Response` whose body reads from this connection.
When the body has been read to its end, or abandoned, the connection tells whoever lent
it out (``on_release``, the pool's hook) whether it can carry another request; it never
reaches into a client or a pool.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import trio

from ..._model import URL, Headers, HeadersLike, Request, Response
from ..._proto._encoding import BoundedDecoder, parse_content_encoding
from ..._proto._events import NEED_DATA, EndOfMessage, ResponseHead
from ..._proto._head import check_response_head
from ...errors import Cancelled, ReadError, RemoteProtocolError, TooLarge, WriteError
from .._util import aclose_iterable
from ._base import ConnectionBase

if TYPE_CHECKING:
    from ..._config import ClientConfig
from ._content import Content, body_from_content
from ._framing import request_head

__all__ = ["ClientConnection", "ClientExchange", "Progress"]

#: ``progress(download_total, downloaded, upload_total, uploaded)``; totals are None when
#: unknown. Returning ``False`` cancels the request with :class:`rttp.errors.Cancelled`.
Progress = Callable[[int | None, int, int | None, int], Any]


RawHeaders = list[tuple[bytes, bytes]]


class ClientExchange:
    """What one request/response cycle on a :class:`ClientConnection` holds: the
    progress counts, the body decoder, and whether the exchange has ended. Created once
    per connection and reset per request."""

    __slots__ = (
        "decoder",
        "download_total",
        "downloaded",
        "ended",
        "progress",
        "released",
        "stream_id",
        "upload_total",
        "uploaded",
    )

    def __init__(self) -> None:
        #: always 1 on HTTP/1.1 (one exchange at a time)
        self.stream_id: int = 1
        self.reset(None)
        #: the exchange was handed back (to the pool, or the connection closed)
        self.released: bool = False

    def reset(self, progress: Progress | None) -> None:
        """Ready for a new request, reporting to ``progress``."""
        self.progress: Progress | None = progress
        #: the response body was read to its end
        self.ended: bool = False
        self.released = False
        self.decoder: BoundedDecoder | None = None
        self.download_total: int | None = None
        self.downloaded: int = 0
        self.upload_total: int | None = None
        self.uploaded: int = 0

    def report(self) -> None:
        """Call the progress callback; raises Cancelled when it returns False."""
        if self.progress is not None and (
            self.progress(self.download_total, self.downloaded, self.upload_total, self.uploaded)
            is False
        ):
            raise Cancelled("request cancelled by its progress callback")


class ClientConnection(ConnectionBase):
    """One HTTP/1.1 connection a client opened (or :class:`~rttp.HTTPConnection` in the
    client role; see there)."""

    __slots__ = (
        "decode",
        "exchange",
        "forward_proxy",
        "idle_since",
        "key",
        "max_decoded_size",
        "max_decompression_ratio",
        "on_release",
        "ready",
        "reused",
        "unprocessed",
    )

    def __init__(self, stream: trio.abc.Stream, proto: Any = None, **base: Any) -> None:
        super().__init__(stream, **base)
        #: the backend's protocol object (``proto``: one made elsewhere, an HTTP/2
        #: stream's view of its connection)
        self._proto = self.backend.client(self.limits) if proto is None else proto
        self.exchange: ClientExchange = ClientExchange()
        #: ``on_release(connection, reusable) -> kept`` when an exchange ends (the pool's
        #: hook): True if it keeps the connection, False and the connection closes itself
        self.on_release: Callable[[Any, bool], bool] | None = None
        #: the connection was taken from a pool's idle set (a failure may be a stale close)
        self.reused: bool = False
        #: the server said it did not process the request (an HTTP/2 stream it refused)
        self.unprocessed: bool = False
        self.idle_since: float = 0.0
        #: the pool's key for it
        self.key: Any = None
        #: the proxy route when this connection goes to a forwarding proxy (requests are
        #: then sent in absolute form, with the proxy's credentials)
        self.forward_proxy: Any = None
        #: decode the response body's content codings
        self.decode: bool = True
        self.ready: bool = True  # no exchange yet: ready for the first
        self.max_decoded_size: int | None = None
        self.max_decompression_ratio: float | None = None

    def configure(self, config: ClientConfig) -> None:
        """Take the body-decoding settings of a client's configuration."""
        self.max_decoded_size = config.max_decoded_size
        self.max_decompression_ratio = config.max_decompression_ratio
        self.decode = config.decode_content

    def lend(self, read_timeout: float | None, write_timeout: float | None) -> None:
        """The pool lends this connection out for one exchange, under these timeouts."""
        self.exchange.released = False  # this lending is paired with exactly one release
        self.read_timeout = read_timeout
        self.write_timeout = write_timeout

    # -- the seed's request object -------------------------------------------------------
    def make_request(
        self,
        *,
        host: str | None = None,
        method: str = "GET",
        uri: str = "/",
        headers: HeadersLike = None,
        content: Content = None,
        content_size: int | None = None,
        compress: bool = True,
        close: bool = False,
    ) -> Request:
        """A request for this connection (see :meth:`rttp.HTTPConnection.make_request`)."""
        body, size = body_from_content(content, content_size)
        request = Request(method, uri, headers=headers, body=body)
        if host is not None:
            request.headers.setdefault("Host", host)
        if "host" not in request.headers:
            request.headers["Host"] = self.where if self.where != "the peer" else "localhost"
        request._url = URL(f"http://{request.headers['host']}{uri if uri != '*' else ''}")
        request.target = uri
        if size is not None and not isinstance(body, bytes):
            request.headers.setdefault("Content-Length", str(size))
        if compress and self.plugins.encodings:
            offered = self.plugins.offered_encodings
            request.headers.setdefault("Accept-Encoding", ", ".join(offered))
        self.decode = compress
        if close:
            request.headers["Connection"] = "close"
        return request

    # -- one exchange ---------------------------------------------------------------------
    async def send_request(
        self,
        request: Request,
        head: tuple[bytes, bytes, RawHeaders] | None = None,
        *,
        progress: Progress | None = None,
        deadline: float = math.inf,
    ) -> None:
        """Send ``request`` (its head, from :func:`request_head` unless given, and body).
        ``deadline`` (on Trio's clock) bounds the whole exchange, its body's reads too.

        If the server answers early and closes (a 413 or 401 while the body is still
        going out), the write error is swallowed so that :meth:`read_response` can read
        what it said.
        """
        proto = self._proto
        self.exchange.reset(progress)
        self.ready = False
        self.total_deadline = deadline
        method, target, headers = head if head is not None else request_head(request)
        body = request._content
        try:
            if body is not None:
                self.exchange.upload_total = len(body)
                data = proto.send_request(method, target, headers)
                if body:
                    data += proto.send_data(body)
                data += proto.send_end()
                await self._send(data)
                self.exchange.uploaded = len(body)
                if body:
                    self.exchange.report()
            else:
                declared = request.headers.get("content-length")
                self.exchange.upload_total = (
                    int(declared) if declared and declared.isdigit() else None
                )
                await self._send(proto.send_request(method, target, headers))
                try:
                    async for chunk in request.stream():
                        await self._send(proto.send_data(chunk))
                        self.exchange.uploaded += len(chunk)
                        self.exchange.report()
                finally:
                    await aclose_iterable(request._stream)
                await self._send(proto.send_end())
        except WriteError:
            # the server may have answered early (413, 401) and closed: read what it said
            pass

    async def read_response(self, request: Request | None = None) -> Response:
        """The response head; its body streams from this connection (``response.stream()``,
        ``await response.read()``). A redirect exposes ``response.redirect_location``."""
        proto = self._proto
        interim = 0
        while True:
            event = proto.next_event()
            if event is NEED_DATA:
                proto.receive_data(await self._receive())
                continue
            if type(event) is ResponseHead:
                check_response_head(event.status, event.http_version, self.where)
                if event.status >= 200:
                    break
                if event.status == 101:
                    self._check_switch(request)
                    break
                interim += 1  # 100 Continue, 102 Processing, 103 Early Hints
                if interim > self.limits.max_interim_responses:
                    self.closing = True
                    limit = self.limits.max_interim_responses
                    raise RemoteProtocolError(
                        f"{self.where} sent more than max_interim_responses={limit} "
                        f"interim (1xx) answers (the last: {event.status})",
                        502,
                    )
                continue
            self.closing = True
            # an I/O failure, not a broken protocol: what a caller retries on (seed 002)
            raise ReadError(
                f"{self.where} closed the connection without sending a response",
                reason="closed",
            )
        head = event
        response = Response.received(
            head.status,
            head.reason.decode("latin-1"),
            Headers.from_raw(head.headers),
            head.http_version.decode("ascii"),
            codecs=self.plugins.body_codecs,
        )
        response.request = request
        length = response.headers.get("content-length")
        self.exchange.download_total = int(length) if length and length.isdigit() else None
        coding = response.headers.get("content-encoding")
        codings = parse_content_encoding(coding) if coding else None
        method = request.method if request is not None else "GET"
        if codings and self.decode and method != "HEAD":
            encodings = self.plugins.encodings
            if all(c in encodings or c == "identity" for c in codings):
                self.exchange.decoder = BoundedDecoder(
                    [encodings[c].decoder() for c in reversed(codings) if c != "identity"],
                    max_size=self.max_decoded_size,
                    max_ratio=self.max_decompression_ratio,
                )
        if self.exchange.progress is not None:
            self.exchange.report()
        if request is not None and request._url is not None:
            response.url = request._url
        if self.on_release is None:  # used on its own: the body streams from here
            self.stream_body(response)
        return response

    def _check_switch(self, request: Request | None) -> None:
        """A 101 answers only a request that asked to upgrade (RFC 9110 §15.2.2)."""
        if request is None or not (
            "upgrade" in request.headers and "upgrade" in request.headers.flags("connection")
        ):
            self.closing = True
            raise RemoteProtocolError(
                f"{self.where} switched protocols (101) though the request asked for no upgrade",
                502,
            )

    def stream_body(self, response: Response) -> None:
        """Make ``response``'s body read from this connection; ``response.aclose()``
        abandons it (the connection is then not reused)."""
        body = response._stream = self.body()

        async def abandon() -> None:
            await aclose_iterable(body)
            await self.release(False)

        response._aclose = abandon

    async def _pieces(self) -> list[bytes] | None:
        """The next decoded pieces of the body, or None once it has ended."""
        proto = self._proto
        assert proto is not None
        while True:
            event = proto.next_event()
            if type(event) is bytes:
                self.exchange.downloaded += len(event)
                self.exchange.report()
                return (
                    [event]
                    if self.exchange.decoder is None
                    else list(self.exchange.decoder.feed(event))
                )
            if event is NEED_DATA:
                proto.receive_data(await self._receive())
            elif type(event) is EndOfMessage:
                self.exchange.ended = True
                return (
                    list(self.exchange.decoder.finish())
                    if self.exchange.decoder is not None
                    else None
                )
            else:
                self.closing = True
                raise RemoteProtocolError(
                    f"{self.where} closed the connection before the response body was complete"
                )

    async def body(self) -> AsyncIterator[bytes]:
        """The response body as it arrives, decoded; ends the exchange when done or abandoned."""
        try:
            while not self.exchange.ended:
                pieces = await self._pieces()
                if pieces:
                    for piece in pieces:
                        yield piece
        finally:
            await self.release(self.exchange.ended)

    async def read_body(self, max_size: int | None = None) -> bytes:
        """The whole body (no iterator objects: the path of ``client.get``); ends the
        exchange. More than ``max_size`` bytes (decoded) raise TooLarge."""
        chunks: list[bytes] = []
        size = 0
        try:
            while not self.exchange.ended:
                pieces = await self._pieces()
                if pieces:
                    chunks.extend(pieces)
                    if max_size is not None:
                        size += sum(map(len, pieces))
                        if size > max_size:
                            raise TooLarge(
                                f"response body from {self.where} is larger than "
                                f"max_body_size={max_size} bytes (client.stream() reads "
                                "any size)",
                                502,
                                limit="max_body_size",
                                value=max_size,
                            )
        finally:
            await self.release(self.exchange.ended)
        return b"".join(chunks)

    async def release(self, reusable: bool) -> None:
        """End the exchange (once): hand the connection back through ``on_release``, or,
        used on its own, close it unless it can carry another request."""
        if self.exchange.released:
            return
        self.exchange.released = True
        if self.on_release is not None:
            if not self.on_release(self, reusable and not self.closing):
                self.closing = True
                await trio.aclose_forcefully(self.stream)  # works even when cancelled
        elif not (reusable and not self.closing and self.next_cycle()):
            await self.aclose()

    def next_cycle(self) -> bool:
        """Ready the connection for the next exchange (idempotent); False if it cannot
        carry one (then close it)."""
        proto = self._proto
        if proto is None or self.closing or self.detached:
            return False
        if not self.ready:
            self.ready = proto.start_next_cycle()
        return self.ready
