"""The WebSocket opening handshake's keys and checks (RFC 6455 §4), sans-IO.

The handshake travels through trio-rttp's own HTTP/1.1 engine whichever backend frames
the connection afterwards, so what it needs of RFC 6455 lives here: the client's nonce,
the server's accept token, and the server's checks of a handshake request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os

from .._model import Headers

__all__ = ["WEBSOCKET_VERSION", "accept_token", "handshake_problem", "new_key"]

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#: the only version RFC 6455 defines
WEBSOCKET_VERSION = b"13"


def new_key() -> bytes:
    """A client's ``Sec-WebSocket-Key``: 16 random bytes, base64."""
    return base64.b64encode(os.urandom(16))


def accept_token(key: bytes) -> bytes:
    """The ``Sec-WebSocket-Accept`` that answers ``key``."""
    return base64.b64encode(hashlib.sha1(key.strip() + _GUID).digest())


def handshake_problem(headers: Headers, http2: bool = False) -> str | None:
    """What is wrong with a handshake request's fields, or None (the caller checked
    the method and the ``Upgrade``/``Connection`` tokens). ``http2``: an extended
    CONNECT (RFC 8441), which carries no Sec-WebSocket-Key."""
    versions = headers.get_raw(b"sec-websocket-version")  # pragma: no mutate (any case)
    if versions != [WEBSOCKET_VERSION]:
        shown = b", ".join(versions).decode("latin-1") or "none"  # pragma: no mutate
        return f"Sec-WebSocket-Version must be 13 (got {shown})"
    if http2:
        return None
    keys = headers.get_raw(b"sec-websocket-key")  # pragma: no mutate (any case)
    if len(keys) != 1:
        return f"expected one Sec-WebSocket-Key field (got {len(keys)})"
    try:
        nonce = base64.b64decode(keys[0].strip(), validate=True)
    except (binascii.Error, ValueError):
        nonce = b""  # pragma: no mutate (any length but 16 is refused)
    if len(nonce) != 16:
        return f"Sec-WebSocket-Key {keys[0][:40]!r} is not 16 bytes in base64"  # pragma: no mutate
    return None
