"""The conformance kit of broker plugins: :func:`check_broker`."""

from __future__ import annotations

import os

import trio

from .._model import URL
from .._proto._broker import Broker

__all__ = ["check_broker"]


async def check_broker(broker: Broker, url: str | URL, *, presence_ttl: float = 0.3) -> None:
    """Check a broker against a running instance at ``url``; AssertionError names the rule.

    Two connections subscribe to one channel: each receives every message of a
    publisher once, in order, binary data intact, and nothing from other channels;
    presence values add up and drop out after their ``ttl``.
    """
    target = URL(url)
    assert target.scheme in broker.schemes, (
        f"{broker.name}: {target.scheme} is not one of its schemes"
    )
    suffix = os.urandom(4).hex()
    channel, other = f"kit:{suffix}:a", f"kit:{suffix}:b"
    messages = [bytes([i]) * (i + 1) for i in range(50)] + [b"\x00\xff" * 1000]
    received: list[list[bytes]] = [[], []]
    done = [trio.Event(), trio.Event()]
    connections = [broker.connect(target) for _ in range(3)]
    try:
        async with trio.open_nursery() as nursery:
            for index in range(2):

                async def deliver(got_channel: str, data: bytes, index: int = index) -> None:
                    assert got_channel == channel, f"{broker.name}: delivered from {got_channel!r}"
                    received[index].append(data)
                    if len(received[index]) == len(messages):
                        done[index].set()

                await nursery.start(connections[index].run, [channel], deliver)
            publisher = connections[2]

            async def ignore(got_channel: str, data: bytes) -> None:
                raise AssertionError(f"{broker.name}: delivered with no subscription")

            await nursery.start(publisher.run, [], ignore)
            await publisher.publish(other, b"not for them")
            for message in messages:
                await publisher.publish(channel, message)
            with trio.fail_after(10):
                for event in done:
                    await event.wait()
            for index in range(2):
                assert received[index] == messages, (
                    f"{broker.name}: messages lost, repeated or reordered"
                )
            prefix = f"kit:{suffix}:presence:"
            await publisher.touch(prefix + "1", 3, presence_ttl)
            await publisher.touch(prefix + "2", 4, 60)
            total = await publisher.total(prefix)
            assert total == 7, f"{broker.name}: presence values add up to {total}, not 7"
            with trio.fail_after(10):
                while await publisher.total(prefix) != 4:  # noqa: ASYNC110 - a TTL expires
                    await trio.sleep(presence_ttl / 3)
            await publisher.touch(prefix + "2", 0, 0.05)
            nursery.cancel_scope.cancel()
    finally:
        for connection in connections:
            await connection.aclose()
