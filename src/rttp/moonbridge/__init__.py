"""The Moonbridge-style face (seed 004): a pre-fork pool of worker processes
(:func:`listen`, :func:`run`, :func:`timeout`), its socket object and its I/O library.

Each blocking call of the seed is an awaitable here (standing for its ``_call`` and
``_yield`` variants too); each ``_nb`` call never waits. Where the seed returns
``nil, message``, a typed :mod:`rttp.errors` exception is raised.
"""

from __future__ import annotations

from ._http import HttpOptions, generate_handler
from ._listen import ListenerSpec, PoolOptions, listen
from ._netio import (
    Listener,
    localconnect,
    localconnect_nb,
    locallisten,
    poll,
    tcpconnect,
    tcpconnect_nb,
    tcplisten,
)
from ._request import HttpRequest
from ._socket import ReadStatus, Socket
from ._supervisor import run
from ._timeout import timeout

__all__ = [
    "HttpOptions",
    "HttpRequest",
    "Listener",
    "ListenerSpec",
    "PoolOptions",
    "ReadStatus",
    "Socket",
    "generate_handler",
    "listen",
    "localconnect",
    "localconnect_nb",
    "locallisten",
    "poll",
    "run",
    "tcpconnect",
    "tcpconnect_nb",
    "tcplisten",
    "timeout",
]
