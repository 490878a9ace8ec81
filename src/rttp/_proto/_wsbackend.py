"""The WebSocket backend contract (RFC 6455 framing, no I/O): what a framing plugin implements.

A :class:`WebSocketBackend` makes one :class:`WebSocketProtocol` per connection once
the handshake (trio-rttp's own, through the engine) is done. The protocol object turns
received bytes into events (:class:`~rttp.WebSocketMessage`, :class:`~rttp.PingEvent`,
:class:`~rttp.PongEvent`, and finally :class:`~rttp.Closed`) and messages into bytes.
It owes some answers itself: a pong for each ping, the echo of the peer's close, the
close frame of a protocol error. Those wait in :meth:`WebSocketProtocol.data_to_send`,
which the I/O layer sends in one write after each batch of received data.

:class:`MessageAssembler` is the shared part of every backend: fragments joined into
one message with the size and fragment limits, text validated as UTF-8 as it arrives.
"""

from __future__ import annotations

import abc
import codecs
from dataclasses import dataclass
from typing import ClassVar

from ._wsdeflate import DeflateParams
from ._wsevents import WebSocketEvent

__all__ = [
    "DEFAULT_MAX_FRAGMENTS",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "MessageAssembler",
    "MessageTooBig",
    "WebSocketBackend",
    "WebSocketProtocol",
    "WebSocketSettings",
]

#: Messages larger than this close the connection with 1009.
DEFAULT_MAX_MESSAGE_SIZE = 4 << 20
#: Messages in more frames than this close the connection with 1009 (a flood of one-byte
#: fragments costs CPU per frame whatever the payload).
DEFAULT_MAX_FRAGMENTS = 4096
#: parts of a fragmented message kept before they are compacted into one buffer
_MAX_PARTS = 64


@dataclass(frozen=True)
class WebSocketSettings:
    """What a backend's protocol object must enforce on one connection.

    ``max_message_size`` counts a message's payload after decompression (a compressed
    message may never be inflated past it); None removes the limit, as does
    ``max_fragments=None``. ``deflate`` is the negotiated permessage-deflate agreement,
    or None.
    """

    max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE
    max_fragments: int | None = DEFAULT_MAX_FRAGMENTS
    deflate: DeflateParams | None = None


class MessageTooBig(Exception):
    """A message crossed ``max_message_size`` or ``max_fragments`` (close with 1009)."""


class MessageAssembler:
    """Joins a fragmented message's parts within the limits (sans-IO, one per connection).

    Parts are ``bytes`` (binary, or text still to be decoded: it is validated as it
    arrives, so invalid UTF-8 fails at the fragment that carries it) or ``str`` (text a
    backend already decoded). Up to 64 parts are joined once at the end; past that they
    are compacted into one buffer, so memory follows the payload, never the fragment
    count.
    """

    __slots__ = (
        "_decoder",
        "_fragments",
        "_partial",
        "_parts",
        "_size",
        "_started",
        "_text",
        "settings",
    )

    def __init__(self, settings: WebSocketSettings) -> None:
        self.settings: WebSocketSettings = settings
        self._parts: list[str | bytes] = []
        self._partial: bytearray | None = None
        self._size = 0
        self._fragments = 0
        self._started = False
        self._text = False
        self._decoder: codecs.IncrementalDecoder | None = None

    @property
    def size(self) -> int:
        """Payload bytes of the message being assembled so far."""
        return self._size

    @property
    def busy(self) -> bool:
        """True while a fragmented message is incomplete."""
        return self._started

    def too_large(self, size: int) -> str:
        """The 1009 reason for a message of ``size`` bytes."""
        limit = self.settings.max_message_size
        return f"message of {size} bytes larger than max_message_size={limit}"

    def add(
        self, data: str | bytes, text: bool, fin: bool, frame_finished: bool = True
    ) -> str | bytes | None:
        """Add a frame's payload (or, with ``frame_finished=False``, the part of it that
        has arrived); the whole message once ``fin``, else None.

        Raises :class:`MessageTooBig`, or UnicodeDecodeError for invalid text (1007).
        """
        settings = self.settings
        if not self._started:
            self._started = True
            self._text = text
            if text and isinstance(data, bytes):
                self._decoder = codecs.getincrementaldecoder("utf-8")()
        if frame_finished:
            self._fragments += 1
        if settings.max_fragments is not None and self._fragments > settings.max_fragments:
            raise MessageTooBig(
                f"message in more than max_fragments={settings.max_fragments} fragments"
            )
        self._size += len(data)
        if settings.max_message_size is not None and self._size > settings.max_message_size:
            raise MessageTooBig(self.too_large(self._size))
        if self._decoder is not None:
            assert isinstance(data, bytes)
            data = self._decoder.decode(data, fin)
        parts = self._parts
        parts.append(data)
        if len(parts) > _MAX_PARTS:
            if self._partial is None:
                self._partial = bytearray()
            for part in parts:
                self._partial += part.encode("utf-8") if isinstance(part, str) else part
            parts.clear()
        if not fin:
            return None
        whole: str | bytes
        if self._partial is not None:  # text is kept as UTF-8 (a StringIO keeps every part)
            for part in parts:
                self._partial += part.encode("utf-8") if isinstance(part, str) else part
            whole = self._partial.decode("utf-8") if self._text else bytes(self._partial)
        elif self._text:
            whole = "".join(parts)  # type: ignore[arg-type]
        else:
            whole = b"".join(parts)  # type: ignore[arg-type]
        self.reset()
        return whole

    def reset(self) -> None:
        """Forget the message being assembled."""
        self._parts.clear()
        self._partial = None
        self._size = 0
        self._fragments = 0
        self._started = False
        self._decoder = None


class WebSocketProtocol(abc.ABC):
    """One connection's framing, after the handshake (client or server side).

    The I/O layer calls :meth:`receive_data` with what the stream delivered, sends
    :meth:`data_to_send`, then hands the events on. The last event is a
    :class:`~rttp.Closed` when the connection is over: the peer's close (already
    echoed), the answer to ours, or a protocol error (its close frame queued: 1002,
    1007, 1009 …); nothing is fed after it. The ``send_*`` methods return the frame's
    bytes, compressed when permessage-deflate was agreed.
    """

    @abc.abstractmethod
    def receive_data(self, data: bytes | bytearray) -> list[WebSocketEvent]:
        """Parse received bytes; the events they completed, in order."""

    @abc.abstractmethod
    def data_to_send(self) -> bytes:
        """What the protocol owes the peer after the last receive (pongs, a close)."""

    @abc.abstractmethod
    def send_message(self, data: str | bytes) -> bytes:
        """A text (``str``) or binary (``bytes``) message as one frame."""

    @abc.abstractmethod
    def send_ping(self, payload: bytes) -> bytes:
        """A ping frame (payload at most 125 bytes)."""

    @abc.abstractmethod
    def send_pong(self, payload: bytes) -> bytes:
        """An unsolicited pong frame."""

    @abc.abstractmethod
    def send_close(self, code: int, reason: str) -> bytes:
        """The close frame that starts the closing handshake."""


class WebSocketBackend(abc.ABC):
    """A WebSocket framing implementation. ``websocket_backend="auto"`` picks the
    available one with the highest ``priority``."""

    name: ClassVar[str]
    priority: ClassVar[int] = 0

    @abc.abstractmethod
    def protocol(self, client: bool, settings: WebSocketSettings) -> WebSocketProtocol:
        """A protocol object for one connection (``client``: this side is the client)."""
