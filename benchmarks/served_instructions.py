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

``--branches`` adds callgrind's branch simulation: the conditional and indirect branches
its simple predictor misses per request (the interpreter's dispatch is most of them).
``--bytecodes`` counts instead the Python bytecodes each request runs (a ``sys.settrace``
opcode tracer in the server, no valgrind), with the functions that run the most.
"""

from __future__ import annotations

import argparse
import json
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
    "fastapi on rttp": False,
    "fastapi on uvicorn": False,
    "bare trio+h2": True,
    "rttp (http2)": True,
}


#: the server under an opcode tracer: ``servers.py ROW PORT`` with every bytecode counted
#: per function, the counts written to OUT as JSON when SIGTERM ends it
_TRACED = """
import collections, json, os, signal, sys
out, row, port = sys.argv[1:4]
os.chdir(os.path.dirname(sys.argv[4]))
sys.path.insert(0, os.getcwd())
counts = collections.Counter()
def tracer(frame, event, arg):
    frame.f_trace_opcodes, frame.f_trace_lines = True, False
    if event == "opcode":
        code = frame.f_code
        counts[f"{code.co_filename}:{code.co_firstlineno}:{code.co_name}"] += 1
    return tracer
def stop(*_):
    sys.settrace(None)
    with open(out, "w") as file:
        json.dump(counts, file)
    os._exit(0)
signal.signal(signal.SIGTERM, stop)
import servers
sys.settrace(tracer)
servers.SERVERS[row](int(port))
"""

#: callgrind's events with ``--branch-sim=yes``: the counts reported per request
_EVENTS = {"Ir": "instructions", "Bcm": "mispredicted conditional", "Bim": "mispredicted indirect"}


def _count(row: str, requests: int, http2: bool, branches: bool = False) -> dict[str, int]:
    """Instructions (and with ``branches``, mispredicted branches) of one server process
    that answers ``requests`` requests, by callgrind event name."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
        if branches:
            command.append("--branch-sim=yes")
        command += [sys.executable, str(HERE / "servers.py"), row]
        _serve(row, command, requests, http2)
        events: list[str] = []
        for line in out.read_text().splitlines():
            if line.startswith("events:"):
                events = line.split()[1:]
            if line.startswith("totals:"):
                return dict(zip(events, map(int, line.split()[1:]), strict=False))
    raise RuntimeError(f"{row}: callgrind wrote no totals")


def _bytecodes(row: str, requests: int, http2: bool) -> dict[str, int]:
    """Bytecodes by function of one server process that answers ``requests`` requests."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "counts.json"
        command = [sys.executable, "-c", _TRACED, str(out), row]
        _serve(row, command, requests, http2, tail=str(HERE / "servers.py"))
        counts: dict[str, int] = json.loads(out.read_text())
        return counts


def _serve(row: str, command: list[str], requests: int, http2: bool, tail: str = "") -> None:
    """Run ``command PORT [tail]`` (a server of ``row``), send it ``requests`` requests
    (none: it idles as long), then end it with SIGTERM."""
    sys.path.insert(0, str(HERE))
    from run import free_port, wait_listening

    port = free_port()
    command = [*command, str(port)] + ([tail] if tail else [])
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_listening(port, 120):
            raise RuntimeError(f"{row} did not start")
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


def _short(key: str) -> str:
    """``file:line:function`` with the file's path from its package on."""
    for marker in ("site-packages/", "/src/", "/plugins/", "/lib/python3"):
        if marker in key:
            return key.split(marker, 1)[1]
    return key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--branches", action="store_true", help="mispredicted branches too")
    parser.add_argument("--bytecodes", action="store_true", help="count bytecodes instead")
    parser.add_argument("--top", type=int, default=15, help="functions shown with --bytecodes")
    args = parser.parse_args()
    tools = ["h2load"] if args.bytecodes else ["valgrind", "h2load"]
    for tool in tools:
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (apt-get install valgrind nghttp2-client)")
    n = args.requests
    for row in args.rows:
        http2 = ROWS[row]
        if args.bytecodes:
            idle, busy = _bytecodes(row, 0, http2), _bytecodes(row, n, http2)
            each = {k: (busy.get(k, 0) - idle.get(k, 0)) / n for k in busy}
            print(f"{row}: {sum(each.values()):,.0f} bytecodes/request", flush=True)
            for key, count in sorted(each.items(), key=lambda kv: -kv[1])[: args.top]:
                print(f"  {count:8.1f}  {_short(key)}")
            continue
        idle, busy = _count(row, 0, http2, args.branches), _count(row, n, http2, args.branches)
        shown = [e for e in _EVENTS if e in busy]
        counts = ", ".join(f"{(busy[e] - idle[e]) / n:,.0f} {_EVENTS[e]}" for e in shown)
        print(f"{row:<24} {counts}", flush=True)


if __name__ == "__main__":
    main()
