"""What RTTP messages (seed 000) are, apart from sending them: :class:`Message`, its
checks and text form, where a destination goes, and the HTTP answer a message
handler's reply becomes."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._model import URL, Response
from .._model import code_name as _code_name
from ..errors import MessageError

__all__ = [
    "ID_HEADER",
    "Handler",
    "Message",
    "destination",
    "plain",
    "reply_response",
    "string_message",
    "valid",
]

log = logging.getLogger("rttp.messages")

#: the header carrying a message's id (the reply echoes it)
ID_HEADER = "X-RTTP-Id"

Handler = Callable[[str, dict[str, Any], Any, "Message"], Any]


@dataclass
class Message:
    """An RTTP message: a request or a reply (``header["code"]`` is set on replies)."""

    origin: str
    dest: str
    id: int
    header: dict[str, Any] = field(default_factory=dict)
    body: Any = None

    @property
    def is_reply(self) -> bool:
        """True for a reply (it has a code)."""
        return "code" in self.header


def valid(message: object) -> bool:
    """Whether ``message`` is a well-formed RTTP message (request or reply)."""
    if not isinstance(message, Message) or not isinstance(message.id, int):
        return False
    header = message.header
    if not isinstance(header, dict) or header.get("type") != "rttp":
        return False
    if "code" in header:
        return isinstance(header["code"], int) and isinstance(header.get("content_type"), str)
    return isinstance(header.get("method"), str) and isinstance(header.get("path"), str)


def string_message(message: Message) -> str:
    """A one-line description of a message, for debugging and logs."""
    header = message.header
    if "code" in header:
        what = f"reply {header['code']} {_code_name(header['code'])} ({header.get('content_type')})"
    else:
        what = f"request {header.get('method')} {header.get('path')} ({header.get('content_type')})"
    return f"rttp #{message.id} {message.origin} -> {message.dest}: {what} {message.body!r}"


def destination(dest: str | int, names: Mapping[str, str]) -> URL:
    """The base URL of a destination: a URL, ``host:port``, an IP (or an IPv4 address as
    a 32-bit int, as in the seed), or a name from the endpoint's table."""
    if isinstance(dest, int) and not isinstance(dest, bool):
        if not 0 <= dest < 1 << 32:
            raise MessageError("send_fail", f"destination {dest} is not an IPv4 address")
        return URL(f"rttp://{ipaddress.IPv4Address(dest)}/")
    if not isinstance(dest, str) or not dest:
        raise MessageError("send_fail", f"destination must be a str or an int, got {dest!r}")
    if dest in names:
        return destination(names[dest], {})
    if "://" in dest:
        return URL(dest)
    try:
        address = ipaddress.ip_address(dest.strip("[]"))
    except ValueError:
        return URL(f"rttp://{dest}/")  # host:port, or a name left to the DNS
    return URL(f"rttp://[{address}]/" if address.version == 6 else f"rttp://{address}/")


def plain(code: int, text: str) -> Response:
    return Response(code, {"Content-Type": "text/plain; charset=utf-8"}, text)


def reply_response(result: Any, message_id: int) -> Response:
    """The handler's ``(code, content_type, body[, head])`` as an HTTP answer, or the
    generic 500 when it is malformed (the peer never sees why)."""
    if not isinstance(result, tuple) or len(result) not in (3, 4):
        log.error("the message handler returned %r, not (code, content_type, body[, head])", result)
        return plain(500, "Internal Server Error: the message handler failed")
    code, content_type, body = result[:3]
    head = result[3] if len(result) == 4 else None
    if not isinstance(code, int) or not isinstance(content_type, str) or body is None:
        log.error("the message handler returned a malformed reply: %r", result)
        return plain(500, "Internal Server Error: the message handler failed")
    headers: list[tuple[str, str]] = [(ID_HEADER, str(message_id))]
    for name, value in (head or {}).items():
        if name == "redirect":
            headers.append(("Location", str(value)))
        elif name == "upgrade":
            headers.append(("Upgrade", str(value)))
        elif name == "cookies" and isinstance(value, Mapping):
            for cookie, text in value.items():
                attrs = "; Path=/" + ("; Max-Age=0" if not text else "")
                headers.append(("Set-Cookie", f"{cookie}={text}{attrs}"))
    if content_type == "none":
        return Response(code, headers)
    return Response(code, headers, value=body, content_type=content_type)
