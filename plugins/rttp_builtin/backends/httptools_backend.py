"""An accelerated HTTP/1.1 backend on httptools (llhttp, the parser behind uvicorn and Node).

llhttp parses; this module turns its callbacks into the backend events, adds what a
hardened server needs on top (Host rules, Expect, version, transfer-codings other than
chunked, the size limits, which llhttp does not have), and writes responses itself (the
core validated every field before they reach it). The h11 backend stays the reference:
the same hostile-input suite runs against both.

Size limits: the request line is measured as llhttp reports it (414); the header
section is checked once it is complete, by the check every server backend shares (431),
and its fields are counted as they arrive (an unfinished head holds at most
``max_header_count`` of them); while a head is incomplete, the bytes fed to it are
counted from the read after the one it began in, so a slow or endless header is refused
once it passes ``max_header_size`` (memory stays bounded by that plus one read).

Client side, the same parser reads responses; requests are written here.
"""

from __future__ import annotations

from typing import Any

from rttp.errors import ProtocolError, RemoteProtocolError
from rttp.plugin import (
    CLOSED,
    MAX_LENGTH,
    NEED_DATA,
    PAUSED,
    ClientProtocol,
    EndOfMessage,
    ProtocolBackend,
    ProtocolLimits,
    RawHeaders,
    RequestHead,
    ResponseWriter,
    ServerProtocol,
    check_trailers,
    chunk_overflow,
    hookimpl,
    make_request_head,
    request_line_version,
    trailer_field_error,
)

from ._boundaries import RequestLines, last_chunk_size
from ._llhttp import (
    BODY,
    END,
    ERROR,
    HEAD,
    IDLE,
    VERSIONS,
    after_upgrade,
    framing_error,
    framing_field,
    httptools,
    translate,
)

__all__ = ["HttptoolsBackend", "HttptoolsServer"]


_LINE_ENDS = (10, 13)  # LF, CR: empty lines before a request


def _split_blank_line(tail: bytes, data: bytes | bytearray, found: int) -> int:
    """Where in ``data`` a blank line begins that started in the last read (``tail``,
    its last bytes), as an index whose ``+ 4`` is its end; else ``found``."""
    joined = tail + bytes(data[:3])
    at = joined.find(b"\r\n\r\n")
    return at - len(tail) if 0 <= at < len(tail) else found


#: the field list between messages (never appended to: a message begins with its own)
_NO_FIELDS: RawHeaders = []


class HttptoolsServer(ResponseWriter, ServerProtocol):
    """Server side of one connection on llhttp (its responses: :class:`ResponseWriter`)."""

    # slots: the per-connection state stays one small block (an instance dict of
    # these 30 fields took 1.6 KiB of the memory per idle connection)
    __slots__ = (
        "_body_tail",
        "_chunk_data",
        "_chunk_in_read",
        "_chunk_open",
        "_chunks",
        "_eof",
        "_events",
        "_explained",
        "_head_began_in_feed",
        "_head_fed",
        "_headers",
        "_limits",
        "_lines",
        "_max_header_count",
        "_max_header_size",
        "_max_request_line",
        "_overhead",
        "_parser",
        "_request_done",
        "_sized_left",
        "_state",
        "_stopped",
        "_tail",
        "_trailers",
        "_upgraded",
        "_url",
        "_waiting",
    )

    def __init__(self, limits: ProtocolLimits) -> None:
        ResponseWriter.__init__(self)
        self._limits = limits
        self._max_header_count = limits.max_header_count
        self._max_header_size = limits.max_header_size
        self._max_request_line = limits.max_request_line
        self._parser = httptools.HttpRequestParser(self)
        # a list, not a deque: a deque's first block alone is 0.6 KiB per connection,
        # and a read yields a handful of events
        self._events: list[Any] = []
        self._state = IDLE  # where llhttp is in the current message
        self._url = b""
        self._headers: RawHeaders = []
        self._head_began_in_feed = False
        self._head_fed = 0
        self._trailers: RawHeaders | None = None
        # where requests begin: llhttp is fed in pieces that end where a message may
        # (see _boundaries), and each request line is recorded as it arrives
        self._lines = RequestLines()
        self._sized_left: int | None = None  # bytes of a sized body still to come
        self._tail = b""  # the last bytes of a read that ended inside a head
        self._upgraded = b""
        self._stopped = False  # after an upgrade or an error: nothing more is parsed
        # the exchange in progress
        self._request_done = False
        self._waiting = False  # a request was handed out and its cycle is not restarted
        self._eof = False
        # framing bytes (chunk sizes, extensions, trailers): each read's bytes that the
        # request line, header fields and body data do not account for
        self._explained = 0
        self._overhead = 0
        self._chunks = 0
        # the chunk in progress: llhttp takes sizes up to 2**64 - 1 and waits for the
        # data; its size line is read back to refuse one past MAX_LENGTH at once
        self._chunk_open = False
        self._chunk_data = 0  # its data bytes in this read
        self._chunk_in_read = False
        self._body_tail = b""  # the end of the last read of a body

    # -- llhttp callbacks -----------------------------------------------------------------
    def on_message_begin(self) -> None:
        lines = self._lines
        if lines.fresh:
            lines.fresh = False
        else:
            lines.begin()  # it began inside a piece: its line is unknown
        self._state = HEAD
        self._head_began_in_feed = True
        self._head_fed = 0
        self._url = b""
        self._headers = []

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > self._max_request_line:
            raise self._limits.request_line_too_long()

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._state == BODY:
            self._on_trailer(name, value)
            return
        # sized once the section is complete (its bytes are bounded as they are fed);
        # counted as the fields arrive, so that an unfinished head of tiny fields never
        # holds more than max_header_count of them (a field is ~130 bytes of objects)
        headers = self._headers
        headers.append((name, value))
        if len(headers) > self._max_header_count:
            self._limits.check_header_section(headers)  # raises (the count, at least)

    def _on_trailer(self, name: bytes, value: bytes) -> None:
        self._explained += len(name) + len(value) + 4
        if self._trailers is None:
            self._trailers = []
        self._trailers.append((name, value))
        check_trailers(self._trailers, self._limits)

    def on_headers_complete(self) -> None:
        self._state = BODY
        parser = self._parser
        method = parser.get_method()
        lines = self._lines
        if lines.complete:
            version = request_line_version(lines.source, lines.at, method, self._url)
        else:  # a request that began inside a piece: llhttp's word for its version
            http_version = parser.get_http_version()
            version = VERSIONS.get(http_version) or http_version.encode("latin-1")
        size = self._limits.check_header_section(self._headers)
        head = make_request_head(method, self._url, self._headers, version)
        if head.chunked or head.content_length:
            # a body follows: its framing bytes are counted from here, and the head's
            # share of this read (spaces, version and CRLFs: 14 bytes) is not framing
            self._overhead = self._chunks = 0
            self._explained += len(method) + len(self._url) + size + 14
            if not head.chunked:
                self._sized_left = head.content_length
        # an idle connection keeps nothing of its last request: not its fields, its
        # target, nor the read its request line was found in (up to read_size bytes)
        self._headers = _NO_FIELDS
        self._url = b""
        lines.source, lines.at = b"", 0
        self._events.append(head)

    def on_body(self, body: bytes) -> None:
        self._explained += len(body)
        self._chunk_data += len(body)
        if self._sized_left is not None:
            self._sized_left -= len(body)
        self._events.append(bytes(body))

    def on_chunk_header(self) -> None:
        self._chunks += 1
        self._chunk_open = self._chunk_in_read = True
        self._chunk_data = 0

    def on_chunk_complete(self) -> None:
        self._chunk_open = False

    def on_message_complete(self) -> None:
        self._sized_left = None
        self._state = IDLE
        trailers, self._trailers = self._trailers, None
        self._events.append(END if trailers is None else EndOfMessage(trailers))

    # -- receiving ------------------------------------------------------------------------
    def receive_data(self, data: bytes | bytearray) -> None:
        if not data:
            self._eof = True
            return
        if self._stopped:
            return
        if self._state == HEAD and not self._head_began_in_feed:
            self._head_fed += len(data)
            if self._head_fed > self._max_header_size + self._max_request_line:
                self._queue_error(self._limits.header_section_too_large())
                return
        self._head_began_in_feed = False
        self._explained = 0
        self._chunk_in_read = False
        lines = self._lines
        if self._state == HEAD and not lines.complete:
            lines.extend(data)  # a request line that arrives in parts
        # llhttp is fed in pieces that end where a message may end (after a blank line,
        # which ends every head and chunked body, or after a sized body), so that each
        # request begins a piece and its request line is seen (see _boundaries)
        end = len(data)
        pos = 0
        while pos < end:
            state = self._state
            sized = self._sized_left
            if sized is not None and state == BODY:
                cut = pos + sized
                if cut > end:
                    cut = end
            else:
                at = data.find(b"\r\n\r\n", pos)
                if state == HEAD and pos == 0 and self._tail:
                    at = _split_blank_line(self._tail, data, at)
                cut = end if at < 0 else at + 4
            if state == IDLE:
                if data[pos] not in _LINE_ENDS and lines.empties == 0:
                    # the common case, inline: a piece that ends with its blank line
                    # holds its whole request line
                    if at >= 0 or data.find(b"\n", pos, cut) >= 0:
                        lines.source, lines.at, lines.complete, lines.fresh = data, pos, True, True
                    else:
                        lines.start(data, pos, cut)
                else:
                    error = lines.start(data, pos, cut)
                    if error is not None:
                        self._queue_error(error)
                        return
            if cut - pos == end:
                piece: bytes | bytearray | memoryview = data
            else:  # a head is copied (it is small); a body is not
                piece = data[pos:cut] if cut - pos < 4096 else memoryview(data)[pos:cut]
            try:
                self._parser.feed_data(piece)
            except httptools.HttpParserUpgrade as upgrade:
                self._upgraded = after_upgrade(upgrade, piece) + bytes(data[cut:])
                self._stopped = True
                if not any(isinstance(e, EndOfMessage) for e in self._events):
                    self._events.append(END)
                return
            except ProtocolError as exc:
                self._queue_error(exc)
                return
            except httptools.HttpParserError as exc:
                self._queue_error(self._parser_error(exc))
                return
            pos = cut
        self._tail = bytes(data[-3:]) if self._state == HEAD else b""
        if self._chunk_open and self._chunk_in_read:
            size = last_chunk_size(data, len(data) - self._chunk_data, self._body_tail)
            if size is not None and size > MAX_LENGTH:
                self._queue_error(chunk_overflow(size))
                return
        if self._state == BODY:
            tail = bytes(data[-64:])
            self._body_tail = tail if len(tail) == 64 else (self._body_tail + tail)[-64:]
            self._overhead += max(len(data) - self._explained, 0)
            error = framing_error(self._overhead, self._chunks, self._limits)
            if error is not None:
                self._queue_error(error)

    def _parser_error(self, exc: Exception) -> ProtocolError:
        """The error to answer for what llhttp refused."""
        cause = exc.__context__
        if isinstance(cause, ProtocolError):
            return cause  # raised by one of our callbacks
        if self._state == BODY and (field := framing_field(exc)) is not None:
            # llhttp refuses a framing field in a trailer section itself: say so as the
            # shared trailer rule does, not as a head error
            return trailer_field_error(field)
        return translate(exc, self._lines.line())

    def _queue_error(self, exc: ProtocolError) -> None:
        self._stopped = True
        self._events.append((ERROR, exc))

    def next_event(self) -> Any:
        if self._waiting and self._request_done:
            return PAUSED
        if not self._events:
            if self._eof:
                if self._state == HEAD or (self._waiting and not self._request_done):
                    raise RemoteProtocolError(
                        "peer closed the connection in the middle of a request"
                    )
                return CLOSED
            return NEED_DATA
        event = self._events.pop(0)
        kind = type(event)
        if kind is RequestHead:  # an exchange starts
            self._waiting = True
            self._request_done = False
            self.start_response(event.method, event.http_version, event.keep_alive)
        elif kind is EndOfMessage:
            self._request_done = True
        elif kind is tuple:
            raise event[1]
        return event

    def start_next_cycle(self) -> bool:
        if not (self._request_done and self._response_done) or self._close or not self._keep_alive:
            return False
        if self._stopped and not self._events:
            return False
        self._waiting = False
        return True

    def upgrade_trailing_data(self) -> bytes:
        return self._upgraded


from .httptools_client import HttptoolsClient  # noqa: E402


class HttptoolsBackend(ProtocolBackend):
    """llhttp through httptools: the fast path on CPython."""

    name = "httptools"
    priority = 10

    def server(self, limits: ProtocolLimits) -> ServerProtocol:
        return HttptoolsServer(limits)

    def client(self, limits: ProtocolLimits) -> ClientProtocol:
        return HttptoolsClient(limits)


@hookimpl
def rttp_register_protocol_backends(register: Any) -> None:
    """Register the httptools backend when httptools is importable."""
    if httptools is not None:
        register(HttptoolsBackend())
