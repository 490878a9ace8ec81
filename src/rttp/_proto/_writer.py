"""The sending half of a server protocol: response heads and bodies, framed (RFC 9112 §6).

A parser backend that has no serializer of its own (llhttp parses only) writes its
responses with :class:`ResponseWriter`; the h11 backend uses it for what h11 will not
write (an HTTP/1.0 keep-alive answer). The header names it looks at are classified once
and remembered, in the case they were given (:func:`field_kind`).
"""

from __future__ import annotations

from rttp.errors import LocalProtocolError

from ._events import RawHeaders
from ._head import connection_tokens, response_framing, status_has_body

__all__ = [
    "FIELD_CONNECTION",
    "FIELD_CONTENT_LENGTH",
    "FIELD_KINDS",
    "FIELD_TRANSFER_ENCODING",
    "Passthrough",
    "ResponseWriter",
    "field_kind",
    "known_fields",
]

#: the framing kinds of the header names a writer looks at; every other name is 0
FIELD_CONTENT_LENGTH, FIELD_TRANSFER_ENCODING, FIELD_CONNECTION = 1, 2, 3
#: lower-cased name -> framing kind
FIELD_KINDS = {
    b"content-length": FIELD_CONTENT_LENGTH,
    b"transfer-encoding": FIELD_TRANSFER_ENCODING,
    b"connection": FIELD_CONNECTION,
}
#: the kind of each header name written so far, in the case it was given (bounded)
known_fields: dict[bytes, int] = {}


def field_kind(name: bytes) -> int:
    """The framing kind of a header name (and remember it in ``known_fields``, a cache of names already seen)."""
    kind = FIELD_KINDS.get(name.lower(), 0)
    if len(known_fields) < 512:
        known_fields[name] = kind
    return kind


class ResponseWriter:
    """Frames the responses of one server connection.

    Call :meth:`start_response` when a request head is handed out, then
    :meth:`send_response` (and :meth:`send_data` / :meth:`send_end` for a streamed body).
    The body is framed by its Content-Length, chunked (an HTTP/1.1 request), or ended by
    the close; an HTTP/1.0 keep-alive answer says ``Connection: keep-alive``. A body
    longer or shorter than its Content-Length raises
    :class:`~rttp.errors.LocalProtocolError`, and the connection is not reused.
    Its method names are :class:`~rttp.plugin.ServerProtocol`'s, so a backend may
    inherit them.
    """

    __slots__ = (
        "_chunked",
        "_close",
        "_head_method",
        "_keep_alive",
        "_remaining",
        "_response_done",
        "_version",
    )

    def __init__(self) -> None:
        self._head_method = b""
        self._version = b"1.1"
        self._keep_alive = True
        self._close = False
        self._chunked = False
        self._remaining: int | None = None
        self._response_done = False

    def start_response(self, method: bytes, version: bytes, keep_alive: bool) -> None:
        """A new exchange: the request's method and version, and whether it asks to keep
        the connection (``RequestHead.keep_alive``)."""
        self._response_done = False
        self._head_method = method
        self._version = version
        self._keep_alive = keep_alive
        self._close = False
        self._chunked = False
        self._remaining = None

    @property
    def response_done(self) -> bool:
        """Whether the current response has been written to its end."""
        return self._response_done

    @property
    def keep_alive(self) -> bool:
        """Whether the current exchange leaves the connection reusable."""
        return self._keep_alive and not self._close

    def close_after_response(self) -> None:
        """Make the current response the last one (adds ``Connection: close`` if needed)."""
        self._close = True

    def send_informational(self, status: int, reason: bytes, headers: RawHeaders) -> bytes:
        """Bytes of a 1xx response."""
        return b"HTTP/1.1 %d %s\r\n%s\r\n" % (
            status,
            reason,
            b"".join(n + b": " + v + b"\r\n" for n, v in headers),
        )

    def send_response(
        self, status: int, reason: bytes, headers: RawHeaders, body: bytes | None = None
    ) -> bytes:
        """Bytes of the response head; with ``body`` also the body and its end."""
        length: int | None = None
        has_te = connection_close = connection_keep = False
        seen = known_fields
        parts = [b"HTTP/1.1 %d %s\r\n" % (status, reason)]
        for name, value in headers:
            parts += (name, b": ", value, b"\r\n")
            kind = seen.get(name)
            if kind is None:
                kind = field_kind(name)
            if kind:
                if kind == FIELD_CONTENT_LENGTH:
                    length = int(value)
                elif kind == FIELD_TRANSFER_ENCODING:
                    has_te = True
                else:
                    tokens = connection_tokens(value)
                    connection_close |= b"close" in tokens
                    connection_keep |= b"keep-alive" in tokens
        no_body, chunked, close = response_framing(
            status, self._head_method, self._version, length, has_te, connection_close
        )
        if no_body:
            self._remaining = 0
        elif chunked:
            self._chunked = True
            parts.append(b"Transfer-Encoding: chunked\r\n")
        else:
            self._remaining = length
        if connection_close:
            self._close = True
        elif close or self._close or not self._keep_alive:
            self._close = True
            parts.append(b"Connection: close\r\n")
        elif self._version != b"1.1" and not connection_keep:
            # an HTTP/1.0 client closes unless the answer says otherwise
            parts.append(b"Connection: keep-alive\r\n")
        parts.append(b"\r\n")
        if body is None:
            return b"".join(parts)
        if no_body:
            self._response_done = True
            return b"".join(parts)
        if not self._chunked:
            # a whole body: framed by its Content-Length (checked) or by the close
            if self._remaining is not None and len(body) != self._remaining:
                self.send_data(body)
                self.send_end()
            self._remaining = 0
            self._response_done = True
            parts.append(body)
            return b"".join(parts)
        return b"".join(parts) + self.send_data(body) + self.send_end()

    def send_plain(self, status: int, reason: bytes, headers: RawHeaders, body: bytes) -> bytes:
        """Bytes of a whole response whose one Content-Length field says ``len(body)``,
        with no Transfer-Encoding or Connection field (the core has checked): the common
        answer, written without looking at its fields. Anything that frames otherwise
        (HEAD, a status without a body, a closing or HTTP/1.0 exchange) goes through
        :meth:`send_response`."""
        if (
            self._close
            or not self._keep_alive
            or self._version != b"1.1"
            or self._head_method == b"HEAD"
            or not status_has_body(status)
        ):
            return self.send_response(status, reason, headers, body)
        self._remaining = 0
        self._response_done = True
        if not headers:
            return b"HTTP/1.1 %d %s\r\n\r\n%s" % (status, reason, body)
        # the fields joined in C (``name: value`` lines), whatever their number
        fields = b"\r\n".join(map(b": ".join, headers))
        return b"HTTP/1.1 %d %s\r\n%s\r\n\r\n%s" % (status, reason, fields, body)

    def send_data(self, data: bytes) -> bytes:
        """Bytes that carry one body chunk."""
        if not data:
            return b""
        if self._chunked:
            return b"%x\r\n%s\r\n" % (len(data), data)
        if self._remaining is not None:
            if len(data) > self._remaining:
                self._close = True
                raise LocalProtocolError(
                    "response body is longer than its Content-Length "
                    f"({len(data)} bytes over {self._remaining} left)"
                )
            self._remaining -= len(data)
        return data

    def frame_passthrough(self, length: int) -> tuple[bytes, bytes] | None:
        """The framing around ``length`` body bytes the caller writes itself (checked
        against the Content-Length as :meth:`send_data` checks them)."""
        if not length:
            return (b"", b"")
        if self._chunked:
            return (b"%x\r\n" % length, b"\r\n")
        self.send_data(Passthrough(length))  # type: ignore[arg-type]
        return (b"", b"")

    def send_end(self, trailers: RawHeaders | None = None) -> bytes:
        """Bytes that end the response body, with ``trailers`` (validated by the core)
        when given: only a chunked body can carry them."""
        self._response_done = True
        if self._chunked:
            if trailers:
                return b"0\r\n%s\r\n" % b"".join(n + b": " + v + b"\r\n" for n, v in trailers)
            return b"0\r\n\r\n"
        if trailers:
            self._close = True
            raise LocalProtocolError(
                "trailer fields need a chunked body: this response has a Content-Length "
                "(or is framed by the close)"
            )
        if self._remaining:
            self._close = True
            raise LocalProtocolError(
                f"response body ended {self._remaining} bytes short of its Content-Length"
            )
        return b""


class Passthrough:
    """Stands for body bytes the caller writes itself (a file given to
    ``os.sendfile``): only their length counts (h11's data passthrough takes it too)."""

    __slots__ = ("length",)

    def __init__(self, length: int) -> None:
        self.length: int = length

    def __len__(self) -> int:
        return self.length
