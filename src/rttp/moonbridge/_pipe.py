"""The pre-fork pool's pipe protocol: what a worker reports to its supervisor, and what
the supervisor tells a worker. One line per message: a kind byte, then a name for the
kinds that carry one (a timer's, the main function's)."""

from __future__ import annotations

import enum

__all__ = ["Command", "Report", "encode", "parse"]


class Report(enum.Enum):
    """Worker → supervisor."""

    IDLE = b"I"  #: waiting for a job (and, after failures, serving again)
    BUSY = b"B"  #: running a job
    TIMER_DONE = b"D"  #: the named interval handler returned
    MAIN_DONE = b"E"  #: the main function returned: the pool shuts down


class Command(enum.Enum):
    """Supervisor → worker."""

    TIMER = b"T"  #: run the named interval handler
    MAIN = b"M"  #: run the main function (named)
    RETIRE = b"X"  #: finish what you do and end


def encode(kind: Report | Command, name: str = "") -> bytes:
    """One message, its line end included."""
    value: bytes = kind.value
    return value + name.encode() + b"\n"


def parse(line: bytes, kinds: type[Report] | type[Command]) -> tuple[Report | Command, str] | None:
    """A received line as ``(kind, name)``; None for a line of no known kind (a newer
    peer's, say: ignored)."""
    try:
        kind = kinds(line[:1])
    except ValueError:
        return None
    return kind, line[1:].decode()
