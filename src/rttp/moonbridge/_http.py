"""Moonbridge's HTTP module: ``generate_handler(callback)`` turns a request callback
into a ``connect`` handler, on the one engine (:class:`rttp.HTTPConnection`).

The callback gets a :class:`HttpRequest` and answers piece by piece with
``send_status`` / ``send_header`` / ``send_data`` / ``finish``, which sit on the engine's
``send_head`` / ``send_data`` / ``finish``. Limits and timeouts map onto
:class:`rttp.ServerConfig`, so the statuses are the server's: 400, 408, 413, 414, 417,
431, and 415 for a form read from a body that is not one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

import trio

from .._config import ServerConfig
from .._io._util import call_maybe_async
from .._io.engine._clock import CoarseClock, sweep
from .._io.engine._exchange import ServerExchange
from .._io.engine._server import ServerConnection
from .._io.engine._settings import ServerSettings
from .._io.net._sockio import fast_stream
from .._io.server._serve import ServeOptions, serve_connection
from .._plugins import get_plugins
from ..errors import TransportError
from ._request import HttpRequest
from ._socket import Socket

__all__ = ["HttpOptions", "generate_handler"]

log = logging.getLogger("rttp.moonbridge")

_DEFAULTS: dict[str, Any] = {
    "request_body_size_limit": 64 << 20,
    "request_header_size_limit": 1 << 20,
    "maximum_input_chunk_size": 16384,
    "minimum_output_chunk_size": 1024,
    "idle_timeout": 65.0,
    "stall_timeout": 60.0,
    "request_header_timeout": 120.0,
    "response_timeout": 3600.0,
    "drain_timeout": 2.0,
}
_ALIASES = {
    "body_size_limit": "request_body_size_limit",
    "header_size_limit": "request_header_size_limit",
}


class HttpOptions:
    """The options of :func:`generate_handler`, checked, with their defaults."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        given = dict(options)
        for alias, name in _ALIASES.items():
            if alias in given:
                if name in given:
                    raise ValueError(f"give {name} or its alias {alias}, not both")
                given[name] = given.pop(alias)
        chunk = given.pop("chunk_size", None)
        static = given.pop("static_headers", None)
        unknown = sorted(set(given) - set(_DEFAULTS))
        if unknown:
            raise ValueError(f"unknown generate_handler() option {unknown[0]!r}")
        values = {**_DEFAULTS, **given}
        if chunk is not None:  # the default of both chunk sizes, unless given
            for name in ("maximum_input_chunk_size", "minimum_output_chunk_size"):
                if name not in given:
                    values[name] = chunk
        for name, value in values.items():
            if value is False:
                values[name] = None  # a disabled timeout (or limit)
            elif not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a number >= 0 (or False), got {value!r}")
        self.body_limit: int | None = values["request_body_size_limit"]
        self.header_limit: int = values["request_header_size_limit"] or 1 << 30
        self.input_chunk: int = int(values["maximum_input_chunk_size"] or 16384)
        self.output_chunk: int = int(values["minimum_output_chunk_size"] or 0)
        self.idle_timeout: float | None = values["idle_timeout"]
        self.stall_timeout: float | None = values["stall_timeout"]
        self.header_timeout: float | None = values["request_header_timeout"]
        self.response_timeout: float | None = values["response_timeout"]
        self.drain_timeout: float = values["drain_timeout"] or 0.0
        self.static_headers: list[tuple[str, str]] = _static_headers(static)
        self.config: ServerConfig = ServerConfig(
            max_body_size=self.body_limit,
            max_header_size=self.header_limit,
            max_request_line=min(self.header_limit, 1 << 20),
            header_timeout=self.header_timeout,
            keep_alive_timeout=self.idle_timeout,
            body_timeout=self.stall_timeout,
            write_timeout=self.stall_timeout,
            handler_timeout=self.response_timeout,
            linger_timeout=self.drain_timeout,
            read_size=self.input_chunk,
            access_log=False,
            compress=False,
        )
        self.settings = ServerSettings(self.config, get_plugins())
        self.serve_options = ServeOptions(
            handler_timeout=self.response_timeout or math.inf,
            log=log,
            handler_name="HTTP handler",
            failure_closes=True,
            write_timeout=self.stall_timeout or math.inf,
        )


def _static_headers(value: Any) -> list[tuple[str, str]]:
    """``static_headers`` as pairs: a str of lines, a list of ``"Name: value"`` strings,
    or a mapping."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [(str(k), str(v)) for k, v in value.items()]
    lines = value.splitlines() if isinstance(value, str) else list(value)
    pairs = []
    for line in lines:
        if isinstance(line, tuple):
            pairs.append((str(line[0]), str(line[1])))
            continue
        name, sep, text = str(line).partition(":")
        if not sep or not name.strip():
            raise ValueError(f"a static header is 'Name: value', got {line!r}")
        pairs.append((name.strip(), text.strip()))
    return pairs


def generate_handler(
    callback: Callable[[HttpRequest], Any] | Mapping[str, Any],
    options: Callable[[HttpRequest], Any] | Mapping[str, Any] | None = None,
    **more: Any,
) -> Callable[[Socket], Any]:
    """A ``connect`` handler serving HTTP/1.1 (and 1.0) with ``callback(request)``, sync
    or async. The options may come as keywords or as a mapping before or after the
    callback, as the seed allows; see :class:`HttpOptions` for their names."""
    if isinstance(callback, Mapping):
        callback, options = options, callback  # type: ignore[assignment]
    if not callable(callback):
        raise ValueError(f"generate_handler() needs a callable callback, got {callback!r}")
    merged = {**dict(options or {}), **more}  # type: ignore[arg-type]
    settings = HttpOptions(merged)
    handler = callback

    async def connect(sock: Socket) -> bool:
        if sock.interval is not None:
            return True  # an interval tick: nothing to serve over HTTP
        await _serve_http(sock, handler, settings)
        return True

    return connect


async def _serve_http(sock: Socket, callback: Any, options: HttpOptions) -> None:
    raw = sock.raw_socket
    assert raw is not None
    # the engine reads and writes the socket itself; request.socket is the same one, so
    # request.socket.reset() really resets the connection
    stream = fast_stream(trio.SocketStream(trio.socket.from_stdlib_socket(raw)))
    clock = CoarseClock(watched=True)
    conn = ServerConnection(stream, options.settings, clock=clock)

    async def respond(exchange: ServerExchange) -> None:
        http = HttpRequest(exchange, sock, options)
        try:
            await call_maybe_async(callback, http)
        except TransportError:
            http.faulty = True
            raise
        if not http.answered:
            request = http._request
            log.error("HTTP handler for %s %s sent no status", request.method, request.target)
            await http.fail(500, "the request handler sent no response")
            return
        await http.finish()  # a status-only answer (a 303 and its Location, a 204) too

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(sweep, [conn.exchange], clock, options.settings.sweep_tick)
            try:
                await serve_connection(conn, respond, options.serve_options)
            finally:
                nursery.cancel_scope.cancel()
    finally:
        await conn.aclose()  # outside the cancelled nursery: it may linger after an error
