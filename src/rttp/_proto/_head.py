"""HTTP/1.1 head semantics, once, for every protocol backend (no I/O).

A backend parses bytes into a method, target, version and header fields; this module
says what they mean and what is refused:

- **Framing**: Content-Length (digits only; a repeated or listed value must agree) or
  ``Transfer-Encoding: chunked``; both at once is refused as request smuggling; any
  other transfer-coding is a 501. Transfer-Encoding on an HTTP/1.0 request is a 400
  (RFC 9112 §6.1: its framing is faulty, and the connection closes).
- **Host**: exactly one on HTTP/1.1 (at most one on 1.0), of RFC 3986 ``host[:port]``
  form (``Host: a b@evil`` is a 400).
- **Expect**: only ``100-continue`` (else 417). **Version**: 1.0 and 1.1 (else 505).
- **Connection**: parsed as a list of tokens, never by substring (``Upgrade, xclose``
  does not close). Keep-alive: 1.1 unless ``close``; 1.0 only with ``keep-alive``.
  ``Upgrade`` counts only with the ``upgrade`` token.
- **Trailers**: bounded like a header section; Content-Length, Transfer-Encoding and
  Host are never trailers (400).
- **Response framing**: no body for 1xx, 204, 304 or a HEAD answer; else the given
  Content-Length, or chunked on 1.1, or until the close on 1.0.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

from ..errors import RemoteProtocolError, TooLarge
from ._events import ProtocolLimits, RawHeaders, RequestHead

__all__ = [
    "MAX_EMPTY_LINES",
    "MAX_LENGTH",
    "ResponseFraming",
    "check_response_head",
    "check_trailers",
    "chunk_overflow",
    "connection_tokens",
    "keep_alive",
    "length_overflow",
    "make_request_head",
    "parse_content_length",
    "request_line_version",
    "response_framing",
    "response_has_body",
    "status_has_body",
    "too_many_empty_lines",
    "trailer_field_error",
]

_HOST, _LENGTH, _CODING, _EXPECT, _UPGRADE, _TE, _CONNECTION = range(7)
_FIELD_KINDS: Final = {
    b"host": _HOST,
    b"content-length": _LENGTH,
    b"content-encoding": _CODING,
    b"expect": _EXPECT,
    b"upgrade": _UPGRADE,
    b"transfer-encoding": _TE,
    b"connection": _CONNECTION,
}
#: the kind of each field name seen, in the case it came (-1: none of the above), so
#: that a name is lower-cased once, not once per request
_kinds_by_name: dict[bytes, int] = {}


def _kind_of(name: bytes) -> int:
    kind = _FIELD_KINDS.get(name.lower(), -1)
    # pragma: no mutate start (a cache: its bounds and its contents change nothing checked)
    if len(name) <= 64:  # (at most 512 short names are kept: a client chooses them)
        if len(_kinds_by_name) >= 512:
            _kinds_by_name.clear()
        _kinds_by_name[name] = kind
    # pragma: no mutate end
    return kind


_VERSIONS: Final = frozenset({b"1.1", b"1.0"})
_VERSION_TOKEN: Final = re.compile(rb" HTTP/([0-9]\.[0-9])\r?\n")
#: a Host value (RFC 9112 §3.2, RFC 3986 §3.2.2): an IP literal in brackets, or a
#: reg-name / IPv4 address of unreserved, pct-encoded and sub-delim characters, then an
#: optional port; empty is allowed (a target with no authority)
_HOST_VALUE: Final = re.compile(
    rb"(?:\[[0-9A-Za-z:._~%!$&'()*+,;=-]+\]|[0-9A-Za-z._~%!$&'()*+,;=-]*)(?::[0-9]*)?"
)


#: empty lines (CRLF or LF) skipped before a request line (RFC 9112 §2.2: at least one
#: SHOULD be); one more is a 400 on every backend
MAX_EMPTY_LINES: Final = 4


def too_many_empty_lines() -> RemoteProtocolError:
    """The 400 for more than ``MAX_EMPTY_LINES`` empty lines before a request line."""
    return RemoteProtocolError(f"more than {MAX_EMPTY_LINES} empty lines before a request line")


#: Host values seen valid, so each is matched once (bounded: cleared when full)
_GOOD_HOSTS: dict[bytes, None] = {}


def _check_host(value: bytes) -> None:
    if _HOST_VALUE.fullmatch(value) is None:
        raise RemoteProtocolError(f"invalid Host header {value[:80].decode('latin-1')!r}")
    # pragma: no mutate start (a cache: its bound and its values change nothing checked)
    if len(_GOOD_HOSTS) >= 256:
        _GOOD_HOSTS.clear()
    _GOOD_HOSTS[value] = None
    # pragma: no mutate end


def request_line_version(
    source: bytes | bytearray, start: int, method: bytes, target: bytes
) -> bytes:
    """The version of the request line at ``source[start:]`` (``method SP target SP
    version CRLF``), for a parser that does not report the protocol name (llhttp also
    parses ``RTSP/1.0``): ``b"1.1"`` and the like, or a RemoteProtocolError for any
    protocol but HTTP. An unsupported ``HTTP/x.y`` is left to :func:`make_request_head`
    (505)."""
    at = start + len(method) + len(target) + 1
    # pragma: no mutate start (the common versions found fast; the match below agrees)
    if source.startswith(b" HTTP/1.1\r", at):
        return b"1.1"
    if source.startswith(b" HTTP/1.0\r", at):
        return b"1.0"
    # pragma: no mutate end
    found = _VERSION_TOKEN.match(source, at)
    if found is None:
        line = bytes(source[start : start + 80]).split(b"\n", 1)[0].rstrip()  # pragma: no mutate
        raise RemoteProtocolError(f"illegal request line: {line.decode('latin-1')!r} is not HTTP")
    return found.group(1)


def connection_tokens(value: bytes) -> list[bytes]:
    """The lower-cased tokens of a Connection value: ``b"Upgrade, xclose"`` →
    ``[b"upgrade", b"xclose"]``."""
    return [token.strip().lower() for token in value.split(b",") if token.strip()]


def keep_alive(version: bytes, tokens: list[bytes] | None) -> bool:
    """Whether a message of ``version`` with these Connection tokens (None: no
    Connection field) leaves the connection open: 1.1 unless ``close``; 1.0 only with
    ``keep-alive``. The one rule for requests and responses."""
    if tokens is None:
        return version == b"1.1"
    if b"close" in tokens:
        return False
    return version == b"1.1" or b"keep-alive" in tokens


def status_has_body(status: int) -> bool:
    """A response with this status may carry a body (not 1xx, 204 or 304)."""
    # (a jump after each comparison: Python 3.11 specialises only those, not the ones
    # of a returned ``and`` expression)
    if status < 200 or status == 204 or status == 304:  # noqa: SIM103 (the jumps)
        return False
    return True


def response_has_body(status: int, request_method: bytes) -> bool:
    """A response with this status to this method carries a body (never to HEAD)."""
    return request_method != b"HEAD" and status >= 200 and status != 204 and status != 304


def parse_content_length(value: bytes) -> int:
    """A Content-Length value: digits, or a list of identical ones (RFC 9110 §8.6)."""
    first: bytes | None = None
    for part in value.split(b","):
        part = part.strip(b" \t")
        if not part.isdigit():
            raise RemoteProtocolError(
                f"invalid Content-Length {value[:40].decode('latin-1')!r}: not a number"
            )
        if first is not None and part != first:
            raise RemoteProtocolError(
                f"conflicting Content-Length values {value[:40].decode('latin-1')!r}"
            )
        first = part
    if first is None:
        raise RemoteProtocolError("empty Content-Length")
    length = int(first)
    if length > MAX_LENGTH:
        raise length_overflow()
    return length


#: the largest Content-Length and the largest chunk size any parser can hold (2**63 - 1):
#: past it a length is malformed (400), not merely too large (413)
MAX_LENGTH: Final = (1 << 63) - 1


def length_overflow() -> RemoteProtocolError:
    """The 400 for a Content-Length past ``MAX_LENGTH``."""
    return RemoteProtocolError(f"Content-Length larger than any body can be (over {MAX_LENGTH})")


def chunk_overflow(size: int) -> RemoteProtocolError:
    """The 400 for a chunk size past ``MAX_LENGTH``."""
    return RemoteProtocolError(f"chunk size {size} is larger than a chunk can be")


def make_request_head(
    method: bytes, target: bytes, headers: RawHeaders, version: bytes
) -> RequestHead:
    """The :class:`RequestHead` of a parsed request, or the RemoteProtocolError (with
    the status to answer) that refuses it."""
    if version not in _VERSIONS:
        raise RemoteProtocolError(f"unsupported HTTP version {version.decode('latin-1')!r}", 505)
    hosts = 0
    expect: bytes | None = None
    upgrade: bytes | None = None
    length: int | None = None
    chunked = False
    coding: bytes | None = None
    tokens: list[bytes] | None = None
    kinds = _kinds_by_name
    for name, value in headers:
        kind = kinds.get(name)
        if kind is None:
            kind = _kind_of(name)
        if kind < 0:  # (most fields: nothing to do)
            continue
        if kind == _HOST:
            hosts += 1
            if value not in _GOOD_HOSTS:  # a server sees a few Host values over and over
                _check_host(value)
        elif kind == _LENGTH:
            found = parse_content_length(value)
            if length is not None and found != length:
                raise RemoteProtocolError("conflicting Content-Length headers")
            length = found
        elif kind == _CODING:
            coding = value
        elif kind == _EXPECT:
            expect = value.lower()
        elif kind == _UPGRADE:
            upgrade = value
        elif kind == _CONNECTION:
            tokens = (
                connection_tokens(value) if tokens is None else tokens + connection_tokens(value)
            )
        else:
            if chunked or value.strip().lower() != b"chunked":
                raise RemoteProtocolError(
                    "only Transfer-Encoding: chunked is supported, "
                    f"got {value.decode('latin-1')!r}",
                    501,
                )
            chunked = True
    if length is not None and chunked:
        raise RemoteProtocolError(
            "request has both Content-Length and Transfer-Encoding (refused: request smuggling)"
        )
    if chunked and version == b"1.0":
        # RFC 9112 §6.1: its framing is faulty and the connection must close (nginx: 400)
        raise RemoteProtocolError(
            "Transfer-Encoding in an HTTP/1.0 request (refused: its framing cannot be trusted)"
        )
    if hosts != 1:
        if hosts > 1:  # pragma: no mutate (hosts is 0 or more than 1 here)
            raise RemoteProtocolError("found multiple Host headers")
        if version == b"1.1":
            raise RemoteProtocolError("missing mandatory Host header")
    if expect is not None and expect != b"100-continue":
        raise RemoteProtocolError(f"unsupported Expect value {expect.decode('latin-1')!r}", 417)
    if upgrade is not None and (tokens is None or b"upgrade" not in tokens):
        upgrade = None
    return RequestHead(  # positional: the fastest call
        method,
        target,
        headers,
        version,
        keep_alive(version, tokens),
        expect is not None,
        upgrade,
        length,
        chunked,
        coding,
    )


def check_response_head(status: int, version: bytes, where: str = "the server") -> None:
    """A response's status line must be HTTP/1.0 or 1.1 (or come from an HTTP/2 stream)
    with a status from 100 to 999 (else a 502-style RemoteProtocolError naming what
    came)."""
    if version not in _VERSIONS and version != b"2":
        raise RemoteProtocolError(
            f"{where} answered with HTTP/{version.decode('latin-1')}, not HTTP/1.1 or 1.0", 502
        )
    if not 100 <= status <= 999:
        raise RemoteProtocolError(f"{where} answered with an invalid status code {status:03d}", 502)


#: fields that frame or route a message, never allowed in a trailer section (RFC 9110
#: §6.5.1): a trailer Content-Length or Transfer-Encoding is a smuggling attempt
_NOT_TRAILERS: Final = frozenset({b"content-length", b"transfer-encoding", b"host"})


def trailer_field_error(name: bytes) -> RemoteProtocolError:
    """The 400 for a framing or routing field in a trailer section."""
    return RemoteProtocolError(
        f"{name.decode('latin-1')} in a trailer section (framing and routing fields are "
        "never trailers)"
    )


def check_trailers(trailers: RawHeaders, limits: ProtocolLimits, status: int = 431) -> None:
    """A trailer section within the header limits (count and size), without framing or
    routing fields (Content-Length, Transfer-Encoding, Host: a 400)."""
    for name, _ in trailers:
        if name.lower() in _NOT_TRAILERS:
            raise trailer_field_error(name)
    size = sum(len(n) + len(v) + 4 for n, v in trailers)
    if len(trailers) > limits.max_header_count or size > limits.max_header_size:
        raise TooLarge(
            f"trailer section of {len(trailers)} fields / {size} bytes crosses "
            f"max_header_count={limits.max_header_count} or "
            f"max_header_size={limits.max_header_size}",
            status,
            limit="max_header_size",
            value=limits.max_header_size,
        )


class ResponseFraming(NamedTuple):
    """How a response is framed (see :func:`response_framing`)."""

    #: the answer has no body (1xx, 204, 304, or it answers a HEAD)
    no_body: bool
    #: it is chunked (HTTP/1.1 without a length: the writer adds the header)
    chunked: bool
    #: the connection closes after it (asked for, or a 1.0 body without a length, which
    #: ends with the connection)
    close: bool


# every framing there is, made once (a response costs no object for it)
_NO_BODY = (ResponseFraming(True, False, False), ResponseFraming(True, False, True))
_SIZED = (ResponseFraming(False, False, False), ResponseFraming(False, False, True))
_CHUNKED = (ResponseFraming(False, True, False), ResponseFraming(False, True, True))
_TO_CLOSE = ResponseFraming(False, False, True)


def response_framing(
    status: int,
    request_method: bytes,
    request_version: bytes,
    length: int | None,
    has_transfer_encoding: bool,
    close_requested: bool,
) -> ResponseFraming:
    """The framing of a response to a ``request_method`` request of ``request_version``
    with the given Content-Length / Transfer-Encoding / ``Connection: close``."""
    if not response_has_body(status, request_method):
        return _NO_BODY[close_requested]
    if length is not None:
        return _SIZED[close_requested]
    if request_version == b"1.1" and not has_transfer_encoding:
        return _CHUNKED[close_requested]
    return _TO_CLOSE  # ends with the connection
