"""Checks on what we are about to send, whatever the protocol backend.

A response or request whose method, target, header names/values or reason phrase would
let a CR, LF, NUL or other control byte onto the wire is refused with
:class:`~rttp.errors.LocalProtocolError` naming the offending field and value.
"""

from __future__ import annotations

import re
from typing import Final

from ..errors import LocalProtocolError
from ._events import RawHeaders

__all__ = [
    "HAS_CONTENT_LENGTH",
    "HAS_DATE",
    "HAS_FRAMING",
    "HAS_LENGTHS",
    "HAS_SERVER",
    "check_headers",
    "check_method",
    "check_reason",
    "check_target",
]

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_BAD_TARGET = re.compile(rb"[\x00-\x20\x7f]")


_known_methods: set[bytes] = {b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH"}


def check_method(method: bytes) -> None:
    """A method must be a non-empty token."""
    if method in _known_methods:
        return
    if _TOKEN.fullmatch(method) is None:
        raise LocalProtocolError(f"refusing to send an invalid method {method!r}")
    if len(_known_methods) < 64:
        _known_methods.add(method)


_known_targets: set[bytes] = set()


def check_target(target: bytes) -> None:
    """A request target must be non-empty and free of whitespace and control bytes.

    Targets already checked are remembered (a bounded set of short ones without a query,
    which may carry credentials).
    """
    if target in _known_targets:
        return
    if not target or _BAD_TARGET.search(target) is not None:
        raise LocalProtocolError(f"refusing to send an invalid request target {target!r}")
    if len(_known_targets) < 1024 and len(target) <= 256 and b"?" not in target:
        _known_targets.add(target)


_known_reasons: set[bytes] = set()
_KNOWN_REASONS_MAX = 512


def check_reason(reason: bytes) -> None:
    """A reason phrase must not contain CR, LF, NUL or other control bytes."""
    if reason in _known_reasons:
        return
    if _BAD_VALUE.search(reason) is not None:
        raise LocalProtocolError(f"refusing to send an invalid reason phrase {reason!r}")
    if len(_known_reasons) < _KNOWN_REASONS_MAX:  # pragma: no mutate (a cache bound)
        _known_reasons.add(reason)  # pragma: no mutate (a cache)


_KNOWN_NAMES_MAX = 512

#: bits :func:`check_headers` reports for the fields a server adds when they are missing
HAS_DATE: Final = 1
HAS_SERVER: Final = 2
HAS_CONTENT_LENGTH: Final = 4
#: a field that frames the message otherwise (Transfer-Encoding) or decides the
#: connection's fate (Connection): the writer must read the fields
HAS_FRAMING: Final = 8
#: more than one Content-Length field (besides :data:`HAS_CONTENT_LENGTH`)
HAS_LENGTHS: Final = 16
_NAME_BITS: Final = {
    b"date": HAS_DATE,
    b"server": HAS_SERVER,
    b"content-length": HAS_CONTENT_LENGTH,
    b"transfer-encoding": HAS_FRAMING,
    b"connection": HAS_FRAMING,
}

#: header names already checked, in the case they were given, with their HAS_* bit
_known_names: dict[bytes, int] = {}
#: short header values already checked (a bounded set: at most 1,024 of up to 128 bytes)
_known_values: set[bytes] = set()
_KNOWN_VALUES_MAX = 1024
_KNOWN_VALUE_SIZE = 128
#: fields whose values are never remembered: credentials (never kept in a process-wide
#: set), and values that differ on every message (they would only fill the set)
_SECRET_FIELDS: Final = frozenset(
    {b"authorization", b"proxy-authorization", b"cookie", b"set-cookie", b"x-rttp-id"}
)


def _check_name(name: bytes) -> int:
    if _TOKEN.fullmatch(name) is None:
        raise LocalProtocolError(f"refusing to send an invalid header name {name!r}")
    bit = _NAME_BITS.get(name.lower(), 0)
    if len(_known_names) < _KNOWN_NAMES_MAX:  # pragma: no mutate (a cache bound)
        _known_names[name] = bit
    return bit


def check_headers(headers: RawHeaders) -> int:
    """Header names must be tokens; values must not contain CR, LF, NUL or control bytes;
    each field is a (name, value) pair.

    Returns the :data:`HAS_DATE` / :data:`HAS_SERVER` / :data:`HAS_CONTENT_LENGTH` /
    :data:`HAS_LENGTHS` / :data:`HAS_FRAMING` bits of the fields present, so a server
    learns what to add (and whether the writer must read the fields) in the same pass. Names
    already seen valid are remembered (a bounded dict), and all values are scanned in
    one regex search, so a typical response costs one dict lookup per field and one search.
    """
    known = _known_names
    good = _known_values
    present = 0
    unknown_values = False
    try:
        for name, value in headers:
            bit = known.get(name)
            if bit is None:
                bit = _check_name(name)
            if bit:  # (a field the server cares about; most are not)
                if bit & present & HAS_CONTENT_LENGTH:
                    present |= HAS_LENGTHS
                present |= bit
            if value not in good:
                unknown_values = True
    except ValueError:  # (unpacking: a field of one or three items)
        bad = next(field for field in headers if len(field) != 2)
        raise LocalProtocolError(
            f"refusing to send a header field that is not a (name, value) pair: {bad!r}"
        ) from None
    if unknown_values:
        _check_values(headers)
    return present


def _check_values(headers: RawHeaders) -> None:
    # HTAB is legal inside values and absent from _BAD_VALUE, so it can separate them
    if _BAD_VALUE.search(b"\t".join([value for _, value in headers])) is not None:
        for name, value in headers:
            if _BAD_VALUE.search(value) is not None:
                raise LocalProtocolError(
                    f"refusing to send header {name.decode('latin-1')!r} "
                    f"with an invalid value {value!r}"
                )
    if len(_known_values) < _KNOWN_VALUES_MAX:
        for name, value in headers:
            # credentials are never kept around in a process-wide set
            if len(value) <= _KNOWN_VALUE_SIZE and name.lower() not in _SECRET_FIELDS:
                _known_values.add(value)
