"""Time on a server's connections: the coarse clock, the phases a deadline guards, and
the sweeper that enforces the deadlines.

Instead of a cancel scope per receive, each exchange records the deadline of the phase
it is in (idle, head, body, handler, write) on a :class:`CoarseClock`; one sweeper per
server cancels the scope of every exchange whose deadline has passed. Nothing is
created per request.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterable
from typing import Any, Final, Protocol

import trio

__all__ = ["CoarseClock", "Phase", "Timed", "date_header", "sweep"]


class Phase:
    """What an exchange's current deadline guards (and which answer a timeout gets).

    Plain int constants, not an :class:`enum.IntEnum`: the serve loop reads them several
    times a request, and an enum member costs 75 ns to look up against 19 ns here."""

    IDLE: Final = 0  #: waiting for a request (keep-alive): closes quietly
    HEAD: Final = 1  #: receiving the request head: 408
    BODY: Final = 2  #: receiving the request body: 408
    HANDLER: Final = 3  #: the handler has not answered yet: 503
    WRITE: Final = 4  #: sending the answer: closes quietly


class CoarseClock:
    """Trio's clock, read once per sweeper tick: deadlines add to :attr:`now`.

    ``date`` is the ``Date`` header value, refreshed at the same time. A connection
    without a sweeper gets a clock of its own that :meth:`tick` refreshes per answer.
    """

    __slots__ = ("date", "now", "watched")

    def __init__(self, watched: bool = False) -> None:
        self.now: float = 0.0
        self.date: bytes = b""
        #: True when a sweeper advances this clock and enforces the deadlines
        self.watched: bool = watched
        self.tick()

    def tick(self) -> None:
        """Read the time (Trio's clock when running) and refresh the Date value."""
        try:
            self.now = trio.current_time()
        except RuntimeError:  # outside trio.run
            self.now = 0.0
        self.date = date_header()


_date_cache: list[Any] = [0, b""]


def date_header() -> bytes:
    """The ``Date`` value, formatted at most once a second."""
    now = int(time.time())
    if now != _date_cache[0]:
        _date_cache[0] = now
        _date_cache[1] = email.utils.formatdate(now, usegmt=True).encode("ascii")
    value: bytes = _date_cache[1]
    return value


class Timed(Protocol):
    """What the sweeper watches: an exchange's deadline and the scope it cancels."""

    deadline: float
    timed_out: bool
    scope: trio.CancelScope


async def sweep(watched: Iterable[Timed], clock: CoarseClock, tick: float) -> None:
    """Every ``tick`` seconds: advance ``clock`` and cancel the scope of each watched
    exchange whose :attr:`~Timed.deadline` has passed (its ``timed_out`` says why). Runs
    until cancelled; one for a whole server, or one per connection served alone."""
    while True:
        await trio.sleep(tick)
        clock.tick()
        now = clock.now
        for item in watched:
            if item.deadline <= now and not item.timed_out:
                item.timed_out = True
                item.scope.cancel()
