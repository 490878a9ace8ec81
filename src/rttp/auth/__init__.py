"""Auth for clients and servers, and audience-scoped tokens.

Client side, any of these as ``rttp.Client(auth=...)`` or a request's ``auth=``::

    ("user", "password")                 # basic (RFC 7617)
    "a-token"                            # bearer (RFC 6750)
    rttp.auth.digest("user", "password") # digest (RFC 7616)
    rttp.auth.bearer(token, refresh=get_new_token)
    rttp.auth.token("https://id.example/", "chat", ("user", "password"))

Server side, :func:`require` makes a :class:`Guard`: an App filter (``app.any("*",
guard)``) or a handler decorator, which answers 401/403 and sets
``request.identity``. :class:`TokenService` issues audience-scoped tokens (seed 001's
``getAuthToken``; :meth:`rttp.Client.get_auth_token` asks it), and
:class:`TokenVerifier` verifies them in any other service through the JWKS.

The schemes themselves are plugins (``rttp_register_auth_schemes``); PyJWT is needed
only for :class:`TokenService` and :class:`TokenVerifier` (``pip install
'trio-rttp[auth]'``), which are imported on first use.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .._proto._authscheme import (
    AuthPolicy,
    ClientAuth,
    Credentials,
    Identity,
    TokenCredentials,
    challenge_error,
)
from ._require import Guard, require, secrets_equal

if TYPE_CHECKING:
    from ._service import TokenService
    from ._verify import TokenVerifier

__all__ = [
    "AuthPolicy",
    "ClientAuth",
    "Credentials",
    "Guard",
    "Identity",
    "TokenCredentials",
    "TokenService",
    "TokenVerifier",
    "basic",
    "bearer",
    "challenge_error",
    "digest",
    "require",
    "secrets_equal",
    "token",
]


for _public in (Identity, Credentials, TokenCredentials, Guard):
    _public.__module__ = "rttp.auth"
del _public


def basic(username: str, password: str) -> Credentials:
    """Basic credentials (the same as passing ``(username, password)``)."""
    return Credentials("basic", (username, password))


def digest(username: str, password: str) -> Credentials:
    """Digest credentials: the first request's challenge is answered, and later requests
    to that origin answer it up front."""
    return Credentials("digest", (username, password))


def bearer(token: str, refresh: Callable[[], Awaitable[str]] | None = None) -> Credentials:
    """A bearer token; ``refresh`` (async, returning a new token) is called once when the
    server answers 401 to the current one."""
    return Credentials("bearer", token if refresh is None else (token, refresh))


def token(service: str, audience: str, auth: Any) -> Credentials:
    """Audience-scoped tokens: fetched from the :class:`TokenService` at ``service`` for
    ``audience`` with ``auth`` (``(user, password)`` or a ClientAuth), cached until they
    expire, and sent as bearer tokens."""
    return Credentials("token", TokenCredentials(service, audience, auth))


def __getattr__(name: str) -> Any:
    if name == "TokenService":
        from ._service import TokenService

        return TokenService
    if name == "TokenVerifier":
        from ._verify import TokenVerifier

        return TokenVerifier
    raise AttributeError(f"module 'rttp.auth' has no attribute {name!r}")
