"""The wsproto backend reads one piece of wsproto's private state, in one module
(``rttp_builtin.websocket._wsproto_state``): the declared length of the frame being
received. This drives a real wsproto connection so a release that moves it fails here."""

from __future__ import annotations

import struct

from wsproto import ConnectionType
from wsproto.connection import Connection

from rttp_builtin.websocket._wsproto_state import frame_in_progress


def test_a_frame_header_is_seen_before_its_payload():
    conn = Connection(ConnectionType.SERVER)
    assert frame_in_progress(conn) is None
    # a masked binary frame declaring 70,000 bytes, 10 of which have arrived
    header = bytes([0x82, 0x80 | 127]) + struct.pack("!Q", 70_000) + b"\x00\x00\x00\x00"
    conn.receive_data(header + b"x" * 10)
    received = sum(len(e.data) for e in conn.events() if hasattr(e, "data"))
    assert frame_in_progress(conn) == (70_000, received)
