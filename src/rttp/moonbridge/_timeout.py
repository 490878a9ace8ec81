"""``timeout()``: Moonbridge's per-handler timer.

The seed kills the process when the timer runs out. Here the handler is cancelled (its
cancel scope's deadline is the timer) and its worker ends, to be replaced by a fresh one;
a handler that never reaches a checkpoint (a busy loop in plain Python) is killed by
SIGALRM a grace period later, which is the seed's behaviour. Timers reset when a
handler returns.
"""

from __future__ import annotations

import math
import signal
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

import trio

from .._io._util import call_maybe_async

__all__ = ["HandlerTimer", "timeout"]

T = TypeVar("T")

#: after the timer, a handler that ignored its cancellation is killed this much later
KILL_GRACE = 2.0


class HandlerTimer:
    """The timer of the handler a worker is running."""

    def __init__(self, scope: trio.CancelScope) -> None:
        self.scope = scope
        self.deadline = math.inf  # set by timeout(seconds)
        self.fired = False

    def arm(self, deadline: float) -> None:
        """Cancel the handler at ``deadline`` (Trio time); kill it a grace period later."""
        self.scope.deadline = deadline
        remaining = deadline - trio.current_time()
        if math.isinf(deadline):
            signal.setitimer(signal.ITIMER_REAL, 0)
        else:
            signal.setitimer(signal.ITIMER_REAL, max(remaining, 0.0) + KILL_GRACE)

    def reset(self) -> None:
        """The handler returned: no timer."""
        self.deadline = math.inf
        self.scope.deadline = math.inf
        signal.setitimer(signal.ITIMER_REAL, 0)


current: HandlerTimer | None = None


def _timer() -> HandlerTimer:
    if current is None:
        raise RuntimeError("timeout() works inside a Moonbridge handler (prepare or connect)")
    return current


@overload
def timeout() -> float: ...
@overload
def timeout(seconds: float) -> float: ...
@overload
def timeout(seconds: float, func: Callable[[], Awaitable[T] | T]) -> Awaitable[T]: ...
def timeout(seconds: float | None = None, func: Callable[[], Any] | None = None) -> Any:
    """``timeout()``: the seconds left (inf without a timer). ``timeout(s)``: cancel the
    handler ``s`` seconds from now (0 disables the timer). ``await timeout(s, func)``:
    run ``func`` (sync or async) within ``s`` seconds, or the handler's own timer if that
    is sooner; when it runs out the handler is cancelled and ``timeout`` does not return.
    """
    timer = _timer()
    if seconds is None:
        if func is not None:
            raise TypeError("timeout(seconds, func) needs the seconds")
        return max(timer.deadline - trio.current_time(), 0.0)
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
        raise ValueError(f"timeout seconds must be >= 0, got {seconds!r}")
    if func is None:
        timer.deadline = math.inf if seconds == 0 else trio.current_time() + seconds
        timer.arm(timer.deadline)
        return max(timer.deadline - trio.current_time(), 0.0)
    return _within(timer, float(seconds), func)


async def _within(timer: HandlerTimer, seconds: float, func: Callable[[], Any]) -> Any:
    outer = timer.deadline
    timer.arm(min(outer, trio.current_time() + seconds))
    try:
        return await call_maybe_async(func)
    finally:
        timer.arm(outer)
