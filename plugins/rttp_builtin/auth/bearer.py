"""The ``bearer`` auth scheme (RFC 6750).

Client: ``auth="token"``, or ``rttp.auth.bearer(token, refresh=callback)`` to fetch a
new token once when the server says the old one is no longer good. Server: a policy's
``verify_token`` (a callback, or a :class:`rttp.auth.TokenVerifier`) decides; a refusal
is worded in the challenge's ``error`` and ``error_description``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from typing import Any

from rttp.errors import AuthError
from rttp.plugin import (
    AuthFlow,
    AuthPolicy,
    AuthScheme,
    ClientAuth,
    Identity,
    Request,
    Response,
    challenge_error,
    hookimpl,
    quote,
)

__all__ = ["Bearer", "BearerAuth"]

_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


class BearerAuth(ClientAuth):
    """Sends ``Authorization: Bearer <token>``. With ``refresh`` (an async callable
    returning a new token), a 401 whose challenge does not name another error than
    ``invalid_token`` gets one retry with the refreshed token."""

    def __init__(self, token: str, refresh: Callable[[], Awaitable[str]] | None = None) -> None:
        if not _TOKEN68.fullmatch(token):
            raise AuthError("a bearer token must be token68 characters (RFC 6750)", scheme="bearer")
        self.token = token
        self.refresh = refresh

    def auth_flow(self, request: Request) -> AuthFlow:
        if self.refresh is None:
            return self._once(request)
        return self._refreshing(request)

    def _once(self, request: Request) -> Generator[Request, Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request

    async def _refreshing(self, request: Request) -> AsyncGenerator[Request, Response]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        response = yield request
        refusal = challenge_error(response)
        if response.status != 401 or refusal is None or refusal.error not in ("", "invalid_token"):
            return
        assert self.refresh is not None
        self.token = await self.refresh()
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth('***')"


class Bearer(AuthScheme):
    """RFC 6750."""

    name = "bearer"

    def auth(self, credentials: Any) -> ClientAuth:
        if isinstance(credentials, str):
            return BearerAuth(credentials)
        if isinstance(credentials, tuple) and len(credentials) == 2 and callable(credentials[1]):
            return BearerAuth(credentials[0], credentials[1])
        raise AuthError(
            "bearer credentials are a token str or a (token, refresh) pair, got "
            f"{type(credentials).__name__}",
            scheme="bearer",
        )

    def configured(self, policy: AuthPolicy) -> bool:
        return policy.verify_token is not None

    async def verify(self, request: Request, credentials: str, policy: AuthPolicy) -> Identity:
        if not _TOKEN68.fullmatch(credentials):
            raise AuthError(
                "malformed Bearer credentials: expected one token68 value",
                status=400,
                error="invalid_request",
                scheme="bearer",
            )
        assert policy.verify_token is not None
        identity = await policy.verify_token(credentials)
        if identity is None:
            raise AuthError("the token was refused", error="invalid_token", scheme="bearer")
        return identity

    def challenge(self, policy: AuthPolicy, error: AuthError | None = None) -> str:
        parts = [f"Bearer realm={quote(policy.realm)}"]
        if error is not None and error.error:
            parts.append(f"error={quote(error.error)}")
            parts.append(f"error_description={quote(_printable(error.description))}")
        return ", ".join(parts)


def _printable(text: str) -> str:
    """RFC 6750 §3: error_description is printable ASCII without backslash and quote."""
    return "".join(ch if " " <= ch <= "~" and ch not in '\\"' else "?" for ch in text)


@hookimpl
def rttp_register_auth_schemes(register: Any) -> None:
    """Register ``bearer``."""
    register(Bearer())
