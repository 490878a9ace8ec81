"""The fast WebSocket backend: the websockets library's sans-I/O core, with its C speedups.

:class:`websockets.protocol.Protocol` parses and builds frames (unmasking in C), checks
frame sizes against the limit at each header, answers pings and echoes the peer's close
itself, and inflates permessage-deflate within the limit (see ``_websockets``). It is
registered when websockets is installed (a default dependency on CPython);
``websocket_backend="auto"`` then prefers it to wsproto.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from rttp.plugin import WebSocketBackend, WebSocketProtocol, WebSocketSettings, hookimpl

__all__ = ["WebsocketsBackend"]


class WebsocketsBackend(WebSocketBackend):
    """websockets' sans-I/O layer: the fastest built-in (C unmasking)."""

    name = "websockets"
    priority = 10

    def protocol(self, client: bool, settings: WebSocketSettings) -> WebSocketProtocol:
        from ._websockets import WebsocketsProtocol  # imported on the first connection

        return WebsocketsProtocol(client, settings)


@hookimpl
def rttp_register_websocket_backends(register: Any) -> None:
    """Register the websockets backend when websockets is importable."""
    if importlib.util.find_spec("websockets") is not None:
        register(WebsocketsBackend())
