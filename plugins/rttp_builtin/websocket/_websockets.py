"""The websockets library's sans-I/O core as a trio-rttp WebSocket protocol object.

:class:`websockets.protocol.Protocol` parses and builds frames (unmasking in C), checks
the frame sizes against the limit at each header, answers pings and echoes the peer's
close itself, and inflates permessage-deflate within the limit. This module turns its
frames into trio-rttp's events: fragments joined (and text validated as it arrives) by
the shared :class:`~rttp.plugin.MessageAssembler`, which also counts them.
"""

from __future__ import annotations

import logging
from typing import Any

from websockets.exceptions import InvalidState, PayloadTooBig
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol, Side, State

from rttp.errors import WebSocketClosed
from rttp.plugin import (
    Closed,
    MessageAssembler,
    MessageTooBig,
    PingEvent,
    PongEvent,
    WebSocketEvent,
    WebSocketMessage,
    WebSocketProtocol,
    WebSocketSettings,
    close_reason,
)

__all__ = ["WebsocketsProtocol"]

_TEXT, _BINARY, _CONT = Opcode.TEXT, Opcode.BINARY, Opcode.CONT
_PING, _PONG, _CLOSE = Opcode.PING, Opcode.PONG, Opcode.CLOSE


class _Quiet(logging.LoggerAdapter):  # type: ignore[type-arg]
    """websockets' per-connection log lines (debug frames, "connection closed" at INFO)
    are not ours to print; its warnings and errors go to ``rttp.websocket``."""

    def isEnabledFor(self, level: int) -> bool:
        return level >= logging.WARNING and self.logger.isEnabledFor(level)


_LOG = _Quiet(logging.getLogger("rttp.websocket"), {})


class WebsocketsProtocol(WebSocketProtocol):
    """One connection on :class:`websockets.protocol.Protocol`."""

    __slots__ = ("_assembler", "_echo", "_limit", "_over", "_p")

    def __init__(self, client: bool, settings: WebSocketSettings) -> None:
        self._limit = settings.max_message_size
        p = Protocol(
            Side.CLIENT if client else Side.SERVER,
            state=State.OPEN,
            max_size=settings.max_message_size,
            logger=_LOG,
        )
        deflate = settings.deflate
        if deflate is not None:
            compress = deflate.compress_settings(client)
            local_bits = -compress.pop("wbits")
            compress.pop("method")
            p.extensions = [
                PerMessageDeflate(
                    remote_no_context_takeover=deflate.remote_no_context_takeover(client),
                    local_no_context_takeover=deflate.local_no_context_takeover(client),
                    remote_max_window_bits=deflate.decompress_bits(client),
                    local_max_window_bits=local_bits,
                    compress_settings=compress,
                )
            ]
        self._p = p
        self._assembler = MessageAssembler(settings)
        self._over = False
        self._echo = b""  # a close echo of our own (see _close_in_fragments)

    # -- receiving --------------------------------------------------------------------
    def receive_data(self, data: bytes | bytearray) -> list[WebSocketEvent]:
        if self._over:
            return []
        p = self._p
        p.receive_data(data)
        events: list[WebSocketEvent] = []
        frame: Any
        for frame in p.events_received():
            opcode = frame.opcode
            if opcode is _BINARY or opcode is _TEXT:
                payload = frame.data
                if frame.fin:  # a whole message in one frame: no assembly
                    if opcode is _TEXT:
                        try:
                            events.append(WebSocketMessage(payload.decode()))
                        except UnicodeDecodeError as exc:
                            return self._fail(events, 1007, f"invalid UTF-8 text: {exc.reason}")
                    else:
                        events.append(
                            WebSocketMessage(payload if type(payload) is bytes else bytes(payload))
                        )
                    continue
                if not self._add(events, bytes(payload), opcode is _TEXT, False):
                    return events
            elif opcode is _CONT:
                if not self._add(events, bytes(frame.data), False, frame.fin):
                    return events
            elif opcode is _PING:  # websockets queued the pong
                events.append(PingEvent(bytes(frame.data)))
            elif opcode is _PONG:
                events.append(PongEvent(bytes(frame.data)))
            elif opcode is _CLOSE:  # the peer's close (echoed already) or its answer to ours
                self._over = True
                received = p.close_rcvd
                assert received is not None
                events.append(Closed(int(received.code), received.reason))
                return events
        if p.parser_exc is not None and p.close_rcvd is not None and self._assembler.busy:
            return self._close_in_fragments(events)
        if p.parser_exc is not None:  # websockets failed the connection (close frame queued)
            self._over = True
            sent = p.close_sent
            code = int(sent.code) if sent is not None else 1002
            reason = str(p.parser_exc)
            if isinstance(p.parser_exc, PayloadTooBig):
                reason = f"message larger than max_message_size={self._limit}: {reason}"
            events.append(Closed(code, reason))
        return events

    def _close_in_fragments(self, events: list[WebSocketEvent]) -> list[WebSocketEvent]:
        """The peer closed in the middle of a fragmented message. RFC 6455 lets control
        frames come between fragments, so this is a close like any other (Autobahn
        7.1.5): the unfinished message is dropped and the close echoed, where websockets
        would fail the connection with 1002."""
        p = self._p
        received = p.close_rcvd
        assert received is not None
        p.data_to_send()  # websockets' 1002 close frame: not sent
        payload = b"" if received.code == 1005 else received.serialize()
        self._echo = Frame(_CLOSE, payload).serialize(mask=p.side is Side.CLIENT)
        self._assembler.reset()
        self._over = True
        events.append(Closed(int(received.code), received.reason))
        return events

    def _add(self, events: list[WebSocketEvent], data: bytes, text: bool, fin: bool) -> bool:
        """Add a fragment; False once the connection failed because of it."""
        try:
            whole = self._assembler.add(data, text, fin)
        except MessageTooBig as exc:
            self._fail(events, 1009, str(exc))
            return False
        except UnicodeDecodeError as exc:
            self._fail(events, 1007, f"invalid UTF-8 text: {exc.reason}")
            return False
        if whole is not None:
            events.append(WebSocketMessage(whole))
        return True

    def _fail(self, events: list[WebSocketEvent], code: int, reason: str) -> list[Any]:
        self._p.fail(code, close_reason(reason))
        self._over = True
        events.append(Closed(code, reason))
        return events

    def data_to_send(self) -> bytes:
        if self._echo:
            echo, self._echo = self._echo, b""
            return echo
        writes = self._p.data_to_send()
        if not writes:
            return b""
        return writes[0] if len(writes) == 1 else b"".join(writes)

    # -- sending ----------------------------------------------------------------------
    def _out(self, send: Any, *args: Any) -> bytes:
        try:
            send(*args)
        except InvalidState as exc:
            raise WebSocketClosed(1006, f"cannot send on a closing connection: {exc}") from exc
        writes = self._p.data_to_send()
        return writes[0] if len(writes) == 1 else b"".join(writes)

    def send_message(self, data: str | bytes) -> bytes:
        if type(data) is str:
            return self._out(self._p.send_text, data.encode())
        return self._out(self._p.send_binary, data)

    def send_ping(self, payload: bytes) -> bytes:
        return self._out(self._p.send_ping, payload)

    def send_pong(self, payload: bytes) -> bytes:
        return self._out(self._p.send_pong, payload)

    def send_close(self, code: int, reason: str) -> bytes:
        return self._out(self._p.send_close, code, close_reason(reason))
