"""What the stress probes share: a server process, its RSS / open files / CPU time read
from /proc, and a record of the figures (printed at the end, and written to
``benchmarks/results/stress.json`` for the docs)."""

from __future__ import annotations

import json
import os
import resource
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import cli_process

ROOT = Path(__file__).parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "stress.json"
_figures: dict[str, dict[str, Any]] = {}


def serving(*flags: str, app: str = "stress.apps:app") -> Any:
    """``rttp serve APP`` on a free loopback port, access log off: ``(url, process)``."""
    return cli_process(
        "serve", app, "--bind", "http://127.0.0.1:0", "--no-access-log", *flags, cwd=str(ROOT)
    )


def rss_mib(pid: int) -> float:
    """Resident memory of a process, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def open_fds(pid: int) -> int:
    """Open file descriptors of a process."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raise_open_file_limit(needed: int) -> None:
    """Raise this process's soft RLIMIT_NOFILE (children inherit it), or skip."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"needs {needed} open files; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


@pytest.fixture
def record(request: pytest.FixtureRequest) -> Any:
    """``record(**figures)``: keep this probe's figures for the summary and the docs."""

    def keep(**figures: Any) -> None:
        _figures.setdefault(request.node.name, {}).update(figures)

    return keep


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _figures:
        return
    terminalreporter.section("stress figures")
    for name, figures in _figures.items():
        shown = ", ".join(f"{k}={v}" for k, v in figures.items())
        terminalreporter.write_line(f"{name}: {shown}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    previous.update(_figures)
    RESULTS.write_text(json.dumps(previous, indent=2, sort_keys=True) + "\n")
