"""``listen()``: what a Moonbridge application registers before it serves.

Each call describes one pool of worker processes: its listeners, its handlers and its
options. ``run()`` (or ``rttp moonbridge APP.py``) binds every listener and forks the
workers; code that ran before it ran once, and every worker inherits its state.
"""

from __future__ import annotations

import enum
import math
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ListenerKind", "ListenerSpec", "Pool", "PoolOptions", "listen", "registered"]

#: the most listeners one listen() call takes (as in Moonbridge)
MAX_LISTENERS = 100

Handler = Callable[..., Any]


class ListenerKind(str, enum.Enum):
    """What a listener is (its ``proto``, as Moonbridge spells it)."""

    TCP = "tcp"  #: a TCP port: connections go to ``connect``
    LOCAL = "local"  #: a unix socket path: connections go to ``connect``
    INTERVAL = "interval"  #: a timer: ``connect`` is called every ``delay`` seconds
    MAIN = "main"  #: called once; its return ends the pool
    #: a socket bound before the pool was built (``rttp serve --workers``); not a
    #: ``proto`` an application can name
    BOUND = "bound"


@dataclass(frozen=True)
class ListenerSpec:
    """One listener: ``tcp`` (host, port), ``local`` (path), ``interval`` (name, delay,
    strict) or ``main`` (name)."""

    proto: ListenerKind
    host: str = "::"
    port: int = 0
    path: str = ""
    name: str = ""
    delay: float = 0.0
    strict: bool = False

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> ListenerSpec:
        """A listener from its Moonbridge-style mapping; ValueError names what is wrong."""
        if not isinstance(spec, Mapping):
            raise ValueError(
                f"a listener is a mapping such as {{'proto': 'tcp', ...}}, got {spec!r}"
            )
        proto = spec.get("proto")
        known = {"proto"}
        if proto == ListenerKind.TCP:
            port = spec.get("port")
            if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
                raise ValueError(f"a tcp listener needs a port from 0 to 65535, got {port!r}")
            host = spec.get("host", spec.get("localhost", "::"))
            if not isinstance(host, str) or not host:
                raise ValueError(f"a tcp listener's host must be a str, got {host!r}")
            known |= {"port", "host", "localhost"}
            result = cls(ListenerKind.TCP, host=host, port=port)
        elif proto == ListenerKind.LOCAL:
            path = spec.get("path")
            if not isinstance(path, str) or not path:
                raise ValueError(f"a local listener needs a path, got {path!r}")
            known.add("path")
            result = cls(ListenerKind.LOCAL, path=path)
        elif proto == ListenerKind.INTERVAL:
            name, delay = spec.get("name"), spec.get("delay")
            if not isinstance(name, str):
                raise ValueError(f"an interval listener needs a str name, got {name!r}")
            if not isinstance(delay, (int, float)) or isinstance(delay, bool) or not delay > 0:
                raise ValueError(f"interval {name!r} needs a delay > 0 seconds, got {delay!r}")
            known |= {"name", "delay", "strict"}
            result = cls(
                ListenerKind.INTERVAL,
                name=name,
                delay=float(delay),
                strict=bool(spec.get("strict")),
            )
        elif proto == ListenerKind.MAIN:
            name = spec.get("name", "main")
            if not isinstance(name, str):
                raise ValueError(f"a main listener's name must be a str, got {name!r}")
            known.add("name")
            result = cls(ListenerKind.MAIN, name=name)
        else:
            raise ValueError(
                f"listener proto must be 'tcp', 'local', 'interval' or 'main', got {proto!r}"
            )
        unknown = sorted(set(spec) - known)
        if unknown:
            raise ValueError(f"unknown field {unknown[0]!r} in a {proto} listener")
        return result

    def __str__(self) -> str:
        if self.proto is ListenerKind.TCP:
            host = f"[{self.host}]" if ":" in self.host else self.host
            return f"tcp {host}:{self.port}"
        if self.proto is ListenerKind.LOCAL:
            return f"local {self.path}"
        if self.proto is ListenerKind.INTERVAL:
            return (
                f"interval {self.name!r} every {self.delay:g}s{' (strict)' if self.strict else ''}"
            )
        return f"main {self.name!r}"


def _seconds(name: str, value: Any, allow_none: bool = False) -> float:
    if value is False or (value is None and allow_none):
        return 0.0
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be seconds >= 0 (or False for 0), got {value!r}")
    return float(value)


@dataclass(frozen=True)
class PoolOptions:
    """The pool's process counts and delays (Moonbridge's options, its defaults)."""

    pre_fork: int = 1
    min_fork: int = 2
    max_fork: int = 16
    fork_delay: float = 0.25
    fork_error_delay: float = 2.0
    exit_delay: float = 60.0
    idle_timeout: float = 0.0
    memory_limit: int | None = None

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> PoolOptions:
        """Options as ``listen()`` takes them (``idle_time`` is an alias of
        ``idle_timeout``; False is 0 for the delays)."""
        options = dict(options)
        if "idle_time" in options:
            if "idle_timeout" in options:
                raise ValueError("give idle_timeout or its alias idle_time, not both")
            options["idle_timeout"] = options.pop("idle_time")
        unknown = sorted(set(options) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown listen() option {unknown[0]!r}")
        counts = {}
        for name in ("pre_fork", "min_fork", "max_fork"):
            value = options.get(name)
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < 0
            ):
                raise ValueError(f"{name} must be an int >= 0, got {value!r}")
            counts[name] = value
        pre = 1 if counts["pre_fork"] is None else counts["pre_fork"]
        low = max(pre, 2) if counts["min_fork"] is None else counts["min_fork"]
        high = max(low, 16) if counts["max_fork"] is None else counts["max_fork"]
        if high < 1 or low > high or pre > high:
            raise ValueError(
                f"need pre_fork <= max_fork and min_fork <= max_fork and max_fork >= 1, "
                f"got pre_fork={pre}, min_fork={low}, max_fork={high}"
            )
        memory = options.get("memory_limit")
        if memory is not None and (
            not isinstance(memory, int) or isinstance(memory, bool) or memory <= 0
        ):
            raise ValueError(f"memory_limit must be bytes > 0 or None, got {memory!r}")
        return cls(
            pre_fork=pre,
            min_fork=low,
            max_fork=high,
            fork_delay=_seconds("fork_delay", options.get("fork_delay", 0.25)),
            fork_error_delay=_seconds("fork_error_delay", options.get("fork_error_delay", 2.0)),
            exit_delay=_seconds("exit_delay", options.get("exit_delay", 60.0)),
            idle_timeout=_seconds("idle_timeout", options.get("idle_timeout", 0), allow_none=True),
            memory_limit=memory,
        )

    @property
    def idle_deadline(self) -> float:
        """Seconds a worker waits for work before it ends (inf: for ever)."""
        return self.idle_timeout or math.inf


@dataclass
class Pool:
    """One listen() call: what its workers listen on, run and obey."""

    listeners: list[ListenerSpec]
    connect: Handler
    prepare: Handler | None = None
    finish: Handler | None = None
    options: PoolOptions = field(default_factory=PoolOptions)
    #: a pool that brings its own worker body (``worker(status_fd, command_fd)``, never
    #: returning) and sockets bound already (``rttp serve --workers``)
    worker: Callable[[int, int], Any] | None = None
    bound: list[socket.socket] = field(default_factory=list)


_pools: list[Pool] = []
#: set in a worker: listen() from a handler is an error
in_worker = False


def listen(
    *listeners: Mapping[str, Any],
    connect: Handler,
    prepare: Handler | None = None,
    finish: Handler | None = None,
    **options: Any,
) -> None:
    """Register a pool: its listeners, its ``connect`` handler (called with a
    :class:`~rttp.moonbridge.Socket` for each connection or interval tick; the worker goes
    on only while it returns exactly True), ``prepare`` (once per worker, after the fork),
    ``finish`` (when the worker exits) and the pool options (see :class:`PoolOptions`).

    May be called several times before :func:`run`; not from a handler.
    """
    if in_worker:
        raise RuntimeError("listen() cannot be called from a prepare, connect or finish handler")
    if not listeners:
        raise ValueError("listen() needs at least one listener")
    if len(listeners) > MAX_LISTENERS:
        raise ValueError(f"listen() takes at most {MAX_LISTENERS} listeners, got {len(listeners)}")
    if not callable(connect):
        raise ValueError(f"connect must be callable, got {connect!r}")
    for name, handler in (("prepare", prepare), ("finish", finish)):
        if handler is not None and not callable(handler):
            raise ValueError(f"{name} must be callable or None, got {handler!r}")
    specs = [ListenerSpec.parse(spec) for spec in listeners]
    _pools.append(Pool(specs, connect, prepare, finish, PoolOptions.from_options(options)))


def pending() -> bool:
    """Whether listen() registered pools that run() has not served yet."""
    return bool(_pools)


def registered() -> list[Pool]:
    """The pools listen() registered and run() has not served yet (taken: the list is
    emptied)."""
    pools = list(_pools)
    _pools.clear()
    return pools
