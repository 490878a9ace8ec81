"""Translating Trio, ssl and OS exceptions into :mod:`rttp.errors`: the one place it happens."""

from __future__ import annotations

import errno
import socket
import ssl
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import trio

if sys.version_info < (3, 11):  # pragma: no cover
    from exceptiongroup import BaseExceptionGroup

from ...errors import ConnectError, ReadError, RTTPError, TLSError, TransportError, WriteError

__all__ = ["IO_ERRORS", "connect_errors", "io_error", "is_peer_gone"]

_PEER_GONE = (trio.BrokenResourceError, trio.ClosedResourceError, ConnectionError, ssl.SSLError)


def is_peer_gone(exc: BaseException) -> bool:
    """True for the exceptions that mean the peer closed or reset the connection."""
    return isinstance(exc, _PEER_GONE)


def _tls_error(exc: ssl.SSLError, where: str) -> TLSError:
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = exc.verify_message or str(exc)
        return TLSError(
            f"certificate verification failed for {where}: {detail}", verify_failed=True
        )
    return TLSError(f"TLS handshake with {where} failed: {exc.reason or exc}")


@contextmanager
def connect_errors(where: str, host: str | None = None, port: int | None = None) -> Iterator[None]:
    """Map errors raised while connecting to ``where`` (``"example.org:443"``); the
    ConnectErrors carry ``host`` and ``port``."""
    try:
        yield
    except RTTPError:
        raise
    except ssl.SSLError as exc:
        raise _tls_error(exc, where) from exc
    except trio.BrokenResourceError as exc:
        cause = exc.__cause__
        if isinstance(cause, ssl.SSLError):
            raise _tls_error(cause, where) from exc
        raise ConnectError(
            f"connection to {where} broke during setup: {cause or exc}",
            reason="broken",
            host=host,
            port=port,
        ) from exc
    except socket.gaierror as exc:
        raise ConnectError(
            f"cannot resolve {where}: {exc.strerror or exc}", reason="dns", host=host, port=port
        ) from exc
    except OSError as exc:
        if _refused(exc):
            raise ConnectError(
                f"connection to {where} refused", reason="refused", host=host, port=port
            ) from exc
        detail = exc.strerror or str(exc)
        raise ConnectError(
            f"cannot connect to {where}: {detail}", reason="unreachable", host=host, port=port
        ) from exc


def _refused(exc: BaseException) -> bool:
    """True if the error, or every attempt behind it (happy eyeballs), was ECONNREFUSED."""
    if isinstance(exc, OSError) and exc.errno == errno.ECONNREFUSED:
        return True
    cause = exc.__cause__
    if isinstance(cause, BaseExceptionGroup):
        return all(_refused(sub) for sub in cause.exceptions)
    return cause is not None and _refused(cause)


#: What reading from or writing to an open stream raises when the connection breaks.
IO_ERRORS = (trio.BrokenResourceError, trio.ClosedResourceError, OSError, ssl.SSLError)


def io_error(exc: BaseException, where: str, writing: bool = False) -> TransportError:
    """The ReadError/WriteError for one of :data:`IO_ERRORS` (raise it ``from exc``)."""
    kind: type[TransportError] = WriteError if writing else ReadError
    verb = "writing to" if writing else "reading from"
    return kind(f"connection broke while {verb} {where}: {exc.__cause__ or exc}")
