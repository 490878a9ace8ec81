"""The one per-connection serve loop: :func:`serve_connection`, under ``rttp.Server`` and
Moonbridge's ``generate_handler`` alike.

It reads each request into the connection's exchange, lets a *responder* answer it
(the server's runs a ``Handler`` and sends what it returns; Moonbridge's runs a
callback that pushes its answer), and does everything else once for both: the phases
and deadlines, the answer to a request the peer got wrong, the answer to a handler that
failed (the client's fault is a 4xx, ours a 500, and after the answer started the
connection is cut), finishing a pushed answer the handler left open, the access log,
the timeout answers, and handing the stream to the protocol a 101 switched to.

A connection runs one exchange at a time (HTTP/1.1) in the connection's own task; a
multiplexed one (HTTP/2) is served by :func:`~rttp._io.server._serve_mux.serve_multiplexed`,
which runs each exchange through :func:`run_exchange` in a task of its own.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from time import perf_counter
from typing import Any

import trio

from ..._model import Response
from ...errors import ProtocolError, RTTPError, TransportError
from ..engine._exchange import ServerExchange
from ..engine._server import ServerConnection
from ..engine._settings import error_response
from ..net._errors import is_peer_gone
from ..net._prefixed import PrefixedStream
from ._accesslog import AccessLog, client_text

__all__ = ["Responder", "ServeOptions", "Slots", "refuse", "run_exchange", "serve_connection"]

ERROR_LOG = logging.getLogger("rttp.error")

#: runs the handler of one exchange and returns what it returns: a value the loop answers
#: with (a Response, None for a 204, or a value to encode), or anything at all once it
#: answered through ``exchange.answer`` itself (pushed; Moonbridge's way). A plain
#: function returning the handler's coroutine costs no coroutine of its own.
Responder = Callable[[ServerExchange], Awaitable[Any]]


class Slots:
    """How many accepted connections wait for a connection slot (``max_connections``)."""

    __slots__ = ("waiting",)

    def __init__(self) -> None:
        self.waiting = 0


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """What differs between the servers that run :func:`serve_connection`."""

    #: seconds a handler has to answer (inf: no bound); crossing it is a 503
    handler_timeout: float = math.inf
    #: where handler failures are logged
    log: logging.Logger = ERROR_LOG
    #: one line per answer (None: none)
    access: AccessLog | None = None
    #: while ``waiting`` is above 0 (newcomers waiting for a slot), each returned answer
    #: is its connection's last, so that one frees
    slots: Slots | None = None
    #: what the logs call the handler
    handler_name: str = "handler"
    #: a handler that raised closes its connection after the 500 (Moonbridge's way)
    failure_closes: bool = False
    #: how long a protocol handler after a 101 may take to flush the 101 it never sent
    write_timeout: float = math.inf


async def serve_connection(
    conn: ServerConnection,
    respond: Responder,
    options: ServeOptions,
    closed: Callable[[ServerConnection], Awaitable[None]] | None = None,
) -> None:
    """Serve ``conn`` until it closes or is upgraded away (see the module). Timeouts the
    sweeper enforces end in their 408 or 503; a peer that went away ends it quietly.
    Then ``closed(conn)`` runs (even when cancelled), which closes the connection;
    without it, the caller does."""
    access = options.access
    logging_on = access is not None and access.enabled
    # (the reading is written out here, not in a helper: an idle keep-alive connection
    # waits inside it, and every coroutine frame on that path is memory per connection)
    try:
        with conn.scope:
            while True:
                started = perf_counter() if logging_on else -1.0
                try:
                    exchange = await conn.next_exchange()
                except ProtocolError as exc:
                    await refuse(conn, exc, options, started)
                    break
                if exchange is None:
                    break
                exchange.started_at = started
                if not await run_exchange(conn, exchange, respond, options):
                    break
        exchange = conn.exchange
        if exchange.timed_out and not exchange.upgraded:
            await conn.send_timeout_answer()
    except TransportError:
        pass  # the peer went away
    except Exception as exc:
        if not is_peer_gone(exc):
            options.log.exception("connection failed with an unexpected error")
    finally:
        if closed is not None:
            await closed(conn)


async def refuse(
    conn: ServerConnection, exc: ProtocolError, options: ServeOptions, started: float
) -> None:
    """Answer a request the peer got wrong, and log it."""
    await conn.send_error(exc)
    access = options.access
    if access is not None and started >= 0:
        request = conn.exchange.request
        if request is not None:
            access.log(request, exc.status, 0, perf_counter() - started)
        else:
            access.emit(f'{client_text(conn.peer)} - "<malformed request>" {exc.status}')


async def run_exchange(
    conn: ServerConnection, exchange: ServerExchange, respond: Responder, options: ServeOptions
) -> bool:
    """Answer one exchange; False when the connection must not carry another."""
    request = exchange.request
    assert request is not None
    answer = exchange.answer
    exchange.start_handler(options.handler_timeout)
    try:
        result = await respond(exchange)
    except TransportError:
        return False  # the client went away (while the handler read its body, say)
    except Exception as exc:
        if answer.finished:
            # the answer is complete on the wire (an ASGI framework's error page, sent
            # before it re-raised): log it, and the connection carries the next request
            options.log.error(
                "%s for %s %s failed after its answer was sent",
                options.handler_name,
                request.method,
                request.target,
                exc_info=exc,
            )
        elif answer.started:
            # the head may be out: the only honest signal left is to cut the connection
            options.log.error(
                "%s for %s %s failed after its answer started (%d body bytes sent)",
                options.handler_name,
                request.method,
                request.target,
                max(answer.sent, 0),
                exc_info=exc,
            )
            answer.cut()
            _log_access(exchange, options, answer.status)
            return False
        elif exchange.body_error is not None:
            await conn.send_error(exchange.body_error)
            _log_access(exchange, options, exchange.body_error.status)
            return False
        else:
            await answer.send_response(_failure_response(exc, conn, request, options))
    else:
        if not answer.started:  # the common case: answer with what the handler returned
            if type(result) is not Response:
                result = _as_response(result)
            slots = options.slots
            if slots is not None and slots.waiting:
                conn.close_after_exchange()
            await answer.send_response(result)  # (closing already if the server drains)
        else:
            if not answer.finished:
                await answer.finish()  # a pushed answer the handler left open
            if result is not None and _says_something(result):
                options.log.error(
                    "%s for %s %s returned %r after answering with request.respond(); "
                    "it was ignored",
                    options.handler_name,
                    request.method,
                    request.target,
                    result,
                )
    if exchange.started_at >= 0.0:  # (float to float: the specialised comparison)
        _log_access(exchange, options, answer.status)
    if exchange.on_upgrade is not None:  # (a 101 switched protocols)
        await _upgraded(conn, exchange, options)
        return False
    return not conn.closing


def _failure_response(
    exc: Exception, conn: ServerConnection, request: Any, options: ServeOptions
) -> Response:
    """The answer to a handler that raised before answering: the 4xx an rttp error
    carries (the client's fault: a malformed body, an unsupported type, a limit), or a
    500, logged (ours)."""
    status = client_error_status(exc)
    if status is not None:
        return error_response(status, str(exc))
    options.log.error(
        "%s failed for %s %s", options.handler_name, request.method, request.target, exc_info=exc
    )
    if options.failure_closes:
        conn.close_after_exchange()
    return error_response(500, "Internal Server Error")


def _as_response(result: Any) -> Response:
    """What a handler returned, as the Response to send: a Response as it is, None as a
    204, anything else as a value the server's codecs encode."""
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(204)
    return Response(value=result)


def _says_something(result: object) -> bool:
    """After a pushed answer: whether what the handler returned said something (None, or
    the empty 204 a router makes of None, says nothing)."""
    if result is None:
        return False
    if isinstance(result, Response):
        return not (result.status == 204 and not result._content and result._stream is None)
    return True


def _log_access(exchange: ServerExchange, options: ServeOptions, status: int) -> None:
    started = exchange.started_at
    if started >= 0 and options.access is not None and exchange.answer.sent >= 0:
        request = exchange.request
        assert request is not None
        options.access.log(request, status, exchange.answer.sent, perf_counter() - started)


async def _upgraded(
    conn: ServerConnection, exchange: ServerExchange, options: ServeOptions
) -> None:
    """Run the protocol a 101 switched to on the detached stream."""
    on_upgrade = exchange.on_upgrade
    assert on_upgrade is not None
    request = exchange.request
    stream = conn.detach()
    try:
        await on_upgrade(stream)
        if isinstance(stream, PrefixedStream):
            with trio.move_on_after(options.write_timeout):
                await stream.flush()  # a handler that never talked still switched
    except TransportError:
        pass
    except Exception as exc:
        if not is_peer_gone(exc):
            target = request.target if request is not None else "?"
            options.log.exception("protocol handler for %s failed", target)
    finally:
        await trio.aclose_forcefully(stream)


def client_error_status(exc: BaseException) -> int | None:
    """The 4xx status an rttp error raised in a handler carries, if any."""
    if isinstance(exc, RTTPError):
        status: Any = getattr(exc, "status", None)
        if isinstance(status, int) and 400 <= status < 500:
            return status
    return None
