"""Where a close frame starts in received bytes (RFC 6455 frame headers only, sans-IO).

A backend answers the peer's close as soon as it parses it, and a closing connection
sends no more messages. So that the messages which arrived *before* a close in the same
read can still be answered (an echo, then the close: what RFC 6455 §5.5.1 allows and
peers such as Autobahn|Testsuite expect), the I/O layer holds back the bytes from the
close frame on until the events before it have been taken. This scanner finds that
offset by reading frame headers (two to fourteen bytes each), following frame
boundaries across reads; it never looks at a payload.
"""

from __future__ import annotations

__all__ = ["CloseScanner"]

_CLOSE = 0x8


class CloseScanner:
    """Follows frame boundaries through a connection's received bytes."""

    __slots__ = ("_head", "_skip")

    def __init__(self) -> None:
        self._skip = 0  # payload bytes of the current frame still to come
        self._head = b""  # the start of a frame header cut off by the end of a read

    def close_at(self, data: bytes | bytearray) -> int:
        """The offset in ``data`` at which a close frame's header starts, or -1 (0 when
        its header began in an earlier read)."""
        head = self._head
        buf = head + data if head else data
        end = len(buf)
        pos = self._skip
        found = -1
        while pos < end:
            if end - pos < 2:
                break
            length = buf[pos + 1] & 0x7F
            size = 2
            if length == 126:
                size = 4
            elif length == 127:
                size = 10
            if buf[pos + 1] & 0x80:
                size += 4
            if end - pos < size:
                break
            if length == 126:
                length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
            elif length == 127:
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
            if found < 0 and buf[pos] & 0x0F == _CLOSE:
                found = max(pos - len(head), 0)
            pos += size + length
        if pos >= end:
            self._skip, self._head = pos - end, b""
        else:
            self._skip, self._head = 0, bytes(buf[pos:])
        return found
