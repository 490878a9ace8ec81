"""The h11 backend's guards on raw bytes: what h11 accepts and llhttp refuses, checked
on h11's receive buffer before h11 parses it, so that the two backends never split or
read requests differently (empty lines before a request, bare LF and CR, repeated
Content-Length, obs-fold, whitespace and bare CR in chunk-size lines, bare LF in a
trailer section)."""

from __future__ import annotations

import re

import h11

from rttp.errors import RemoteProtocolError
from rttp.plugin import MAX_EMPTY_LINES, too_many_empty_lines

from ._h11 import chunk_reading, drop_front, receive_buffer

__all__ = [
    "END_OF_HEAD",
    "EOL_STARTS",
    "FOLD",
    "LENGTH_FIELD",
    "check_chunk_lines",
    "check_fold",
    "check_line_ends",
    "has_bare_cr",
    "skip_empty_lines",
]

END_OF_HEAD = re.compile(rb"\n\r?\n")
EOL_STARTS = (b"\r", b"\n")
FOLD = re.compile(rb"\n[ \t]")
_BARE_LF = re.compile(rb"(?<!\r)\n")
LENGTH_FIELD = re.compile(rb"\ncontent-length[ \t]*:([^\r\n]*)", re.IGNORECASE)
#: a last-chunk line as h11 reads it (the trailer section follows)
_LAST_CHUNK = re.compile(rb"0{1,20}(?:;[^\r\n]*)?[ \t]*\r\n")
_BARE_CR = re.compile(rb"\r(?!\n)(?=.)", re.S)  # a CR followed by anything but LF
_CHUNK_LINE_WS = re.compile(rb"[ \t]")
_QUOTED = re.compile(rb'"(?:[^"\\]|\\.)*"')


def skip_empty_lines(conn: h11.Connection, skipped: int) -> int:
    """Drop the CRLF (or LF) lines before a request line, ``skipped`` of them already
    (they may come one read at a time); past MAX_EMPTY_LINES in all, refuse (as the
    httptools backend does). The count so far."""
    while True:
        data = receive_buffer(conn)
        if data[:2] == b"\r\n":
            drop_front(conn, 2)
        elif data[:1] == b"\n":
            drop_front(conn, 1)
        else:
            return skipped
        skipped += 1
        if skipped > MAX_EMPTY_LINES:
            raise too_many_empty_lines()


def has_bare_cr(buf: bytearray) -> bool:
    """A CR not before an LF (h11 would wait for the LF for ever; llhttp refuses)."""
    return _BARE_CR.search(buf) is not None


def check_line_ends(buf: bytearray) -> bool:
    """What h11 would let through in a head that llhttp refuses (two parsers must never
    split requests differently): a bare LF ending a line, and a repeated or listed
    Content-Length (h11 merges identical ones). Returns whether the bytes after this
    head still need the check."""
    start = 0
    while buf[start : start + 1] == b"\n" or buf[start : start + 2] == b"\r\n":
        start += 1 if buf[start : start + 1] == b"\n" else 2  # empty lines first
    end = END_OF_HEAD.search(buf, start)
    stop = end.end() if end is not None else len(buf)
    if _BARE_LF.search(buf, start, stop) is not None:
        raise RemoteProtocolError("bare LF in the request head (lines end with CRLF)")
    lengths = LENGTH_FIELD.findall(buf, start, stop)
    if len(lengths) > 1 or any(b"," in value for value in lengths):
        raise RemoteProtocolError("repeated or listed Content-Length header")
    if end is None:
        return True
    # this head is fine; whether one pipelined behind it needs the check in turn
    return (
        _BARE_LF.search(buf, stop) is not None
        or _BARE_CR.search(buf, stop) is not None
        or LENGTH_FIELD.search(buf, stop) is not None
    )


def check_chunk_lines(conn: h11.Connection, suspect_ws: bool) -> None:
    """What h11 takes in chunk framing and llhttp refuses: a bare CR in a chunk-size
    line (h11's chunk extensions take any byte), whitespace in it outside a quoted
    extension value (``3 ``, ``3;a=b ``: h11 allows it before the CRLF), and a bare
    LF in or ending the trailer section. Checked before h11 reads the line (it
    reads the last chunk and its trailers in one step), and only when the bytes
    hold a CR or LF without its other half, or a space or tab."""
    reading = chunk_reading(conn)
    if reading is None or reading.in_chunk:
        return  # inside chunk data (or not a chunked body)
    buf = receive_buffer(conn)
    start = 0
    if not reading.in_trailer:
        at = reading.to_discard
        end = buf.find(b"\n", at)
        line = buf[at : (end if end >= 0 else len(buf)) - 1]
        if b"\r" in line:
            raise RemoteProtocolError("bare CR in a chunk-size line (a CR not before LF)")
        if suspect_ws and _CHUNK_LINE_WS.search(_QUOTED.sub(b"", bytes(line))):
            raise RemoteProtocolError(
                f"whitespace in the chunk-size line {bytes(line[:40]).decode('latin-1')!r}"
            )
        last = _LAST_CHUNK.match(buf, at)
        if last is None:
            return
        start = last.end()
    if buf[start : start + 2] == b"\r\n":
        return  # no trailer fields
    end_match = END_OF_HEAD.search(buf, max(start - 1, 0))
    stop = end_match.end() if end_match is not None else len(buf)
    if buf[start : start + 1] == b"\n" or _BARE_LF.search(buf, start, stop) is not None:
        raise RemoteProtocolError("bare LF in the trailer section (lines end with CRLF)")


def check_fold(buf: bytearray, fold_pos: int) -> int:
    """Refuse obs-fold in the header section (h11 unfolds it); ``fold_pos`` is how far
    an earlier call looked. Returns how far this one did."""
    start = max(fold_pos - 2, 0)
    end = END_OF_HEAD.search(buf, start)
    stop = end.start() + 1 if end is not None else len(buf)
    if FOLD.search(buf, max(fold_pos - 1, 0), stop) is not None:
        raise RemoteProtocolError("obsolete line folding (obs-fold) in the header section")
    return len(buf)
