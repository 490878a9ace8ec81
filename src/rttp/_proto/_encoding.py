"""Content-encoding negotiation and the bounded decoding pipeline (no I/O).

The server picks an encoding from ``Accept-Encoding`` (q-values honoured, ``q=0``
refusing, ``*`` matching the rest, ties going to the server's preference order).
Decoding runs every received chunk through the decoders of the ``Content-Encoding``
list (last applied, first removed) in pieces of bounded size, and stops with
:class:`~rttp.errors.DecodingError` once the output passes ``max_size`` or
``max_ratio`` times the input (past a floor), so a decompression bomb never
allocates more than one piece.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..errors import DecodingError

__all__ = [
    "BoundedDecoder",
    "DEFAULT_COMPRESSIBLE_TYPES",
    "Decoder",
    "Encoder",
    "choose_encoding",
    "choose_response_encoding",
    "is_compressible",
    "parse_accept_encoding",
    "parse_content_encoding",
]

#: Media types compressed by default; ``text/*`` and ``*+json`` style patterns match.
DEFAULT_COMPRESSIBLE_TYPES: tuple[str, ...] = (
    "text/*",
    "application/json",
    "application/*+json",
    "application/javascript",
    "application/ecmascript",
    "application/xml",
    "application/*+xml",
    "application/x-www-form-urlencoded",
    "application/wasm",
    "image/svg+xml",
    "image/x-icon",
    "image/bmp",
    "table",
    "table/rtml",
    "object/lua",
)


class Encoder(Protocol):
    """A streaming compressor."""

    def compress(self, data: bytes) -> bytes:
        """Compress a chunk; may return ``b""`` while it buffers."""

    def sync(self) -> bytes:
        """Emit everything compressed so far, decodable by the peer now (streamed bodies)."""

    def flush(self) -> bytes:
        """Finish the stream and return what remains."""


class Decoder(Protocol):
    """A streaming decompressor with bounded output per call."""

    def decode(self, data: bytes, max_length: int) -> bytes:
        """Feed ``data`` (may be empty) and return at most ``max_length`` bytes.

        Input not yet used is kept; call again with ``b""`` until it returns ``b""``.
        Malformed input raises :class:`~rttp.errors.DecodingError`.
        """

    def flush(self) -> bytes:
        """At the end of the stream: any remaining output."""


# pragma: no mutate start (negotiation: which coding to answer with, not a guard)
def parse_accept_encoding(value: str) -> dict[str, float]:
    """``"gzip;q=0.8, br, *;q=0"`` → ``{"gzip": 0.8, "br": 1.0, "*": 0.0}``."""
    out: dict[str, float] = {}
    for item in value.split(","):
        token, *params = item.split(";")
        token = token.strip().lower()
        if not token:
            continue
        q = 1.0
        for param in params:
            key, _, raw = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(raw.strip())
                except ValueError:
                    q = 0.0
                q = min(max(q, 0.0), 1.0)
        out[token] = q
    return out


def choose_encoding(accept_encoding: str | None, available: Sequence[str]) -> str | None:
    """The best of ``available`` (in the server's preference order) the client accepts."""
    if not accept_encoding or not available:
        return None
    accepted = parse_accept_encoding(accept_encoding)
    star = accepted.get("*")
    best: str | None = None
    best_q = 0.0
    for name in available:
        q = accepted.get(name, star if star is not None else 0.0)
        if name == "gzip" and name not in accepted and "x-gzip" in accepted:
            q = accepted["x-gzip"]
        if q > best_q:
            best, best_q = name, q
    return best


def choose_response_encoding(
    accept_encoding: str | None,
    content_type: str | None,
    available: Sequence[str],
    *,
    body_size: int | None,
    already_encoded: bool,
    min_size: int,
    types: Iterable[str],
) -> str | None:
    """The encoding to compress a response with, or None (the seed's rules).

    Only when the client accepts one (``q=0`` refuses), for a body of at least
    ``min_size`` bytes (``body_size`` None: unknown, streamed), of a compressible media
    type (never images, fonts, archives, video or an event stream), and not already
    encoded or ranged (``already_encoded``). ``available`` is in preference order.
    """
    if body_size is not None and body_size < min_size:
        return None
    if not accept_encoding or already_encoded:
        return None
    if not is_compressible(content_type, types):
        return None
    if content_type and content_type.startswith("text/event-stream"):
        return None
    return choose_encoding(accept_encoding, available)


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def is_compressible(content_type: str | None, patterns: Iterable[str]) -> bool:
    """True if the media type of ``content_type`` matches one of ``patterns``."""
    if not content_type:
        return False
    media = _media_type(content_type)
    major, _, minor = media.partition("/")
    for pattern in patterns:
        if pattern == media:
            return True
        p_major, _, p_minor = pattern.partition("/")
        if p_minor == "*" and p_major == major:
            return True
        if p_minor.startswith("*") and p_major == major and minor.endswith(p_minor[1:]):
            return True
    return False


# pragma: no mutate end


def parse_content_encoding(value: str | None) -> list[str]:
    """The codings of a ``Content-Encoding`` value in the order they were applied."""
    if not value:
        return []
    return [token.strip().lower() for token in value.split(",") if token.strip()]


@dataclass
class BoundedDecoder:
    """Run data through a chain of decoders with size and ratio limits.

    ``decoders`` are in the order to apply them (the reverse of the Content-Encoding list).
    """

    decoders: list[Decoder]
    max_size: int | None = None
    max_ratio: float | None = 100.0
    ratio_floor: int = 1 << 20
    piece_size: int = 1 << 16
    consumed: int = 0
    produced: int = 0

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Decode one received chunk, yielding pieces of at most ``piece_size`` bytes."""
        self.consumed += len(data)
        for piece in self._run(0, data):
            self._account(len(piece))
            yield piece

    def finish(self) -> Iterator[bytes]:
        """Flush every decoder at the end of the body."""
        # pragma: no mutate start (zlib's and zstd's decoders hold nothing back for flush)
        for index, decoder in enumerate(self.decoders):
            tail = decoder.flush()
            if tail:
                for piece in self._pass_on(index, tail):
                    self._account(len(piece))
                    yield piece
        # pragma: no mutate end

    def _pass_on(self, index: int, data: bytes) -> Iterator[bytes]:
        if index + 1 == len(self.decoders):
            for start in range(0, len(data), self.piece_size):
                yield data[start : start + self.piece_size]
        else:
            yield from self._run(index + 1, data)

    def _run(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self.decoders):  # no decoder at all (``Content-Encoding: identity``)
            yield from self._pass_on(index - 1, data)
            return
        decoder = self.decoders[index]
        piece = decoder.decode(data, self.piece_size)
        while piece:
            if index + 1 == len(self.decoders):
                yield piece
            else:
                yield from self._run(index + 1, piece)
            piece = decoder.decode(b"", self.piece_size)

    def _account(self, size: int) -> None:
        self.produced += size
        if self.max_size is not None and self.produced > self.max_size:
            raise DecodingError(
                f"decoded body exceeds max_decoded_size={self.max_size} bytes "
                f"(from {self.consumed} encoded bytes)"
            )
        if (
            self.max_ratio is not None
            and self.produced > self.ratio_floor
            and self.produced > self.max_ratio * max(self.consumed, 1)  # pragma: no mutate
        ):
            raise DecodingError(
                f"decoded body grew past max_decompression_ratio={self.max_ratio:g} "
                f"({self.produced} bytes from {self.consumed}): refusing a possible "
                "decompression bomb"
            )
