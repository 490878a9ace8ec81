"""Conditional and range requests for a stored representation (RFC 9110 §13, §14),
without I/O: the validators of a file (its ETag and Last-Modified), whether a request's
conditions ask for a 304 or a 412, and which byte ranges a ``Range`` field asks for.

What the static file handler stands on; pure functions of the request's fields and the
file's size and times, so that each rule is tested on its own.
"""

from __future__ import annotations

import email.utils
import time

__all__ = [
    "MAX_RANGES",
    "Unsatisfiable",
    "condition_status",
    "etag_of",
    "http_date",
    "if_range_holds",
    "parse_ranges",
]

#: a Range field asking for more pieces than this is ignored (the whole file is sent):
#: many small overlapping ranges are a way to make a server work hard for little
MAX_RANGES = 16


class Unsatisfiable(Exception):
    """No range of a valid ``Range`` field overlaps the representation: a 416."""


def etag_of(size: int, mtime_ns: int, coding: str = "") -> str:
    """A strong entity tag from the file's size and modification time (and the content
    coding of a precompressed sibling, a different representation)."""
    suffix = f"-{coding}" if coding else ""
    return f'"{mtime_ns:x}-{size:x}{suffix}"'


def http_date(seconds: float) -> str:
    """An IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``)."""
    return email.utils.formatdate(seconds, usegmt=True)


def _parse_date(text: str) -> float | None:
    try:
        parsed = email.utils.parsedate_tz(text)
    except (TypeError, ValueError):
        return None
    if parsed is None:
        return None
    return email.utils.mktime_tz(parsed)


def _tags(field: str) -> list[str]:
    """The entity tags of an If-Match / If-None-Match field (``*`` as itself)."""
    return [tag.strip() for tag in field.split(",") if tag.strip()]


def _weak_match(tags: list[str], etag: str) -> bool:
    bare = etag.removeprefix("W/")
    return any(tag == "*" or tag.removeprefix("W/") == bare for tag in tags)


def condition_status(
    method: str,
    etag: str,
    mtime: float,
    *,
    if_match: str | None = None,
    if_none_match: str | None = None,
    if_modified_since: str | None = None,
    if_unmodified_since: str | None = None,
) -> int | None:
    """The status the preconditions answer with (412, or 304 for GET and HEAD), or
    None when the request goes on (RFC 9110 §13.2.2's order)."""
    whole_seconds = int(mtime)
    if if_match is not None:
        tags = _tags(if_match)
        if "*" not in tags and etag not in tags:  # strong comparison
            return 412
    elif if_unmodified_since is not None:
        since = _parse_date(if_unmodified_since)
        if since is not None and whole_seconds > since:
            return 412
    safe = method in ("GET", "HEAD")
    if if_none_match is not None:
        if _weak_match(_tags(if_none_match), etag):
            return 304 if safe else 412
    elif if_modified_since is not None and safe:
        since = _parse_date(if_modified_since)
        if since is not None and whole_seconds <= since <= time.time():
            return 304
    return None


def if_range_holds(if_range: str | None, etag: str, mtime: float) -> bool:
    """Whether a Range field is to be honoured under ``If-Range`` (absent: yes): the
    validator must match exactly (a strong ETag, or the Last-Modified date)."""
    if if_range is None:
        return True
    value = if_range.strip()
    if value.startswith(('"', "W/")):
        return not value.startswith("W/") and value == etag
    since = _parse_date(value)
    return since is not None and int(mtime) == since


def parse_ranges(field: str | None, size: int) -> list[tuple[int, int]] | None:
    """The ``(start, end)`` byte ranges (``end`` exclusive) a Range field asks of a
    representation of ``size`` bytes, in the order asked; None when the field is
    absent, not a ``bytes`` range, malformed or asks for more than :data:`MAX_RANGES`
    pieces (the whole representation is sent). Raises :class:`Unsatisfiable` when no
    range overlaps it."""
    if field is None:
        return None
    unit, _, spec = field.partition("=")
    if unit.strip().lower() != "bytes" or not spec.strip():
        return None
    pieces = [piece.strip() for piece in spec.split(",")]
    if len(pieces) > MAX_RANGES:
        return None
    ranges: list[tuple[int, int]] = []
    for piece in pieces:
        first, dash, last = piece.partition("-")
        if not dash or not (first.isdigit() or first == "") or not (last.isdigit() or last == ""):
            return None
        if first == "":  # a suffix: the last N bytes
            if last == "":
                return None
            length = int(last)
            if length == 0:
                continue
            ranges.append((max(size - length, 0), size))
            continue
        start = int(first)
        end = int(last) + 1 if last else size
        if last and end <= start:
            return None  # last-pos before first-pos: invalid, so the field is ignored
        if start >= size:
            continue
        ranges.append((start, min(end, size)))
    if not ranges:
        raise Unsatisfiable(f"no range of {field!r} overlaps {size} bytes")
    return ranges
