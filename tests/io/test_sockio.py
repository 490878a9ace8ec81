"""Direct socket I/O (``rttp._io.net._sockio``): Trio's stream contract, timeouts, fairness."""

from __future__ import annotations

import socket

import pytest
import trio
import trio.testing

from rttp._io.net._sockio import SocketIO, fast_stream, receive_within, send_all_within


async def socket_pair() -> tuple[SocketIO, SocketIO]:
    a, b = trio.socket.socketpair()
    left, right = fast_stream(trio.SocketStream(a)), fast_stream(trio.SocketStream(b))
    assert isinstance(left, SocketIO)
    assert isinstance(right, SocketIO)
    return left, right


class AlwaysYielding(SocketIO):
    """SocketIO whose every receive passes through the scheduler.

    Trio's conformance checks demand a schedule point in each ``receive_some``;
    SocketIO deliberately skips it for a receive that directly follows a send (that
    send already yielded). Everything else the checks cover is the real code.
    """

    async def receive_within(
        self, max_bytes: int | None = None, seconds: float | None = None
    ) -> bytes:
        self._yielded = False
        return await super().receive_within(max_bytes, seconds)

    receive_some = receive_within


async def yielding_pair() -> tuple[SocketIO, SocketIO]:
    a, b = trio.socket.socketpair()
    return (
        AlwaysYielding(trio.SocketStream(a), a._sock),  # type: ignore[attr-defined]
        AlwaysYielding(trio.SocketStream(b), b._sock),  # type: ignore[attr-defined]
    )


class Busy:
    """A task that counts its turns: how often the others passed through the scheduler."""

    def __init__(self) -> None:
        self.ran = 0
        self.done = False

    async def run(self) -> None:
        while not self.done:
            self.ran += 1
            await trio.lowlevel.checkpoint()


async def clogged_pair() -> tuple[SocketIO, SocketIO]:
    left, right = await socket_pair()
    # fill the send buffer so the next send has to wait
    for stream in (left, right):
        stream.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1)
    while True:
        try:
            left._sock.send(b"x" * 65536)
        except BlockingIOError:
            break
    while True:
        try:
            right._sock.send(b"x" * 65536)
        except BlockingIOError:
            break
    return left, right


async def test_trio_stream_conformance() -> None:
    """Trio's own checks for half-closeable streams: semantics, errors, cancellation,
    BusyResourceError for concurrent use."""
    await trio.testing.check_half_closeable_stream(yielding_pair, None)


async def test_fast_stream_wraps_plain_sockets_only(cert_files, client_ssl) -> None:
    a, b = trio.socket.socketpair()
    plain = trio.SocketStream(a)
    assert type(fast_stream(plain)) is SocketIO  # if trio renames its socket, this says so
    tls = trio.SSLStream(trio.SocketStream(b), client_ssl, server_hostname="localhost")
    assert fast_stream(tls) is tls
    await plain.aclose()
    await tls.transport_stream.aclose()


async def test_receive_within_times_out_only_when_waiting() -> None:
    left, right = await socket_pair()
    async with left, right:
        await right.send_all(b"ready")
        assert await receive_within(left, 100, 0) == b"ready"  # there already: no timeout
        with pytest.raises(trio.TooSlowError):
            await receive_within(left, 100, 0.05)
        await right.send_all(b"later")
        assert await left.receive_some(100) == b"later"  # the stream still works


async def test_send_all_within_times_out_when_the_peer_does_not_read() -> None:
    left, right = await clogged_pair()
    async with left, right:
        with pytest.raises(trio.TooSlowError):
            await send_all_within(left, b"y" * (1 << 20), 0.05)


async def test_a_stream_that_always_has_data_lets_other_tasks_run() -> None:
    left, right = await socket_pair()
    other = Busy()
    async with left, right, trio.open_nursery() as nursery:
        nursery.start_soon(other.run)
        await trio.lowlevel.checkpoint()  # let it start
        await right.send_all(b"z" * 4000)
        before = other.ran
        for _ in range(1000):  # data is always there: no receive has to wait
            assert await left.receive_some(4) == b"zzzz"
        assert other.ran - before >= 400  # a pass through the scheduler every 2 receives
        other.done = True


async def cancelled_receive_consumes_nothing(left: SocketIO, right: SocketIO) -> None:
    await right.send_all(b"data")
    with trio.CancelScope() as scope:
        scope.cancel()
        await left.receive_some(10)
    assert scope.cancelled_caught
    assert await left.receive_some(10) == b"data"  # nothing was consumed


async def test_cancelled_even_when_data_is_there() -> None:
    left, right = await socket_pair()
    async with left, right:
        await cancelled_receive_consumes_nothing(left, right)


async def receive_after_a_wait(left: SocketIO, right: SocketIO) -> None:
    """``left`` receives ``ping``, which ``right`` sends once everything is blocked."""

    async def answer_later() -> None:
        await trio.testing.wait_all_tasks_blocked()
        await right.send_all(b"ping")

    async with trio.open_nursery() as answering:  # (until its send is over)
        answering.start_soon(answer_later)
        assert await left.receive_some(4) == b"ping"  # it waited


async def test_a_reply_skips_its_pass_and_the_next_receive_makes_it() -> None:
    """After a receive that waited, the receiving task's reply goes out without a pass
    through the scheduler; the receive after it passes once whether or not its data is
    there, so an exchange that never waits still lets other tasks run, and a cancel
    there consumes nothing."""
    left, right = await socket_pair()
    other = Busy()
    async with left, right, trio.open_nursery() as nursery:
        assert left.send_reply(b"no") == -1  # nothing received yet: not a reply
        await receive_after_a_wait(left, right)
        assert left.waited
        nursery.start_soon(other.run)
        assert left.send_reply(b"pong") == 4
        assert other.ran == 0  # no pass: the other task has not run
        await right.send_all(b"again")
        with trio.testing.assert_checkpoints():  # data was there: a pass anyway
            assert await left.receive_some(5) == b"again"
        assert left.send_reply(b"x") == -1  # that receive did not wait
        assert await right.receive_some(4) == b"pong"
        other.done = True
    left, right = await socket_pair()
    async with left, right:
        await receive_after_a_wait(left, right)
        assert left.send_reply(b"r") == 1
        await cancelled_receive_consumes_nothing(left, right)


async def test_a_reply_after_send_eof_is_refused_as_closed() -> None:
    """After ``send_eof`` a reply fails as every send does (ClosedResourceError, not the
    broken pipe the socket itself would report)."""
    left, right = await socket_pair()
    async with left, right:
        await receive_after_a_wait(left, right)
        await left.send_eof()
        with pytest.raises(trio.ClosedResourceError):
            left.send_reply(b"late")
        with pytest.raises(trio.ClosedResourceError):
            await left.send_all(b"late")
        assert await right.receive_some(10) == b""  # the peer saw the end, nothing after
