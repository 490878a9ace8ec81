"""Autobahn|Testsuite against trio-rttp, both roles, on each WebSocket backend.

``python tests/peers/autobahn.py [--cases 1.* 12.*] [--backends websockets wsproto]
[--roles server client] [--wstest PATH]`` runs the fuzzing client against an rttp echo
server (the routing app) and rttp's client against the fuzzing server, then prints each
case's outcome and exits 1 if any case is not OK (NON-STRICT and INFORMATIONAL count as
passing, as Autobahn defines them; UNIMPLEMENTED does not). ``nox -s autobahn`` runs it.
The suite is Python 2.7 software: ``wstest`` comes from ``pip install
autobahntestsuite`` under a Python 2.7 (here ``~/.pyenv/versions/2.7.18``).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

PASSING = {"OK", "NON-STRICT", "INFORMATIONAL"}
DEFAULT_WSTEST = Path.home() / ".pyenv/versions/2.7.18/bin/wstest"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port} after {seconds}s")


SERVER = """
import sys, trio, rttp
# Autobahn's 9.* send 4 MiB in 64-byte fragments: past the default max_fragments (4096),
# a deliberate limit on fragment floods, so the echo server lifts it
app = rttp.App(
    ws_ping_interval=None,
    ws_max_message_size=64 << 20,
    ws_max_fragments=None,
    websocket_backend=sys.argv[2],
)

@app.socket("/")
async def echo(conn, opcode, data, extra):
    if opcode == rttp.Opcode.text:
        await conn.text(data)
    elif opcode == rttp.Opcode.binary:
        await conn.binary(data)

trio.run(lambda: rttp.Server(app, f"http://127.0.0.1:{sys.argv[1]}", access_log=False).serve())
"""

CLIENT = """
import sys, trio, rttp
base, agent, backend = sys.argv[1], sys.argv[2], sys.argv[3]

async def main():
    ws = await rttp.connect_websocket(f"{base}/getCaseCount", websocket_backend=backend)
    count = int((await ws.receive()).data)
    await ws.close()
    for case in range(1, count + 1):
        try:
            ws = await rttp.connect_websocket(
                f"{base}/runCase?case={case}&agent={agent}",
                websocket_backend=backend, max_message_size=64 << 20, max_fragments=None,
            )
        except rttp.errors.RTTPError:
            continue
        try:
            async for data in ws:
                await ws.send(data)
        except rttp.errors.WebSocketClosed:
            pass
        await ws.close()
    ws = await rttp.connect_websocket(f"{base}/updateReports?agent={agent}", websocket_backend=backend)
    await ws.close()

trio.run(main)
"""


def _outcomes(outdir: Path, agent: str) -> dict[str, str]:
    index = json.loads((outdir / "index.json").read_text())
    return {case: result["behavior"] for case, result in index[agent].items()}


def run_server_role(wstest: str, backend: str, cases: list[str], work: Path) -> dict[str, str]:
    port = _port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port), backend])
    try:
        _wait_for(port)
        agent = f"rttp-server-{backend}"
        spec = {
            "outdir": str(work / "server"),
            "servers": [{"agent": agent, "url": f"ws://127.0.0.1:{port}"}],
            "cases": cases,
            "exclude-cases": [],
            "exclude-agent-cases": {},
        }
        (work / "client.json").write_text(json.dumps(spec))
        subprocess.run(
            [wstest, "-m", "fuzzingclient", "-s", str(work / "client.json")],
            cwd=work,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return _outcomes(work / "server", agent)
    finally:
        server.terminate()
        server.wait()


def run_client_role(wstest: str, backend: str, cases: list[str], work: Path) -> dict[str, str]:
    port = _port()
    agent = f"rttp-client-{backend}"
    spec = {
        "url": f"ws://127.0.0.1:{port}",
        "outdir": str(work / "client"),
        "cases": cases,
        "exclude-cases": [],
        "exclude-agent-cases": {},
    }
    (work / "server.json").write_text(json.dumps(spec))
    fuzzer = subprocess.Popen(
        [wstest, "-m", "fuzzingserver", "-s", str(work / "server.json"), "--webport", "0"],
        cwd=work,
        stdout=subprocess.DEVNULL,
    )
    try:
        _wait_for(port)
        subprocess.run(
            [sys.executable, "-c", CLIENT, f"ws://127.0.0.1:{port}", agent, backend],
            check=True,
            timeout=3600,
        )
        return _outcomes(work / "client", agent)
    finally:
        fuzzer.terminate()
        fuzzer.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=["*"])
    parser.add_argument("--backends", nargs="+", default=["websockets", "wsproto"])
    parser.add_argument("--roles", nargs="+", default=["server", "client"])
    parser.add_argument("--wstest", default=os.environ.get("WSTEST", str(DEFAULT_WSTEST)))
    parser.add_argument("--keep", metavar="DIR", help="keep Autobahn's reports under DIR")
    args = parser.parse_args()
    if not Path(args.wstest).exists():
        print(f"no wstest at {args.wstest}: pip install autobahntestsuite under Python 2.7")
        return 2
    failed = False
    for role in args.roles:
        for backend in args.backends:
            with tempfile.TemporaryDirectory() as tmp:
                work = Path(args.keep) / f"{role}-{backend}" if args.keep else Path(tmp)
                work.mkdir(parents=True, exist_ok=True)
                runner = run_server_role if role == "server" else run_client_role
                outcomes = runner(args.wstest, backend, args.cases, work)
            tally = Counter(outcomes.values())
            bad = sorted(
                (case for case, outcome in outcomes.items() if outcome not in PASSING),
                key=lambda c: [int(p) for p in c.split(".")],
            )
            print(f"{role} on {backend}: {len(outcomes)} cases, {dict(tally)}")
            for case in bad:
                print(f"  {case}: {outcomes[case]}")
            failed = failed or bool(bad) or not outcomes
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
