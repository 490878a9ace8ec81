"""Where ``rttp serve`` listens, beyond its bind URLs: the TLS context its ``--ssl-*``
options make, and a listening socket a process manager hands it (``--fd``)."""

from __future__ import annotations

import argparse
import socket
import ssl
from typing import Any

from .._io.net._tls import server_context
from ..errors import TLSError
from ._errors import CLIError

__all__ = ["inherited_socket", "tls_context"]


def tls_context(args: argparse.Namespace, settings: dict[str, Any]) -> ssl.SSLContext:
    """The server's TLS context with the --ssl-* options uvicorn users reach for."""
    try:
        context = server_context(
            settings["certfile"], settings.get("keyfile"), password=args.ssl_keyfile_password
        )
        if args.ssl_ca_certs:
            context.load_verify_locations(args.ssl_ca_certs)
        if args.ssl_cert_reqs is not None:
            context.verify_mode = ssl.VerifyMode(args.ssl_cert_reqs)
        if args.ssl_ciphers:
            context.set_ciphers(args.ssl_ciphers)
    except (OSError, ssl.SSLError, TLSError) as exc:
        raise CLIError(f"TLS options: {exc}") from None
    return context


def inherited_socket(
    fd: int, tls: bool, settings: dict[str, Any]
) -> tuple[list[str], list[list[socket.socket]]]:
    """``--fd N``: the bind target the listening socket on descriptor N stands for, and
    the socket (one worker only: a pool binds its own)."""
    if settings.get("workers", 1) > 1:
        raise CLIError("--fd serves one process's socket; drop --workers")
    try:
        sock = socket.socket(fileno=fd)
        address = sock.getsockname()
    except OSError as exc:
        raise CLIError(f"--fd {fd}: {exc.strerror or exc}") from None
    if sock.family == socket.AF_UNIX:
        return [f"unix:{address}"], [[sock]]
    host = f"[{address[0]}]" if sock.family == socket.AF_INET6 else address[0]
    return [f"{'https' if tls else 'http'}://{host}:{address[1]}"], [[sock]]
