"""The head a client sends: a request's own fields, then the client's defaults it
lacks (User-Agent, Accept, Accept-Encoding), worked out once per client."""

from __future__ import annotations

from typing import Final

from ..._model import Request
from ..engine._framing import request_head

__all__ = ["RequestHeads"]

_NOTHING: Final[frozenset[bytes]] = frozenset()


class RequestHeads:
    """A client's default request fields, and the wire head of each request."""

    __slots__ = ("_accept_encoding", "_defaults", "_user_agent")

    def __init__(self, user_agent: bytes | None, accept_encoding: bytes | None) -> None:
        self._user_agent = user_agent
        #: None when responses are not decoded (or no encoding is loaded)
        self._accept_encoding = accept_encoding
        self._defaults = self.defaults(_NOTHING)

    def defaults(self, present: frozenset[bytes] | set[bytes]) -> list[tuple[bytes, bytes]]:
        """The default fields a request lacks (``present``: its lower-cased names)."""
        defaults = []
        if b"user-agent" not in present and self._user_agent:
            defaults.append((b"User-Agent", self._user_agent))
        if b"accept" not in present:
            defaults.append((b"Accept", b"*/*"))
        if b"accept-encoding" not in present and self._accept_encoding:
            defaults.append((b"Accept-Encoding", self._accept_encoding))
        return defaults

    def head(self, request: Request) -> tuple[bytes, bytes, list[tuple[bytes, bytes]]]:
        """The method, target and wire headers: the request's own, then the defaults."""
        given = request.headers.raw
        if given:
            present: frozenset[bytes] | set[bytes] = {name.lower() for name, _ in given}
            return request_head(request, self.defaults(present), present)
        # the common case: the defaults were worked out once
        return request_head(request, self._defaults, _NOTHING)
