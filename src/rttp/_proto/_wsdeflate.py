"""permessage-deflate (RFC 7692) negotiation and settings, sans-IO.

The handshake is trio-rttp's own (it runs through :class:`~rttp.HTTPConnection`), so
the negotiation is too: one implementation, whichever backend frames the connection,
strict where the RFC is strict. An offer with an unknown or repeated parameter, or a
window size outside 8-15, is declined and the next offer considered (§7.1); an answer
like that fails the client's handshake with a message naming the parameter.

:class:`Deflate` is what a user configures; :class:`DeflateParams` is what both ends
agreed, and what a backend plugin builds its compressor from.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["EXTENSION_NAME", "Deflate", "DeflateParams", "parse_extensions"]

EXTENSION_NAME = "permessage-deflate"

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_OWS = re.compile(r"[ \t]*")
_NAME = re.compile(_TOKEN)
_VALUE = re.compile(rf"{_TOKEN}|{_QUOTED}")
_WINDOW = re.compile(r"[1-9][0-9]?\Z")
_PARAMS = frozenset(
    {
        "server_no_context_takeover",
        "client_no_context_takeover",
        "server_max_window_bits",
        "client_max_window_bits",
    }
)

Extension = tuple[str, list[tuple[str, str | None]]]


def parse_extensions(values: Iterable[str]) -> list[Extension]:
    """``Sec-WebSocket-Extensions`` fields → ``[(name, [(param, value or None)])]``.

    Names are lower-cased, quoted values unquoted. Raises ValueError naming the
    position of anything that is not the RFC 6455 §9.1 grammar.
    """
    extensions: list[Extension] = []
    for text in values:
        pos, end = 0, len(text)
        while pos < end:
            pos = _OWS.match(text, pos).end()  # type: ignore[union-attr]
            if pos < end and text[pos] == ",":  # empty list elements are allowed
                pos += 1
                continue
            if pos >= end:
                break
            name = _NAME.match(text, pos)
            if name is None:
                raise ValueError(f"expected an extension name at {pos} in {text!r}")
            params: list[tuple[str, str | None]] = []
            pos = _OWS.match(text, name.end()).end()  # type: ignore[union-attr]
            while pos < end and text[pos] == ";":
                pos = _OWS.match(text, pos + 1).end()  # type: ignore[union-attr]
                param = _NAME.match(text, pos)
                if param is None:
                    raise ValueError(f"expected a parameter name at {pos} in {text!r}")
                value: str | None = None
                pos = _OWS.match(text, param.end()).end()  # type: ignore[union-attr]
                if pos < end and text[pos] == "=":
                    pos = _OWS.match(text, pos + 1).end()  # type: ignore[union-attr]
                    found = _VALUE.match(text, pos)
                    if found is None:
                        raise ValueError(f"expected a parameter value at {pos} in {text!r}")
                    value = found.group()
                    if value.startswith('"'):
                        value = re.sub(r"\\(.)", r"\1", value[1:-1])
                        if not _NAME.fullmatch(value):  # §9.1: a quoted value is a token
                            raise ValueError(f"quoted value {value!r} is not a token in {text!r}")
                    pos = _OWS.match(text, found.end()).end()  # type: ignore[union-attr]
                params.append((param.group().lower(), value))
            if pos < end and text[pos] != ",":
                raise ValueError(f"unexpected {text[pos]!r} at {pos} in {text!r}")
            extensions.append((name.group().lower(), params))
    return extensions


def _window(name: str, value: str | None, *, optional: bool) -> int | None:
    if value is None:
        if optional:
            return None
        raise ValueError(f"{name} needs a value")
    if not _WINDOW.match(value) or not 8 <= int(value) <= 15:
        raise ValueError(f"{name}={value!r} is not a window size from 8 to 15")
    return int(value)


def _params(params: list[tuple[str, str | None]]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name, value in params:
        if name not in _PARAMS:
            raise ValueError(f"unknown parameter {name!r}")
        if name in found:
            raise ValueError(f"parameter {name!r} repeated")
        if name.endswith("takeover") and value is not None:
            raise ValueError(f"{name} takes no value (got {value!r})")
        found[name] = value
    return found


@dataclass(frozen=True)
class DeflateParams:
    """What both ends of one connection agreed for permessage-deflate.

    Window sizes are those each side compresses with (8-15); a backend builds its
    compressor from :meth:`compress_settings` and its decompressor from
    :meth:`decompress_bits`.
    """

    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    server_max_window_bits: int = 15
    client_max_window_bits: int = 15
    level: int = 6
    mem_level: int = 8

    def local_no_context_takeover(self, client: bool) -> bool:
        """Whether this side resets its compressor after each message."""
        return self.client_no_context_takeover if client else self.server_no_context_takeover

    def remote_no_context_takeover(self, client: bool) -> bool:
        """Whether the peer resets its compressor (so ours is reset too) after each message."""
        return self.server_no_context_takeover if client else self.client_no_context_takeover

    def compress_settings(self, client: bool) -> dict[str, Any]:
        """``zlib.compressobj`` keywords for this side (``wbits`` negative: raw deflate).

        zlib cannot compress with an 8-bit window; when the peer asked for one, this
        side compresses with literals only (Huffman coding, no back-references), which
        any window decodes.
        """
        bits = self.client_max_window_bits if client else self.server_max_window_bits
        settings: dict[str, Any] = {
            "level": self.level,
            "method": zlib.DEFLATED,
            "wbits": -max(bits, 9),
            "memLevel": self.mem_level,
        }
        if bits == 8:
            settings["strategy"] = zlib.Z_HUFFMAN_ONLY
        return settings

    def decompress_bits(self, client: bool) -> int:
        """The window to decompress the peer's messages with (at least 9: a peer that
        promised 8 may, through zlib, use 9)."""
        return max(self.server_max_window_bits if client else self.client_max_window_bits, 9)

    def answer(self) -> str:
        """The ``Sec-WebSocket-Extensions`` value a server answers with."""
        parts = [EXTENSION_NAME]
        if self.server_no_context_takeover:
            parts.append("server_no_context_takeover")
        if self.client_no_context_takeover:
            parts.append("client_no_context_takeover")
        if self.server_max_window_bits < 15:
            parts.append(f"server_max_window_bits={self.server_max_window_bits}")
        if self.client_max_window_bits < 15:
            parts.append(f"client_max_window_bits={self.client_max_window_bits}")
        return "; ".join(parts)


@dataclass(frozen=True)
class Deflate:
    """permessage-deflate settings (``compression=Deflate(...)``; ``compression=None``
    turns it off).

    ``server_max_window_bits`` / ``client_max_window_bits`` (8-15): the window each side
    compresses with. None is the role's default, websockets' choice: a server
    compresses with 12 bits and asks a client that allows it for 12; a client
    compresses with 15 unless the server asks for less, and does not limit the server.
    ``*_no_context_takeover``: reset that side's compressor after every message (less
    memory, less compression); requested by a client, imposed by a server. ``level``
    and ``mem_level`` are zlib's (``mem_level=5`` keeps a compressor near 32 KiB).
    """

    server_max_window_bits: int | None = None
    client_max_window_bits: int | None = None
    server_no_context_takeover: bool = False
    client_no_context_takeover: bool = False
    level: int = 6
    mem_level: int = 5

    def __post_init__(self) -> None:
        for name in ("server_max_window_bits", "client_max_window_bits"):
            value = getattr(self, name)
            if value is not None and not 8 <= value <= 15:
                raise ValueError(f"{name}={value!r}: a window size is from 8 to 15")
        if not -1 <= self.level <= 9:
            raise ValueError(f"level={self.level!r}: zlib levels are -1 to 9")
        if not 1 <= self.mem_level <= 9:
            raise ValueError(f"mem_level={self.mem_level!r}: zlib memory levels are 1 to 9")

    # -- client side ------------------------------------------------------------------
    def offer(self) -> str:
        """The ``Sec-WebSocket-Extensions`` value a client offers."""
        parts = [EXTENSION_NAME]
        if self.server_no_context_takeover:
            parts.append("server_no_context_takeover")
        if self.client_no_context_takeover:
            parts.append("client_no_context_takeover")
        if self.server_max_window_bits is not None and self.server_max_window_bits < 15:
            parts.append(f"server_max_window_bits={self.server_max_window_bits}")
        if self.client_max_window_bits is None or self.client_max_window_bits == 15:
            parts.append("client_max_window_bits")  # the server may ask for less
        else:
            parts.append(f"client_max_window_bits={self.client_max_window_bits}")
        return "; ".join(parts)

    def agree(self, values: Iterable[str]) -> DeflateParams | None:
        """A client checks the server's answer to :meth:`offer`: the agreement, or None
        when the server declined. Raises ValueError naming what is wrong with it."""
        answers = parse_extensions(values)
        if not answers:
            return None
        if len(answers) > 1 or answers[0][0] != EXTENSION_NAME:
            names = ", ".join(name for name, _ in answers)
            raise ValueError(
                f"unrequested extensions: {names} (only permessage-deflate was offered)"
            )
        found = _params(answers[0][1])
        server_bits = (
            _window("server_max_window_bits", found.get("server_max_window_bits"), optional=False)
            if "server_max_window_bits" in found
            else 15
        )
        limit = self.server_max_window_bits or 15
        if server_bits is not None and server_bits > limit:
            raise ValueError(f"server_max_window_bits={server_bits} exceeds the offered {limit}")
        ours = self.client_max_window_bits or 15
        client_bits = ours
        if "client_max_window_bits" in found:
            asked = _window(
                "client_max_window_bits", found["client_max_window_bits"], optional=False
            )
            assert asked is not None
            if asked > ours:
                raise ValueError(f"client_max_window_bits={asked} exceeds the offered {ours}")
            client_bits = asked
        if self.server_no_context_takeover and "server_no_context_takeover" not in found:
            raise ValueError("the server ignored the requested server_no_context_takeover")
        return DeflateParams(
            server_no_context_takeover="server_no_context_takeover" in found,
            client_no_context_takeover=(
                self.client_no_context_takeover or "client_no_context_takeover" in found
            ),
            server_max_window_bits=server_bits or 15,
            client_max_window_bits=client_bits,
            level=self.level,
            mem_level=self.mem_level,
        )

    # -- server side ------------------------------------------------------------------
    def accept(self, values: Iterable[str]) -> DeflateParams | None:
        """A server picks the first acceptable permessage-deflate offer of a handshake's
        ``Sec-WebSocket-Extensions`` fields; None when there is none (or the field is
        malformed). Answer with :meth:`rttp.plugin.DeflateParams.answer`."""
        try:
            extensions = parse_extensions(values)
        except ValueError:
            return None
        for name, params in extensions:
            if name != EXTENSION_NAME:
                continue
            try:
                found = _params(params)
                server_limit = (
                    _window(
                        "server_max_window_bits",
                        found["server_max_window_bits"],
                        optional=False,
                    )
                    if "server_max_window_bits" in found
                    else 15
                )
                client_offer = (
                    _window(
                        "client_max_window_bits",
                        found["client_max_window_bits"],
                        optional=True,
                    )
                    or 15
                    if "client_max_window_bits" in found
                    else None
                )
            except ValueError:
                continue  # §7.1: decline this offer, consider the next
            assert server_limit is not None
            server_bits = min(self.server_max_window_bits or 12, server_limit)
            if client_offer is None:
                client_bits = 15  # the client did not allow us to limit it
            else:
                client_bits = min(self.client_max_window_bits or 12, client_offer)
            return DeflateParams(
                server_no_context_takeover=(
                    self.server_no_context_takeover or "server_no_context_takeover" in found
                ),
                client_no_context_takeover=(
                    self.client_no_context_takeover or "client_no_context_takeover" in found
                ),
                server_max_window_bits=server_bits,
                client_max_window_bits=client_bits,
                level=self.level,
                mem_level=self.mem_level,
            )
        return None
