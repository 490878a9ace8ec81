"""The token service: audience-scoped JWTs (seed 001's ``getAuthToken``) and their JWKS."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import jwt

from .._model import Request, Response
from .._proto._authscheme import Identity, PasswordCheck
from ..errors import AuthError
from ._keys import SigningKey, load_key, new_key
from ._require import require

if TYPE_CHECKING:
    from .._faces._app import App
    from ._verify import TokenVerifier

__all__ = ["TokenService"]

#: a retired key stays in the JWKS this much longer than the tokens it signed can live
_OVERLAP = 60.0
_NO_STORE = {"Content-Type": "application/json", "Cache-Control": "no-store"}


def _json(status: int, value: Any, headers: Mapping[str, str] = _NO_STORE) -> Response:
    return Response(status, dict(headers), json.dumps(value, separators=(",", ":")))


class TokenService:
    """Issues signed, audience-scoped tokens to callers who authenticate.

    ``issuer`` is the ``iss`` of every token (the service's URL, usually). Callers are
    checked against ``users`` (``{user: password}``) or ``authenticate`` (an async
    ``(user, password)`` → Identity, True or a false value), with basic auth. ``keys``
    are private keys (``cryptography`` objects or PEM), the first one signing; by
    default one Ed25519 key is generated. ``algorithm`` is the generated keys'
    (EdDSA, ES256 or RS256). ``lifetime`` is the tokens' in seconds. ``audiences``
    limits what may be asked for: a collection of names, or ``(identity, audience)``
    → bool.

    :meth:`install` puts ``POST /token`` and ``GET /.well-known/jwks.json`` on an App;
    :meth:`rotate` starts signing with a new key while the old one keeps verifying.
    """

    def __init__(
        self,
        issuer: str,
        *,
        users: Mapping[str, str] | None = None,
        authenticate: PasswordCheck | None = None,
        keys: Iterable[Any] | None = None,
        algorithm: str = "EdDSA",
        lifetime: float = 3600.0,
        audiences: Collection[str] | Callable[[Identity, str], bool] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if users is None and authenticate is None:
            raise ValueError("a TokenService needs users= or authenticate= to check callers")
        self.issuer = issuer
        self.lifetime = lifetime
        self.algorithm = algorithm
        self.audiences = audiences
        self.clock = clock
        self._guard = require("basic", realm=issuer, users=users, check_password=authenticate)
        loaded = [load_key(key) for key in keys] if keys is not None else [new_key(algorithm)]
        if not loaded:
            raise ValueError("keys= is empty: give at least one signing key")
        # the signing key last; retired ones before it
        now = clock()
        for older in loaded[1:]:
            older.retired_at = now
        self._keys: list[SigningKey] = [*loaded[1:], loaded[0]]

    # -- keys -------------------------------------------------------------------------------
    @property
    def signing_key(self) -> SigningKey:
        """The key new tokens are signed with."""
        return self._keys[-1]

    def rotate(self, key: Any = None) -> str:
        """Sign with ``key`` from now on (a new one of the ``algorithm`` given by default); the
        previous key still verifies until the tokens it signed have expired. Returns the
        new key's ``kid``."""
        fresh = load_key(key) if key is not None else new_key(self.algorithm)
        self.signing_key.retired_at = self.clock()
        self._keys.append(fresh)
        return fresh.kid

    def jwks(self) -> dict[str, Any]:
        """The public keys as a JWK set: the signing key and the retired ones whose
        tokens may still be alive."""
        now = self.clock()
        self._keys = [
            k
            for k in self._keys
            if k.retired_at is None or now < k.retired_at + self.lifetime + _OVERLAP
        ]
        return {"keys": [dict(k.jwk) for k in reversed(self._keys)]}

    # -- tokens -----------------------------------------------------------------------------
    def issue(
        self,
        subject: str,
        audience: str,
        *,
        permissions: Collection[str] = (),
        claims: Mapping[str, Any] | None = None,
    ) -> str:
        """A token for ``subject`` to present to ``audience``; ``permissions`` become the
        ``scope`` claim, ``claims`` are added as they are."""
        now = int(self.clock())
        payload: dict[str, Any] = {
            **(claims or {}),
            "iss": self.issuer,
            "sub": subject,
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now + int(self.lifetime),
            "jti": secrets.token_urlsafe(16),
        }
        if permissions:
            payload["scope"] = " ".join(sorted(permissions))
        key = self.signing_key
        return jwt.encode(payload, key.private, algorithm=key.algorithm, headers={"kid": key.kid})

    def verifier(self, audience: str, **options: Any) -> TokenVerifier:
        """A verifier of this service's tokens for ``audience``, in the same process."""
        from ._verify import TokenVerifier

        return TokenVerifier(self, audience=audience, issuer=self.issuer, **options)

    def _allowed(self, identity: Identity, audience: str) -> bool:
        if self.audiences is None:
            return True
        if callable(self.audiences):
            return bool(self.audiences(identity, audience))
        return audience in self.audiences

    # -- the routes -------------------------------------------------------------------------
    async def token_route(self, request: Request) -> Response:
        """``POST /token``: basic auth and an ``audience`` (form or query field) → JSON
        ``{"token", "token_type", "expires_in"}``."""
        try:
            identity = await self._guard.check(request)
        except AuthError as exc:
            return self._guard.refusal(exc)
        audience = request.params.get("audience")
        if audience is None and (request.headers.get("content-type") or "").startswith(
            "application/x-www-form-urlencoded"
        ):
            value = (await request.form()).get("audience")
            audience = value if isinstance(value, str) else None
        if not audience:
            return _json(
                400,
                {"error": "invalid_request", "error_description": "no audience field was given"},
            )
        if not self._allowed(identity, audience):
            return _json(
                403,
                {
                    "error": "invalid_target",
                    "error_description": f"{identity.name!r} may not have tokens for {audience!r}",
                },
            )
        token = self.issue(identity.name, audience, permissions=identity.permissions)
        return _json(
            200, {"token": token, "token_type": "Bearer", "expires_in": int(self.lifetime)}
        )

    async def jwks_route(self, request: Request) -> Response:
        """``GET /.well-known/jwks.json``: :meth:`jwks`, cacheable for a minute."""
        return _json(
            200, self.jwks(), {"Content-Type": "application/json", "Cache-Control": "max-age=60"}
        )

    def install(self, app: App, prefix: str = "") -> None:
        """Put ``POST {prefix}/token`` and ``GET {prefix}/.well-known/jwks.json`` on ``app``."""
        app.post(f"{prefix}/token", self.token_route)
        app.get(f"{prefix}/.well-known/jwks.json", self.jwks_route)

    def __repr__(self) -> str:
        return f"<TokenService {self.issuer!r} kid={self.signing_key.kid}>"
