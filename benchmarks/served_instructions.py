"""Instructions per request of whole servers under callgrind, rttp beside its peers:
the same rows :mod:`servers` runs for the requests/s suites, driven by ``h2load`` with
a fixed number of requests, so that the cost of one request is counted (not timed)
and does not move with the machine's load.

    python benchmarks/served_instructions.py                 # the default rows
    python benchmarks/served_instructions.py --rows "rttp (asgi)" "uvicorn (httptools)"

Each row runs twice under ``valgrind --tool=callgrind``, answering no request and then
``--requests`` of them (``h2load --h1`` with 50 connections, or 10 connections x 10
streams for the HTTP/2 rows); the difference divided by the requests is one request,
start-up excluded. The server process alone is counted (the kernel's work is not),
which is what separates two event loops or two protocol stacks. Needs ``valgrind`` and
``h2load`` (``apt-get install valgrind nghttp2-client``); loopback only, bounded counts.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent

#: row -> True for an HTTP/2 row (h2c with prior knowledge)
ROWS = {
    "bare trio+httptools": False,
    "rttp (httptools)": False,
    "rttp (asgi)": False,
    "rttp App route": False,
    "uvicorn (httptools)": False,
    "starlette on rttp": False,
    "starlette on uvicorn": False,
    "starlette on bare trio": False,
    "bare trio+h2": True,
    "rttp (http2)": True,
}


def _count(row: str, requests: int, http2: bool) -> int:
    """Instructions of one server process that answers ``requests`` requests."""
    sys.path.insert(0, str(HERE))
    from run import free_port, wait_listening

    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
        command += [sys.executable, str(HERE / "servers.py"), row, str(port)]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if not wait_listening(port, 120):
                raise RuntimeError(f"{row} did not start under valgrind")
            time.sleep(1.0)  # (its start-up settles: the zero-request run waits as long)
            if requests:
                load = ["-c", "10", "-m", "10"] if http2 else ["--h1", "-c", "50"]
                url = f"http://127.0.0.1:{port}/"
                command = ["h2load", "-n", str(requests), *load, url]
                done = subprocess.run(command, capture_output=True, text=True, timeout=900)
                if f"{requests} succeeded" not in done.stdout:
                    raise RuntimeError(f"{row}: not every request succeeded\n{done.stdout}")
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
        for line in out.read_text().splitlines():
            if line.startswith("totals:"):
                return int(line.split()[1])
    raise RuntimeError(f"{row}: callgrind wrote no totals")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--requests", type=int, default=10_000)
    args = parser.parse_args()
    for tool in ("valgrind", "h2load"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (apt-get install valgrind nghttp2-client)")
    print(f"{'row':<24} {'instructions/request':>21}")
    for row in args.rows:
        http2 = ROWS[row]
        idle = _count(row, 0, http2)
        busy = _count(row, args.requests, http2)
        print(f"{row:<24} {(busy - idle) / args.requests:>21,.0f}", flush=True)


if __name__ == "__main__":
    main()
