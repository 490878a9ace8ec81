"""What the server role of every connection of one server shares, worked out once."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..._model import Request, Response, reason_phrase
from ..._plugins import Plugins
from ..._proto._encoding import choose_response_encoding
from ..._proto._mux import MultiplexLimits
from ..._proto._validate import HAS_DATE, HAS_FRAMING, HAS_SERVER, check_headers, check_reason

if TYPE_CHECKING:
    from ..._config import ServerConfig
    from ...plugin import BodyCodec, CodecLimits, ContentEncoding
    from ._clock import CoarseClock

__all__ = ["ServerSettings", "error_response", "status_reason"]


class ServerSettings:
    """A server's configuration in the form its connections read it."""

    def __init__(self, config: ServerConfig, plugins: Plugins) -> None:
        self.config = config
        self.plugins = plugins
        self.codecs: dict[str, BodyCodec] = plugins.body_codecs
        self.codec_limits: CodecLimits = config.codec_limits
        self.encodings: dict[str, ContentEncoding] = plugins.encodings
        self.server_header: bytes = (
            config.server_header.encode("latin-1") if config.server_header else b""
        )
        check_headers([(b"Server", self.server_header)])
        #: the configured default fields, as bytes (checked once, here)
        self.default_headers: list[tuple[bytes, bytes]] = [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in config.default_headers
        ]
        #: a default field that frames or closes (the writer must then read the fields)
        self.default_framing = check_headers(self.default_headers) & HAS_FRAMING
        if config.compress_encodings is None:
            self.offered: list[str] = plugins.offered_encodings
        else:
            self.offered = [e for e in config.compress_encodings if e in plugins.encodings]
        #: what an HTTP/2 connection allows its client
        self.mux_limits: MultiplexLimits = MultiplexLimits(
            max_concurrent_streams=config.http2_max_concurrent_streams,
            stream_window=config.http2_stream_window,
            connection_window=4 * config.http2_stream_window,
            max_frame_size=16384,
        )
        #: responses may be compressed at all
        self.compressing: bool = bool(config.compress and self.offered)
        #: the phase timeouts, infinite when disabled (floats, so that a deadline, the
        #: clock's float plus one of these, adds on Python's fast path)
        self.header_timeout: float = float(config.header_timeout or math.inf)
        self.keep_alive_timeout: float = float(config.keep_alive_timeout or math.inf)
        self.body_timeout: float = float(config.body_timeout or math.inf)
        self.write_timeout: float = float(config.write_timeout or math.inf)
        timeouts = [
            t
            for t in (
                config.header_timeout,
                config.keep_alive_timeout,
                config.body_timeout,
                config.handler_timeout,
                config.write_timeout,
            )
            if t is not None
        ]
        #: the sweeper's period: timeouts are enforced to within a tenth of the smallest one
        self.sweep_tick: float = max(0.01, min([1.0, *(t / 10 for t in timeouts)]))

    def final_headers(
        self, raw: list[tuple[bytes, bytes]], clock: CoarseClock
    ) -> tuple[list[tuple[bytes, bytes]], int]:
        """A validated copy of ``raw`` with Date and Server added when missing, and the
        ``HAS_*`` bits of what ``raw`` had (one pass over the handler's headers)."""
        present = check_headers(raw)
        headers = list(raw)
        if not present & HAS_DATE:
            if not clock.watched:
                clock.tick()
            headers.append((b"Date", clock.date))
        if not present & HAS_SERVER and self.server_header:
            headers.append((b"Server", self.server_header))
        if self.default_headers:  # (only when configured: a scan of the answer's names)
            given = {name.lower() for name, _ in raw}
            headers += [(n, v) for n, v in self.default_headers if n.lower() not in given]
            present |= self.default_framing
        return headers, present

    def negotiate(self, request: Request, response: Response, body: bytes | None) -> str | None:
        """The encoding to compress ``response`` with for ``request``, or None."""
        config = self.config
        headers = response.headers
        size: int | None = None
        if body is not None:
            size = len(body)
            if size < config.compress_min_size:
                return None  # the common small answer: no header is looked at
        else:
            declared = headers.get("content-length")
            if declared is not None and declared.isdigit():
                size = int(declared)
        return choose_response_encoding(
            request.headers.get("accept-encoding"),
            headers.get("content-type"),
            self.offered,
            body_size=size,
            already_encoded="content-encoding" in headers or "content-range" in headers,
            min_size=config.compress_min_size,
            types=config.compress_types,
        )


def error_response(status: int, message: str) -> Response:
    """A plain-text answer ``"<status> <phrase>: <message>"`` (just ``"<status> <phrase>"``
    when the message would only repeat the phrase)."""
    phrase = reason_phrase(status)
    if not message:
        body = b""
    elif message == phrase:
        body = f"{status} {phrase}\n".encode()
    else:
        body = f"{status} {phrase}: {message}\n".encode()
    return Response(
        status,
        [
            (b"Content-Type", b"text/plain; charset=utf-8"),
            (b"Content-Length", str(len(body)).encode()),
        ],
        body,
    )


_default_reasons: dict[int, bytes] = {}


def status_reason(status: int, given: str | None = None) -> bytes:
    """The reason phrase to send for ``status``: ``given``, checked, or the standard
    one (encoded once)."""
    if given is None:
        reason = _default_reasons.get(status)
        if reason is None:
            reason = _default_reasons[status] = (
                reason_phrase(status).encode("latin-1") or b"Unknown"
            )
        return reason
    reason = given.encode("latin-1", "replace") or b"Unknown"
    check_reason(reason)
    return reason
