"""The client half of the httptools (llhttp) backend: requests written here, responses
parsed by llhttp (one exchange at a time)."""

from __future__ import annotations

import collections
from typing import Any

from rttp.errors import ProtocolError, RemoteProtocolError, TooLarge
from rttp.plugin import (
    CLOSED,
    FIELD_CONNECTION,
    FIELD_CONTENT_LENGTH,
    FIELD_KINDS,
    FIELD_TRANSFER_ENCODING,
    NEED_DATA,
    ClientProtocol,
    EndOfMessage,
    ProtocolLimits,
    RawHeaders,
    ResponseHead,
    connection_tokens,
    field_kind,
    keep_alive,
    known_fields,
    response_has_body,
)

from ._llhttp import (
    ERROR,
    VERSIONS,
    after_upgrade,
    framing_error,
    httptools,
    response_version,
)

__all__ = ["HttptoolsClient"]


class HttptoolsClient(ClientProtocol):
    """Client side of one connection on llhttp (one request at a time).

    llhttp cannot be told that a response answers a HEAD request, so for HEAD the head
    ends the message and the parser is replaced for the next exchange; a body that ends
    with the connection (no length, not chunked) ends at EOF.
    """

    def __init__(self, limits: ProtocolLimits) -> None:
        self._limits = limits
        self._events: collections.deque[Any] = collections.deque()
        self._feed: bytes | bytearray | None = None
        self._new_parser()
        self._method = b"GET"
        self._request_done = False
        self._response_done = False
        self._keep_alive = True
        self._upgraded = b""
        self._stopped = False
        # framing bytes of the body (see the server's): what a read's head, body data and
        # trailer fields do not account for
        self._explained = 0
        self._overhead = 0
        self._chunks = 0

    def _new_parser(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._reset_message()

    def _reset_message(self) -> None:
        self._headers: RawHeaders = []
        self._header_bytes = 0
        self._head_fed = 0  # bytes fed while a head was incomplete (fields count only once done)
        self._headers_done = False
        self._status = 0
        self._reason = b""
        self._framed = False  # Content-Length or chunked: not ended by EOF
        self._in_message = False
        self._informational = False

    # llhttp callbacks
    def on_message_begin(self) -> None:
        self._headers = []
        self._header_bytes = 0
        self._headers_done = False
        self._in_message = True

    def on_status(self, status: bytes) -> None:
        self._reason += status
        limit = self._limits.max_request_line
        if len(self._reason) > limit:
            raise TooLarge(
                f"response status line longer than max_line_size={limit} bytes",
                502,
                limit="max_line_size",
                value=limit,
            )

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._headers_done:
            self._explained += len(name) + len(value) + 4
            return  # trailers are not reported by this backend
        self._headers.append((name, value))
        line = len(name) + len(value) + 4
        self._header_bytes += line
        limits = self._limits
        if limits.max_line_size and line > limits.max_line_size:
            raise limits.header_line_too_long(name, line, 502)
        if len(self._headers) > limits.max_header_count:
            raise TooLarge(
                f"response has more than max_response_header_count={limits.max_header_count} header fields",
                502,
                limit="max_response_header_count",
                value=limits.max_header_count,
            )
        if self._header_bytes > limits.max_header_size:
            raise TooLarge(
                f"response header section larger than max_response_header_size={limits.max_header_size} bytes",
                502,
                limit="max_response_header_size",
                value=limits.max_header_size,
            )

    def _head_too_large(self) -> TooLarge:
        limit = self._limits.max_header_size
        return TooLarge(
            f"response header section larger than max_response_header_size={limit} bytes "
            "(it never ended)",
            502,
            limit="max_response_header_size",
            value=limit,
        )

    def on_headers_complete(self) -> None:
        self._headers_done = True
        self._head_fed = 0
        # the head's share of this read: "HTTP/1.1 200 " reason CRLF, fields, CRLF
        self._explained += len(self._reason) + self._header_bytes + 17
        self._overhead = self._chunks = 0
        parser = self._parser
        status = parser.get_status_code()
        feed, self._feed = self._feed, None
        version = response_version(feed)
        if version is None:
            http_version = parser.get_http_version()
            version = VERSIONS.get(http_version) or http_version.encode("ascii")
        self._informational = 100 <= status < 200 and status != 101
        kinds = FIELD_KINDS
        tokens: list[bytes] | None = None
        for name, value in self._headers:
            kind = kinds.get(name.lower())
            if kind == FIELD_CONTENT_LENGTH or (
                kind == FIELD_TRANSFER_ENCODING and b"chunked" in value.lower()
            ):
                self._framed = True
            elif kind == FIELD_CONNECTION:
                tokens = (tokens or []) + connection_tokens(value)
        self._keep_alive = keep_alive(version, tokens)  # the one rule, as for requests
        self._events.append(ResponseHead(status, self._reason, self._headers, version))
        self._reason = b""
        if not self._informational and not response_has_body(status, self._method):
            self._finish_message()

    def on_body(self, body: bytes) -> None:
        self._explained += len(body)
        if not self._response_done:
            self._events.append(bytes(body))

    def on_chunk_header(self) -> None:
        self._chunks += 1

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False  # a 1xx has no end of its own for the caller
            self._in_message = False
            return
        if not self._response_done:
            self._finish_message()

    def _finish_message(self) -> None:
        self._in_message = False
        self._response_done = True
        self._events.append(EndOfMessage())
        self._stopped = self._method == b"HEAD"  # the rest of this parser's input is not ours

    # the ClientProtocol contract
    def send_request(self, method: bytes, target: bytes, headers: RawHeaders) -> bytes:
        self._method = method
        self._request_done = False
        self._response_done = False
        seen = known_fields
        parts = [b"%s %s HTTP/1.1\r\n" % (method, target)]
        length = chunked = False
        for name, value in headers:
            parts += (name, b": ", value, b"\r\n")
            kind = seen.get(name)
            if kind is None:
                kind = field_kind(name)
            if kind == FIELD_CONTENT_LENGTH:
                length = True
            elif kind == FIELD_TRANSFER_ENCODING:
                chunked = True
        parts.append(b"\r\n")
        self._chunked = chunked and not length
        return b"".join(parts)

    def send_data(self, data: bytes) -> bytes:
        if not data:
            return b""
        if self._chunked:
            return b"%x\r\n%s\r\n" % (len(data), data)
        return data

    def send_end(self) -> bytes:
        self._request_done = True
        return b"0\r\n\r\n" if self._chunked else b""

    def receive_data(self, data: bytes | bytearray) -> None:
        if self._stopped:
            return
        # a response that starts this read: its version can be read off the bytes
        self._feed = data if not self._in_message else None
        if not data:
            if (
                self._in_message
                and self._headers_done
                and not self._framed
                and not self._response_done
            ):
                self._finish_message()  # a body that ends with the connection
            elif not self._response_done and self._in_message:
                self._events.append(
                    (
                        ERROR,
                        RemoteProtocolError(
                            "the server closed the connection before the response was complete", 502
                        ),
                    )
                )
            self._stopped = True
            return
        if not self._headers_done:
            # llhttp reports a field only once it ends: an endless header line or status
            # line would never be counted, so the bytes fed to an incomplete head are
            self._head_fed += len(data)
            limits = self._limits
            if self._head_fed > limits.max_header_size + limits.max_request_line + len(data):
                self._events.append((ERROR, self._head_too_large()))
                self._stopped = True
                return
        self._explained = 0
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            self._upgraded = after_upgrade(upgrade, data)
            self._stopped = True
        except ProtocolError as exc:
            self._events.append((ERROR, exc))
            self._stopped = True
        except httptools.HttpParserError as exc:
            cause = exc.__context__
            if isinstance(cause, ProtocolError):
                self._events.append((ERROR, cause))
            else:
                self._events.append((ERROR, RemoteProtocolError(f"malformed response: {exc}", 502)))
            self._stopped = True
        else:
            if self._in_message and self._headers_done and not self._response_done:
                # llhttp skips chunk extensions without bounds: an endless one never ends
                self._overhead += max(len(data) - self._explained, 0)
                error = framing_error(self._overhead, self._chunks, self._limits, 502)
                if error is not None:
                    self._events.append((ERROR, error))
                    self._stopped = True

    def next_event(self) -> Any:
        if self._events:
            event = self._events.popleft()
            if type(event) is tuple:
                raise event[1]
            return event
        if self._stopped:
            return CLOSED
        return NEED_DATA

    def start_next_cycle(self) -> bool:
        if not (self._request_done and self._response_done and self._keep_alive) or self._events:
            return False
        if self._upgraded:
            return False
        if self._method == b"HEAD":
            self._new_parser()  # llhttp expected a body after that head: start afresh
        else:
            self._reset_message()  # llhttp is between messages: keep it
        self._stopped = False
        self._response_done = False
        return True

    def upgrade_trailing_data(self) -> bytes:
        return self._upgraded
