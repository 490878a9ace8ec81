"""The rules every field block received on a multiplexed stream meets (RFC 9113 §8.2
and §8.3), whatever the backend that decoded it: checked here in one pass instead of
the protocol library's chain of generators.

A block that breaks one is *malformed*: :class:`~rttp.errors.RemoteProtocolError`,
which a backend answers by resetting the stream with PROTOCOL_ERROR (RFC 9113 §8.1.1),
leaving the connection's other streams alone. The rules, at least as strict as RFC
9113's and as the HTTP/1.1 parsers':

- a name is a lower-case token (RFC 9110 §5.1; no upper case, no colon, no control
  byte), and never a connection-specific field (``connection``, ``keep-alive``,
  ``proxy-connection``, ``transfer-encoding``, ``upgrade``); ``te`` only says
  ``trailers``;
- a value has no NUL, CR, LF or other control byte but HTAB, and neither starts nor
  ends with a space or HTAB;
- pseudo-fields come first, once each, only those the block may carry: a request's
  ``:method``, ``:scheme``, ``:authority``, ``:path``, ``:protocol``; a response's
  ``:status`` (three digits); none in trailers.
"""

from __future__ import annotations

import re
from typing import Final

from ..errors import RemoteProtocolError
from ._events import RawHeaders

__all__ = [
    "REQUEST_PSEUDO_FIELDS",
    "check_stream_fields",
    "stream_response_status",
    "stream_trailers",
]

#: the pseudo-fields a request may carry (RFC 9113 §8.3.1, RFC 8441 §4)
REQUEST_PSEUDO_FIELDS: Final = frozenset(
    {b":method", b":scheme", b":authority", b":path", b":protocol"}
)
_RESPONSE_PSEUDO: Final = frozenset({b":status"})
_NO_PSEUDO: Final = frozenset[bytes]()
_CONNECTION_SPECIFIC: Final = frozenset(
    {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade"}
)
_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9a-z]+")
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # (HTAB is allowed: it joins values)
_EDGE: Final = (0x20, 0x09)  # SP, HTAB
_STATUS = re.compile(rb"[1-9][0-9][0-9]")

#: regular names found good (a bounded set: names repeat from block to block)
_good_names: set[bytes] = set()
_GOOD_NAMES_MAX = 512


def _check_name(name: bytes) -> None:
    if _NAME.fullmatch(name) is None:
        raise RemoteProtocolError(f"invalid field name {name[:80]!r} on an HTTP/2 stream")
    if name in _CONNECTION_SPECIFIC:
        raise RemoteProtocolError(f"connection-specific field {name!r} on an HTTP/2 stream")
    # (te stays out: its value is checked each time)
    if len(_good_names) < _GOOD_NAMES_MAX and name != b"te":  # pragma: no mutate (a cache)
        _good_names.add(name)  # pragma: no mutate (a cache)


def check_stream_fields(
    fields: RawHeaders, allowed: frozenset[bytes] = REQUEST_PSEUDO_FIELDS
) -> dict[bytes, bytes]:
    """Check a received field block (see the module); its pseudo-fields by name.
    ``allowed``: the pseudo-fields this block may carry."""
    pseudo: dict[bytes, bytes] = {}
    regular = False  # pragma: no mutate (None is as false)
    good = _good_names
    for name, value in fields:
        if value and (value[0] in _EDGE or value[-1] in _EDGE):
            raise RemoteProtocolError(_bad_value(name, value))
        if name in good:  # (the common field: a regular name found good before)
            regular = True
        elif name[:1] == b":":
            if name not in allowed:
                raise RemoteProtocolError(f"pseudo-field {name[:40]!r} is not allowed here")
            if name in pseudo:
                raise RemoteProtocolError(f"repeated pseudo-field {name!r}")
            if regular:
                raise RemoteProtocolError(f"misplaced pseudo-field {name!r} (after a regular one)")
            pseudo[name] = value
        else:
            regular = True
            _check_name(name)
            if name == b"te" and value.lower() != b"trailers":
                raise RemoteProtocolError(f"TE {value[:80]!r} on an HTTP/2 stream (only trailers)")
    # every value in one search (they are joined by HTAB, which is allowed inside them)
    if _CONTROL.search(b"\t".join([v for _, v in fields])) is not None:  # pragma: no mutate
        name, value = next((n, v) for n, v in fields if _CONTROL.search(v) is not None)
        raise RemoteProtocolError(_bad_value(name, value))
    return pseudo


def _bad_value(name: bytes, value: bytes) -> str:
    return f"invalid value {value[:80]!r} of field {name[:80]!r} on an HTTP/2 stream"  # pragma: no mutate


def stream_response_status(fields: RawHeaders) -> int:
    """The status of a response head received on a stream, its block checked."""
    status = check_stream_fields(fields, _RESPONSE_PSEUDO).get(b":status", b"")  # pragma: no mutate
    if _STATUS.fullmatch(status) is None:
        raise RemoteProtocolError(f"response without a valid :status (got {status[:20]!r})")
    return int(status)


def stream_trailers(fields: RawHeaders) -> RawHeaders:
    """A trailer block received on a stream, checked (no pseudo-field in it)."""
    check_stream_fields(fields, _NO_PSEUDO)
    return list(fields)
