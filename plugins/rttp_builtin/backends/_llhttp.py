"""What the httptools (llhttp) backend's server and client halves share: the import,
the framing kinds of written header names, version sniffing and llhttp's errors."""

from __future__ import annotations

import re
from typing import Any

from rttp.errors import ProtocolError, RemoteProtocolError
from rttp.plugin import EndOfMessage, ProtocolLimits, length_overflow

try:
    import httptools
except ImportError:  # pragma: no cover - not on CPython, or not installed
    httptools = None  # type: ignore[assignment]


__all__ = [
    "BODY",
    "END",
    "ERROR",
    "HEAD",
    "IDLE",
    "VERSIONS",
    "after_upgrade",
    "framing_error",
    "framing_field",
    "httptools",
    "response_version",
    "translate",
]

# where llhttp is in a request: between messages, in the head, in the body
IDLE, HEAD, BODY = range(3)
END = EndOfMessage()  # the end of a message without trailers (shared: nothing mutates it)
VERSIONS = {"1.1": b"1.1", "1.0": b"1.0"}
ERROR: Any = object()
_VERSION = re.compile(rb" HTTP/([0-9]\.[0-9])\r?\n?$")


def after_upgrade(upgrade: Exception, data: bytes | bytearray | memoryview) -> bytes:
    """The bytes after the head that llhttp stopped at for an upgrade (the new protocol's)."""
    offset = upgrade.args[0] if upgrade.args else len(data)
    return bytes(data[offset:])


def framing_error(
    overhead: int, chunks: int, limits: ProtocolLimits, status: int = 400
) -> RemoteProtocolError | None:
    """The error for a body whose framing bytes (chunk-size lines, extensions, trailers:
    ``overhead``, over ``chunks`` chunks) pass the line limit, which llhttp does not
    bound: an endless chunk extension would otherwise never end. None while within it."""
    if overhead <= (limits.max_line_size or limits.max_header_size) + 16 * chunks:
        return None
    return limits.framing_too_long(status)


def framing_field(exc: Exception) -> bytes | None:
    """The framing field an llhttp error is about (``Content-Length`` first, since its
    message for one in a chunked body names both), or None."""
    low = str(exc).lower()
    if "content-length" in low:
        return b"Content-Length"
    if "transfer-encoding" in low:
        return b"Transfer-Encoding"
    return None


def response_version(feed: bytes | bytearray | None) -> bytes | None:
    """The version of a response whose status line starts ``feed``, read off the bytes."""
    if feed is None:
        return None
    if feed.startswith(b"HTTP/1.1 "):
        return b"1.1"
    if feed.startswith(b"HTTP/1.0 "):
        return b"1.0"
    return None


def translate(exc: Exception, line: bytes = b"") -> ProtocolError:
    """llhttp's errors as RemoteProtocolErrors with the status to answer (``line``: the
    request line so far, which names an unsupported version)."""
    message = str(exc)
    low = message.lower()
    if "content-length overflow" in low:
        return length_overflow()
    if low == "invalid http version":  # well formed, but not one llhttp knows: a 505
        found = _VERSION.search(line)
        version = f" {found.group(1).decode('latin-1')!r}" if found is not None else ""
        return RemoteProtocolError(f"unsupported HTTP version{version}", 505)
    if "transfer-encoding" in low and "content-length" in low:
        return RemoteProtocolError(
            "request has both Content-Length and Transfer-Encoding (refused: request smuggling)"
        )
    if "transfer-encoding" in low:
        return RemoteProtocolError(f"invalid Transfer-Encoding: {message}", 501)
    if "whitespace after header value" in low:
        return RemoteProtocolError(
            f"obsolete line folding (obs-fold) or stray whitespace in a header: {message}"
        )
    if httptools is not None and isinstance(exc, httptools.HttpParserInvalidMethodError):
        return RemoteProtocolError(f"illegal request line: invalid method ({message})")
    if "url" in low:
        return RemoteProtocolError(f"illegal request line: invalid request target ({message})")
    if "version" in low or "spaces" in low:
        return RemoteProtocolError(f"illegal request line: {message}")
    return RemoteProtocolError(f"malformed request: {message}")
