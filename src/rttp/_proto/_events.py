"""The events a protocol backend produces, and the contract a backend fulfils.

A *protocol backend* (h11 by default; an accelerated one may replace it) turns bytes
into events and events into bytes. It never does I/O: the Trio drivers in
:mod:`rttp._io` feed it what they receive and send what it returns.

Body data is returned as plain ``bytes`` (no wrapper object per chunk); the sentinels
:data:`NEED_DATA`, :data:`PAUSED` and :data:`CLOSED` say what the driver should do next.
"""

from __future__ import annotations

import abc
import dataclasses
import enum
from dataclasses import dataclass
from typing import Final, Union

from ..errors import RemoteProtocolError, TooLarge

__all__ = [
    "CLOSED",
    "ClientEvent",
    "ClientProtocol",
    "EndOfMessage",
    "HTTP1_STREAM",
    "NEED_DATA",
    "PAUSED",
    "ProtocolLimits",
    "RawHeaders",
    "RequestHead",
    "ResponseHead",
    "Sentinel",
    "ServerEvent",
    "ServerProtocol",
    "StreamData",
]

RawHeaders = list[tuple[bytes, bytes]]


class Sentinel(enum.Enum):
    """What the driver should do when no message event is ready."""

    NEED_DATA = "need_data"  #: receive more bytes and call ``receive_data``
    PAUSED = "paused"  #: answer the current message before reading the next one
    CLOSED = "closed"  #: the peer closed its side cleanly


#: the stream id of every HTTP/1.1 exchange (one at a time per connection)
HTTP1_STREAM: Final = 1

NEED_DATA: Final = Sentinel.NEED_DATA
PAUSED: Final = Sentinel.PAUSED
CLOSED: Final = Sentinel.CLOSED


@dataclass(frozen=True)
class ProtocolLimits:
    """Size limits a backend enforces while parsing (all in bytes, except the count).

    Crossing ``max_request_line`` is a 414, ``max_header_size`` or ``max_header_count``
    a 431 (a 502-style :class:`~rttp.errors.RemoteProtocolError` on the client).
    """

    max_request_line: int = 8190
    max_header_size: int = 16384
    max_header_count: int = 100
    #: the longest header line, and the longest chunk-size line (None: only the section
    #: limit applies); ``HTTPConnection(max_line_size=...)`` sets it with the request line
    max_line_size: int | None = None
    #: client side: interim (1xx) answers read before the final one; past it the
    #: response is refused (a server sending ``102 Processing`` for ever is not answering)
    max_interim_responses: int = 100

    def with_line_size(self, size: int) -> ProtocolLimits:
        """These limits with the request/status line and every header and chunk-size
        line bounded by ``size`` (the seed's ``max_line_size``)."""
        return dataclasses.replace(self, max_request_line=size, max_line_size=size)

    def header_line_too_long(self, name: bytes, size: int, status: int = 431) -> TooLarge:
        """431 (502 for responses) for one header line over ``max_line_size``."""
        limit = self.max_line_size or 0
        return TooLarge(
            f"header line {name[:64].decode('latin-1')!r} of {size} bytes is longer than "
            f"max_line_size={limit}",
            status,
            limit="max_line_size",
            value=limit,
        )

    def check_header_section(self, headers: RawHeaders) -> int:
        """The size of a request's complete header section (each field counted as its
        ``name: value`` line and CRLF), or the 431 of the first limit it crosses, in
        this order: the section's size, one line, the count. Every server backend
        checks a section here, so all of them refuse the same head the same way.

        The lines are measured one by one only when the whole section is longer than
        ``max_line_size`` (no line can be longer than the section): a typical head
        costs one short loop (summing the lengths in C through ``map`` and ``chain``
        takes twice its time for a head's few fields)."""
        size = 0
        for name, value in headers:
            size += len(name) + len(value)
        size += 4 * len(headers)
        if size > self.max_header_size:
            raise self.header_section_too_large()
        limit = self.max_line_size
        if limit and size > limit:
            self.check_lines(headers)
        if len(headers) > self.max_header_count:
            raise self.too_many_header_fields(len(headers))
        return size

    def check_lines(self, headers: RawHeaders, status: int = 431) -> None:
        """Each header line within ``max_line_size`` (name, ": ", value, CRLF), else the
        431 (``status``: 502 for a response) of the first one past it."""
        limit = self.max_line_size
        if limit:
            for name, value in headers:
                line = len(name) + len(value) + 4
                if line > limit:
                    raise self.header_line_too_long(name, line, status)

    # The errors for crossing each limit, so every backend says the same thing.
    def request_line_too_long(self) -> TooLarge:
        """414 for a request line over ``max_request_line``."""
        limit = self.max_request_line
        return TooLarge(
            f"request line longer than max_request_line={limit} bytes",
            414,
            limit="max_request_line",
            value=limit,
        )

    def header_section_too_large(
        self, what: str = "request header section", status: int = 431
    ) -> TooLarge:
        """431 (502 for responses) for a header or trailer section over ``max_header_size``."""
        limit = self.max_header_size
        return TooLarge(
            f"{what} larger than max_header_size={limit} bytes",
            status,
            limit="max_header_size",
            value=limit,
        )

    def framing_too_long(self, status: int = 400) -> RemoteProtocolError:
        """400 (502 for responses) for a body's chunk-size lines, extensions or trailer
        section passing ``max_line_size`` (``max_header_size`` when it is not set)."""
        limit = self.max_line_size or self.max_header_size
        name = "max_line_size" if self.max_line_size else "max_header_size"
        return RemoteProtocolError(
            f"chunk header or trailer section longer than {name}={limit} bytes", status
        )

    def too_many_header_fields(self, count: int, status: int = 431) -> TooLarge:
        """431 (502 for responses) for more than ``max_header_count`` fields."""
        limit = self.max_header_count
        return TooLarge(
            f"request has {count} header fields, more than max_header_count={limit}",
            status,
            limit="max_header_count",
            value=limit,
        )


class RequestHead:
    """A parsed request line and header section (server side)."""

    __slots__ = (
        "chunked",
        "content_encoding",
        "content_length",
        "expect_continue",
        "headers",
        "http_version",
        "keep_alive",
        "method",
        "stream_id",
        "target",
        "upgrade",
    )

    def __init__(
        self,
        method: bytes,
        target: bytes,
        headers: RawHeaders,
        http_version: bytes,
        keep_alive: bool = True,
        expect_continue: bool = False,
        upgrade: bytes | None = None,
        content_length: int | None = None,
        chunked: bool = False,
        content_encoding: bytes | None = None,
        stream_id: int = HTTP1_STREAM,
    ) -> None:
        self.method: bytes = method
        #: the exchange this head opens (always 1 on HTTP/1.1)
        self.stream_id: int = stream_id
        #: the framing the backend found, so the core need not scan the headers again
        self.content_length: int | None = content_length
        self.chunked: bool = chunked
        self.content_encoding: bytes | None = content_encoding
        self.target: bytes = target
        self.headers: RawHeaders = headers
        self.http_version: bytes = http_version
        self.keep_alive: bool = keep_alive
        self.expect_continue: bool = expect_continue
        self.upgrade: bytes | None = upgrade

    def __repr__(self) -> str:
        return f"RequestHead({self.method!r}, {self.target!r}, http_version={self.http_version!r})"


class ResponseHead:
    """A parsed status line and header section (client side); 1xx are informational."""

    __slots__ = ("headers", "http_version", "reason", "status", "stream_id")

    def __init__(
        self,
        status: int,
        reason: bytes,
        headers: RawHeaders,
        http_version: bytes,
        stream_id: int = HTTP1_STREAM,
    ) -> None:
        self.status: int = status
        #: the exchange this head answers (always 1 on HTTP/1.1)
        self.stream_id: int = stream_id
        self.reason: bytes = reason
        self.headers: RawHeaders = headers
        self.http_version: bytes = http_version

    def __repr__(self) -> str:
        return f"ResponseHead({self.status}, {self.reason!r})"


class EndOfMessage:
    """The end of a message body, with any trailer fields."""

    __slots__ = ("stream_id", "trailers")

    def __init__(self, trailers: RawHeaders | None = None, stream_id: int = HTTP1_STREAM) -> None:
        self.trailers: RawHeaders = trailers or []
        #: the exchange whose body ends (always 1 on HTTP/1.1)
        self.stream_id: int = stream_id

    def __repr__(self) -> str:
        return f"EndOfMessage(trailers={self.trailers!r})"


class StreamData:
    """Body data of one exchange, from a multiplexing protocol (HTTP/1.1 returns plain
    ``bytes``: the data of its one current exchange, with no object per chunk)."""

    __slots__ = ("data", "stream_id")

    def __init__(self, stream_id: int, data: bytes) -> None:
        self.stream_id: int = stream_id
        self.data: bytes = data

    def __repr__(self) -> str:
        return f"StreamData({self.stream_id}, {len(self.data)} bytes)"


ServerEvent = Union[RequestHead, bytes, StreamData, EndOfMessage, Sentinel]
ClientEvent = Union[ResponseHead, bytes, StreamData, EndOfMessage, Sentinel]


class ServerProtocol(abc.ABC):
    """The server half of an HTTP connection, without I/O.

    Parsing errors raise :class:`~rttp.errors.RemoteProtocolError` (or
    :class:`~rttp.errors.TooLarge`) whose ``status`` is the status to answer with.

    Every event names its exchange by ``stream_id``. An HTTP/1.1 protocol
    (``multiplexed = False``) carries one exchange at a time, always stream
    ``HTTP1_STREAM`` (1), and returns body data as plain ``bytes``; the engine runs its
    exchanges one after another in the connection's task. A multiplexing protocol sets
    ``multiplexed = True``, returns body data as :class:`StreamData`, and is driven by a
    multiplexing connection that runs each exchange in a task of its own.
    """

    __slots__ = ()

    #: True for a protocol that carries several exchanges at once (HTTP/2)
    multiplexed: bool = False

    @abc.abstractmethod
    def receive_data(self, data: bytes | bytearray) -> None:
        """Feed received bytes; ``b""`` means the peer closed its sending side."""

    @abc.abstractmethod
    def next_event(self) -> ServerEvent:
        """The next request head, body chunk (``bytes``), end of message, or a sentinel."""

    @abc.abstractmethod
    def send_informational(self, status: int, reason: bytes, headers: RawHeaders) -> bytes:
        """Bytes of a 1xx response (``100 Continue``, ``101 Switching Protocols``)."""

    @abc.abstractmethod
    def send_response(
        self, status: int, reason: bytes, headers: RawHeaders, body: bytes | None = None
    ) -> bytes:
        """Bytes of the response head; with ``body`` also the body and the end of message.

        The core has validated ``reason`` and ``headers`` (no CR, LF, NUL or other control
        bytes, token names) before calling: a backend need not check them again.

        The backend frames the body from the headers: Content-Length if present, chunked
        for HTTP/1.1 otherwise. For a HEAD request, or a 204/304, no body bytes are emitted.
        """

    def send_plain(self, status: int, reason: bytes, headers: RawHeaders, body: bytes) -> bytes:
        """Bytes of a whole response the core has framed itself: one Content-Length
        field that says ``len(body)``, and no Transfer-Encoding or Connection field. A
        backend may write it without looking at the fields; the default is
        :meth:`send_response`, which is always right."""
        return self.send_response(status, reason, headers, body)

    @abc.abstractmethod
    def send_data(self, data: bytes) -> bytes:
        """Bytes that carry one body chunk."""

    def frame_passthrough(self, length: int) -> tuple[bytes, bytes] | None:
        """Frame ``length`` body bytes that the caller writes itself, as the protocol
        had sent them (a file given to ``os.sendfile``): the bytes that go before and
        after them. None (the default) for a protocol that cannot pass bytes through:
        the caller sends them with :meth:`send_data` instead."""
        return None

    @abc.abstractmethod
    def send_end(self, trailers: RawHeaders | None = None) -> bytes:
        """Bytes that end the response body. ``trailers`` (validated by the core) come
        only when a handler gives some; a protocol that cannot carry them for this
        response raises :class:`~rttp.errors.LocalProtocolError`."""

    @abc.abstractmethod
    def start_next_cycle(self) -> bool:
        """After a complete exchange: True if the connection may serve another request."""

    @property
    @abc.abstractmethod
    def keep_alive(self) -> bool:
        """Whether the current exchange leaves the connection reusable."""

    @abc.abstractmethod
    def close_after_response(self) -> None:
        """Make the current response the last one (adds ``Connection: close`` if needed)."""

    @abc.abstractmethod
    def upgrade_trailing_data(self) -> bytes:
        """After a 101 response: the bytes already received that belong to the new protocol."""


class ClientProtocol(abc.ABC):
    """The client half of an HTTP connection, without I/O (see :class:`ServerProtocol`
    for ``multiplexed`` and stream ids)."""

    __slots__ = ()

    #: True for a protocol that carries several exchanges at once (HTTP/2)
    multiplexed: bool = False

    @abc.abstractmethod
    def send_request(self, method: bytes, target: bytes, headers: RawHeaders) -> bytes:
        """Bytes of the request head (framing from the headers, as for responses)."""

    @abc.abstractmethod
    def send_data(self, data: bytes) -> bytes:
        """Bytes that carry one body chunk."""

    @abc.abstractmethod
    def send_end(self) -> bytes:
        """Bytes that end the request body."""

    @abc.abstractmethod
    def receive_data(self, data: bytes | bytearray) -> None:
        """Feed received bytes; ``b""`` means the peer closed."""

    @abc.abstractmethod
    def next_event(self) -> ClientEvent:
        """The next response head (1xx included), body chunk, end of message, or a sentinel."""

    @abc.abstractmethod
    def start_next_cycle(self) -> bool:
        """After a complete exchange: True if the connection may carry another request."""

    @abc.abstractmethod
    def upgrade_trailing_data(self) -> bytes:
        """After a 101 response: the bytes already received that belong to the new protocol."""
