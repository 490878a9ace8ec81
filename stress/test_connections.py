"""Many idle keep-alive connections, and SIGTERM under load: no fd or memory leak, no
request lost."""

from __future__ import annotations

import os
import signal

import h11
import pytest
import trio

from stress.conftest import open_fds, raise_open_file_limit, rss_mib, serving

IDLE = int(os.environ.get("RTTP_STRESS_IDLE", "10000"))
GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


async def _open_idle(url: str, count: int) -> list[trio.SocketStream]:
    """``count`` connections that each got one answer and stay open."""
    host, port = url.split("//")[1].split(":")
    streams: list[trio.SocketStream] = []

    async def one() -> None:
        stream = await trio.open_tcp_stream(host, int(port))
        await stream.send_all(GET)
        reply = b""
        while not reply.endswith(b"ok"):
            chunk = await stream.receive_some(4096)
            assert chunk, "closed before answering"
            reply += chunk
        streams.append(stream)

    for start in range(0, count, 250):
        async with trio.open_nursery() as nursery:
            for _ in range(min(250, count - start)):
                nursery.start_soon(one)
    return streams


async def _settle(pid: int, fds: int) -> int:
    """Wait (at most 30 s, polling /proc: a process has no event to wait on) until the
    server is back to ``fds`` open files; the count it settled at."""
    with trio.move_on_after(30):
        while open_fds(pid) > fds:  # noqa: ASYNC110 - another process: no event to wait on
            await trio.sleep(0.2)
    return open_fds(pid)


async def test_ten_thousand_idle_keep_alive_connections(record):
    """Open IDLE keep-alive connections twice over; between and after the rounds the
    server is back to its file count, and the second round costs no more memory."""
    raise_open_file_limit(IDLE + 1000)
    async with serving("--timeout-keep-alive", "300") as (url, process):
        pid = process.pid
        base_fds, base_rss = open_fds(pid), rss_mib(pid)
        rounds = []
        for _ in range(2):
            streams = await _open_idle(url, IDLE)
            held_fds, held_rss = open_fds(pid), rss_mib(pid)
            for stream in streams[:: max(1, IDLE // 100)]:  # they still serve
                await stream.send_all(GET)
                assert (await stream.receive_some(4096)).startswith(b"HTTP/1.1 200")
            for stream in streams:
                await stream.aclose()
            after_fds = await _settle(pid, base_fds)
            rounds.append((held_fds, held_rss, after_fds, rss_mib(pid)))
        record(
            connections=IDLE,
            fds_before=base_fds,
            fds_held=rounds[0][0],
            fds_after=[r[2] for r in rounds],
            rss_before_mib=round(base_rss, 1),
            rss_held_mib=[round(r[1], 1) for r in rounds],
            rss_after_mib=[round(r[3], 1) for r in rounds],
            kib_per_connection=round((rounds[0][1] - base_rss) * 1024 / IDLE, 1),
        )
        assert rounds[0][0] >= base_fds + IDLE  # all of them were open at once
        assert all(r[2] <= base_fds for r in rounds), "file descriptors leaked"
        assert (rounds[0][1] - base_rss) * 1024 / IDLE < 24, "more than 24 KiB per connection"
        assert rounds[1][3] - rounds[0][3] < 8, "memory grew from one round to the next"


@pytest.mark.parametrize("workers", [1, 2])
async def test_sigterm_under_load_loses_no_request(record, workers):
    """100 clients send requests as fast as they are answered (keep-alive, reconnecting
    when told to close); SIGTERM lands 1 s in. Every request whose bytes went out gets
    its answer, or its connection was refused. A request sent on a reused connection that
    the server closed as idle, before any byte of an answer, is counted apart: that is
    the keep-alive race every client retries (RFC 9112 §9.3.1)."""
    counts = {"answered": 0, "lost": 0, "raced": 0, "refused": 0, "connections": 0}
    stopping = trio.Event()

    async with serving("--grace", "10", "--workers", str(workers)) as (url, process):
        host, port = url.split("//")[1].split(":")

        async def client() -> None:
            while True:  # a new connection each time one is closed, until refused
                try:
                    stream = await trio.open_tcp_stream(host, int(port))
                except OSError:
                    counts["refused"] += 1
                    return
                counts["connections"] += 1
                async with stream:
                    await _exchange(stream)

        async def _exchange(stream: trio.SocketStream) -> None:
            """Requests on one connection until it closes."""
            conn = h11.Connection(h11.CLIENT)
            reused = False
            while True:
                try:
                    await stream.send_all(
                        conn.send(
                            h11.Request(method="GET", target="/work", headers=[("Host", "x")])
                        )
                        + conn.send(h11.EndOfMessage())
                    )
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return  # nothing went out
                got_bytes = False
                closed_early = False
                while True:
                    event = conn.next_event()
                    if event is h11.NEED_DATA:
                        try:
                            data = await stream.receive_some(65536)
                        except trio.BrokenResourceError:
                            data = b""
                        if not data:
                            closed_early = True
                            break
                        got_bytes = True
                        conn.receive_data(data)
                        continue
                    if type(event) is h11.EndOfMessage:
                        break
                if closed_early:
                    if reused and not got_bytes:
                        counts["raced"] += 1
                    else:
                        counts["lost"] += 1
                    return
                counts["answered"] += 1
                if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                    return
                conn.start_next_cycle()
                reused = True

        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                for _ in range(100):
                    nursery.start_soon(client)
                await trio.sleep(1.0)  # the load runs for a second: the probe's length
                answered_before = counts["answered"]
                process.send_signal(signal.SIGTERM)
                stopping.set()
            code = await process.wait()
        record(
            workers=workers,
            clients=100,
            answered=counts["answered"],
            answered_after_signal=counts["answered"] - answered_before,
            lost=counts["lost"],
            keep_alive_races=counts["raced"],
            connections=counts["connections"],
            exit_code=code,
        )
        assert code == 0
        assert counts["lost"] == 0, counts
