"""The broker contract (re-exported from :mod:`rttp.plugin`) and its message envelope.

A broker carries messages between processes, and between machines, over named
channels: publish and subscribe, with the order of one publisher's messages kept. It
also keeps *presence*, keys that expire unless refreshed, so that a process that died
drops out of a count. The routing app uses one to broadcast WebSocket messages to every
worker (``rttp.App(broker="redis://...")``).

The envelope (:func:`pack` / :func:`unpack`) is sans-IO: what the app publishes is a
small binary frame, ``kind`` (text, binary, or a direct message to one connection), the
sender, its sequence number, the target and the payload, so that a broker plugin moves
opaque bytes and never parses anything.
"""

from __future__ import annotations

import abc
import struct
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from .._model import URL

__all__ = ["Broker", "BrokerConnection", "Deliver", "Envelope", "pack", "unpack"]

#: ``deliver(channel, data)``: how a subscription hands a message over
Deliver = Callable[[str, bytes], Awaitable[None]]

_HEAD = struct.Struct("!BBHHQ")  # version, kind, len(sender), len(target), sequence
_VERSION = 1
KINDS = {"text": 1, "binary": 2}


@dataclass(frozen=True)
class Envelope:
    """One message on a broker channel: ``kind`` (``"text"`` or ``"binary"``), the
    ``sender`` (a process id) and its ``sequence`` number, the ``target`` (a socket path,
    or one connection's id) and the ``payload``."""

    kind: str
    sender: str
    sequence: int
    target: str
    payload: bytes


def pack(envelope: Envelope) -> bytes:
    """The envelope as bytes."""
    sender = envelope.sender.encode()
    target = envelope.target.encode()
    head = _HEAD.pack(_VERSION, KINDS[envelope.kind], len(sender), len(target), envelope.sequence)
    return head + sender + target + envelope.payload


def unpack(data: bytes) -> Envelope | None:
    """The envelope in ``data``, or None if it is not one (another program's message on
    the channel, a newer version): a subscriber skips what it cannot read."""
    if len(data) < _HEAD.size:
        return None
    version, kind, sender_len, target_len, sequence = _HEAD.unpack_from(data)
    names = {value: key for key, value in KINDS.items()}
    if version != _VERSION or kind not in names or len(data) < _HEAD.size + sender_len + target_len:
        return None
    start = _HEAD.size
    try:
        sender = data[start : start + sender_len].decode()
        target = data[start + sender_len : start + sender_len + target_len].decode()
    except UnicodeDecodeError:
        return None
    return Envelope(names[kind], sender, sequence, target, data[start + sender_len + target_len :])


class BrokerConnection(abc.ABC):
    """One process's connection to a broker. Every method may be called from any task;
    :meth:`run` is the one long-lived task, started with ``nursery.start``."""

    @abc.abstractmethod
    async def run(
        self,
        channels: Collection[str],
        deliver: Deliver,
        *,
        task_status: Any,
    ) -> None:
        """(``task_status`` is Trio's, as ``nursery.start`` passes it.) Hold the connection, subscribed to ``channels`` (may be empty), and ``await
        deliver(channel, data)`` for each message, in order, until cancelled.
        ``task_status.started()`` once subscribed, or once the first attempt failed (the
        caller goes on without the broker meanwhile). A lost connection is logged and
        made again with backoff, never raised. The other methods need it running."""

    @abc.abstractmethod
    async def publish(self, channel: str, data: bytes) -> None:
        """Send ``data`` to every subscriber of ``channel``; messages of one publisher
        arrive in order. Raises :class:`~rttp.errors.TransportError` if the broker cannot
        be reached (the caller decides what to do without it)."""

    @abc.abstractmethod
    async def touch(self, key: str, value: int, ttl: float) -> None:
        """Set the presence ``key`` to ``value`` for ``ttl`` seconds (refresh it sooner)."""

    @abc.abstractmethod
    async def total(self, prefix: str) -> int:
        """The sum of the live presence values whose keys start with ``prefix``."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Let the connection go."""


class Broker(abc.ABC):
    """A broker plugin: opens connections for the URL schemes it serves (``memory``,
    ``redis``, ``rediss``). Register it with ``rttp_register_brokers``."""

    name: ClassVar[str]
    schemes: ClassVar[frozenset[str]]

    @abc.abstractmethod
    def connect(self, url: URL) -> BrokerConnection:
        """A connection to the broker at ``url`` (nothing is sent before :meth:`~BrokerConnection.run`
        or :meth:`~BrokerConnection.publish`)."""
