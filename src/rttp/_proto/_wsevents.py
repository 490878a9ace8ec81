"""What a WebSocket's receive returns: messages, pings, pongs, and the close."""

from __future__ import annotations

from typing import Union

__all__ = ["Closed", "WebSocketMessage", "PingEvent", "PongEvent", "WebSocketEvent", "close_reason"]


class WebSocketMessage:
    """A complete text (``str``) or binary (``bytes``) message."""

    __slots__ = ("data",)

    def __init__(self, data: str | bytes) -> None:
        self.data: str | bytes = data

    @property
    def is_binary(self) -> bool:
        """True for a binary message."""
        return isinstance(self.data, bytes)

    def __repr__(self) -> str:
        return f"WebSocketMessage({self.data!r})"


class PingEvent:
    """The peer sent a ping (it has been answered already)."""

    __slots__ = ("payload",)

    def __init__(self, payload: bytes) -> None:
        self.payload: bytes = payload


class PongEvent:
    """The peer sent a pong."""

    __slots__ = ("payload",)

    def __init__(self, payload: bytes) -> None:
        self.payload: bytes = payload


class Closed:
    """The connection closed: ``code`` (1005 when the close frame had none, 1006 when the
    connection broke without one) and ``reason``."""

    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str = "") -> None:
        self.code: int = code
        self.reason: str = reason

    def __repr__(self) -> str:
        return f"Closed({self.code}, {self.reason!r})"


WebSocketEvent = Union[WebSocketMessage, PingEvent, PongEvent, Closed]


def close_reason(text: str) -> str:
    """A close reason that fits a control frame (123 bytes of UTF-8)."""
    encoded = text.encode("utf-8")[:123]
    return encoded.decode("utf-8", errors="ignore")
