"""``workers=N`` for the HTTP server: N processes of the pre-fork pool, each running a
whole :class:`rttp.Server` (many connections at once) on listening sockets the
supervisor bound before the fork, so port 0 and unix sockets are shared too (which
SO_REUSEPORT cannot do). Crashed workers are replaced; SIGTERM or SIGINT drains every
worker gracefully.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import sys
from typing import Any, NoReturn

import trio

from .._io.server._server import Server
from ..errors import RTTPError
from . import _worker
from ._listen import Pool, PoolOptions
from ._supervisor import _Supervisor

__all__ = ["run_server"]

log = logging.getLogger("rttp.moonbridge")


def run_server(server: Server, *, name: str = "the app") -> int:
    """Serve ``server`` in ``server.config.workers`` processes until SIGTERM or SIGINT;
    the exit status. Binds first: a bind error is raised before any fork."""
    workers = server.config.workers
    bound: list[list[socket.socket]] = []
    try:
        for target in server.binds:
            transport = server.plugins.transport_for_bind(target.scheme)
            options = server.listen_options(target)
            sockets = transport.bind_sockets(target, options)
            bound.append(sockets)
            for listener in transport.adopt(sockets, target, options):
                address = transport.bound_address(listener, target)
                print(
                    f"rttp: serving {name} on {address} ({workers} workers)",
                    file=sys.stderr,
                    flush=True,
                )
    except (RTTPError, NotImplementedError):
        for sockets in bound:
            for sock in sockets:
                sock.close()
        raise  # the command reports it in one line
    print("rttp: press Ctrl-C to stop", file=sys.stderr, flush=True)
    pool = Pool(
        listeners=[],
        connect=lambda sock: True,
        options=PoolOptions(pre_fork=0, min_fork=workers, max_fork=workers, fork_delay=0.0),
        worker=lambda status_fd, command_fd: _serve_in_worker(server, bound, status_fd),
        bound=[sock for sockets in bound for sock in sockets],
    )
    try:
        # the workers drain within shutdown_grace themselves; the supervisor waits a
        # little longer before it kills one that did not
        return _Supervisor([pool], grace=server.config.shutdown_grace + 2.0).run()
    finally:
        for target in server.binds:
            path = target.unix_path if target.scheme == "unix" else None
            if path:
                with contextlib.suppress(OSError):
                    os.unlink(path)


def _serve_in_worker(server: Server, bound: list[list[socket.socket]], status_fd: int) -> NoReturn:
    """A worker's whole life, in the forked child."""
    code = 0
    try:
        _worker.prepare_child()
        with contextlib.suppress(OSError):
            os.write(status_fd, b"B\n")  # always busy: a server worker is no idle spare
        server.inherit(bound)
        code = trio.run(_serve_until_sigterm, server)
    except BaseException:
        log.exception("worker %d failed", os.getpid())
        code = 1
    finally:
        os._exit(code)


async def _serve_until_sigterm(server: Server) -> int:
    async with trio.open_nursery() as nursery:
        with trio.open_signal_receiver(signal.SIGTERM) as signals:
            await nursery.start(_serve, server)
            if not _worker.early_stop():
                async for _ in signals:
                    break
            server.shutdown()
    return 0


async def _serve(server: Server, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
    await server.serve(task_status=task_status)
