"""The pre-fork pool, through real processes: an application script in a subprocess,
its log read line by line as the events the tests wait on, clients on loopback, and
``ps`` for the processes left."""

from __future__ import annotations

import itertools
import signal

import pytest
import trio

from rttp import moonbridge
from tests.moonbridge._app import alive, running

pytestmark = pytest.mark.peer

ECHO = """
LOADED_BY = os.getpid()  # before listen(): once, in the supervisor

async def connect(sock):
    line, _ = await sock.read(1000, "\\n")
    word = line.decode().strip()
    if word == "crash":
        os._exit(3)
    if word == "raise":
        raise RuntimeError("handler broke")
    await sock.flush(f"{os.getpid()} {LOADED_BY} {word}\\n")
    return word != "last"
"""


async def test_workers_serve_connections_with_the_state_loaded_before_listen(tmp_path):
    source = (
        ECHO
        + """
moonbridge.listen({"proto": "tcp", "host": "127.0.0.1", "port": 0}, connect=connect, fork_delay=0.01)
moonbridge.run()
"""
    )
    async with running(tmp_path, source) as app:
        pid, loaded_by, word = (await app.ask("one")).split()
        assert word == "one"
        assert int(loaded_by) == app.process.pid  # loaded once, before the fork
        assert int(pid) in app.workers()
        assert int(pid) != app.process.pid


async def test_connect_not_returning_true_and_crashes_replace_the_worker(tmp_path):
    source = (
        ECHO
        + """
moonbridge.listen({"proto": "tcp", "host": "127.0.0.1", "port": 0}, connect=connect,
                  pre_fork=1, min_fork=1, max_fork=1, fork_delay=0.01)
moonbridge.run()
"""
    )
    async with running(tmp_path, source) as app:
        first = (await app.ask("last")).split()[0]  # returns False: the worker ends
        await app.expect(rf"worker {first} ended")
        second = (await app.ask("again")).split()[0]
        assert second != first
        await app.ask("crash")  # os._exit(3): logged with its pid, replaced
        await app.expect(rf"worker {second} exited with status 3; replacing it")
        await app.ask("raise")  # an exception in the handler: logged, replaced
        await app.expect(r"worker \d+ exited with status 1; replacing it")
        assert (await app.ask("still")).endswith("still")


async def test_max_fork_is_never_exceeded_under_more_slow_clients(tmp_path):
    source = """
async def connect(sock):
    await sock.read(1000, "\\n")  # a slow client: waits for its line
    await sock.flush(f"{os.getpid()}\\n")
    return True

moonbridge.listen({"proto": "tcp", "host": "127.0.0.1", "port": 0}, connect=connect,
                  pre_fork=1, min_fork=1, max_fork=3, fork_delay=0.01)
moonbridge.run()
"""
    async with running(tmp_path, source) as app:
        streams = [await trio.open_tcp_stream("127.0.0.1", app.port) for _ in range(13)]
        for _ in range(2):  # two more workers take connections (3 busy, 10 in the backlog)
            await app.expect(r"worker \d+ started")
        assert len(app.workers()) <= 3
        pids = set()
        for stream in streams:
            async with stream:
                await stream.send_all(b"go\n")
                with trio.fail_after(10):
                    pids.add(int((await stream.receive_some(100)).strip()))
            assert len(app.workers()) <= 3
        assert len(pids) <= 3
        assert not any("max_fork" in line and "exceed" in line for line in app.seen)


async def test_spares_follow_fork_delay_and_are_retired_after_exit_delay(tmp_path):
    source = """
async def connect(sock):
    await sock.read(1000, "\\n")
    await sock.flush(b"ok\\n")
    return True

moonbridge.listen({"proto": "tcp", "host": "127.0.0.1", "port": 0}, connect=connect,
                  pre_fork=1, min_fork=1, max_fork=4, fork_delay=0.05, exit_delay=0.2)
moonbridge.run()
"""
    async with running(tmp_path, source) as app:
        await app.expect(r"worker (\d+) started")
        streams = [await trio.open_tcp_stream("127.0.0.1", app.port) for _ in range(3)]
        for _ in range(3):  # each busy worker gets a spare behind it, up to max_fork
            await app.expect(r"worker \d+ started")
        assert len(app.workers()) == 4
        for stream in streams:
            async with stream:
                await stream.send_all(b"done\n")
                await stream.receive_some(10)
        for _ in range(3):  # back to one idle spare, one retirement per exit_delay
            await app.expect(r"worker \d+ ended")
        assert len(app.workers()) == 1


async def test_idle_timeout_ends_a_waiting_worker(tmp_path):
    source = """
async def connect(sock):
    return True

moonbridge.listen({"proto": "tcp", "host": "127.0.0.1", "port": 0}, connect=connect,
                  pre_fork=1, min_fork=1, max_fork=1, idle_time=0.2, fork_delay=0.01)
moonbridge.run()
"""
    async with running(tmp_path, source) as app:
        first = (await app.expect(r"worker (\d+) started")).group(1)
        await app.expect(rf"worker {first} idle for 0.2s: ending")
        await app.expect(r"worker \d+ started")  # replaced


async def test_memory_limit_ends_a_worker_that_allocates(tmp_path):
    source = """
hoard = []

async def connect(sock):
    line, _ = await sock.read(1000, "\\n")
    if line.strip() == b"eat":
        hoard.append(bytearray(80 << 20))
    await sock.flush(f"{os.getpid()}\\n")
    return True

moonbridge.listen({"proto": "tcp", "host": "127.0.0.1", "port": 0}, connect=connect,
                  pre_fork=1, min_fork=1, max_fork=1, memory_limit=60 << 20, fork_delay=0.01)
moonbridge.run()
"""
    async with running(tmp_path, source) as app:
        small = await app.ask("small")
        assert await app.ask("small") == small  # under the limit: the same worker
        assert await app.ask("eat") == small
        await app.expect(rf"worker {small} is past memory_limit={60 << 20} bytes: ending")
        assert await app.ask("small") != small


async def test_interval_and_main_listeners(tmp_path):
    source = """
import time
ticks = []

async def connect(sock):
    if sock.interval == "loose":
        say("tick loose", round(time.monotonic(), 3))
        await trio.sleep(0.15)  # the next call comes delay after this one ends
        return True
    if sock.interval == "boot":
        say("main ran")
        await trio.sleep(1.5)  # long enough for three ticks of the other listener
        return True
    return True

moonbridge.listen({"proto": "interval", "name": "loose", "delay": 0.1},
                  {"proto": "main", "name": "boot"}, connect=connect, fork_delay=0.01)
moonbridge.run()
"""
    async with running(tmp_path, source, listen_line=False) as app:
        await app.expect("main ran")
        times = [float((await app.expect(r"tick loose ([\d.]+)")).group(1)) for _ in range(3)]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(gap >= 0.24 for gap in gaps), gaps  # the 0.15 s call, then the 0.1 s delay
        await app.expect("the main call returned: shutting down")
        await app.expect("stopped")
        with trio.fail_after(10):
            assert await app.process.wait() == 0


async def test_sigterm_finishes_the_connection_in_flight_and_leaves_no_process(tmp_path):
    """One worker, busy; a second client waits in the listen backlog. SIGTERM: the
    connection in flight finishes, the waiting one is still served (the kernel accepted
    it), new clients are refused, and no process is left."""
    source = """
async def connect(sock):
    line, _ = await sock.read(1000, "\\n")
    say("working on", line.decode().strip())
    if line.strip() == b"first":
        await trio.sleep(0.3)  # still working when the signal comes
    await sock.flush(b"finished " + line)
    return True

moonbridge.listen({"proto": "tcp", "host": "127.0.0.1", "port": 0}, connect=connect,
                  pre_fork=0, min_fork=1, max_fork=1, fork_delay=0.01)
moonbridge.run()
"""
    async with running(tmp_path, source) as app:
        first = await trio.open_tcp_stream("127.0.0.1", app.port)
        await first.send_all(b"first\n")
        await app.expect("working on first")
        kids = app.workers()
        waiting = await trio.open_tcp_stream("127.0.0.1", app.port)  # in the backlog
        await waiting.send_all(b"second\n")
        app.process.send_signal(signal.SIGTERM)
        await app.expect("shutting down gracefully")
        with trio.fail_after(10):
            assert await first.receive_some(100) == b"finished first\n"
            assert await waiting.receive_some(100) == b"finished second\n"
        await first.aclose()
        await waiting.aclose()
        with trio.fail_after(15):
            assert await app.process.wait() == 0
        with pytest.raises(OSError, match="connect"):
            await trio.open_tcp_stream("127.0.0.1", app.port)
        assert not alive(kids)


async def test_timeout_cancels_a_runaway_handler_and_its_worker_is_replaced(tmp_path):
    source = """
async def connect(sock):
    line, _ = await sock.read(1000, "\\n")
    left = moonbridge.timeout(5)
    assert 4 < left <= 5 and 4 < moonbridge.timeout() <= 5
    if line.strip() == b"nested":
        inner = await moonbridge.timeout(10, lambda: moonbridge.timeout())
        await sock.flush(f"{inner:.0f}\\n")  # the shorter, outer timer wins
        return True
    if line.strip() == b"runaway":
        moonbridge.timeout(0.2)
        await trio.sleep_forever()
    await sock.flush(f"{os.getpid()}\\n")
    return True

moonbridge.listen({"proto": "tcp", "host": "127.0.0.1", "port": 0}, connect=connect,
                  pre_fork=1, min_fork=1, max_fork=2, fork_delay=0.01)
moonbridge.run()
"""
    async with running(tmp_path, source) as app:
        assert await app.ask("nested") == "5"
        stream = await trio.open_tcp_stream("127.0.0.1", app.port)
        async with stream:
            await stream.send_all(b"runaway\n")
            await app.expect(r"worker (\d+): handler .* timed out: ending")
            with trio.fail_after(5):
                assert await stream.receive_some(100) == b""  # closed, no answer
        assert (await app.ask("next")).isdigit()


async def test_local_listener_replaces_a_stale_file_and_removes_it(tmp_path):
    path = tmp_path / "mb.sock"
    path.write_bytes(b"")  # a regular file is refused...
    source = f"""
async def connect(sock):
    await sock.flush(b"local\\n")
    return True

moonbridge.listen({{"proto": "local", "path": {str(path)!r}}}, connect=connect, fork_delay=0.01)
sys.exit(moonbridge.run())
"""
    async with running(tmp_path, source, listen_line=False) as app:
        await app.expect("not a socket")
        with trio.fail_after(10):
            assert await app.process.wait() == 1
    path.unlink()
    import socket

    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))  # ...a stale socket file is replaced
    stale.close()
    async with running(tmp_path, source, listen_line=False) as app:
        await app.expect("listening on local")
        stream = await trio.open_unix_socket(str(path))
        async with stream:
            with trio.fail_after(10):
                assert await stream.receive_some(100) == b"local\n"
    assert not path.exists()  # removed at shutdown


def test_listen_checks_its_arguments():
    async def connect(sock):
        return True

    with pytest.raises(ValueError, match="proto must be"):
        moonbridge.listen({"proto": "udp"}, connect=connect)
    with pytest.raises(ValueError, match="port from 0 to 65535"):
        moonbridge.listen({"proto": "tcp", "port": 70000}, connect=connect)
    with pytest.raises(ValueError, match="at most 100 listeners"):
        moonbridge.listen(*[{"proto": "tcp", "port": 0}] * 101, connect=connect)
    with pytest.raises(ValueError, match="unknown listen\\(\\) option 'forks'"):
        moonbridge.listen({"proto": "tcp", "port": 0}, connect=connect, forks=3)
    with pytest.raises(ValueError, match="delay > 0"):
        moonbridge.listen({"proto": "interval", "name": "x", "delay": 0}, connect=connect)
    with pytest.raises(ValueError, match="min_fork <= max_fork"):
        moonbridge.listen({"proto": "tcp", "port": 0}, connect=connect, min_fork=5, max_fork=2)
    options = moonbridge.PoolOptions.from_options({"pre_fork": 3, "idle_time": False})
    assert (options.pre_fork, options.min_fork, options.max_fork) == (3, 3, 16)
    assert options.idle_timeout == 0
    assert moonbridge.PoolOptions.from_options({"exit_delay": False}).exit_delay == 0
    with pytest.raises(RuntimeError, match="inside a Moonbridge handler"):
        moonbridge.timeout(1)
    with pytest.raises(RuntimeError, match="without listen"):
        moonbridge.run()


async def test_rttp_moonbridge_runs_a_script_that_only_listens(tmp_path):
    """``rttp moonbridge APP.py``: the script registers, the command serves (as
    ``moonbridge app.lua`` does)."""
    source = (
        ECHO
        + """
moonbridge.listen({"proto": "tcp", "host": "127.0.0.1", "port": 0}, connect=connect, fork_delay=0.01)
"""
    )
    async with running(tmp_path, source, cli=True) as app:
        assert (await app.ask("via-cli")).endswith("via-cli")


async def test_a_handler_that_never_yields_is_killed_after_its_timeout(tmp_path):
    source = """
async def connect(sock):
    await sock.read(1000, "\\n")
    moonbridge.timeout(0.1)
    while True:  # no checkpoint: the cancellation can never land
        pass

moonbridge.listen({"proto": "tcp", "host": "127.0.0.1", "port": 0}, connect=connect,
                  pre_fork=1, min_fork=1, max_fork=1, fork_delay=0.01)
moonbridge.run()
"""
    async with running(tmp_path, source) as app:
        stream = await trio.open_tcp_stream("127.0.0.1", app.port)
        async with stream:
            await stream.send_all(b"spin\n")
            await app.expect(r"worker \d+ was killed by SIGALRM; replacing it")


async def test_two_listen_calls_are_two_pools_and_listen_from_a_handler_is_refused(tmp_path):
    source = """
import time

async def first(sock):
    try:
        moonbridge.listen({"proto": "tcp", "port": 0}, connect=first)
    except RuntimeError as exc:
        await sock.flush(f"first {exc}\\n")
    return True

async def second(sock):
    if sock.interval:
        return await strict(sock)
    await sock.flush(b"second\\n")
    return True

async def strict(sock):
    say("strict tick", round(time.monotonic(), 3))
    await trio.sleep(0.05)
    return True

moonbridge.listen({"proto": "tcp", "host": "127.0.0.1", "port": 0}, connect=first, fork_delay=0.01)
moonbridge.listen({"proto": "tcp", "host": "127.0.0.1", "port": 0},
                  {"proto": "interval", "name": "s", "delay": 0.2, "strict": True},
                  connect=second, fork_delay=0.01, min_fork=1)
moonbridge.run()
"""
    async with running(tmp_path, source) as app:
        other = int((await app.expect(r"listening on tcp [^ ]*:(\d+)")).group(1))
        assert (await app.ask()).startswith("first listen() cannot be called from a")
        app.port = other
        assert await app.ask() == "second"
        times = [float((await app.expect(r"strict tick ([\d.]+)")).group(1)) for _ in range(3)]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        # a fixed 0.2 s schedule: one late tick (a loaded machine) makes the next one
        # early, so the mean gap stays 0.2; a schedule that waited after the 0.05 s
        # handler would make every gap, and so the mean, 0.25 or more
        assert 0.15 <= sum(gaps) / len(gaps) < 0.24, gaps


async def test_a_crash_looping_worker_is_restarted_with_backoff_and_logged_once(tmp_path):
    """``prepare`` raises in every worker: without a backoff the pool forked 40 workers
    and logged about 1,000 lines in 10 s. Now the waits grow (from fork_error_delay,
    doubling, capped), one line opens the episode, and one closes it when a worker
    serves again."""
    marker = tmp_path / "healthy"
    source = f"""
import pathlib
starts = pathlib.Path("starts")

def prepare():
    with starts.open("a") as out:
        out.write("x\\n")
    if not pathlib.Path({str(marker)!r}).exists():
        raise RuntimeError("prepare failed")

def connect(sock):
    return True

moonbridge.listen({{"proto": "tcp", "host": "127.0.0.1", "port": 0}}, prepare=prepare,
                  connect=connect, pre_fork=1, min_fork=1, max_fork=2,
                  fork_delay=0.01, fork_error_delay=0.05)
moonbridge.run()
"""
    async with running(tmp_path, source) as app:
        await app.expect(r"workers keep failing .* backing off, from 0\.05s up to 60s")
        await trio.sleep(1.5)  # the measurement window: starts over this much time
        starts = (tmp_path / "starts").read_text().count("x")
        # waits of 0.05, 0.1, 0.2, 0.4, 0.8 s: about 7 starts; a fork_delay loop: ~100+
        assert 3 <= starts <= 10, starts
        marker.write_text("")
        await app.expect(r"a worker serves again, after \d+ failed in a row", timeout=15)
    # a traceback's first line (an exception group's nests more, each after a "|")
    tracebacks = [line for line in app.seen if "Traceback" in line and "|" not in line]
    # the first failure in full (and a second one's, if it was forked before the first
    # was known to have failed); the rest in one DEBUG line each
    assert len(tracebacks) <= 2, tracebacks
    assert any("failed: RuntimeError: prepare failed" in line for line in app.seen)
    replaced = [line for line in app.seen if line.endswith("; replacing it")]
    assert len(replaced) == 1  # the loop is announced once ...
    assert sum("workers keep failing" in line for line in app.seen) == 1
    assert sum("serves again" in line for line in app.seen) == 1  # ... and its end once
