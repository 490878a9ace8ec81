"""The Moonbridge-style face (seed 004): sockets and the I/O library.

The pre-fork pool (``listen``) and the HTTP module (``generate_handler``) build on these.
"""

from __future__ import annotations

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
from ._socket import ReadStatus, Socket

__all__ = [
    "Listener",
    "ReadStatus",
    "Socket",
    "localconnect",
    "localconnect_nb",
    "locallisten",
    "poll",
    "tcpconnect",
    "tcpconnect_nb",
    "tcplisten",
]
