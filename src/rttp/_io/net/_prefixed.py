"""A stream that first gives back bytes already read from it, and sends bytes held for
it: what a connection hands over after a protocol switch (a 101, a CONNECT tunnel)."""

from __future__ import annotations

import trio

__all__ = ["PrefixedStream"]


class PrefixedStream(trio.abc.Stream):
    """The stream of a detached connection, with what the engine still held for it.

    ``prefix`` (bytes received after the HTTP head) is returned by the first receives;
    ``unsent`` (the 101 answer) goes out before the first send or receive, or at
    :meth:`flush`. Sending the 101 lazily means a handler that registers itself before
    it first talks is registered before the peer learns the switch happened.
    """

    def __init__(self, stream: trio.abc.Stream, prefix: bytes, unsent: bytes = b"") -> None:
        self.transport_stream = stream
        self._prefix = prefix
        self._unsent = unsent

    @staticmethod
    def split(stream: trio.abc.Stream) -> tuple[trio.abc.Stream, bytes, bytes]:
        """``(inner stream, bytes received, bytes to send first)`` of a detached stream,
        for a protocol that takes the bytes over itself and talks to the stream bare."""
        if isinstance(stream, PrefixedStream):
            parts = (stream.transport_stream, stream._prefix, stream._unsent)
            stream._prefix = stream._unsent = b""
            return parts
        return stream, b"", b""

    async def flush(self) -> None:
        """Send the bytes the engine left unsent (idempotent)."""
        if self._unsent:
            data, self._unsent = self._unsent, b""
            await self.transport_stream.send_all(data)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self._unsent:
            data, self._unsent = self._unsent + bytes(data), b""
        await self.transport_stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.transport_stream.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        if self._unsent:
            await self.flush()
        if self._prefix:
            if max_bytes is None or max_bytes >= len(self._prefix):
                data, self._prefix = self._prefix, b""
            else:
                data, self._prefix = self._prefix[:max_bytes], self._prefix[max_bytes:]
            return data
        return await self.transport_stream.receive_some(max_bytes)

    async def aclose(self) -> None:
        await self.transport_stream.aclose()
