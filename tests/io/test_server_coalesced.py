"""Coalesced answers (``rttp._io.net._outbox``) through the whole server: many clients
at once, each answer complete and in its place, including the last answer of
connections that close right after it."""

from __future__ import annotations

import pytest
import trio

import rttp
from tests.conftest import raw_request, status_of

CLIENTS = 40


async def body_is_path(request: rttp.Request) -> rttp.Response:
    return rttp.Response(200, body=request.path)


@pytest.mark.parametrize(
    "request_line",
    [
        b"GET /%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /%d HTTP/1.0\r\n\r\n",  # (no keep-alive: closes after it too)
    ],
)
async def test_answers_that_close_their_connection_all_arrive_whole(nursery, request_line):
    """Forty clients at once, each answer its connection's last: the server makes them
    in the same scheduler batches, holds all but the first of each batch, and closes
    each connection right after its answer; every client still reads its whole answer,
    then the end of the stream."""
    server = rttp.Server(body_is_path, "http://127.0.0.1:0")
    url = (await server.start(nursery))[0]
    replies: dict[int, bytes] = {}

    async def client(n: int) -> None:
        replies[n] = await raw_request(url, request_line % n)

    async with trio.open_nursery() as clients:
        for n in range(CLIENTS):
            clients.start_soon(client, n)
    assert sorted(replies) == list(range(CLIENTS))
    for n, reply in replies.items():
        assert status_of(reply) == 200
        assert reply.endswith(b"\r\n\r\n/%d" % n)  # whole, and its own


async def test_keep_alive_clients_get_every_answer_in_order(nursery):
    """Forty keep-alive clients sending requests one after another: each gets every
    answer, in order, with nothing lost or swapped between connections."""
    server = rttp.Server(body_is_path, "http://127.0.0.1:0")
    url = (await server.start(nursery))[0]
    rounds = 25

    async def client(n: int) -> None:
        stream = await trio.open_tcp_stream(url.host, url.port)
        async with stream:
            for k in range(rounds):
                await stream.send_all(b"GET /%d/%d HTTP/1.1\r\nHost: x\r\n\r\n" % (n, k))
                expected = b"/%d/%d" % (n, k)
                received = b""
                with trio.fail_after(10):
                    while not received.endswith(expected):
                        chunk = await stream.receive_some(65536)
                        assert chunk, f"client {n} lost its answer {k}"
                        received += chunk
                assert received.startswith(b"HTTP/1.1 200 ")
                assert received.count(b"HTTP/1.1") == 1

    async with trio.open_nursery() as clients:
        for n in range(CLIENTS):
            clients.start_soon(client, n)
