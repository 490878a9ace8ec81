"""The HTTP/1.1 serve loop (``rttp._io.server._serve.serve_connection``) on its own,
with a stand-in connection: it runs one exchange after another. (The HTTP/2 loop,
which runs each stream's exchange in a task of its own, is tested against real
clients in ``tests/http2``.)"""

from __future__ import annotations

import math
from typing import Any

import trio

import rttp
from rttp._io.server._serve import ServeOptions, serve_connection


class _Answer:
    def __init__(self) -> None:
        self.started = self.finished = False
        self.sent = 0
        self.status = 0

    async def send_response(self, response: rttp.Response) -> None:
        self.started = self.finished = True
        self.status = response.status

    async def finish(self) -> None:
        self.finished = True


class _Exchange:
    def __init__(self, stream_id: int, path: str) -> None:
        self.stream_id = stream_id
        self.request = rttp.Request("GET", path)
        self.head = object()
        self.answer = _Answer()
        self.body_error = None
        self.upgraded = False
        self.on_upgrade = None
        self.timed_out = False
        self.started_at = -1.0
        self.deadline = math.inf

    def start_handler(self, seconds: float) -> None:
        self.deadline = seconds


class _Sequential:
    """Hands out its exchanges one after another."""

    multiplexed = False
    closing = False
    exchanges = 0

    def __init__(self, exchanges: list[_Exchange]) -> None:
        self.scope = trio.CancelScope()
        self._queue = list(exchanges)
        self.exchange = exchanges[0]

    async def next_exchange(self) -> Any:
        await trio.lowlevel.checkpoint()
        return self._queue.pop(0) if self._queue else None

    def close_after_exchange(self) -> None:
        self.closing = True


async def test_a_one_at_a_time_connection_runs_them_in_order():
    order: list[int] = []

    async def respond(exchange: Any) -> None:
        order.append(exchange.stream_id)
        await exchange.answer.send_response(rttp.Response(204))

    conn = _Sequential([_Exchange(1, "/a"), _Exchange(1, "/b")])
    await serve_connection(conn, respond, ServeOptions())  # type: ignore[arg-type]
    assert order == [1, 1]
