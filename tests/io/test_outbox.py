"""HTTP answers coalesced at the end of a scheduler batch (``rttp._io.net._outbox``):
the first of a batch goes at once, the later ones leave together when the batch ends,
in order with every other send on their stream, before the stream closes, and a failed
or partial flush reaches the owner."""

from __future__ import annotations

import socket

import pytest
import trio
import trio.testing

from rttp._io.net._outbox import outbox
from rttp._io.net._sockinfo import readable_now
from rttp._io.net._sockio import SocketIO

from .test_sockio import receive_after_a_wait, socket_pair


async def fresh_pair() -> tuple[SocketIO, SocketIO]:
    """A pair whose ``left`` has just received a request (so its next answer is a reply)."""
    left, right = await socket_pair()
    await receive_after_a_wait(left, right)
    return left, right


async def held_pair() -> tuple[SocketIO, SocketIO]:
    """A fresh pair whose ``left``'s next answer is not its batch's first (so it is held)."""
    left, right = await fresh_pair()
    outbox().answered = True  # (as if another connection had answered in this batch)
    return left, right


async def test_a_batchs_later_answers_leave_together_when_it_ends() -> None:
    """The first answer of a batch goes at once (alone, it would wait for nothing); the
    later ones are held until the batch ends, then all sent: a peer on the same host
    is woken about once a batch, not once an answer."""
    pairs = [await fresh_pair() for _ in range(3)]
    for n, (left, _) in enumerate(pairs):
        assert left.send_reply(b"answer %d" % n, False) == 8  # sent or taken, whole
    assert readable_now(pairs[0][1])  # the first: out already
    for _, right in pairs[1:]:
        assert not readable_now(right)  # the others: not before the batch is over
    await trio.lowlevel.checkpoint()  # the batch ends while this task waits its turn
    for n, (left, right) in enumerate(pairs):
        assert readable_now(right)
        assert await right.receive_some(100) == b"answer %d" % n
        await left.aclose()
        await right.aclose()


async def test_a_lone_connections_answers_are_never_held() -> None:
    """Each answer of a lone connection is the first of its batch: it goes at once, every
    time (holding it would make a sequential client wait for the scheduler's turn)."""
    left, right = await fresh_pair()
    async with left, right:
        for n in range(3):
            assert left.send_reply(b"answer %d" % n, False) == 8
            assert readable_now(right)  # out already, not at the end of the batch
            assert await right.receive_some(100) == b"answer %d" % n
            await receive_after_a_wait(left, right)  # the next request, a batch later


async def test_a_held_answer_goes_before_a_later_send_of_the_same_batch() -> None:
    """A pipelined request's answer (a plain send) follows the held one on the wire."""
    left, right = await held_pair()
    async with left, right:
        left.send_reply(b"first ", False)
        assert left.send_reply(b"not a reply", False) == -1  # one reply per receive
        await left.send_all(b"second")
        received = b""
        with trio.fail_after(5):
            while len(received) < 12:
                received += await right.receive_some(100)
        assert received == b"first second"


async def test_a_held_answer_is_sent_before_its_stream_closes() -> None:
    """The last answer of a connection that closes after it (``Connection: close``)
    is closed in the same batch it was made: it still reaches the peer, then EOF."""
    left, right = await held_pair()
    left.send_reply(b"goodbye", False)
    await left.aclose()
    assert await right.receive_some(100) == b"goodbye"
    assert await right.receive_some(100) == b""
    await right.aclose()


async def test_what_the_kernel_did_not_take_goes_out_with_the_next_receive() -> None:
    """A reply larger than the socket takes at once: the flush sends what fits, and the
    owner's next receive sends the rest (waiting for the peer to read) before it reads
    the peer's next request."""
    left, right = await held_pair()
    left.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    answer = bytes(range(256)) * 4096  # 1 MiB: far more than the buffer holds
    async with left, right:
        assert left.send_reply(answer, False) == len(answer)
        await trio.lowlevel.checkpoint()  # the flush: part of it
        held = left._held
        assert isinstance(held, memoryview)
        assert 0 < len(held) < len(answer)

        async def read_all_then_ask_again() -> None:
            received = bytearray()
            while len(received) < len(answer):
                received += await right.receive_some(65536)
            assert received == answer
            await right.send_all(b"next request")

        with trio.fail_after(10):  # (a receive that forgot the rest would wait forever)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(read_all_then_ask_again)
                assert await left.receive_some(100) == b"next request"
        assert left._held is None


async def test_a_failed_flush_is_raised_by_the_owner_and_the_outbox_keeps_working() -> None:
    """A peer that reset the connection: the flush keeps the error for the owner's next
    operation (the instrument itself never raises, so Trio keeps it installed, and the
    next batch's answers are flushed as before)."""
    left, right = await fresh_pair()
    right.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    await right.aclose()  # (SO_LINGER of 0: closing resets)
    outbox().answered = True  # (not the batch's first answer: held)
    left.send_reply(b"too late", False)
    await trio.lowlevel.checkpoint()  # the flush meets the reset (or EPIPE)
    assert isinstance(left._held, OSError)
    with pytest.raises(trio.BrokenResourceError) as raised:
        await left.send_all(b"more")
    assert isinstance(raised.value.__cause__, OSError)  # the flush's own error
    await left.aclose()
    other, peer = await held_pair()
    async with other, peer:
        other.send_reply(b"still coalesced", False)
        assert not readable_now(peer)
        await trio.lowlevel.checkpoint()
        assert readable_now(peer)  # flushed at the end of that batch, by the outbox


async def test_a_timed_receive_bounds_the_rest_of_a_held_answer() -> None:
    """The rest of a held answer that a peer never reads holds a timed receive no longer
    than its timeout (the rest stays held: the next operation tries again)."""
    left, right = await held_pair()
    left.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    async with left, right:
        left.send_reply(bytes(1 << 20), False)
        with trio.fail_after(5), pytest.raises(trio.TooSlowError):
            await left.receive_within(100, 0.2)
        assert isinstance(left._held, memoryview)
