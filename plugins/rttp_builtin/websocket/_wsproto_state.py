"""The one place that reads wsproto's private state.

wsproto hands out a frame's payload as it arrives but has no public way to see a frame
header's declared length before the payload is in; refusing a message that will pass
``max_message_size`` as soon as its header says so (not after buffering it) needs
exactly that. ``tests/plugins/test_wsproto_adapter.py`` fails loudly if a wsproto release
moves it; a public ``FrameProtocol`` "current frame header" attribute would remove it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["frame_in_progress"]


def frame_in_progress(conn: Any) -> tuple[int, int] | None:
    """``(declared payload length, payload bytes received so far)`` of the frame whose
    header wsproto has parsed and whose payload is still arriving, or None."""
    decoder = getattr(getattr(conn, "_proto", None), "_frame_decoder", None)
    header = getattr(decoder, "header", None)
    if header is None:
        return None
    return int(header.payload_len), int(decoder.payload_consumed)  # type: ignore[union-attr]
