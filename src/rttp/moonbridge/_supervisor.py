"""The supervisor: binds every listener, forks and replaces workers, runs the interval
timers, and shuts the pool down on SIGTERM or SIGINT.

It is a plain ``select`` loop with no Trio run: workers are forked from it, so a fork
never happens inside ``trio.run``. Each worker has a status pipe (what it is doing) and a
command pipe (interval calls, retirement); SIGCHLD and the shutdown signals reach the
loop through ``signal.set_wakeup_fd``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import select
import signal
import socket
import sys
import time
from dataclasses import dataclass, field

from ..errors import BindError
from ._listen import ListenerKind, ListenerSpec, Pool, registered
from ._netio import locallisten, tcplisten
from ._pipe import Command, Report, encode, parse
from ._worker import worker_process

__all__ = ["run"]

log = logging.getLogger("rttp.moonbridge")

#: seconds workers get to finish their current connection at shutdown, then SIGKILL
SHUTDOWN_GRACE = 10.0
#: the longest wait before the next fork while workers keep failing (a crash loop: a
#: prepare handler that raises, say); the wait starts at ``fork_error_delay`` and doubles
MAX_FAILURE_BACKOFF = 60.0


@dataclass
class _Worker:
    pid: int
    status_fd: int
    command_fd: int
    idle: bool = False
    started: float = field(default_factory=time.monotonic)
    partial: bytes = b""


@dataclass
class _Timer:
    spec: ListenerSpec
    due: float
    running: bool = False


class _PoolState:
    """One pool's listeners, workers and timers."""

    def __init__(self, pool: Pool, now: float) -> None:
        self.pool = pool
        self.options = pool.options
        self.sockets: list[tuple[ListenerSpec, socket.socket]] = []
        self.workers: dict[int, _Worker] = {}
        self.next_fork = now
        self.next_exit = now + self.options.exit_delay
        self.timers = [
            _Timer(spec, now + spec.delay)
            for spec in pool.listeners
            if spec.proto is ListenerKind.INTERVAL
        ]
        self.main = [spec for spec in pool.listeners if spec.proto is ListenerKind.MAIN]
        self.main_sent = self.main_done = False
        self.lost = 0  # workers that crashed and are not replaced yet
        #: workers that failed in a row, none serving in between (a crash loop when > 1)
        self.failures = 0

    def bind(self) -> None:
        if self.pool.worker is not None:  # bound by whoever built the pool
            self.sockets = [(ListenerSpec(ListenerKind.BOUND), sock) for sock in self.pool.bound]
            return
        for spec in self.pool.listeners:
            if spec.proto is ListenerKind.TCP:
                listener = tcplisten(spec.host, spec.port)
            elif spec.proto is ListenerKind.LOCAL:
                listener = locallisten(spec.path)
            else:
                continue
            sock = listener.raw_socket
            self.sockets.append((spec, sock))
            where = sock.getsockname()
            if isinstance(where, tuple):
                host = f"[{where[0]}]" if ":" in where[0] else where[0]
                shown = f"tcp {host}:{where[1]}"
            else:
                shown = f"local {where}"
            print(f"rttp moonbridge: listening on {shown}", file=sys.stderr, flush=True)

    @property
    def idle(self) -> list[_Worker]:
        return [w for w in self.workers.values() if w.idle]


class _Supervisor:
    def __init__(self, pools: list[Pool], grace: float = SHUTDOWN_GRACE) -> None:
        now = time.monotonic()
        self.grace = grace
        self.states = [_PoolState(pool, now) for pool in pools]
        self.stopping = False
        self.stop_deadline = math.inf
        self.by_fd: dict[int, tuple[_PoolState, _Worker]] = {}
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)

    # -- processes ------------------------------------------------------------------------
    def _fork(self, state: _PoolState, now: float) -> None:
        status_r, status_w = os.pipe()
        command_r, command_w = os.pipe()
        try:
            pid = os.fork()
        except OSError as exc:
            for fd in (status_r, status_w, command_r, command_w):
                os.close(fd)
            log.error("fork() failed: %s; retrying in %gs", exc, state.options.fork_error_delay)
            state.next_fork = now + state.options.fork_error_delay
            return
        if pid == 0:  # the child: nothing of the supervisor's survives but the pool
            os.close(status_r)
            os.close(command_w)
            signal.set_wakeup_fd(-1)
            for fd in [self._wake_r, self._wake_w, *self.by_fd]:
                with contextlib.suppress(OSError):
                    os.close(fd)
            for other in self.states:
                for worker in other.workers.values():
                    with contextlib.suppress(OSError):
                        os.close(worker.command_fd)
                if other is not state:
                    for _, sock in other.sockets:
                        sock.close()
            if state.pool.worker is not None:
                state.pool.worker(status_w, command_r)
                os._exit(0)  # pragma: no cover - a worker body never returns
            # in a crash loop the failure was logged in full once: the rest is quiet
            worker_process(state.pool, state.sockets, status_w, command_r, quiet=state.failures > 0)
        os.close(status_w)
        os.close(command_r)
        os.set_blocking(status_r, False)
        worker = _Worker(pid, status_r, command_w)
        state.workers[pid] = worker
        self.by_fd[status_r] = (state, worker)
        state.next_fork = now + state.options.fork_delay
        if state.lost:
            state.lost -= 1
            level = logging.INFO if state.failures <= 1 else logging.DEBUG  # quiet in a loop
            log.log(level, "worker %d started in place of a lost one", pid)
        else:
            log.debug("worker %d started", pid)

    def _send(self, worker: _Worker, command: Command, name: str = "") -> None:
        with contextlib.suppress(OSError):
            os.write(worker.command_fd, encode(command, name))

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            for state in self.states:
                worker = state.workers.pop(pid, None)
                if worker is None:
                    continue
                self.by_fd.pop(worker.status_fd, None)
                for fd in (worker.status_fd, worker.command_fd):
                    with contextlib.suppress(OSError):
                        os.close(fd)
                if os.WIFSIGNALED(status):
                    how = f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
                elif os.WEXITSTATUS(status):
                    how = f"exited with status {os.WEXITSTATUS(status)}"
                else:
                    log.debug("worker %d ended", pid)
                    continue
                if self.stopping:
                    log.warning("worker %d %s", pid, how)
                else:
                    state.lost += 1
                    self._failed(state, pid, how)

    def _failed(self, state: _PoolState, pid: int, how: str) -> None:
        """A worker failed: replace it, backing off while workers keep failing, with one
        log line when a loop begins and one when it ends (not one per fork)."""
        state.failures += 1
        failures = state.failures
        if failures == 1:
            log.warning("worker %d %s; replacing it", pid, how)
            return
        delay = min(state.options.fork_error_delay * 2 ** (failures - 2), MAX_FAILURE_BACKOFF)
        state.next_fork = max(state.next_fork, time.monotonic() + delay)
        if failures == 2:
            log.warning(
                "workers keep failing (worker %d %s, the second in a row): backing off, "
                "from %gs up to %gs between starts, until one serves",
                pid,
                how,
                delay,
                MAX_FAILURE_BACKOFF,
            )
        else:
            log.debug("worker %d %s (%d in a row); next start in %gs", pid, how, failures, delay)

    def _read_status(self, fd: int) -> None:
        state, worker = self.by_fd[fd]
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the worker is gone (reaped on SIGCHLD)
            return
        *lines, worker.partial = (worker.partial + data).split(b"\n")
        for line in lines:
            parsed = parse(line, Report)
            if parsed is None:
                continue
            kind, name = parsed
            if kind is Report.IDLE:
                worker.idle = True
                if state.failures > 1:
                    log.warning("a worker serves again, after %d failed in a row", state.failures)
                state.failures = 0
            elif kind is Report.BUSY:
                worker.idle = False
            elif kind is Report.TIMER_DONE:
                for timer in state.timers:
                    if timer.spec.name == name and timer.running:
                        timer.running = False
                        if not timer.spec.strict:
                            timer.due = time.monotonic() + timer.spec.delay
            elif kind is Report.MAIN_DONE:
                log.info("the main call returned: shutting down")
                state.main_done = True
                self.stop()

    # -- the pool rules -------------------------------------------------------------------
    def _maintain(self, state: _PoolState, now: float) -> float:
        """Fork, retire and dispatch as the rules say; when to look again."""
        options = state.options
        wake = math.inf
        total, idle = len(state.workers), state.idle
        if not self.stopping:
            wanted = len(idle) < options.pre_fork or total < options.min_fork
            pending = any(t.due <= now and not t.running for t in state.timers) or (
                bool(state.main) and not state.main_sent
            )
            if (wanted or (pending and not idle)) and total < options.max_fork:
                if now >= state.next_fork:
                    self._fork(state, now)
                else:
                    wake = state.next_fork
            if len(idle) > options.pre_fork and total > options.min_fork:
                if now >= state.next_exit:
                    self._send(idle[-1], Command.RETIRE)
                    idle[-1].idle = False
                    state.next_exit = now + options.exit_delay
                else:
                    wake = min(wake, state.next_exit)
            else:
                state.next_exit = now + options.exit_delay
            wake = min(wake, self._dispatch(state, now))
        return wake

    def _dispatch(self, state: _PoolState, now: float) -> float:
        wake = math.inf
        for timer in state.timers:
            if timer.running:
                continue
            if timer.due > now:
                wake = min(wake, timer.due)
                continue
            idle = state.idle
            if not idle:
                continue  # a worker is being forked for it
            idle[0].idle = False
            self._send(idle[0], Command.TIMER, timer.spec.name)
            timer.running = True
            if timer.spec.strict:  # a fixed schedule: the next tick is due regardless
                late = math.ceil((now - timer.due) / timer.spec.delay)
                timer.due += timer.spec.delay * max(1, late)
        if state.main and not state.main_sent and state.idle:
            worker = state.idle[0]
            worker.idle = False
            self._send(worker, Command.MAIN, state.main[0].name)
            state.main_sent = True
        return wake

    # -- shutdown -------------------------------------------------------------------------
    def stop(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        self.stop_deadline = time.monotonic() + self.grace
        for state in self.states:
            for _, sock in state.sockets:  # workers keep their copies until they are done
                sock.close()
            for pid in state.workers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)

    def _kill_all(self) -> None:
        for state in self.states:
            for pid in state.workers:
                log.warning("worker %d did not finish within %gs: killing it", pid, self.grace)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    # -- the loop -------------------------------------------------------------------------
    def run(self) -> int:
        for state in self.states:
            state.bind()
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        previous_chld = signal.signal(signal.SIGCHLD, lambda *_: None)
        previous_fd = signal.set_wakeup_fd(self._wake_w)
        try:
            self._loop()
        finally:
            signal.set_wakeup_fd(previous_fd)
            signal.signal(signal.SIGCHLD, previous_chld)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            for fd in (self._wake_r, self._wake_w):
                os.close(fd)
            for state in self.states:
                for spec, sock in state.sockets:
                    if sock.fileno() >= 0:
                        sock.close()
                    if spec.proto is ListenerKind.LOCAL:
                        with contextlib.suppress(OSError):
                            os.unlink(spec.path)
        print("rttp moonbridge: stopped", file=sys.stderr, flush=True)
        return 0

    def _on_signal(self, signum: int, frame: object) -> None:
        if self.stopping:
            self._kill_all()
        else:
            print("rttp moonbridge: shutting down gracefully", file=sys.stderr, flush=True)
        self.stop()

    def _loop(self) -> None:
        while True:
            self._reap()
            now = time.monotonic()
            if self.stopping:
                if not any(state.workers for state in self.states):
                    return
                if now >= self.stop_deadline:
                    self._kill_all()
                    self.stop_deadline = math.inf
            wake = min((self._maintain(state, now) for state in self.states), default=math.inf)
            if self.stopping:
                wake = min(wake, self.stop_deadline)
            timeout = None if math.isinf(wake) else max(wake - now, 0.0)
            try:
                ready, _, _ = select.select([self._wake_r, *self.by_fd], [], [], timeout)
            except InterruptedError:  # pragma: no cover - PEP 475 retries select
                continue
            for fd in ready:
                if fd == self._wake_r:
                    with contextlib.suppress(BlockingIOError):
                        os.read(fd, 4096)
                elif fd in self.by_fd:
                    self._read_status(fd)


def run() -> int:
    """Serve every pool :func:`~rttp.moonbridge.listen` registered, until SIGTERM or
    SIGINT (or a main listener's call returns); the exit status."""
    pools = registered()
    if not pools:
        raise RuntimeError("run() without listen(): nothing to serve")
    try:
        return _Supervisor(pools).run()
    except BindError as exc:
        print(f"rttp moonbridge: {exc}", file=sys.stderr)
        return 1
