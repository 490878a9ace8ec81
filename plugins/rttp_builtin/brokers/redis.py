"""The ``redis`` broker: Redis pub/sub through coredis, on Trio.

``redis://host:port/db`` (``rediss://`` for TLS; ``redis://:password@host``). One
coredis client publishes and keeps presence (``SET key value PX ttl``, summed with
``SCAN``); a pub/sub connection subscribes. A lost connection is logged and made again
with exponential backoff (0.1 s doubling to 5 s); while Redis is away, ``publish``
raises TransportError, which the app answers by delivering locally.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Collection
from typing import Any

import trio

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

from rttp.errors import TransportError
from rttp.plugin import URL, Broker, BrokerConnection, Deliver, hookimpl

__all__ = ["RedisBroker"]

log = logging.getLogger("rttp.broker")
_BACKOFF = (0.1, 5.0)
_CONNECT_TIMEOUT = 5.0
_HEARTBEAT = 1.0


def _client(url: URL) -> Any:
    try:
        import coredis
    except ImportError as exc:  # pragma: no cover - the extra is not installed
        raise TransportError(
            "the redis broker needs coredis: pip install 'trio-rttp[redis]'"
        ) from exc
    db = int(url.path.strip("/") or 0) if url.path.strip("/").isdigit() else 0
    return coredis.Redis(
        host=url.host or "127.0.0.1",
        port=url.explicit_port or 6379,
        connect_timeout=_CONNECT_TIMEOUT,
        db=db,
        password=url.password or None,
        username=url.username or None,
        ssl=url.scheme == "rediss",
    )


class _Connection(BrokerConnection):
    def __init__(self, url: URL) -> None:
        self.url = url
        #: the open client while :meth:`run` holds one (coredis clients are entered and
        #: left in one task, so run() owns it and the other calls borrow it)
        self._client: Any = None

    @property
    def _where(self) -> str:
        return f"{self.url.scheme}://{self.url.host}:{self.url.explicit_port or 6379}"

    async def run(
        self,
        channels: Collection[str],
        deliver: Deliver,
        *,
        task_status: Any = trio.TASK_STATUS_IGNORED,
    ) -> None:
        delay = _BACKOFF[0]
        started = False
        while True:
            try:
                async with _client(self.url) as client:
                    with trio.fail_after(_CONNECT_TIMEOUT):  # coredis would retry forever
                        await client.ping()
                    if channels:
                        beat = f"rttp:heartbeat:{os.urandom(6).hex()}"
                        async with client.pubsub(channels=[*channels, beat]) as pubsub:
                            self._client = client
                            if not started:
                                task_status.started()
                                started = True
                            elif delay > _BACKOFF[0]:
                                log.warning("broker %s: reconnected", self._where)
                            delay = _BACKOFF[0]
                            seen = [trio.current_time()]
                            async with trio.open_nursery() as nursery:
                                nursery.start_soon(self._watchdog, client, beat, seen)
                                await self._pump(pubsub, deliver, beat, seen)
                    else:
                        self._client = client
                        if not started:
                            task_status.started()
                            started = True
                        await trio.sleep_forever()
            except trio.Cancelled:
                raise
            except BaseExceptionGroup as group:  # coredis's task groups, on the way out
                cancelled, failed = group.split(trio.Cancelled)
                if cancelled is not None:  # we are being cancelled: what else failed is
                    raise cancelled from None  # coredis cleaning up a closed connection
                log.warning("broker %s: %s; retrying in %.1fs", self._where, failed, delay)
                if not started:
                    task_status.started()
                    started = True
            except Exception as exc:  # any loss of the connection: retry
                log.warning("broker %s: %s; retrying in %.1fs", self._where, exc, delay)
                if not started:  # serve anyway: local delivery works without the broker
                    task_status.started()
                    started = True
            finally:
                self._client = None
            await trio.sleep(delay)
            delay = min(delay * 2, _BACKOFF[1])

    async def _pump(self, pubsub: Any, deliver: Deliver, beat: str, seen: list[float]) -> None:
        async for message in pubsub:
            if message.get("type") != "message":
                continue
            raw, data = message["channel"], message["data"]
            channel = raw.decode() if isinstance(raw, bytes) else str(raw)
            if channel == beat:
                seen[0] = trio.current_time()
                continue
            await deliver(channel, data if isinstance(data, bytes) else str(data).encode())
        raise ConnectionError("the subscription ended")

    async def _watchdog(self, client: Any, beat: str, seen: list[float]) -> None:
        """coredis waits forever on a subscription whose server went away: a heartbeat
        that must come back through the subscription tells a dead one."""
        while True:
            await trio.sleep(_HEARTBEAT)
            try:
                with trio.fail_after(_HEARTBEAT):
                    await client.publish(beat, b"")
            except (Exception, trio.TooSlowError) as exc:
                raise ConnectionError(f"heartbeat not sent: {exc!r}") from exc
            if trio.current_time() - seen[0] > 3 * _HEARTBEAT:
                raise ConnectionError("the subscription stopped delivering (no heartbeat)")

    def _borrow(self) -> Any:
        if self._client is None:
            raise TransportError(f"broker {self._where} is not connected")
        return self._client

    async def publish(self, channel: str, data: bytes) -> None:
        client = self._borrow()
        try:
            await client.publish(channel, data)
        except Exception as exc:
            raise TransportError(f"broker {self._where}: publish failed: {exc}") from exc

    async def touch(self, key: str, value: int, ttl: float) -> None:
        client = self._borrow()
        try:
            await client.set(key, str(value), px=max(1, int(ttl * 1000)))
        except Exception as exc:
            raise TransportError(f"broker {self._where}: presence failed: {exc}") from exc

    async def total(self, prefix: str) -> int:
        client = self._borrow()
        try:
            keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
            values = await client.mget(keys) if keys else []
        except Exception as exc:
            raise TransportError(f"broker {self._where}: presence failed: {exc}") from exc
        return sum(int(v) for v in values if v is not None)

    async def aclose(self) -> None:
        await trio.lowlevel.checkpoint()  # run() owns the client: cancelling it closes it


class RedisBroker(Broker):
    """``redis://`` and ``rediss://``."""

    name = "redis"
    schemes = frozenset({"redis", "rediss"})

    def connect(self, url: URL) -> BrokerConnection:
        return _Connection(url)


@hookimpl
def rttp_register_brokers(register: Any) -> None:
    """Register the redis broker."""
    register(RedisBroker())
