"""Broadcasting to an App's WebSocket connections in every process, through a broker.

Each process (a worker, a machine) subscribes to two channels: ``<prefix>:broadcast``,
whose envelopes name a socket path, and ``<prefix>:direct``, whose envelopes name one
connection. A broadcast is published, not delivered: every process, this one included,
delivers it when it comes back from the broker, so each connection gets it exactly
once, in the publisher's order. Without a broker, or while it is unreachable (logged),
delivery is local.

Presence: every ``presence_interval`` seconds each process sets
``<prefix>:presence:<path>:<node>`` to its number of connections on the path, for three
intervals; a process that died drops out of :meth:`Broadcaster.count` when its keys
expire.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import trio

from .._model import URL
from .._plugins import get_plugins
from .._proto._broker import BrokerConnection, Envelope, pack, unpack
from ..errors import PluginError, TransportError

if TYPE_CHECKING:
    from ._sockets import SocketConnection

__all__ = ["Broadcaster", "RemoteConnection"]

log = logging.getLogger("rttp.broker")


class Broadcaster:
    """An App's link to its broker (or to nothing: local delivery only)."""

    def __init__(
        self,
        broker: str | URL | None,
        sockets: Callable[[str], list[SocketConnection]],
        find: Callable[[str], SocketConnection | None],
        paths: Callable[[], Iterable[str]],
        *,
        prefix: str = "rttp",
        presence_interval: float = 3.0,
    ) -> None:
        self.url: URL | None = URL(broker) if broker is not None else None
        self._sockets = sockets
        self._find = find
        self._live_paths = paths
        self.prefix = prefix
        self.presence_interval = presence_interval
        self.node: str = f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"
        self._sequence = itertools.count()
        self._connection: BrokerConnection | None = None
        self._paths: set[str] = set()  # paths whose presence this process has reported
        self._changed = trio.Event()

    @property
    def channels(self) -> tuple[str, str]:
        """The broadcast and direct channels."""
        return f"{self.prefix}:broadcast", f"{self.prefix}:direct"

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect and deliver until cancelled (the server's lifespan of the app)."""
        if self.url is None:
            task_status.started()
            return
        brokers = get_plugins().brokers
        broker = brokers.get(self.url.scheme)
        if broker is None:
            raise PluginError(
                f"no broker serves {self.url.scheme}:// (have: {', '.join(sorted(brokers))})"
            )
        connection = broker.connect(self.url)
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(connection.run, self.channels, self._arrived)
                self._connection = connection
                nursery.start_soon(self._presence)
                task_status.started()
        finally:
            self._connection = None
            await connection.aclose()

    # -- sending ----------------------------------------------------------------------------
    async def _publish(self, channel: str, envelope: Envelope) -> bool:
        connection = self._connection
        if connection is None:
            return False
        try:
            await connection.publish(channel, pack(envelope))
        except TransportError as exc:
            log.warning("broker unreachable, delivering locally only: %s", exc)
            return False
        return True

    async def broadcast(self, path: str, data: str | bytes) -> None:
        """``data`` to every connection on ``path``, in every process."""
        kind, payload = (
            ("text", data.encode()) if isinstance(data, str) else ("binary", bytes(data))
        )
        envelope = Envelope(kind, self.node, next(self._sequence), path, payload)
        if not await self._publish(self.channels[0], envelope):
            await self._deliver(envelope)

    async def send_to(self, connection_id: str, data: str | bytes) -> None:
        """``data`` to the connection ``connection_id``, in whichever process holds it."""
        local = self._find(connection_id)
        if local is not None:
            await _send(local, data)
            return
        kind, payload = (
            ("text", data.encode()) if isinstance(data, str) else ("binary", bytes(data))
        )
        envelope = Envelope(kind, self.node, next(self._sequence), connection_id, payload)
        if not await self._publish(self.channels[1], envelope):
            log.warning("connection %s is not here, and no broker can reach it", connection_id)

    # -- receiving --------------------------------------------------------------------------
    async def _arrived(self, channel: str, data: bytes) -> None:
        envelope = unpack(data)
        if envelope is None:
            return  # not ours: another program's message on the channel
        if channel == self.channels[1]:
            local = self._find(envelope.target)
            if local is not None:
                await _send(local, _payload(envelope))
            return
        await self._deliver(envelope)

    async def _deliver(self, envelope: Envelope) -> None:
        payload = _payload(envelope)
        for connection in self._sockets(envelope.target):
            await _send(connection, payload)

    # -- presence ---------------------------------------------------------------------------
    def changed(self) -> None:
        """A connection opened or closed: report presence soon, not at the next tick."""
        self._changed.set()

    async def _presence(self) -> None:
        while True:
            await self._report()
            with trio.move_on_after(self.presence_interval):
                await self._changed.wait()
            self._changed = trio.Event()

    async def _report(self) -> None:
        connection = self._connection
        if connection is None:
            return
        paths = self._paths | set(self._live_paths())
        for path in paths:
            count = len(self._sockets(path))
            key = f"{self.prefix}:presence:{path}:{self.node}"
            try:
                await connection.touch(key, count, self.presence_interval * 3)
            except TransportError as exc:
                log.warning("broker unreachable, presence not refreshed: %s", exc)
                return
        self._paths = {p for p in paths if self._sockets(p)}

    async def count(self, path: str) -> int:
        """Connections on ``path`` in every process (this one's, without a broker)."""
        connection = self._connection
        if connection is None:
            return len(self._sockets(path))
        await self._report()
        try:
            return await connection.total(f"{self.prefix}:presence:{path}:")
        except TransportError as exc:
            log.warning("broker unreachable, counting locally: %s", exc)
            return len(self._sockets(path))


class RemoteConnection:
    """A WebSocket connection known by its id, in this process or another one: what
    :meth:`rttp.App.connection` returns. Sending goes through the broker when the
    connection is elsewhere."""

    def __init__(self, broadcaster: Broadcaster, connection_id: str) -> None:
        self.id = connection_id
        self._broadcaster = broadcaster

    async def text(self, payload: str) -> None:
        """Send a text message."""
        await self._broadcaster.send_to(self.id, payload)

    async def binary(self, payload: bytes) -> None:
        """Send a binary message."""
        await self._broadcaster.send_to(self.id, payload)

    def __repr__(self) -> str:
        return f"<RemoteConnection {self.id}>"


def _payload(envelope: Envelope) -> str | bytes:
    if envelope.kind == "text":
        return envelope.payload.decode("utf-8", "replace")
    return envelope.payload


async def _send(connection: SocketConnection, data: str | bytes) -> None:
    """Send to one connection; one that closed meanwhile is skipped, not an error."""
    try:
        if isinstance(data, str):
            await connection.text(data)
        else:
            await connection.binary(data)
    except Exception as exc:  # a closing peer must not stop the delivery to the others
        log.debug("WebSocket %s: not delivered (%s)", connection.id, exc)
