"""Print the tables of a benchmark run as reStructuredText (for docs/performance.rst).

python benchmarks/rst.py [benchmarks/results/latest.json]
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    rule = " ".join("=" * w for w in widths)
    lines = [rule, " ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(), rule]
    lines += [" ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.append(rule)
    return "\n".join(lines)


def _num(value: float, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


def _server_table(results: dict, memory: bool) -> str:
    """Each server's row: req/s and ratios at 1 and 50 connections (and its memory)."""
    rows = []
    for name, entry in results.items():
        if "error" in entry:
            rows.append([name, "error"] + [""] * (8 if memory else 5))
            continue
        c1, c50 = entry.get("c1", {}), entry.get("c50", {})
        row = [
            name,
            _num(c1.get("requests_per_second")),
            _num(c1.get("ratio"), 2),
            _num(c50.get("requests_per_second")),
            _num(c50.get("p50_ms"), 2),
            _num(c50.get("p99_ms"), 2),
            _num(c50.get("ratio"), 2),
        ]
        if memory:
            row += [
                _num(entry.get("idle_rss_mib"), 1),
                _num(entry.get("rss_1000_connections_mib"), 1),
                _num(entry.get("idle_kib_per_connection"), 1),
            ]
        rows.append(row)
    header = ["server", "c=1 req/s", "ours/it", "c=50 req/s", "p50 ms", "p99 ms", "ours/it"]
    if memory:
        header += ["RSS idle MiB", "RSS 1k conns MiB", "KiB/conn"]
    return _table(header, rows)


def _websocket_tables(report: dict) -> list[tuple[str, dict]]:
    tables = []
    if "ws" in report.get("asgi", {}):
        tables.append(("WebSocket echo through Starlette", report["asgi"]["ws"]))
    if "ws" in report:
        tables.append(("WebSocket echo on one connection", report["ws"]))
    for side, results in report.get("ws_roles", {}).items():
        other = "websockets client" if side == "server" else "websockets server"
        tables.append((f"WebSocket echo, each {side} with the {other}", results))
    return tables


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "results/latest.json"
    report = json.loads(path.read_text())
    if "server" in report:
        print("Servers:\n")
        print(_server_table(report["server"], memory=True))
    if "memory" in report:
        rows = [
            [
                name,
                _num(e.get("idle_rss_mib"), 1),
                _num(e.get("rss_1000_connections_mib"), 1),
                _num(e.get("idle_kib_per_connection"), 1),
            ]
            for name, e in report["memory"].items()
        ]
        print("\nServer memory:\n")
        header = ["server", "RSS idle MiB", "RSS 1k conns MiB", "KiB/conn"]
        print(_table(header, rows))
    if "client" in report:
        rows = [
            [
                name,
                _num(e["tasks1"]),
                _num(e["tasks1 ratio"], 2),
                _num(e["tasks50"]),
                _num(e["tasks50 ratio"], 2),
            ]
            for name, e in report["client"].items()
        ]
        print("\nClients (req/s):\n")
        print(_table(["client", "1 task", "ours/it", "50 tasks", "ours/it"], rows))
    for app, results in report.get("asgi", {}).items():
        if app == "ws":
            continue
        print(f"\n{app.capitalize()}, hosted:\n")
        print(_server_table(results, memory=False))
    if "files" in report:
        results = report["files"]
        columns = [key for key in next(iter(results.values())) if not key.endswith("ratio")]
        rows = [
            [name]
            + [cell for key in columns for cell in (_num(e[key]), _num(e[f"{key} ratio"], 2))]
            for name, e in results.items()
        ]
        header = ["server"] + [cell for key in columns for cell in (f"{key} MiB/s", "ours/it")]
        print("\nStatic files:\n")
        print(_table(header, rows))
    for title, results in _websocket_tables(report):
        rows = []
        for name, e in results.items():
            small, big = e["size32"], e[f"size{1 << 20}"]
            rows.append(
                [
                    name,
                    _num(small["round_trips_per_second"]),
                    _num(small["round_trips_per_second ratio"], 2),
                    _num(big["mib_per_second"], 1),
                    _num(big["mib_per_second ratio"], 2),
                ]
            )
        print(f"\n{title}:\n")
        print(_table(["implementation", "32 B trips/s", "ours/it", "1 MiB MiB/s", "ours/it"], rows))


if __name__ == "__main__":
    main()
