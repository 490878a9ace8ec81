"""Where each request begins, for a parser that does not say (llhttp).

llhttp skips any number of empty lines before a request and parses ``RTSP/1.0`` as well
as ``HTTP/1.0``, and it reports neither. The h11 backend skips at most
:data:`~rttp.plugin.MAX_EMPTY_LINES` and refuses anything but HTTP, so the httptools
backend must see each request line itself. It feeds llhttp in pieces that end where a
message may end (after a blank line, or after a sized body), so that each request
begins at the start of a piece: :class:`RequestLines` then counts the empty lines before
it and records its request line, across reads when it arrives in parts. Splitting a
feed changes nothing for llhttp, which is incremental.
"""

from __future__ import annotations

from rttp.errors import ProtocolError
from rttp.plugin import MAX_EMPTY_LINES, too_many_empty_lines

__all__ = ["RequestLines", "last_chunk_size"]

_LINE_ENDS = (10, 13)  # LF, CR


def last_chunk_size(data: bytes | bytearray, end: int, before: bytes) -> int | None:
    """The size declared by the chunk-size line that ends at ``data[end]`` (its data
    follows to the end of ``data``); ``before``: the end of the previous read, where the
    line may have begun. None if the line cannot be read back (a long extension)."""
    # pragma: no mutate start (the window's exact edges: a size line is far shorter)
    window = bytes(data[max(0, end - 64) : end])
    if end < 64:
        window = before[max(0, len(before) - (64 - end)) :] + window
    start = window.rfind(b"\n", 0, len(window) - 1) + 1
    # pragma: no mutate end
    if start == 0 and len(window) == 64:
        return None
    digits = window[start:].split(b";", 1)[0].strip()
    try:
        return int(digits, 16)
    except ValueError:
        return None


class RequestLines:
    """The empty lines before the next request, and where its request line is.

    The line is found in ``source`` from ``at`` on: the read it came in, when all of it
    came in one (nothing is copied), or the bytes collected from several reads.
    """

    __slots__ = ("at", "complete", "empties", "fresh", "source")

    # pragma: no mutate start (start() sets each before it is read)
    def __init__(self) -> None:
        self.empties = 0
        self.source: bytes | bytearray = b""
        self.at = 0
        #: the request line has come whole (its LF)
        self.complete = False
        self.fresh = False  # recorded at the start of a piece, for the message beginning

    # pragma: no mutate end

    def begin(self) -> None:
        """llhttp began a message: its line is the one recorded, unless the message
        began inside a piece (after one whose end no blank line marks); then unknown."""
        if not self.fresh:
            self.source, self.at, self.complete = b"", 0, False
        self.fresh = False

    def start(self, data: bytes | bytearray, pos: int, end: int) -> ProtocolError | None:
        """``data[pos:end]`` begins between two requests: count the empty lines before
        the next request line (an error past the limit), and note where it begins."""
        at = pos
        while at < end and data[at] in _LINE_ENDS:
            at += 1
        if at > pos:
            self.empties += data.count(b"\n", pos, at)
            if self.empties > MAX_EMPTY_LINES:
                return too_many_empty_lines()
        if at < end:
            self.empties = 0
            self.fresh = True
            if data.find(b"\n", at, end) >= 0:
                self.source, self.at, self.complete = data, at, True
            else:  # the rest comes in later reads: keep what came
                self.source, self.at, self.complete = bytes(data[at:end]), 0, False
        return None

    def extend(self, data: bytes | bytearray) -> None:
        """More of a request line that has not ended yet."""
        lf = data.find(b"\n")
        self.complete = lf >= 0
        self.source = bytes(self.source) + bytes(data[: lf + 1 if lf >= 0 else len(data)])

    def line(self) -> bytes:
        """The request line so far (for error messages)."""
        source = self.source
        lf = source.find(b"\n", self.at)
        return bytes(source[self.at : lf + 1 if lf >= 0 else len(source)])
