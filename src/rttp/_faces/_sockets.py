"""A WebSocket connection as a routing app's socket callbacks see it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._io.websocket._websocket import (
    WebSocket,
)
from .._model import Request

__all__ = ["SocketCallback", "SocketConnection"]


class SocketConnection:
    """A live WebSocket on a socket path (the seed's ``serve_socket``)."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.id: str = ws.id

    @property
    def path(self) -> str:
        """The path the connection was opened on."""
        return self.ws.path

    @property
    def request(self) -> Request | None:
        """The handshake request."""
        return self.ws.request

    @property
    def is_open(self) -> bool:
        """True until the connection starts closing."""
        return self.ws.is_open

    async def text(self, payload: str) -> None:
        """Send a text message."""
        await self.ws.send_text(payload)

    async def binary(self, payload: bytes) -> None:
        """Send a binary message."""
        await self.ws.send_bytes(payload)

    async def ping(self, payload: bytes | str = b"") -> None:
        """Send a ping."""
        await self.ws.ping(payload.encode() if isinstance(payload, str) else payload)

    async def pong(self, payload: bytes | str = b"") -> None:
        """Send a pong."""
        await self.ws.pong(payload.encode() if isinstance(payload, str) else payload)

    async def disconnect(self, code_or_reason: int | str = 1000, reason: str = "") -> None:
        """Close the connection; a str first argument is a reason with the normal code 1000."""
        if isinstance(code_or_reason, str):
            code, reason = 1000, code_or_reason
        else:
            code = code_or_reason
        await self.ws.close(code, reason)

    def __repr__(self) -> str:
        return f"<SocketConnection {self.id} {self.path}>"


SocketCallback = Callable[[SocketConnection, int, Any, Any], Any]
