"""The seed 003 WebSocket client: ``rttp.websocket(url, headers)`` with events and iteration.

::

    async with rttp.websocket("wss://example.org/chat") as ws:
        ws.add("message", "printer", lambda payload, is_binary: print(payload))
        await ws.text("hello")
        async for message in ws:      # the Trio-native form
            ...

Messages go to ``message`` callbacks and, unless only callbacks consume them, to a
bounded queue read by ``async for`` / :meth:`WebSocketClient.receive` (a full queue
holds the reader back: backpressure, not loss).

Events (``ws.add(event, identity, fn)``; ``fn`` may be async): ``open()``,
``message(payload, is_binary)``, ``close(code, reason)``, ``error(code, reason)``
(a failed connection: the HTTP status of a refused handshake, or 0),
``ping(payload)``, ``pong(payload)``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import trio

from .._io._util import call_maybe_async, exit_owned_nursery
from .._io.websocket._websocket import (
    DEFAULT_MAX_FRAGMENTS,
    DEFAULT_MAX_MESSAGE_SIZE,
    Closed,
    PingEvent,
    PongEvent,
    WebSocket,
    WebSocketMessage,
)
from .._io.websocket._wshandshake import DEFAULT_COMPRESSION, connect_websocket
from .._model import URL, Headers
from .._plugins import Plugins
from .._proto._wsdeflate import Deflate
from ..errors import RTTPError, WebSocketClosed, WebSocketRejected

__all__ = ["EVENTS", "WebSocketClient", "websocket"]

log = logging.getLogger("rttp.websocket")

#: The events a client reports.
EVENTS = ("open", "message", "close", "error", "ping", "pong")


class WebSocketClient:
    """A WebSocket client with the seed's API; an ``async with`` resource that owns its tasks."""

    def __init__(
        self,
        url: str | URL,
        headers: Any = None,
        *,
        ping_interval: float | None = 30.0,
        ping_timeout: float = 20.0,
        handshake_timeout: float | None = 15.0,
        reconnect: bool = False,
        reconnect_delay: float = 0.5,
        reconnect_max_delay: float = 30.0,
        max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
        max_fragments: int | None = DEFAULT_MAX_FRAGMENTS,
        close_timeout: float = 5.0,
        send_timeout: float | None = None,
        message_queue_size: int = 16,
        subprotocols: tuple[str, ...] = (),
        compression: Deflate | None = DEFAULT_COMPRESSION,
        websocket_backend: str = "auto",
        verify: Any = True,
        plugins: Plugins | Sequence[object] | None = None,
        proxy: str | None = None,
        trust_env: bool = True,
    ) -> None:
        self._url = URL(url)
        self._headers = Headers(headers)
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.handshake_timeout = handshake_timeout
        self.reconnect = reconnect
        self.reconnect_delay = reconnect_delay
        self.reconnect_max_delay = reconnect_max_delay
        #: the limits and timeouts of :func:`rttp.connect_websocket`, the same here
        self.max_message_size = max_message_size
        self.max_fragments = max_fragments
        self.close_timeout = close_timeout
        self.send_timeout = send_timeout
        self.subprotocols = subprotocols
        #: permessage-deflate offered (None: off) and the framing backend plugin
        self.compression: Deflate | None = compression
        self.websocket_backend: str = websocket_backend
        self.verify = verify
        self.plugins = plugins
        #: the proxy the connection goes through (and whether the environment names one)
        self.proxy = proxy
        self.trust_env = trust_env
        self._callbacks: dict[str, dict[Any, Callable[..., Any]]] = {name: {} for name in EVENTS}
        self._state = "closed"
        self._ws: WebSocket | None = None
        self._nursery: trio.Nursery | None = None
        self._nursery_cm: Any = None
        self._user_closed = False
        self._iterating = False
        self._queue_size = message_queue_size
        self._send_messages, self._receive_messages = trio.open_memory_channel[str | bytes](
            message_queue_size
        )
        self.closed: Closed | None = None

    # -- the URL and headers ----------------------------------------------------------------
    @property
    def url(self) -> str:
        """The full URL."""
        return str(self._url)

    @property
    def host(self) -> str:
        """The host (the socket path for ws+unix)."""
        return self._url.host

    @property
    def port(self) -> int | None:
        """The port (the scheme's default when the URL has none)."""
        return self._url.port

    @property
    def path(self) -> str:
        """The path."""
        return self._url.path or "/"

    def headers_add(self, key: str, value: str) -> None:
        """Add a header to send with the handshake (before connecting)."""
        self._headers.add(key, value)

    def headers_remove(self, key: str) -> None:
        """Remove a header (all of its values)."""
        self._headers.pop(key, None)

    def headers_get(self, key: str) -> str | None:
        """A header's value, or None."""
        return self._headers.get(key)

    def headers_all(self) -> dict[str, str]:
        """Every header to be sent."""
        return dict(self._headers.items())

    # -- state ----------------------------------------------------------------------------
    def is_open(self) -> bool:
        """Connected."""
        return self._state == "open"

    def is_connecting(self) -> bool:
        """Connecting (the handshake is under way)."""
        return self._state == "connecting"

    def is_closing(self) -> bool:
        """Closing."""
        return self._state == "closing"

    def is_closed(self) -> bool:
        """Not connected."""
        return self._state == "closed"

    def is_tls(self) -> bool:
        """The connection uses TLS (``wss://``)."""
        return self._url.is_secure

    # -- events ---------------------------------------------------------------------------
    def add(self, event: str, identity: Any, fn: Callable[..., Any]) -> None:
        """Call ``fn`` on ``event``; ``identity`` names the registration for :meth:`remove`."""
        if event not in self._callbacks:
            raise ValueError(f"unknown WebSocket event {event!r} (known: {', '.join(EVENTS)})")
        self._callbacks[event][identity] = fn

    def remove(self, event: str, identity: Any) -> None:
        """Forget a registration."""
        self._callbacks.get(event, {}).pop(identity, None)

    async def _fire(self, event: str, *args: Any) -> None:
        for fn in list(self._callbacks[event].values()):
            await call_maybe_async(fn, *args)

    # -- lifecycle --------------------------------------------------------------------------
    async def __aenter__(self) -> WebSocketClient:
        self._nursery_cm = trio.open_nursery()
        self._nursery = await self._nursery_cm.__aenter__()
        try:
            await self.connect()
        except BaseException:
            cm, self._nursery_cm, self._nursery = self._nursery_cm, None, None
            await cm.__aexit__(None, None, None)  # nothing runs in it yet
            raise
        return self

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        try:
            await self.close()
        finally:
            cm, self._nursery_cm = self._nursery_cm, None
            self._nursery = None
            result = await exit_owned_nursery(cm, exc_info)
        return result

    async def connect(self, nursery: trio.Nursery | None = None) -> None:
        """Connect; fires ``open`` (or ``error`` and raises). Needs ``async with`` or a nursery."""
        if nursery is not None:
            self._nursery = nursery
        if self._nursery is None:
            raise RuntimeError(
                "connect() needs a nursery: use 'async with rttp.websocket(url) as ws'"
            )
        if self._state in ("open", "connecting"):
            return
        self._user_closed = False
        await self._open()
        self._nursery.start_soon(self._run)

    async def _open(self) -> None:
        self._state = "connecting"
        try:
            self._ws = await connect_websocket(
                self._url,
                headers=self._headers,
                subprotocols=self.subprotocols,
                handshake_timeout=self.handshake_timeout,
                max_message_size=self.max_message_size,
                max_fragments=self.max_fragments,
                close_timeout=self.close_timeout,
                send_timeout=self.send_timeout,
                compression=self.compression,
                websocket_backend=self.websocket_backend,
                verify=self.verify,
                plugins=self.plugins,
                proxy=self.proxy,
                trust_env=self.trust_env,
            )
        except WebSocketRejected as exc:
            self._state = "closed"
            await self._fire("error", exc.status, str(exc))
            raise
        except RTTPError as exc:
            self._state = "closed"
            await self._fire("error", 0, str(exc))
            raise
        self._ws.has_reader = True  # _run reads it, from before it starts: close() never does
        self._state = "open"
        self.closed = None
        await self._fire("open")

    async def _run(self) -> None:
        delay = self.reconnect_delay
        while True:
            assert self._ws is not None
            closed = await self._read(self._ws)
            self._state = "closed"
            self.closed = closed
            await self._fire("close", closed.code, closed.reason)
            if self._user_closed or not self.reconnect:
                await self._send_messages.aclose()
                return
            while True:  # reconnect with exponential backoff and jitter
                await trio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, self.reconnect_max_delay)
                if self._user_closed:
                    await self._send_messages.aclose()
                    return
                try:
                    await self._open()
                except RTTPError as exc:
                    log.info("reconnecting to %s failed: %s", self.url, exc)
                    continue
                delay = self.reconnect_delay
                break

    async def _read(self, ws: WebSocket) -> Closed:
        async with trio.open_nursery() as nursery:
            if self.ping_interval:
                nursery.start_soon(self._keepalive, ws)
            while True:
                try:
                    event = await ws.receive()
                except WebSocketClosed as exc:
                    closed = ws.closed or Closed(exc.code, exc.reason)
                    break
                if isinstance(event, WebSocketMessage):
                    await self._fire("message", event.data, event.is_binary)
                    # queued for receive()/async for unless only callbacks consume messages
                    if self._iterating or not self._callbacks["message"]:
                        await self._send_messages.send(event.data)
                elif isinstance(event, PingEvent):
                    await self._fire("ping", event.payload)
                elif isinstance(event, PongEvent):
                    await self._fire("pong", event.payload)
                elif isinstance(event, Closed):
                    closed = event
                    break
            nursery.cancel_scope.cancel()
        return closed

    async def _keepalive(self, ws: WebSocket) -> None:
        assert self.ping_interval is not None
        while ws.is_open:
            await trio.sleep(self.ping_interval)
            try:
                if not await ws.ping_and_wait(self.ping_timeout):
                    log.info(
                        "no pong from %s within %ss: dropping the connection",
                        self.url,
                        self.ping_timeout,
                    )
                    await ws.abort()
                    return
            except WebSocketClosed:
                return

    # -- sending --------------------------------------------------------------------------
    def _live(self) -> WebSocket:
        if self._ws is None or self._state != "open":
            raise WebSocketClosed(
                self.closed.code if self.closed else 1006, "the WebSocket is not open"
            )
        return self._ws

    async def text(self, payload: str) -> None:
        """Send a text message."""
        await self._live().send_text(payload)

    async def utf8(self, payload: str | bytes) -> None:
        """Send ``payload`` as UTF-8 text (bytes are decoded as UTF-8 first)."""
        text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
        await self._live().send_text(text)

    async def binary(self, payload: bytes) -> None:
        """Send a binary message."""
        await self._live().send_bytes(payload)

    async def ping(self, message: str | bytes = b"") -> None:
        """Send a ping."""
        await self._live().ping(message.encode() if isinstance(message, str) else message)

    async def close(self, reason: str = "") -> None:
        """Close with 1000 (no reconnect); :meth:`connect` opens again."""
        self._user_closed = True
        if self._ws is not None and self._state in ("open", "closing"):
            self._state = "closing"
            await self._ws.close(1000, reason)
            self._state = "closed"

    async def disconnect(self, reason: str = "") -> None:
        """Disconnect with a message (code 1000)."""
        await self.close(reason)

    # -- the Trio-native form -------------------------------------------------------------
    async def receive(self) -> str | bytes:
        """The next message; raises WebSocketClosed once the connection is closed for good."""
        self._iterating = True
        try:
            return await self._receive_messages.receive()
        except trio.EndOfChannel:
            closed = self.closed or Closed(1006)
            raise WebSocketClosed(closed.code, closed.reason) from None

    def __aiter__(self) -> AsyncIterator[str | bytes]:
        """Messages until the connection closes for good (a plain iterator: breaking out is safe)."""
        self._iterating = True
        return self._receive_messages


def websocket(url: str | URL, headers: Any = None, **options: Any) -> WebSocketClient:
    """A WebSocket client for ``url`` (``ws://``, ``wss://``, ``ws+unix://``); see :class:`WebSocketClient`."""
    return WebSocketClient(url, headers, **options)
