"""The seed 003 enums: Method, Status, Opcode, Closure."""

from __future__ import annotations

import enum
from http import HTTPStatus

__all__ = ["Closure", "Method", "Opcode", "Status"]


class Method(str, enum.Enum):
    """HTTP methods (``Method.get == "GET"``); lookup is case-insensitive: ``Method("get")``."""

    get = "GET"
    head = "HEAD"
    post = "POST"
    put = "PUT"
    delete = "DELETE"
    options = "OPTIONS"
    patch = "PATCH"
    option = "OPTIONS"  # the seed's spelling; an alias of options

    @classmethod
    def _missing_(cls, value: object) -> Method | None:
        if isinstance(value, str):
            upper = value.upper()
            for member in cls:
                if member.value == upper:
                    return member
        return None

    def __str__(self) -> str:
        return self.value


class _StatusBase(enum.IntEnum):
    """The base of :data:`Status`: an int enum whose members know their reason phrase."""

    @property
    def phrase(self) -> str:
        """The standard reason phrase (``Status(404).phrase == "Not Found"``)."""
        return HTTPStatus(self.value).phrase

    @classmethod
    def from_phrase(cls, phrase: str) -> _StatusBase:
        """The status for a reason phrase, case-insensitively (``"not found"`` → 404)."""
        wanted = phrase.strip().lower()
        for member in cls:
            if member.phrase.lower() == wanted:
                return member
        raise ValueError(f"no HTTP status has the reason phrase {phrase!r}")


#: Every standard HTTP status: ``Status.NOT_FOUND == 404``, ``Status(404).phrase``,
#: ``Status.from_phrase("Not Found")``.
Status: type[_StatusBase] = _StatusBase("Status", [(s.name, s.value) for s in HTTPStatus])  # type: ignore[call-arg, arg-type, assignment]
Status.__doc__ = """Every standard HTTP status, both ways: ``Status(404).phrase == "Not Found"``,
``Status.from_phrase("Not Found") == 404``, ``Status.NOT_FOUND == 404``."""


class Opcode(enum.IntEnum):
    """WebSocket opcodes as the socket callbacks see them.

    ``open`` is not a wire opcode: it is the event a socket callback receives when a
    connection opens.
    """

    open = -1
    continuation = 0
    text = 1
    binary = 2
    close = 8
    ping = 9
    pong = 10


class Closure(enum.IntEnum):
    """WebSocket close codes (RFC 6455 §7.4.1)."""

    normal = 1000
    going_away = 1001
    protocol_error = 1002
    unsupported_data = 1003
    no_status = 1005
    abnormal = 1006
    invalid_payload = 1007
    policy_violation = 1008
    message_too_big = 1009
    mandatory_extension = 1010
    unexpected_condition = 1011
    tls_handshake = 1015
