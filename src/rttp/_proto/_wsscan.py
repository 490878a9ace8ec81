"""Where a frame that ends the connection starts in received bytes (RFC 6455 frame
headers only, sans-IO).

A backend answers the peer's close as soon as it parses it, and fails the connection at
a frame it cannot accept; either way no more messages go out. So that the messages which
arrived *before* such a frame in the same read can still be answered (an echo, then
the close: what RFC 6455 §5.5.1 allows and peers such as Autobahn|Testsuite expect), the
I/O layer holds back the bytes from that frame on until the events before it have been
taken. This scanner finds the offset by reading frame headers (two to fourteen bytes
each), following frame boundaries across reads; it never looks at a payload. A header
ends the connection when it is a close, or when its opcode is reserved, a reserved bit
no extension claims is set, or a control frame is fragmented or over 125 bytes.
"""

from __future__ import annotations

__all__ = ["CloseScanner"]

_CLOSE = 0x8
_RESERVED_OPCODES = frozenset({3, 4, 5, 6, 7, 11, 12, 13, 14, 15})


def _refused(first: int, length: int, reserved: int) -> bool:
    """Whether a frame header with this first byte and length fails the connection."""
    opcode = first & 0x0F
    if first & reserved or opcode in _RESERVED_OPCODES:
        return True
    return opcode >= 8 and (not first & 0x80 or length > 125)  # a control frame


class CloseScanner:
    """Follows frame boundaries through a connection's received bytes."""

    __slots__ = ("_data", "_head", "_reserved", "_skip")

    def __init__(self, rsv1: bool = False) -> None:
        self._skip = 0  # payload bytes of the current frame still to come
        self._head = b""  # the start of a frame header cut off by the end of a read
        # the reserved bits no extension claims (RSV1 is permessage-deflate's)
        self._reserved = 0x30 if rsv1 else 0x70
        # a data frame's first byte less FIN, when nothing is wrong with it (the fast path)
        self._data = frozenset({0, 1, 2, 0x41, 0x42} if rsv1 else {0, 1, 2})

    def close_at(self, data: bytes | bytearray) -> int:
        """The offset in ``data`` at which a header that ends the connection starts, or
        -1 (0 when it began in an earlier read)."""
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
            first = buf[pos]
            if (
                found < 0
                and first & 0x7F not in self._data
                and (first & 0x0F == _CLOSE or _refused(first, length, self._reserved))
            ):
                found = max(pos - len(head), 0)
            pos += size + length
        if pos >= end:
            self._skip, self._head = pos - end, b""
        else:
            self._skip, self._head = 0, bytes(buf[pos:])
        return found
