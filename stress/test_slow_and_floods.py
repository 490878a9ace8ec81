"""Slow clients (slowhttptest's slowloris, slow body and slow read) and a WebSocket
message in 4 MiB one-byte fragments: the server's memory stays bounded and it goes on
answering a well-behaved client throughout."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
import trio

import rttp
from stress.conftest import cpu_seconds, rss_mib, serving

SECONDS = int(os.environ.get("RTTP_STRESS_SECONDS", "15"))

# mode -> (slowhttptest arguments, path, RSS growth allowed in MiB)
ATTACKS = {
    "slowloris": (["-H", "-c", "500", "-i", "5", "-r", "200", "-x", "24"], "/", 48),
    "slow-body": (["-B", "-c", "500", "-i", "5", "-r", "200", "-s", "65536"], "/upload", 48),
    "slow-read": (
        [
            "-X",
            "-c",
            "200",
            "-r",
            "200",
            "-w",
            "512",
            "-y",
            "1024",
            "-n",
            "5",
            "-z",
            "32",
            "-k",
            "3",
        ],
        "/big",
        160,
    ),
}


def _slowhttptest() -> str:
    found = shutil.which("slowhttptest")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "slowhttptest"], capture_output=True, check=False
        )
        found = shutil.which("slowhttptest")
    if found is None:
        pytest.skip("slowhttptest is not installed and cannot be (apt-get install slowhttptest)")
    return found


async def _watch(
    pid: int, url: str, stop: trio.Event, samples: list[float], probes: list[bool]
) -> None:
    """Sample the server's RSS every 0.25 s and ask it for / every second, until ``stop``."""
    async with rttp.Client() as client:
        tick = 0
        while not stop.is_set():
            samples.append(rss_mib(pid))
            if tick % 4 == 0:
                try:
                    with trio.fail_after(5):
                        probes.append((await client.get(url)).status == 200)
                except (rttp.RTTPError, trio.TooSlowError):
                    probes.append(False)
            tick += 1
            with trio.move_on_after(0.25):
                await stop.wait()


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_slow_clients_leave_memory_bounded(attack, record):
    tool = _slowhttptest()
    arguments, path, allowed = ATTACKS[attack]
    async with serving() as (url, process):
        before = rss_mib(process.pid)
        samples: list[float] = []
        probes: list[bool] = []
        stop = trio.Event()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_watch, process.pid, url + "/", stop, samples, probes)
            result = await trio.run_process(
                [tool, *arguments, "-l", str(SECONDS), "-u", url + path, "-p", "3"],
                capture_stdout=True,
                capture_stderr=True,
                check=False,
            )
            stop.set()
        peak = max(samples)
        output = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout.decode(errors="replace"))
        available = [
            line.split(":", 1)[1].strip()
            for line in output.splitlines()
            if line.strip().lower().startswith("service available")
        ]
        record(
            connections=arguments[arguments.index("-c") + 1],
            seconds=SECONDS,
            rss_before_mib=round(before, 1),
            rss_peak_mib=round(peak, 1),
            probes_answered=f"{sum(probes)}/{len(probes)}",
            service_available_per_tool=f"{available.count('YES')}/{len(available)}",
        )
        assert all(probes), f"the server stopped answering: {probes}"
        assert peak - before < allowed, f"RSS grew {peak - before:.0f} MiB (allowed {allowed})"


def _one_byte_fragments(count: int) -> bytes:
    """A text message of ``count`` one-byte frames, masked with a zero key."""
    first = b"\x01\x81\x00\x00\x00\x00x"
    middle = b"\x00\x81\x00\x00\x00\x00x"
    last = b"\x80\x81\x00\x00\x00\x00x"
    return first + middle * (count - 2) + last


async def test_four_million_one_byte_fragments(record):
    """4,194,304 one-byte fragments of one message (29 MiB on the wire): memory follows
    the 4 MiB payload, not the fragment count."""
    count = 4 << 20
    wire = _one_byte_fragments(count)
    async with serving(app="stress.apps:ws_app") as (url, process):
        before, cpu_before = rss_mib(process.pid), cpu_seconds(process.pid)
        samples: list[float] = []
        stop = trio.Event()
        ws_url = url.replace("http://", "ws://") + "/ws"
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_watch, process.pid, url + "/", stop, samples, [])
            with trio.fail_after(120):
                ws = await rttp.connect_websocket(ws_url)
                stream = ws._stream  # the raw bytes go out under the client's framing
                view = memoryview(wire)
                for start in range(0, len(wire), 1 << 20):
                    await stream.send_all(view[start : start + (1 << 20)])
                answer = await ws.receive()
            stop.set()
        await ws.abort()
        peak = max(samples)
        record(
            fragments=count,
            wire_mib=round(len(wire) / (1 << 20), 1),
            rss_before_mib=round(before, 1),
            rss_peak_mib=round(peak, 1),
            server_cpu_s=round(cpu_seconds(process.pid) - cpu_before, 1),
        )
        assert isinstance(answer, rttp.WebSocketMessage)
        assert answer.data == str(count)
        assert peak - before < 64, f"RSS grew {peak - before:.0f} MiB for a 4 MiB message"
