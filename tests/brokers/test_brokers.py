"""The broker plugins: the kit against the memory broker and a real redis-server, and
what the redis broker does when Redis goes away."""

from __future__ import annotations

import pytest

import rttp
from rttp.errors import TransportError
from rttp.plugin import Envelope, pack, unpack
from rttp.testing import check_broker

pytestmark = pytest.mark.timeout(60)


def test_the_envelope_round_trips_and_foreign_messages_are_skipped():
    envelope = Envelope("binary", "worker-1", 7, "/chat", b"\\x00\\xff")
    assert unpack(pack(envelope)) == envelope
    assert unpack(pack(Envelope("text", "é", 0, "x" * 300, "ü".encode()))).sender == "é"
    for foreign in (b"", b"hello", b"\\x02" + b"\\x00" * 20, pack(envelope)[:10]):
        assert unpack(foreign) is None


async def test_the_memory_broker_passes_the_kit():
    await check_broker(rttp.get_plugins().brokers["memory"], "memory://")


async def test_the_redis_broker_passes_the_kit(redis_server):
    await check_broker(rttp.get_plugins().brokers["redis"], redis_server)


async def test_redis_unreachable_is_a_transport_error_and_run_keeps_trying(nursery, caplog):
    connection = rttp.get_plugins().brokers["redis"].connect(rttp.URL("redis://127.0.0.1:1/0"))

    async def deliver(channel: str, data: bytes) -> None:
        raise AssertionError("nothing can arrive")

    await nursery.start(connection.run, ["c"], deliver)  # starts even so: the app goes on
    with pytest.raises(TransportError, match="not connected"):
        await connection.publish("c", b"x")
    assert any("retrying" in r.getMessage() for r in caplog.records)
