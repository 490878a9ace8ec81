"""The pure-Python reference WebSocket backend: wsproto's frame layer.

wsproto parses and builds frames, unmasks, validates UTF-8 and close codes; ``_wsproto``
turns its events into trio-rttp's, keeps the limits, and bounds permessage-deflate. It
is imported on the first connection, so a plugin set that never opens a WebSocket
never imports wsproto.
"""

from __future__ import annotations

from typing import Any

from rttp.plugin import WebSocketBackend, WebSocketProtocol, WebSocketSettings, hookimpl

__all__ = ["WsprotoBackend"]


class WsprotoBackend(WebSocketBackend):
    """wsproto: pure Python, the reference every other backend is held to."""

    name = "wsproto"
    priority = 0

    def protocol(self, client: bool, settings: WebSocketSettings) -> WebSocketProtocol:
        from ._wsproto import WsprotoProtocol

        return WsprotoProtocol(client, settings)


@hookimpl
def rttp_register_websocket_backends(register: Any) -> None:
    """Register the wsproto WebSocket backend."""
    register(WsprotoBackend())
