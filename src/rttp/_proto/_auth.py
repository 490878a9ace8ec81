"""The ``Authorization`` / ``WWW-Authenticate`` grammar of RFC 9110 §11, sans-IO.

A challenge is ``scheme [token68 | auth-param *("," auth-param)]``, and one field may
carry several challenges separated by commas (``Basic realm="a", Digest realm="b",
nonce="n"``): after a comma, a token followed by a space rather than ``=`` starts the
next challenge. Quoted strings may hold commas and ``\\"`` escapes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["Challenge", "parse_auth_params", "parse_challenges", "parse_credentials", "quote"]

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_TOKEN68 = r"[A-Za-z0-9\-._~+/]+=*"
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_SPACE = re.compile(r"[ \t]*")
_SEPARATORS = re.compile(r"[ \t,]*")
_SCHEME = re.compile(_TOKEN)
_PARAM = re.compile(rf"({_TOKEN})[ \t]*=[ \t]*({_TOKEN}|{_QUOTED})")
_TOKEN68_ALONE = re.compile(rf"({_TOKEN68})[ \t]*(?=,|$)")
_UNESCAPE = re.compile(r"\\(.)")


@dataclass
class Challenge:
    """One challenge of a ``WWW-Authenticate`` field: ``scheme`` (lower case), its
    ``params`` (names lower-cased, values unquoted) or its ``token68``."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)
    token68: str | None = None


def _unquote(value: str) -> str:
    if value.startswith('"'):
        return _UNESCAPE.sub(r"\1", value[1:-1])
    return value


def quote(value: str) -> str:
    """``value`` as a quoted-string (backslash and double quote escaped)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _params(text: str, pos: int, params: dict[str, str]) -> int:
    """Read ``name=value`` pairs from ``pos``; return where the next challenge starts."""
    while True:
        pos = _SEPARATORS.match(text, pos).end()  # type: ignore[union-attr]
        if pos >= len(text):
            return pos
        match = _PARAM.match(text, pos)
        if match is None:
            return pos  # not a parameter: the next challenge's scheme (or junk)
        params.setdefault(match.group(1).lower(), _unquote(match.group(2)))
        pos = match.end()


def parse_challenges(values: Iterable[str]) -> list[Challenge]:
    """Every challenge in the given ``WWW-Authenticate`` field values, in order.

    Malformed pieces are skipped, never raised on: a client reads what it can use.
    """
    found: list[Challenge] = []
    for text in values:
        pos = 0
        while True:
            pos = _SEPARATORS.match(text, pos).end()  # type: ignore[union-attr]
            scheme = _SCHEME.match(text, pos)
            if scheme is None:
                break
            challenge = Challenge(scheme.group(0).lower())
            found.append(challenge)
            pos = _SPACE.match(text, scheme.end()).end()  # type: ignore[union-attr]
            if _PARAM.match(text, pos) is None:
                alone = _TOKEN68_ALONE.match(text, pos)
                if alone is not None:
                    challenge.token68 = alone.group(1)
                    pos = alone.end()
                    continue
            start = pos
            pos = _params(text, pos, challenge.params)
            if pos == start and pos < len(text) and text[pos] != ",":
                break  # junk: stop rather than loop
    return found


def parse_credentials(value: str) -> tuple[str, str]:
    """An ``Authorization`` value as ``(scheme in lower case, the rest, stripped)``."""
    scheme, _, rest = value.strip().partition(" ")
    return scheme.lower(), rest.strip()


def parse_auth_params(text: str) -> dict[str, str]:
    """The ``name=value`` list of credentials (a digest ``Authorization``), unquoted."""
    params: dict[str, str] = {}
    _params(text, 0, params)
    return params
