"""The ``basic`` auth scheme (RFC 7617), user names and passwords in UTF-8.

Client: ``auth=("user", "password")``. Server: a policy's ``check_password`` callback
decides; the challenge announces ``charset="UTF-8"``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Generator
from typing import Any

from rttp.errors import AuthError
from rttp.plugin import (
    AuthPolicy,
    AuthScheme,
    ClientAuth,
    Identity,
    Request,
    Response,
    hookimpl,
    quote,
)

from ._common import credential_pair

__all__ = ["Basic", "BasicAuth", "basic_header"]


# pragma: no mutate start (the client's side: what it sends, not what it lets in)
def basic_header(username: str, password: str) -> str:
    """The ``Authorization`` value for ``username`` and ``password``."""
    if ":" in username:
        raise AuthError(
            f"a basic-auth user name cannot contain ':' (RFC 7617), got {username!r}",
            scheme="basic",
        )
    raw = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


class BasicAuth(ClientAuth):
    """Sends ``Authorization: Basic …`` with every request."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self._header = basic_header(username, password)

    def auth_flow(self, request: Request) -> Generator[Request, Response, None]:
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return f"BasicAuth({self.username!r}, '***')"


# pragma: no mutate end


class Basic(AuthScheme):
    """RFC 7617."""

    name = "basic"

    def auth(self, credentials: Any) -> ClientAuth:
        return BasicAuth(*credential_pair(credentials, "basic"))  # pragma: no mutate

    def configured(self, policy: AuthPolicy) -> bool:
        return policy.check_password is not None

    async def verify(self, request: Request, credentials: str, policy: AuthPolicy) -> Identity:
        try:
            decoded = base64.b64decode(credentials.encode("ascii"), validate=True).decode(
                "utf-8"
            )  # pragma: no mutate (case)
        except (UnicodeError, binascii.Error) as exc:
            raise AuthError(
                "malformed Basic credentials: not the base64 of UTF-8 'user:password'",
                scheme="basic",
            ) from exc
        user, colon, password = decoded.partition(":")
        if not colon:
            raise AuthError(
                "malformed Basic credentials: no ':' after the user name", scheme="basic"
            )
        assert policy.check_password is not None
        result = await policy.check_password(user, password)
        if isinstance(result, Identity):
            return result
        if result is True:
            return Identity(user, "basic")
        raise AuthError(f"wrong user name or password for user {user!r}", scheme="basic")

    def challenge(self, policy: AuthPolicy, error: AuthError | None = None) -> str:
        return f'Basic realm={quote(policy.realm)}, charset="UTF-8"'


@hookimpl
def rttp_register_auth_schemes(register: Any) -> None:
    """Register ``basic``."""
    register(Basic())
