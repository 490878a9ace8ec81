"""The serve loop of a multiplexed (HTTP/2) connection: :func:`serve_multiplexed`.

:func:`~rttp._io.server._serve.serve_connection` hands a connection with
``multiplexed = True`` here. Its reader hands over one exchange per stream, and each
runs in a task of its own, through the same :func:`~rttp._io.server._serve.run_exchange`
as an HTTP/1.1 exchange (handler, answer, the error answers, the access log), inside
the stream's own cancel scope (its deadlines, and the peer's reset). The connection's
writer runs beside them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from time import perf_counter

import trio

from ...errors import ProtocolError, TransportError
from ..engine._exchange import ServerExchange
from ..engine._mux import MuxServerConnection
from ..engine._server import ServerConnection
from ..engine._stream import StreamConnection
from ..net._errors import is_peer_gone
from ._serve import Responder, ServeOptions, refuse, run_exchange

__all__ = ["serve_multiplexed"]


async def serve_multiplexed(
    conn: MuxServerConnection,
    respond: Responder,
    options: ServeOptions,
    closed: Callable[[ServerConnection], Awaitable[None]] | None = None,
) -> None:
    """Serve an HTTP/2 connection until it closes (see the module)."""
    access = options.access
    logging_on = access is not None and access.enabled
    try:
        with conn.scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(conn.write_loop)
                try:
                    while True:
                        started = perf_counter() if logging_on else -1.0
                        try:
                            exchange = await conn.next_exchange()
                        except ProtocolError as exc:
                            options.log.info("HTTP/2 connection from %s closed: %s", conn.peer, exc)
                            await conn.send_error(exc)
                            break
                        if exchange is None:
                            break
                        exchange.started_at = started
                        nursery.start_soon(_run_stream, exchange, respond, options)
                finally:
                    conn.finish()
        if conn.exchange.timed_out:
            await conn.send_timeout_answer()
    except Exception as exc:
        if not is_peer_gone(exc):
            options.log.exception("HTTP/2 connection failed with an unexpected error")
    finally:
        if closed is not None:
            await closed(conn)


async def _run_stream(exchange: ServerExchange, respond: Responder, options: ServeOptions) -> None:
    """Answer one stream's exchange in its own scope, then release the stream."""
    stream = exchange.conn
    assert isinstance(stream, StreamConnection)
    try:
        with exchange.scope:
            refused = exchange.body_error
            if refused is not None:  # the head was refused (413, 415, 501...)
                await refuse(stream, refused, options, exchange.started_at)
            else:
                await run_exchange(stream, exchange, respond, options)
        if exchange.timed_out:
            await stream.send_timeout_answer()
    except TransportError:
        pass  # the client reset the stream, or the connection broke
    except Exception as exc:
        if not is_peer_gone(exc):
            request = exchange.request
            target = request.target if request is not None else "?"
            options.log.exception("HTTP/2 stream for %s failed with an unexpected error", target)
    finally:
        stream.release()
