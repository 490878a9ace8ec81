"""CloseScanner: where the frame that ends a connection starts, across reads."""

from __future__ import annotations

import pytest

from rttp._proto._wsscan import CloseScanner
from rttp.testing import ws_frame

MESSAGE = ws_frame(1, b"hello")
BIG = ws_frame(2, b"x" * 70000)  # a 64-bit length and a mask: a 14-byte header
CLOSE = ws_frame(8, b"\x03\xe8")


def test_finds_the_close_after_other_frames_whole_or_split_anywhere():
    stream = MESSAGE + BIG + ws_frame(9, b"p") + CLOSE + MESSAGE
    at = len(MESSAGE + BIG + ws_frame(9, b"p"))
    assert CloseScanner().close_at(stream) == at
    for cut in range(1, len(stream)):  # every split into two reads
        scanner = CloseScanner()
        first, second = scanner.close_at(stream[:cut]), scanner.close_at(stream[cut:])
        if cut <= at:
            assert (first, second) == (-1, at - cut), cut
        elif cut < at + 6:  # its header (with the mask) is cut: it began in the first read
            assert (first, second) == (-1, 0), cut
        else:
            assert first == at, cut


@pytest.mark.parametrize(
    "refused",
    [
        ws_frame(1, b"x", rsv=0x40),  # RSV1 with no extension
        ws_frame(1, b"x", rsv=0x20),
        ws_frame(3, b"x"),  # a reserved opcode
        ws_frame(11, b""),
        ws_frame(9, b"x", fin=False),  # a fragmented control frame
        ws_frame(10, b"x" * 126),  # a control frame over 125 bytes
    ],
)
def test_a_frame_that_fails_the_connection_is_held_back_like_a_close(refused):
    assert CloseScanner().close_at(MESSAGE + refused + MESSAGE) == len(MESSAGE)


def test_plain_traffic_and_deflate_are_never_held():
    traffic = MESSAGE + ws_frame(1, b"a", fin=False) + ws_frame(9, b"") + ws_frame(0, b"b") + BIG
    assert CloseScanner().close_at(traffic) == -1
    compressed = ws_frame(1, b"\x00", rsv=0x40)
    assert CloseScanner(rsv1=True).close_at(MESSAGE + compressed) == -1
    assert CloseScanner(rsv1=False).close_at(MESSAGE + compressed) == len(MESSAGE)
