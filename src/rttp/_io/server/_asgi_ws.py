"""The ASGI WebSocket protocol for a hosted application: ``websocket.connect``, then
``websocket.accept`` (subprotocol, extra headers) switches the connection in place
(``answer.switch``: the app keeps running in the connection's task, no task is added),
``websocket.receive``/``send`` carry text and bytes, ``websocket.close`` closes with a
code and reason (or, before the accept, refuses the handshake with a 403), and the
``websocket.http.response`` extension answers the handshake with any HTTP response.
The framing, limits and permessage-deflate are the server's, as for ``rttp.App``."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import trio

from ..._model import Answer, Request
from ..._proto._wsevents import Closed, WebSocketMessage
from ..._proto._wskeys import handshake_problem
from ...errors import WebSocketClosed
from ..engine._answering import answer_of
from ..websocket._websocket import WebSocket
from ..websocket._wshandshake import websocket_handshake

__all__ = ["WebSocketExchange"]

Message = MutableMapping[str, Any]


class WebSocketExchange:
    """``receive`` and ``send`` of one WebSocket handshake and connection."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.ws: WebSocket | None = None
        self.connected = False
        #: the handshake was answered with an HTTP response (refused or denied)
        self.denied: Answer | None = None
        self.denial_status: int | None = None
        self.denial_headers: list[tuple[bytes, bytes]] = []
        self.closed = False
        #: the handshake is answered: accepted, refused or denied (a receive() before
        #: then waits for it, as Quart-Trio's reading task does)
        self.answered = trio.Event()

    @staticmethod
    def problem(request: Request) -> str | None:
        """What is wrong with the handshake (answered 400 before the app sees it)."""
        return handshake_problem(request.headers, request.http_version == "2")

    async def receive(self) -> Message:
        if not self.connected:
            self.connected = True
            return {"type": "websocket.connect"}
        if not self.answered.is_set():
            await self.answered.wait()
        ws = self.ws
        if ws is None:
            return {"type": "websocket.disconnect", "code": 1006}
        while True:
            try:
                event = await ws.receive()
            except WebSocketClosed as exc:
                return {"type": "websocket.disconnect", "code": exc.code, "reason": exc.reason}
            if isinstance(event, WebSocketMessage):
                if isinstance(event.data, str):
                    return {"type": "websocket.receive", "text": event.data}
                return {"type": "websocket.receive", "bytes": bytes(event.data)}
            if isinstance(event, Closed):
                return {"type": "websocket.disconnect", "code": event.code, "reason": event.reason}
            # pings and pongs are answered by the framing: not the app's business

    async def send(self, message: Message) -> None:
        kind = message["type"]
        ws = self.ws
        if kind == "websocket.accept":
            if ws is not None or self.denied is not None:
                raise RuntimeError("websocket.accept after the handshake was answered")
            subprotocol = message.get("subprotocol")
            headers = [(bytes(n), bytes(v)) for n, v in message.get("headers", ())]
            response, opened = websocket_handshake(
                self.request,
                subprotocols=[subprotocol] if subprotocol else (),
                headers=headers,
            )
            # the 101 goes out whole or not at all: a task of the app that cancels the
            # accept half-way would leave a WebSocket whose handshake was never sent
            with trio.CancelScope(shield=True):
                stream = answer_of(self.request).switch(response)
                try:
                    self.ws = await opened(stream)
                except BaseException:
                    await trio.aclose_forcefully(stream)  # (the app owns no WebSocket yet)
                    raise
                await self.ws.accept()
            self.answered.set()
        elif kind == "websocket.send":
            if ws is None:
                raise RuntimeError("websocket.send before websocket.accept")
            text = message.get("text")
            await ws.send(text if text is not None else bytes(message.get("bytes") or b""))
        elif kind == "websocket.close":
            if ws is None:
                if self.denied is None:  # refused before the accept: a 403, as the spec says
                    self.denied = self.request.respond(403, {"Content-Length": "0"})
                    self.answered.set()
                    await self.denied.finish()
                return
            await ws.close(int(message.get("code", 1000)), str(message.get("reason") or ""))
            self.closed = True
        elif kind == "websocket.http.response.start":
            if ws is not None or self.denied is not None:
                raise RuntimeError("a denial response after the handshake was answered")
            self.denial_status = int(message["status"])
            self.denial_headers = [(bytes(n), bytes(v)) for n, v in message.get("headers", ())]
        elif kind == "websocket.http.response.body":
            if self.denial_status is None:
                raise RuntimeError("websocket.http.response.body before its start")
            if self.denied is None:
                self.denied = self.request.respond(self.denial_status, self.denial_headers)
                self.answered.set()
            body = message.get("body", b"")
            if body:
                await self.denied.send(body)
            if not message.get("more_body", False):
                await self.denied.finish()
        else:
            raise RuntimeError(f"unexpected ASGI message type {kind!r} for a WebSocket")

    async def end(self) -> None:
        """The app returned: close what it left open (1000), or refuse a handshake it
        never answered (403)."""
        self.answered.set()
        if self.ws is not None:
            await self.ws.close(1000)
            await self.ws.aclose()
        elif self.denied is None:
            self.denied = self.request.respond(403, {"Content-Length": "0"})
            await self.denied.finish()

    async def fail(self) -> None:
        """The app raised: close an accepted connection with 1011."""
        self.answered.set()
        if self.ws is not None:
            await self.ws.close(1011, "internal error")
            await self.ws.aclose()
