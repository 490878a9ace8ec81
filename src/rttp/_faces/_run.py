"""``rttp.run()``: serve until SIGINT/SIGTERM, in this process or, with ``workers=N``,
in N processes of the pre-fork pool. The first signal drains gracefully; a second one
exits at once (status 130)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import trio

if TYPE_CHECKING:
    from typing_extensions import Unpack

from .._config import ServerConfig
from .._io.server._server import Handler, Server
from .._model import URL
from .._options import ServerOptions

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

__all__ = ["Forced", "run", "serve_until_signalled"]


class Forced(Exception):
    """A second SIGINT/SIGTERM during the graceful drain: exit now."""


async def _watch_signals(
    first: trio.Event,
    announce: bool = True,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """The first SIGINT/SIGTERM starts the graceful shutdown (said on stderr when
    ``announce``); a second one forces it."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        task_status.started()
        async for _ in signals:
            if first.is_set():
                raise Forced
            first.set()
            if announce:
                print(
                    "rttp: shutting down gracefully (finishing requests; Ctrl-C again to force)",
                    file=sys.stderr,
                    flush=True,
                )


async def serve_until_signalled(
    server: Server, started: Callable[[list[URL]], None] | None = None, announce: bool = True
) -> None:
    """Serve until the first SIGINT/SIGTERM has drained the server (Forced on a second);
    ``announce=False`` keeps the shutdown's line off stderr (``--log-level warning``)."""
    first = trio.Event()

    async def serve(task_status: trio.TaskStatus[list[URL]]) -> None:
        await server.serve(shutdown_trigger=first.wait, task_status=task_status)
        nursery.cancel_scope.cancel()  # drained: stop watching for signals

    async with trio.open_nursery() as nursery:
        await nursery.start(_watch_signals, first, announce)
        addresses = await nursery.start(serve)
        if started is not None:
            started(addresses)


def run(
    handler: Handler,
    *binds: str | URL,
    config: ServerConfig | None = None,
    **settings: Unpack[ServerOptions],
) -> int:
    """Serve ``handler`` on ``binds`` until SIGINT or SIGTERM; the exit status.

    Blocking, outside any ``trio.run``: with ``workers=N`` (N > 1) the supervisor binds,
    then forks N worker processes, each serving every bind target; crashed workers are
    replaced, and a signal drains them all.
    """
    server = Server(handler, *binds, config=config, **settings)
    if server.config.workers > 1:
        from ..moonbridge._serverpool import run_server

        return run_server(server)
    try:
        trio.run(serve_until_signalled, server)
    except BaseExceptionGroup as group:
        if group.subgroup(Forced) is None:
            raise
        return 130
    return 0
