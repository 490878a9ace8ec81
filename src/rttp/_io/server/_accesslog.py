"""The access log: one line per answer, formatted only as far as its format needs, and
written in batches.

Formats use gunicorn's (and hypercorn's) atoms, ``%(name)s``:

======  ==========================================  ============  ============================
``h``   the client's address                        ``s``         the status
``l``   ``-``                                       ``b``         body bytes sent
``u``   the authenticated user, or ``-``            ``B``         the same (``0`` for none)
``t``   ``[02/Dec/2026:03:16:38 +0000]``            ``f``         ``Referer``, or ``-``
``r``   ``GET /path?q HTTP/1.1``                    ``a``         ``User-Agent``, or ``-``
``m``   the method                                  ``M``         milliseconds taken (a float)
``U``   the path                                    ``D``         microseconds taken
``q``   the query string                            ``T``         whole seconds taken
``H``   ``HTTP/1.1``                                ``L``         seconds taken, decimal
``p``   the process id                              ``{name}i``   a request field
======  ==========================================  ============  ============================

``common`` and ``combined`` are the usual presets; ``rttp`` (the default) is
``h - "r" s b Mms``. Lines go to the ``rttp.access`` logger, or, faster, to a stream
(``access_log_file``: ``"-"`` for stderr, or a path) through a buffer that is written
when it holds 64 KiB or 0.1 s after its first line, whichever comes first: the way
nginx's ``buffer=`` and ``flush=`` work.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Callable
from typing import IO, Any

import trio

from ..._model import Request

__all__ = ["FORMATS", "AccessLog", "access_logger", "client_text"]

access_logger = logging.getLogger("rttp.access")

COMMON = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s'
FORMATS = {
    "rttp": '%(h)s - "%(r)s" %(s)s %(b)s %(M).1fms',
    "common": COMMON,
    "combined": COMMON + ' "%(f)s" "%(a)s"',
}
_ATOM = re.compile(r"%\(([^)]*)\)")
_KNOWN = set("hlutrmUqHpsbBfaMDTL")
_FLUSH_SIZE = 65536
_FLUSH_DELAY = 0.1


def client_text(client: tuple[str, int] | None) -> str:
    """A peer address as the log shows it (``host:port``, a unix path, or ``-``)."""
    if client is None:
        return "-"
    return f"{client[0]}:{client[1]}" if client[1] else client[0]


class _Clock:
    """``[day/Mon/year:H:M:S zone]``, formatted once a second."""

    def __init__(self) -> None:
        self.second = -1
        self.text = ""

    def __call__(self) -> str:
        now = int(time.time())
        if now != self.second:
            self.second = now
            self.text = time.strftime("[%d/%b/%Y:%H:%M:%S %z]", time.localtime(now))
        return self.text


class AccessLog:
    """Formats and writes access-log lines (``fmt``: a preset name or a format)."""

    def __init__(self, fmt: str = "rttp", target: str | IO[str] | None = None) -> None:
        self.format = FORMATS.get(fmt, fmt)
        atoms = _ATOM.findall(self.format)
        if not atoms and "%" in self.format:
            raise ValueError(f"access log format {fmt!r} has no %(atom)s in it")
        unknown = [a for a in atoms if a not in _KNOWN and not re.fullmatch(r"\{[^}]+\}i", a)]
        if unknown:
            raise ValueError(
                f"access log format {fmt!r}: unknown atom %({unknown[0]})s "
                f"(known: {', '.join(sorted(_KNOWN))} and %({{header}}i)s)"
            )
        self._atoms = sorted(set(atoms))
        self._clock = _Clock()
        self._stream: IO[str] | None
        if target is None:
            self._stream = None
        elif target == "-":
            self._stream = sys.stderr
        elif isinstance(target, str):
            self._stream = open(target, "a", encoding="utf-8")  # noqa: SIM115
        else:
            self._stream = target
        self._pending: list[str] = []
        self._size = 0
        self._wake = trio.Event()
        self._getters = {atom: self._getter(atom) for atom in self._atoms}
        presets = {FORMATS["rttp"]: self._rttp, FORMATS["common"]: self._common}
        presets[FORMATS["combined"]] = self._combined
        #: ``line(request, status, sent, elapsed seconds)``: the line for one answer
        self.line: Callable[[Request, int, int, float], str] = presets.get(
            self.format, self._generic
        )

    @property
    def enabled(self) -> bool:
        """Whether a line would go anywhere (a stream, or a logger enabled for INFO, as it
        is when a connection starts: turning the logger on later takes effect on the
        connections made after)."""
        return self._stream is not None or access_logger.isEnabledFor(logging.INFO)

    def _getter(self, atom: str) -> Callable[[Request, int, int, float], Any]:
        if atom.startswith("{"):
            name = atom[1:-2]
            return lambda r, s, b, e: r.headers.get(name) or "-"
        getters: dict[str, Callable[[Request, int, int, float], Any]] = {
            "h": lambda r, s, b, e: client_text(r.client),
            "l": lambda r, s, b, e: "-",
            "u": lambda r, s, b, e: getattr(r.identity, "name", None) or "-",
            "t": lambda r, s, b, e: self._clock(),
            "r": lambda r, s, b, e: f"{r.method} {r.target} HTTP/{_wire(r.http_version)}",
            "m": lambda r, s, b, e: r.method,
            "U": lambda r, s, b, e: r.path,
            "q": lambda r, s, b, e: r.query,
            "H": lambda r, s, b, e: f"HTTP/{_wire(r.http_version)}",
            "p": lambda r, s, b, e: os.getpid(),
            "s": lambda r, s, b, e: s,
            "b": lambda r, s, b, e: b if b > 0 else "-",
            "B": lambda r, s, b, e: max(b, 0),
            "f": lambda r, s, b, e: r.headers.get("referer") or "-",
            "a": lambda r, s, b, e: r.headers.get("user-agent") or "-",
            "M": lambda r, s, b, e: e * 1000,
            "D": lambda r, s, b, e: int(e * 1_000_000),
            "T": lambda r, s, b, e: int(e),
            "L": lambda r, s, b, e: f"{e:.6f}",
        }
        return getters[atom]

    def _generic(self, request: Request, status: int, sent: int, elapsed: float) -> str:
        values = {atom: get(request, status, sent, elapsed) for atom, get in self._getters.items()}
        return self.format % values

    def _rttp(self, request: Request, status: int, sent: int, elapsed: float) -> str:
        """The default format in one f-string (the generic path costs several times more)."""
        client = request.client
        peer = "-" if client is None else f"{client[0]}:{client[1]}" if client[1] else client[0]
        return (
            f'{peer} - "{request.method} {request.target} HTTP/{_wire(request.http_version)}" '
            f"{status} {sent if sent > 0 else '-'} {elapsed * 1000:.1f}ms"
        )

    def _common(self, request: Request, status: int, sent: int, elapsed: float) -> str:
        """``common`` in one f-string."""
        user = getattr(request.identity, "name", None) or "-"
        return (
            f"{client_text(request.client)} - {user} {self._clock()} "
            f'"{request.method} {request.target} HTTP/{_wire(request.http_version)}" {status} '
            f"{sent if sent > 0 else '-'}"
        )

    def _combined(self, request: Request, status: int, sent: int, elapsed: float) -> str:
        """``combined`` in one f-string."""
        headers = request.headers
        return (
            f'{self._common(request, status, sent, elapsed)} "{headers.get("referer") or "-"}" '
            f'"{headers.get("user-agent") or "-"}"'
        )

    def log(self, request: Request, status: int, sent: int, elapsed: float) -> None:
        """Write (or buffer) the line for one answer."""
        self.emit(self.line(request, status, sent, elapsed))

    def emit(self, text: str) -> None:
        """One line: to the logger, or into the stream's buffer."""
        if self._stream is None:
            access_logger.info(text)
            return
        self._pending.append(text)
        self._size += len(text) + 1
        if self._size >= _FLUSH_SIZE:
            self.flush()
        elif len(self._pending) == 1:
            self._wake.set()

    def flush(self) -> None:
        """Write what is buffered."""
        if not self._pending or self._stream is None:
            return
        lines, self._pending, self._size = self._pending, [], 0
        try:
            self._stream.write("\n".join(lines) + "\n")
            self._stream.flush()
        except (OSError, ValueError):  # a closed or broken log stream must not stop serving
            pass

    async def run_flusher(self) -> None:
        """Write the buffer soon after its first line, until cancelled (then once more)."""
        if self._stream is None:
            return
        try:
            while True:
                await self._wake.wait()
                self._wake = trio.Event()
                await trio.sleep(_FLUSH_DELAY)
                self.flush()
        finally:
            self.flush()


#: how a version is written in a log line (HTTP/2's requests log as ``HTTP/2.0``, as in
#: nginx's and hypercorn's logs)
_WIRE_VERSIONS: dict[str, str] = {"2": "2.0"}


def _wire(version: str) -> str:
    return _WIRE_VERSIONS.get(version, version)
