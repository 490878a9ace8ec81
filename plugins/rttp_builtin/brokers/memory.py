"""The ``memory`` broker: channels inside one process (the default of ``rttp.App``).

Every :class:`MemoryBroker` connection in the process shares one hub, so two Apps (or
two tests) in one process see each other's messages on a channel, as two processes on
one Redis do; messages go through a queue per subscriber, in order.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection
from typing import Any

import trio

from rttp.plugin import URL, Broker, BrokerConnection, Deliver, hookimpl

__all__ = ["MemoryBroker"]


class _Hub:
    def __init__(self) -> None:
        self.subscribers: dict[str, set[trio.MemorySendChannel[tuple[str, bytes]]]] = defaultdict(
            set
        )
        self.presence: dict[str, tuple[int, float]] = {}


class _Connection(BrokerConnection):
    def __init__(self, hub: _Hub) -> None:
        self._hub = hub

    async def run(
        self,
        channels: Collection[str],
        deliver: Deliver,
        *,
        task_status: Any = trio.TASK_STATUS_IGNORED,
    ) -> None:
        send, receive = trio.open_memory_channel[tuple[str, bytes]](math.inf)
        for channel in channels:
            self._hub.subscribers[channel].add(send)
        try:
            task_status.started()
            async for channel, data in receive:
                await deliver(channel, data)
        finally:
            for channel in channels:
                self._hub.subscribers[channel].discard(send)

    async def publish(self, channel: str, data: bytes) -> None:
        for subscriber in list(self._hub.subscribers.get(channel, ())):
            subscriber.send_nowait((channel, data))
        await trio.lowlevel.checkpoint()

    async def touch(self, key: str, value: int, ttl: float) -> None:
        self._hub.presence[key] = (value, trio.current_time() + ttl)
        await trio.lowlevel.checkpoint()

    async def total(self, prefix: str) -> int:
        now = trio.current_time()
        await trio.lowlevel.checkpoint()
        return sum(
            v
            for k, (v, until) in self._hub.presence.items()
            if k.startswith(prefix) and until > now
        )

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()


class MemoryBroker(Broker):
    """``memory://`` (the host part names nothing: there is one hub per process)."""

    name = "memory"
    schemes = frozenset({"memory"})

    def __init__(self) -> None:
        self._hub = _Hub()

    def connect(self, url: URL) -> BrokerConnection:
        return _Connection(self._hub)


@hookimpl
def rttp_register_brokers(register: Any) -> None:
    """Register the memory broker."""
    register(MemoryBroker())
