"""What a message becomes on the wire, before any byte is written: a
:class:`~rttp.Response`'s final head (validated, Date and Server added), compression
negotiated and the body's framing (:class:`Prepared`), the seed's ``make_response``
options; and a :class:`~rttp.Request`'s method, target and fields (:func:`request_head`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from ..._model import HeadersLike, Request, Response
from ..._model._enums import Method
from ..._model._unset import UNSET as _UNSET
from ..._proto._head import status_has_body
from ..._proto._validate import (
    HAS_CONTENT_LENGTH,
    HAS_FRAMING,
    HAS_LENGTHS,
    check_headers,
    check_method,
    check_target,
)
from ._content import body_from_content
from ._settings import error_response, status_reason

if TYPE_CHECKING:
    from ...plugin import Encoder
    from ._server import ServerConnection

__all__ = [
    "Prepared",
    "framed",
    "make_response",
    "prepare",
    "request_head",
    "with_true_length",
    "without_length",
]

_METHOD_BYTES: Final = {m.value: m.value.encode("ascii") for m in Method}
_NOTHING: frozenset[bytes] = frozenset()
_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})


@dataclass(slots=True)
class Prepared:
    """A response ready for the wire, its head validated."""

    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    #: the whole body (compressed if negotiated), or None for a streamed one
    body: bytes | None
    #: compresses a streamed body piece by piece (None: sent as it is)
    encoder: Encoder | None
    #: no body goes out at all (a HEAD request, a 204 or a 304)
    no_body: bool
    #: a whole body framed by the one true Content-Length among the fields, and no
    #: Transfer-Encoding or Connection field: the protocol's ``send_plain`` writes it
    plain: bool = False


def prepare(conn: ServerConnection, request: Request, response: Response) -> Prepared:
    """Final status line, headers and body framing of a response, validated."""
    settings = conn.settings
    if response._pending is not _UNSET:
        response.encode_value(settings.codecs)
    status = response.status
    bodiless_status = not status_has_body(status)
    headers, present = settings.final_headers(response.headers._items, conn.clock)
    reason = status_reason(status, response._reason)
    encoder = None
    body = response._content
    if response.compress and settings.compressing and not bodiless_status:
        encoding = settings.negotiate(request, response, body)
        if encoding is not None:
            encoder = settings.encodings[encoding].encoder()
            headers = without_length(headers)
            present &= ~(HAS_CONTENT_LENGTH | HAS_LENGTHS)
            headers.append((b"Content-Encoding", encoding.encode("ascii")))
            _add_vary(headers)
            if body is not None:
                body = encoder.compress(body) + encoder.flush()
                encoder = None
    return framed(request, status, reason, headers, present, body, encoder, bodiless_status)


def framed(
    request: Request,
    status: int,
    reason: bytes,
    headers: list[tuple[bytes, bytes]],
    present: int,
    body: bytes | None,
    encoder: Encoder | None,
    bodiless_status: bool,
) -> Prepared:
    """The body's framing: a whole body's Content-Length (the one given is kept when it
    is the only one and true, else replaced by the true one), none for an answer that
    has no body."""
    if body is not None and not bodiless_status and (body or request.method != "HEAD"):
        headers = with_true_length(headers, present, body)
        # else: a HEAD answer without its body keeps the length the GET would have
    no_body = bodiless_status or request.method == "HEAD"
    plain = body is not None and not no_body and not present & HAS_FRAMING
    return Prepared(status, reason, headers, body, encoder, no_body, plain)


def with_true_length(
    headers: list[tuple[bytes, bytes]], present: int, body: bytes
) -> list[tuple[bytes, bytes]]:
    """``headers`` (with ``present``, their ``HAS_*`` bits) framing ``body`` by its
    length: the one given is kept when it is the only one and true (a hosted app's own
    is usually right), else every Content-Length is replaced by the true one. A missing
    one is appended to ``headers`` itself (the caller's own copy)."""
    if not present & HAS_CONTENT_LENGTH:
        headers.append((b"Content-Length", b"%d" % len(body)))
        return headers
    length = b"%d" % len(body)
    if not present & HAS_LENGTHS and _length_given(headers) == length:
        return headers
    headers = without_length(headers)
    headers.append((b"Content-Length", length))
    return headers


def without_length(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """A copy of ``headers`` without their Content-Length fields."""
    return [(n, v) for n, v in headers if n.lower() != b"content-length"]


def _length_given(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The value of the first Content-Length field in ``headers`` (None: there is none)."""
    for name, value in headers:
        if len(name) == 14 and name.lower() == b"content-length":  # (no lower() for others)
            return value
    return None


def make_response(
    request: Request,
    status: int = 200,
    *,
    headers: HeadersLike = None,
    close: bool = False,
    content: Any = None,
    content_size: int | None = None,
    compress: bool = True,
    allowed_methods: Iterable[str] | Mapping[str, Any] | None = None,
    content_type: str | None = None,
) -> Response:
    """A response to ``request`` with the seed's options (see
    :meth:`rttp.HTTPConnection.make_response`)."""
    if allowed_methods is not None:
        allowed = sorted(
            {m.upper() for m, ok in allowed_methods.items() if ok}
            if isinstance(allowed_methods, Mapping)
            else {m.upper() for m in allowed_methods}
        )
        if request.method not in allowed:
            response = error_response(
                405,
                f"method {request.method} is not allowed here (allowed: {', '.join(allowed)})",
            )
            response.headers["Allow"] = ", ".join(allowed)
            response.request = request
            if close:
                response.headers["Connection"] = "close"
            return response
    body, size = body_from_content(content, content_size)
    response = Response(status, headers, body)
    if size is not None and not isinstance(body, bytes) and body is not None:
        response.headers.setdefault("Content-Length", str(size))
    if content_type is not None:
        response.headers["Content-Type"] = content_type
    response.compress = compress
    if close:
        response.headers["Connection"] = "close"
    response.request = request
    return response


def _add_vary(headers: list[tuple[bytes, bytes]]) -> None:
    for index, (name, value) in enumerate(headers):
        if name.lower() == b"vary":
            if b"accept-encoding" not in value.lower() and value.strip() != b"*":
                headers[index] = (name, value + b", Accept-Encoding")
            return
    headers.append((b"Vary", b"Accept-Encoding"))


def request_head(
    request: Request,
    defaults: Sequence[tuple[bytes, bytes]] = (),
    present: frozenset[bytes] | set[bytes] | None = None,
) -> tuple[bytes, bytes, list[tuple[bytes, bytes]]]:
    """The validated method, target and wire headers of ``request``: its own headers, a
    Host when it has none, ``defaults`` (fields it lacks), and the body framing
    (Content-Length for a body in memory, chunked for a stream)."""
    method = _METHOD_BYTES.get(request.method) or request.method.encode("ascii")
    url = request.url
    target = url.target.encode("ascii")
    check_method(method)
    check_target(target)
    given = request.headers.raw
    if present is None:
        present = frozenset(name.lower() for name, _ in given) if given else _NOTHING
    raw = [] if b"host" in present else [(b"Host", url.host_header.encode("ascii"))]
    raw += given
    raw += defaults
    body = request._content
    if body is not None:
        if (body or request.method in _BODY_METHODS) and b"content-length" not in present:
            raw.append((b"Content-Length", b"%d" % len(body)))
    elif b"content-length" not in present and b"transfer-encoding" not in present:
        raw.append((b"Transfer-Encoding", b"chunked"))
    check_headers(raw)
    return method, target, raw
