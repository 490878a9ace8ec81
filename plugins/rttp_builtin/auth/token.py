"""The ``token`` auth scheme: audience-scoped tokens from a token service.

Client only: ``rttp.auth.token(service_url, audience, ("user", "password"))``. Before
the first request (and whenever the token has expired) it asks the service for a token
for ``audience`` (``POST <service>/token``, authenticated with the inner credentials),
then sends ``Authorization: Bearer <token>``; a 401 on a token that came from its cache
fetches a new one, once. The services that receive it verify it as ``bearer`` tokens
(:class:`rttp.auth.TokenVerifier`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Generator
from typing import Any
from urllib.parse import urlencode

from rttp.errors import AuthError
from rttp.plugin import AuthScheme, ClientAuth, Request, Response, TokenCredentials, hookimpl

from ._common import credential_pair
from .basic import BasicAuth

__all__ = ["Token", "TokenAuth"]

#: a token is renewed this many seconds before the service says it expires
_EARLY = 5.0


class TokenAuth(ClientAuth):
    """Fetches, caches and sends an audience-scoped token."""

    requires_response_body = True

    def __init__(self, service: str, audience: str, inner: ClientAuth) -> None:
        self.service = service.rstrip("/")
        self.audience = audience
        self.inner = inner
        self.token: str | None = None
        self.expires_at = 0.0

    def token_request(self) -> Request:
        """The ``POST <service>/token`` asking for a token for the audience."""
        body = urlencode({"audience": self.audience}).encode("ascii")
        return Request(
            "POST",
            f"{self.service}/token",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            body=body,
        )

    def take_answer(self, response: Response) -> str:
        """The token in the service's answer (kept, with its expiry); AuthError when the
        service refused (``status`` its status) or answered something else than
        ``{"token": str, "expires_in": number}`` (``error`` ``"malformed_answer"``)."""
        body = response.content
        if response.status != 200:
            text = body[:200].decode("utf-8", "replace").strip()
            raise AuthError(
                f"the token service {self.service} refused a token for audience "
                f"{self.audience!r} with status {response.status}" + (f": {text}" if text else ""),
                status=response.status,
                scheme="token",
            )
        try:
            answer = json.loads(body)
            token = answer["token"]
            lifetime = float(answer.get("expires_in", 60))
            if not isinstance(token, str) or not token:
                raise TypeError("token is not a non-empty str")
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise AuthError(
                f"malformed answer from the token service {self.service}: {exc}",
                status=600,
                error="malformed_answer",
                scheme="token",
            ) from exc
        self.token, self.expires_at = token, time.monotonic() + lifetime - _EARLY
        return token

    def fetch(self) -> Generator[Request, Response, str]:
        """A flow that asks the service for a token and returns it."""
        flow = self.inner.auth_flow(self.token_request())
        if not isinstance(flow, Generator):
            raise AuthError(
                "a token service's credentials must have a sans-IO flow", scheme="token"
            )
        request = next(flow)
        while True:
            response = yield request
            try:
                request = flow.send(response)
            except StopIteration:
                return self.take_answer(response)

    def auth_flow(self, request: Request) -> Generator[Request, Response, None]:
        fresh = False
        if self.token is None or time.monotonic() >= self.expires_at:
            yield from self.fetch()
            fresh = True
        request.headers["Authorization"] = f"Bearer {self.token}"
        response = yield request
        if response.status == 401 and not fresh:
            yield from self.fetch()
            request.headers["Authorization"] = f"Bearer {self.token}"
            yield request

    def __repr__(self) -> str:
        return f"TokenAuth({self.service!r}, {self.audience!r})"


class Token(AuthScheme):
    """Audience-scoped tokens (client side; servers verify them as ``bearer``)."""

    name = "token"

    def auth(self, credentials: Any) -> ClientAuth:
        if not isinstance(credentials, TokenCredentials):
            raise AuthError(
                "token credentials are a TokenCredentials(service, audience, auth) (made by "
                f"rttp.auth.token(...)), got {type(credentials).__name__}",
                scheme="token",
            )
        inner = credentials.auth
        if not isinstance(inner, ClientAuth):
            inner = BasicAuth(*credential_pair(inner, "token"))
        return TokenAuth(credentials.service, credentials.audience, inner)


@hookimpl
def rttp_register_auth_schemes(register: Any) -> None:
    """Register ``token``."""
    register(Token())
