"""A worker process of the pool: ``trio.run`` starts after the fork, never before.

The worker serves one job at a time: a connection from any of its pool's listeners, or
an interval or main call the supervisor hands it. It tells the supervisor what it is
doing through a pipe (:class:`~rttp.moonbridge._pipe.Report`: idle, busy, an interval
call returned, the main call returned) and takes commands from another
(:class:`~rttp.moonbridge._pipe.Command`: run an interval call, the main call, retire
when idle), a line a message. It ends when
``connect`` returns anything but True, on ``idle_timeout``, past ``memory_limit``, when
retired, or on SIGTERM: after its current job it serves what is already waiting in the
listen backlog, until none is, and only then lets go of its listeners, so a connection
the kernel accepted is not dropped (the supervisor's grace period bounds this).
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any, NoReturn

import trio
from trio.lowlevel import wait_readable

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

from .._io._util import call_maybe_async
from ..errors import RTTPError
from . import _listen, _timeout
from ._listen import ListenerKind, ListenerSpec, Pool
from ._pipe import Command, Report, encode, parse
from ._socket import Socket

__all__ = ["worker_process"]

log = logging.getLogger("rttp.moonbridge")

_PR_SET_PDEATHSIG = 1

Job = Socket | tuple[ListenerKind, str]


def _die_with_parent() -> None:
    """Linux: SIGTERM this worker if the supervisor dies (no orphan is left behind)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


_early_stop = False


def _early_sigterm(signum: int, frame: object) -> None:
    """SIGTERM before the worker's Trio run listens for it: remembered, not fatal (a
    worker killed while starting would drop the connections waiting for it)."""
    global _early_stop
    _early_stop = True


def early_stop() -> bool:
    """Whether SIGTERM came before the worker's Trio run listened for it."""
    return _early_stop


def prepare_child() -> None:
    """The signals of a freshly forked worker, and its tie to the supervisor."""
    _listen.in_worker = True
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor coordinates Ctrl-C
    signal.signal(signal.SIGTERM, _early_sigterm)  # until Trio's receiver takes over
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)  # timeout()'s last resort kills


def _rss() -> int:
    """This process's resident set, bytes."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def worker_process(
    pool: Pool,
    listeners: list[tuple[ListenerSpec, socket.socket]],
    status_fd: int,
    command_fd: int,
    *,
    quiet: bool = False,
) -> NoReturn:
    """Run one worker in the freshly forked child; never returns. ``quiet``: the
    supervisor is in a crash loop, whose first failure was logged in full: a failure
    here is logged at DEBUG."""
    code = 0
    try:
        prepare_child()
        for _, sock in listeners:
            sock.setblocking(False)
        code = trio.run(_Worker(pool, listeners, status_fd, command_fd).serve)
    except BaseException as exc:
        if quiet:
            while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
                exc = exc.exceptions[0]  # the one error of a nursery, by its own name
            log.debug("worker %d failed: %s: %s", os.getpid(), type(exc).__name__, exc)
        else:
            log.exception("worker %d failed", os.getpid())
        code = 1
    finally:
        os._exit(code)


class _Worker:
    def __init__(
        self,
        pool: Pool,
        listeners: list[tuple[ListenerSpec, socket.socket]],
        status_fd: int,
        command_fd: int,
    ) -> None:
        self.pool = pool
        self.sockets = [sock for _, sock in listeners]
        self.status_fd = status_fd
        self.command_fd = command_fd
        self.commands: collections.deque[bytes] = collections.deque()
        self.accepted: collections.deque[socket.socket] = collections.deque()
        self.stopping = False
        self.retired = False
        self.wake = trio.Event()
        self._partial = b""

    def tell(self, message: bytes) -> None:
        with contextlib.suppress(OSError):  # the supervisor is gone: PDEATHSIG ends us
            os.write(self.status_fd, message)

    async def serve(self) -> int:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._read_commands)
            nursery.start_soon(self._watch_sigterm)
            try:
                if self.pool.prepare is not None:
                    await self._run(self.pool.prepare, None)
                await self._loop()
            finally:
                with trio.CancelScope(shield=True):
                    if self.pool.finish is not None:
                        await self._run(self.pool.finish, None)
                self._close_listeners()
            nursery.cancel_scope.cancel()
        return 0

    async def _loop(self) -> None:
        limit = self.pool.options.memory_limit
        while True:
            self.tell(encode(Report.IDLE))
            job = await self._next_job()
            if job is None:
                return
            self.tell(encode(Report.BUSY))
            result = await self._do(job)
            if result is not True or (isinstance(job, tuple) and job[0] is ListenerKind.MAIN):
                return
            if limit is not None and _rss() > limit:
                log.info("worker %d is past memory_limit=%d bytes: ending", os.getpid(), limit)
                return

    async def _do(self, job: Job) -> Any:
        if isinstance(job, Socket):
            result = await self._run(self.pool.connect, job)
            if not job.closed:
                with trio.CancelScope(shield=True), contextlib.suppress(OSError, RTTPError):
                    await job.close()  # (the peer may be gone)
            return result
        kind, name = job
        result = await self._run(self.pool.connect, Socket(None, interval=name))
        self.tell(
            encode(Report.MAIN_DONE)
            if kind is ListenerKind.MAIN
            else encode(Report.TIMER_DONE, name)
        )
        return result

    async def _run(self, handler: Any, sock: Socket | None) -> Any:
        """Call a handler under its timer; a timed-out one ends the worker."""
        with trio.CancelScope() as scope:
            timer = _timeout.current = _timeout.HandlerTimer(scope)
            try:
                return await (
                    call_maybe_async(handler, sock)
                    if sock is not None
                    else call_maybe_async(handler)
                )
            finally:
                timer.reset()
                _timeout.current = None
        if scope.cancelled_caught:
            log.warning("worker %d: handler %r timed out: ending", os.getpid(), handler)
        return False

    # -- waiting for the next job -----------------------------------------------------
    async def _next_job(self) -> Job | None:
        while True:
            job = self._ready_job()
            if job is not None or self.retired:
                return job
            if self.stopping:
                return self._backlog()
            self.wake = trio.Event()
            with trio.move_on_after(self.pool.options.idle_deadline) as idle:
                async with trio.open_nursery() as nursery:
                    for sock in self.sockets:
                        nursery.start_soon(self._accept, sock, nursery.cancel_scope)
                    await self.wake.wait()
                    nursery.cancel_scope.cancel()
            if idle.cancelled_caught:
                log.info(
                    "worker %d idle for %gs: ending", os.getpid(), self.pool.options.idle_timeout
                )
                return None

    def _ready_job(self) -> Job | None:
        if self.accepted:
            return Socket(self.accepted.popleft())
        while self.commands:
            parsed = parse(self.commands.popleft(), Command)
            if parsed is None:
                continue
            kind, name = parsed
            if kind is Command.TIMER:
                return (ListenerKind.INTERVAL, name)
            if kind is Command.MAIN:
                return (ListenerKind.MAIN, name)
            if kind is Command.RETIRE:
                self.retired = True
        return None

    async def _accept(self, sock: socket.socket, scope: trio.CancelScope) -> None:
        while True:
            await wait_readable(sock)
            try:
                conn, _ = sock.accept()  # no checkpoint between this and keeping it
            except BlockingIOError:
                continue  # another worker took it
            except OSError as exc:
                log.warning("worker %d: accept() failed: %s", os.getpid(), exc)
                return
            self.accepted.append(conn)
            self.wake.set()
            return

    def _backlog(self) -> Job | None:
        """Stopping: a connection already waiting is still served; then nothing."""
        for sock in self.sockets:
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            return Socket(conn)
        return None

    def _close_listeners(self) -> None:
        for sock in self.sockets:
            if sock.fileno() >= 0:
                trio.lowlevel.notify_closing(sock)
                sock.close()
        self.sockets = []

    # -- the supervisor's side --------------------------------------------------------
    async def _read_commands(self) -> None:
        stream = trio.lowlevel.FdStream(os.dup(self.command_fd))
        async with stream:
            while data := await stream.receive_some(4096):
                *lines, self._partial = (self._partial + data).split(b"\n")
                self.commands.extend(line for line in lines if line)
                self.wake.set()
        self.stopping = True  # the supervisor closed its end: it is gone
        self.wake.set()

    async def _watch_sigterm(self) -> None:
        with trio.open_signal_receiver(signal.SIGTERM) as signals:
            if _early_stop:
                self.stopping = True
                self.wake.set()
            async for _ in signals:
                self.stopping = True
                self.wake.set()
