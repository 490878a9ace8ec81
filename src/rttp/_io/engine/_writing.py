"""Writing a prepared answer other than the common small whole one: a large body in
pieces after its head (never copied into one buffer with it), and a streamed body
chunk by chunk, compressed as negotiated, the head riding with the first chunk.
:class:`~rttp._io.engine._answering.ExchangeAnswer` sends the small whole answer
itself, in one write."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from ..._model import Request, Response
from ...errors import ProtocolError, TransportError
from .._util import aclose_iterable
from ._clock import Phase
from ._framing import Prepared

if TYPE_CHECKING:
    from ._answering import ExchangeAnswer

__all__ = ["JOIN_MAX", "WRITE_PIECE", "write_prepared"]

#: a body up to this size goes out joined with its head in one write; a larger one is
#: sent after the head, uncopied, in pieces of WRITE_PIECE bytes
JOIN_MAX: Final = 64 << 10
WRITE_PIECE: Final = 256 << 10

error_log = logging.getLogger("rttp.error")


async def write_prepared(
    answer: ExchangeAnswer, request: Request, response: Response | None, prepared: Prepared
) -> bool:
    """Send ``prepared`` (``response``'s, when its body is streamed) as ``answer``; False
    if the connection must close afterwards."""
    exchange = answer._exchange
    conn = exchange.conn
    proto = exchange.proto
    send = conn._send
    clock = conn.clock
    write_timeout = conn.settings.write_timeout
    exchange.enter(Phase.WRITE, write_timeout)
    status, reason, headers = prepared.status, prepared.reason, prepared.headers
    body = b"" if prepared.no_body else prepared.body
    if body is not None and len(body) > JOIN_MAX:
        # a large body is never copied into one buffer with the head, and goes out in
        # pieces: write_timeout bounds each piece (no progress), not the whole transfer
        await send(proto.send_response(status, reason, headers))
        data = memoryview(proto.send_data(body))  # the same bytes (a length check only)
        end = proto.send_end()
        for offset in range(0, len(data), WRITE_PIECE):
            exchange.deadline = clock.now + write_timeout
            await send(data[offset : offset + WRITE_PIECE])
        if end:
            await send(end)
        answer.sent = len(body)
        return True
    if body is not None:  # the whole answer in one write
        await send(proto.send_response(status, reason, headers, body))
        if prepared.no_body and response is not None and response._stream is not None:
            await aclose_iterable(response._stream)
        answer.sent = len(body)
        return True
    assert response is not None  # (a body that is not whole is a Response's stream)
    answer.sent = -1
    sent = 0
    encoder = prepared.encoder
    pending = proto.send_response(status, reason, headers)
    finished = False
    try:
        async for chunk in response.stream():
            if encoder is not None:
                chunk = encoder.compress(chunk) + encoder.sync()
            # the head rides with the first chunk; every chunk leaves as soon as it exists
            await send(pending + proto.send_data(chunk) if pending else proto.send_data(chunk))
            pending = b""
            exchange.deadline = clock.now + write_timeout
            sent += len(chunk)
        if encoder is not None:
            tail = encoder.flush()
            if tail:
                pending += proto.send_data(tail)
                sent += len(tail)
        pending += proto.send_end()
        finished = True
    except TransportError:
        raise
    except Exception as exc:
        # the head may be out already: the only honest signal left is to cut the connection
        error_log.error(
            "response body for %s %s failed after %d bytes: %r",
            request.method,
            request.target,
            sent,
            exc,
            exc_info=not isinstance(exc, ProtocolError),
        )
        return False
    finally:
        if not finished and response._stream is not None:
            await aclose_iterable(response._stream)
    await send(pending)
    answer.sent = sent
    return True
