"""``send_timeout`` without a cancel scope per send: a watcher task notices a send that
has not finished for that long, and the connection is dropped."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio

__all__ = ["SendWatch"]


class SendWatch:
    """What the sender tells the watcher: a send is in progress, and how many finished."""

    __slots__ = ("active", "in_send", "sends")

    def __init__(self) -> None:
        #: a watcher runs: sends need no scope of their own
        self.active = False
        #: a send to the stream is in progress
        self.in_send = False
        #: sends completed (the watcher sees progress without a clock)
        self.sends = 0

    async def run(
        self,
        seconds: float,
        is_over: Callable[[], bool],
        stalled: Callable[[], Awaitable[None]],
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Watch until ``is_over()``; call ``stalled()`` once one send has been in
        progress for ``seconds``. Reports started once every later send is watched."""
        self.active = True
        task_status.started()
        tick = min(1.0, seconds / 4)
        stalled_for = 0.0
        seen = -1
        while not is_over():
            await trio.sleep(tick)
            # one send still in progress since the last tick: it has stalled that long
            stalled_for = stalled_for + tick if self.in_send and self.sends == seen else 0.0
            seen = self.sends
            if stalled_for >= seconds:
                await stalled()
                return
