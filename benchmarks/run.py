"""Side-by-side server benchmark: rttp and its peers under the same load in one run.

    python benchmarks/run.py                 # every server, 1 and 50 connections, 5 s each
    python benchmarks/run.py --seconds 10 --only "rttp (httptools)" aiohttp
    nox -s bench                             # installs the peers in its own virtualenv first

Each server runs in its own process pinned to CPU 0 and the load generator to CPU 1
(``taskset``, when there are two cores). The load comes from ``wrk`` when it is on the
PATH (``apt-get install wrk``) and from the bundled Trio generator otherwise. Memory: a
fresh server, one warm-up request, then 1,000 idle keep-alive connections; the growth of
its resident set per connection is reported. Only loopback is used; every run is bounded.

Prints one table with requests/s, p50, p99 and the ratio of rttp (httptools) to each
server; writes the same as JSON to ``benchmarks/results/latest.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
OURS = "rttp (httptools)"
sys.path.insert(0, str(HERE))
import files  # noqa: E402
from hosted import GROUPS, WS_SERVERS  # noqa: E402
from servers import PLAIN  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pinned(cpu: int, command: list[str]) -> list[str]:
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(cpu), *command]
    return command


#: ``--baseline DIR``: a checkout of an earlier commit; every rttp row gets a twin named
#: ``NAME@base`` that runs that checkout's code, so before and after share one run
BASELINE: list[str] = []
SUFFIX = "@base"


def resolve(name: str) -> tuple[str, dict[str, str] | None]:
    """A row's implementation name and the environment it runs in (the baseline's code
    first on the path for an ``@base`` row)."""
    if not name.endswith(SUFFIX):
        return name, None
    root = Path(BASELINE[0])
    env = dict(os.environ, PYTHONPATH=f"{root / 'src'}{os.pathsep}{root / 'plugins'}")
    return name[: -len(SUFFIX)], env


def with_baseline(names: list[str]) -> list[str]:
    """``names`` with an ``@base`` twin after every rttp row when a baseline is given."""
    if not BASELINE:
        return names
    out: list[str] = []
    for name in names:
        out.append(name)
        if (name.startswith("rttp") or name.endswith(" on rttp")) and "proc" not in name:
            out.append(name + SUFFIX)  # (the process rows have no twin: older code had no pool)
    return out


def measure(script: str, *args: object, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``benchmarks/SCRIPT ARGS`` on the load CPU; its JSON answer."""
    command = [sys.executable, str(HERE / script), *map(str, args)]
    out = subprocess.run(
        pinned(1, command), capture_output=True, text=True, check=True, env=env
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def start_server(name: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    impl, env = resolve(name)
    command = [sys.executable, str(HERE / "servers.py"), impl, str(port)]
    process = subprocess.Popen(
        command if "unpinned" in name else pinned(0, command),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if sock.recv(100).startswith(b"HTTP/1.1 200"):
                    return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{name} did not start on port {port}")


def wait_listening(port: int, seconds: float = 20) -> bool:
    """Wait until something accepts connections on 127.0.0.1:``port``; False if nothing
    did within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s)$", text)
    if match is None:  # wrk prints "-nan" or the like when a run saw no answers
        return float("nan")
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _rate(out: str) -> float:
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(found.group(1)) if found else 0.0


def _percentile(out: str, which: str) -> float:
    found = re.search(rf"^\s+{which}\s+(\S+)", out, re.MULTILINE)  # not "+/- Stdev 90.50%"
    return _ms(found.group(1)) if found else float("nan")


def load(port: int, connections: int, seconds: float, path: str = "/") -> dict[str, float]:
    if shutil.which("wrk"):
        out = subprocess.run(
            pinned(
                1,
                [
                    "wrk",
                    "-t1",
                    f"-c{connections}",
                    f"-d{max(1, round(seconds))}s",
                    "--latency",
                    f"http://127.0.0.1:{port}{path}",
                ],
            ),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return {
            "requests_per_second": _rate(out),
            "p50_ms": _percentile(out, "50%"),
            "p99_ms": _percentile(out, "99%"),
            "tool": "wrk",
        }
    return {**measure("loadgen.py", port, connections, seconds), "tool": "trio loadgen"}


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def idle_memory(name: str, count: int = 1000) -> dict[str, float]:
    """Server RSS when idle (after one request) and with ``count`` idle keep-alive
    connections, and the growth per connection."""
    process, port = start_server(name)
    sockets: list[socket.socket] = []
    try:
        time.sleep(0.5)
        before = rss_kib(process.pid)
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            sock.recv(4096)
            sockets.append(sock)
        time.sleep(1.0)
        after = rss_kib(process.pid)
        return {
            "idle_rss_mib": before / 1024,
            f"rss_{count}_connections_mib": after / 1024,
            "idle_kib_per_connection": (after - before) / count,
        }
    finally:
        for sock in sockets:
            sock.close()
        stop(process)


CLIENTS = ["rttp", "httpx", "aiohttp", "bare trio+h11", "bare trio+httptools"]
WS_IMPLS = ["rttp", "rttp-wsproto", "trio-websocket", "websockets"]


def client_suite(seconds: float, rounds: int = 1) -> dict[str, dict]:
    """Each client sequentially and with 50 tasks against the bare trio stream server.

    With several rounds the clients take turns in each round and the median is reported,
    so a machine whose speed drifts affects every client alike.
    """
    process, port = start_server("bare trio stream")
    clients = with_baseline(CLIENTS)
    samples: dict[str, dict[str, list[float]]] = {
        impl: {"tasks1": [], "tasks50": []} for impl in clients
    }
    try:
        for _ in range(rounds):
            for impl in clients:
                for tasks in (1, 50):
                    name, env = resolve(impl)
                    result = measure("clients.py", name, port, tasks, seconds, env=env)
                    samples[impl][f"tasks{tasks}"].append(result["requests_per_second"])
                print(f"measured client {impl}", file=sys.stderr, flush=True)
    finally:
        stop(process)
    return {
        impl: {
            **{key: statistics.median(values) for key, values in entry.items()},
            **{
                f"{key} ratio": paired_ratio(samples["rttp"][key], values)
                for key, values in entry.items()
            },
        }
        for impl, entry in samples.items()
    }


#: (server, client) pairs for ``--suites ws-roles``: every server against the websockets
#: client, and every client against the websockets server
WS_ROLES = {
    **{
        f"{impl} server": (impl, "websockets")
        for impl in ["rttp", "rttp-wsproto", "rttp-app", "trio-websocket", "websockets"]
    },
    **{
        f"{impl} client": ("websockets", impl)
        for impl in ["rttp", "rttp-wsproto", "trio-websocket", "websockets"]
    },
}


def ws_suite(
    seconds: float,
    rounds: int = 1,
    pairs: dict[str, tuple[str, str]] | None = None,
    ours: str = "rttp",
) -> dict[str, dict]:
    """Echo round trips on one connection, 32-byte and 1 MiB messages, for each label's
    (server, client) pair (by default each library's own pair); with several rounds, the
    median of interleaved runs and ratios to ``ours`` paired within each round."""
    pairs = pairs or {impl: (impl, impl) for impl in with_baseline(WS_IMPLS)}
    runs = [_ws_round(seconds, sorted(set(pairs.values()))) for _ in range(rounds)]
    by_label = [{label: run[pair] for label, pair in pairs.items()} for run in runs]
    first = by_label[0]
    return {
        label: {
            size: {
                **{
                    key: statistics.median(run[label][size][key] for run in by_label)
                    for key in first[label][size]
                },
                **{
                    f"{key} ratio": paired_ratio(
                        [run[ours][size][key] for run in by_label],
                        [run[label][size][key] for run in by_label],
                    )
                    for key in first[label][size]
                },
            }
            for size in first[label]
        }
        for label in first
    }


def _ws_round(seconds: float, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    results: dict[tuple[str, str], dict] = {}
    for server_impl, client_impl in pairs:
        port = free_port()
        server_name, server_env = resolve(server_impl)
        client_name, client_env = resolve(client_impl)
        command = [sys.executable, str(HERE / "ws.py"), "serve", server_name, str(port)]
        server = subprocess.Popen(
            pinned(0, command), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=server_env
        )
        try:
            wait_listening(port)
            entry = {}
            for size in (32, 1 << 20):
                entry[f"size{size}"] = measure(
                    "ws.py", "client", client_name, port, size, seconds, env=client_env
                )
            results[(server_impl, client_impl)] = entry
            print(
                f"measured websocket {server_impl} server, {client_impl} client",
                file=sys.stderr,
                flush=True,
            )
        finally:
            stop(server)
    return results


_WS_COLUMNS = ["32B trips/s", "1MiB MiB/s"]


def _ws_columns(results: dict[str, dict]) -> dict[str, dict[str, float]]:
    """A WebSocket suite's figures (and paired ratios) as the table's columns."""
    return {
        label: {
            "32B trips/s": e["size32"]["round_trips_per_second"],
            "32B trips/s ratio": e["size32"]["round_trips_per_second ratio"],
            "1MiB MiB/s": e[f"size{1 << 20}"]["mib_per_second"],
            "1MiB MiB/s ratio": e[f"size{1 << 20}"]["mib_per_second ratio"],
        }
        for label, e in results.items()
    }


def paired_ratio(ours: list[float], theirs: list[float]) -> float:
    """The median over rounds of ours/theirs measured in the same round.

    This machine's speed drifts by up to a quarter between minutes; a ratio taken
    within one round cancels most of that drift, a ratio of two medians does not.
    """
    ratios = [o / t for o, t in zip(ours, theirs, strict=False) if t]
    return statistics.median(ratios) if ratios else float("nan")


def print_ratios(title: str, results: dict[str, dict], ours: str, columns: list[str]) -> None:
    """A table of values with the ratio of ``ours`` to each row (paired per round when
    the entry carries ``COLUMN ratio``)."""
    print()
    print(title)
    header = f"{'':32}" + "".join(f" | {c:>12} {'ours/it':>7}" for c in columns)
    print(header)
    print("-" * len(header))
    for name, entry in results.items():
        row = f"{name:32}"
        for c in columns:
            ratio = entry.get(f"{c} ratio")
            if ratio is None:
                ratio = results[ours][c] / entry[c] if entry[c] else float("nan")
            row += f" | {entry[c]:12.1f} {ratio:6.2f}x"
        print(row)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 50])
    parser.add_argument("--only", nargs="+", help="server names to run (default: all)")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument(
        "--suites",
        nargs="+",
        default=["server", "client", "ws"],
        choices=["server", "client", "ws", "ws-roles", "memory", "asgi", "files", "http2"],
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="interleaved rounds per suite, the median reported"
    )
    parser.add_argument(
        "--baseline",
        metavar="DIR",
        help="a checkout of an earlier commit (git worktree add DIR REV): each rttp row gets "
        "an @base twin running that code, for before/after in one run",
    )
    args = parser.parse_args()
    if args.baseline:
        BASELINE.append(args.baseline)
    report: dict[str, object] = {"seconds": args.seconds}
    if "server" in args.suites:
        report["server"] = server_suite(args)
    elif "memory" in args.suites:  # memory alone (the server suite measures it too)
        report["memory"] = memory_suite(args.only or list(PLAIN))
    if "client" in args.suites:
        clients = client_suite(args.seconds, args.rounds)
        report["client"] = clients
        print_ratios(
            "client against the bare trio stream server (req/s)",
            clients,
            "rttp",
            ["tasks1", "tasks50"],
        )
    if "ws" in args.suites:
        ws = ws_suite(args.seconds, args.rounds)
        report["ws"] = ws
        print_ratios("WebSocket echo, one connection", _ws_columns(ws), "rttp", _WS_COLUMNS)
    if "ws-roles" in args.suites:
        roles = {
            side: ws_suite(
                args.seconds,
                args.rounds,
                {label: pair for label, pair in WS_ROLES.items() if label.endswith(side)},
                ours=f"rttp {side}",
            )
            for side in ("server", "client")
        }
        report["ws_roles"] = roles
        for side, results in roles.items():
            other = "websockets client" if side == "server" else "websockets server"
            print_ratios(
                f"WebSocket echo, each {side} with the {other}",
                _ws_columns(results),
                f"rttp {side}",
                _WS_COLUMNS,
            )
    if "asgi" in args.suites:
        report["asgi"] = asgi_suite(args)
    if "files" in args.suites:
        report["files"] = files_suite(args)
    if "http2" in args.suites:
        from http2 import http2_suite

        report["http2"] = http2_suite(args.seconds, args.rounds, args.only)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(report, indent=2))


def files_suite(args: argparse.Namespace) -> dict[str, dict]:
    """A 1 MiB and a 100 MiB file from rttp.static, aiohttp's static handler and nginx
    (the ceiling), over 1 and 10 connections: MiB/s, in interleaved rounds, ratios of
    rttp to each paired within a round."""
    files.make_files()
    names = list(files.FILE_SERVERS)
    if not files.have_nginx():
        names.remove("files on nginx")
        print("files suite: nginx is not installed (apt-get install nginx)", file=sys.stderr)
    points = [(name, c) for name in files.SIZES for c in (1, 10)]
    runs: dict[str, dict[str, list[float]]] = {n: {} for n in names}
    for _ in range(args.rounds):
        for name in names:
            process, port = start_server(name)
            try:
                for file, connections in points:
                    got = load(port, connections, args.seconds, f"/{file}")
                    mib = got["requests_per_second"] * files.SIZES[file] / (1 << 20)
                    runs[name].setdefault(f"{file} c={connections}", []).append(mib)
            finally:
                stop(process)
            print(f"measured {name}", file=sys.stderr, flush=True)
    ours = runs["files on rttp"]
    results = {
        name: {
            **{key: statistics.median(values) for key, values in entry.items()},
            **{f"{key} ratio": paired_ratio(ours[key], values) for key, values in entry.items()},
        }
        for name, entry in runs.items()
    }
    print_ratios(
        "Static files, MiB/s",
        results,
        "files on rttp",
        [f"{file} c={c}" for file, c in points],
    )
    return results


def asgi_suite(args: argparse.Namespace) -> dict[str, object]:
    """The same framework apps on rttp and on the servers their users run them on: per
    app, every server at each connection count, ratios to the app's rttp row; the
    Starlette group also has an rttp App route and a plain rttp handler doing the same
    work (the hosting overhead). Then a WebSocket echo through Starlette on rttp, uvicorn and hypercorn.
    ``--only ROW…`` runs the groups of those rows (and ``ws`` the echo)."""
    report: dict[str, object] = {}
    for app, rows in GROUPS.items():
        if args.only and not any(name in args.only for name in rows):
            continue
        names = [n for n in rows if not args.only or n in args.only or n.endswith("on rttp")]
        if app == "starlette":  # the same answer from rttp's own routing App, and from
            names += ["rttp App route", OURS]  # a plain handler (the hosting overhead)
        print(f"\n{app}, hosted (ratios: {app} on rttp to each)")
        report[app] = server_suite(args, names, ours=f"{app} on rttp", memory=False)
    if args.only and "ws" not in args.only:
        return report
    pairs = {name: (name, "websockets") for name in WS_SERVERS}
    pairs["rttp App (reference)"] = ("rttp-app", "websockets")
    ws = ws_suite(args.seconds, args.rounds, pairs, ours="starlette on rttp")
    report["ws"] = ws
    print_ratios(
        "WebSocket echo through Starlette, the websockets client",
        _ws_columns(ws),
        "starlette on rttp",
        _WS_COLUMNS,
    )
    return report


def server_suite(
    args: argparse.Namespace,
    names: list[str] | None = None,
    ours: str = OURS,
    memory: bool = True,
) -> dict[str, dict]:
    """Every server at each connection count, and its memory per idle connection.

    With ``--rounds N`` the servers are measured in N interleaved rounds and each point
    is the round with the median requests/s (this machine drifts between runs).
    """
    names = names or args.only or list(PLAIN)
    if ours not in names:
        names.insert(0, ours)
    names = with_baseline(names)
    runs: dict[str, dict[str, list[dict]]] = {name: {} for name in names}
    errors: dict[str, str] = {}
    for _ in range(args.rounds):
        for name in names:
            if name in errors:
                continue
            try:
                for connections in args.connections:
                    process, port = start_server(name)
                    try:
                        point = load(port, connections, args.seconds)
                    finally:
                        stop(process)
                    runs[name].setdefault(f"c{connections}", []).append(point)
            except (ImportError, RuntimeError, subprocess.CalledProcessError) as exc:
                errors[name] = str(exc)
            print(f"measured {name}", file=sys.stderr, flush=True)
    results: dict[str, dict] = {}
    for name in names:
        if name in errors:
            results[name] = {"error": errors[name]}
            continue
        entry: dict = {}
        for key, points in runs[name].items():
            ranked = sorted(points, key=lambda p: p["requests_per_second"])
            mine = [p["requests_per_second"] for p in runs.get(ours, {}).get(key, [])]
            entry[key] = {
                **ranked[len(ranked) // 2],
                "rounds": len(points),
                "ratio": paired_ratio(mine, [p["requests_per_second"] for p in points])
                if ours not in errors
                else float("nan"),
            }
        if memory and not args.no_memory:
            try:
                entry.update(idle_memory(name))
            except RuntimeError as exc:
                entry["memory_error"] = str(exc)
        results[name] = entry
    print_table(results, args.connections)
    return results


def memory_suite(names: list[str]) -> dict[str, dict]:
    """Each server's resident memory idle and with 1,000 idle keep-alive connections."""
    results: dict[str, dict] = {}
    for name in names:
        if "unpinned" in name:
            continue  # several processes: one RSS would not say what they hold
        try:
            results[name] = idle_memory(name)
        except (ImportError, RuntimeError) as exc:
            results[name] = {"error": str(exc)}
        print(f"measured memory {name}", file=sys.stderr, flush=True)
    print(f"{'server':32} | {'RSS idle':>8} {'1k conns':>8} {'KiB/conn':>8}")
    for name, entry in results.items():
        if "error" in entry:
            print(f"{name:32} | error: {entry['error']}")
            continue
        print(
            f"{name:32} | {entry['idle_rss_mib']:6.1f}Mi {entry['rss_1000_connections_mib']:6.1f}Mi"
            f" {entry['idle_kib_per_connection']:8.1f}"
        )
    return results


def print_table(results: dict[str, dict], connection_counts: list[int]) -> None:
    header = f"{'server':32}"
    for c in connection_counts:
        header += f" | {'c=' + str(c) + ' req/s':>12} {'p50':>7} {'p99':>7} {'ours/it':>7}"
    if any("idle_kib_per_connection" in entry for entry in results.values()):
        header += f" | {'RSS idle':>8} {'1k conns':>8} {'KiB/conn':>8}"
    print(header)
    print("-" * len(header))
    for name, entry in results.items():
        if "error" in entry:
            print(f"{name:32} | error: {entry['error']}")
            continue
        row = f"{name:32}"
        for c in connection_counts:
            run = entry[f"c{c}"]
            ratio = run.get("ratio", float("nan"))
            row += f" | {run['requests_per_second']:12.0f} {run['p50_ms']:6.2f}m {run['p99_ms']:6.2f}m {ratio:6.2f}x"
        if "idle_kib_per_connection" in entry:
            row += (
                f" | {entry['idle_rss_mib']:6.1f}Mi {entry['rss_1000_connections_mib']:6.1f}Mi"
                f" {entry['idle_kib_per_connection']:8.1f}"
            )
        print(row)


if __name__ == "__main__":
    main()
