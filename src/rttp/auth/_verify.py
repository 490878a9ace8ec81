"""Verifying audience-scoped tokens from any token service, through its JWKS."""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import jwt
import trio

from .._proto._authscheme import Identity
from ..errors import AuthError, RTTPError
from ._keys import ACCEPTED_ALGORITHMS

if TYPE_CHECKING:
    from ._service import TokenService

__all__ = ["TokenVerifier"]

log = logging.getLogger("rttp.auth")


def _refused(message: str) -> AuthError:
    return AuthError(message, error="invalid_token", scheme="bearer")


def identity_of(claims: Mapping[str, Any]) -> Identity:
    """The Identity a verified token's claims describe."""
    scope = claims.get("scope")
    permissions = set(scope.split()) if isinstance(scope, str) else set()
    listed = claims.get("permissions")
    if isinstance(listed, list):
        permissions.update(str(p) for p in listed)
    aud = claims.get("aud")
    audiences = {aud} if isinstance(aud, str) else set(aud or ())
    return Identity(
        str(claims["sub"]),
        "bearer",
        claims=dict(claims),
        permissions=frozenset(permissions),
        audiences=frozenset(audiences),
    )


class TokenVerifier:
    """Verifies the tokens of one token service for one ``audience``.

    ``source`` is the service's JWKS URL (fetched with :class:`rttp.Client`, cached for
    ``cache_lifetime`` seconds, and fetched again when a token names an unknown
    ``kid``, at most once every ``min_refresh_interval`` seconds), a JWK set as a
    mapping, or a :class:`TokenService` in the same process. ``issuer``, when given,
    must be the tokens' ``iss``. ``client_settings`` are passed to the Client (``verify=``
    a CA file, say).

    Await ``verifier.verify(token)``, or pass the verifier itself as
    ``rttp.auth.require(verify_token=verifier)``. Refusals are
    :class:`~rttp.errors.AuthError` with ``error="invalid_token"`` and the reason.
    """

    def __init__(
        self,
        source: str | Mapping[str, Any] | TokenService,
        *,
        audience: str,
        issuer: str | None = None,
        leeway: float = 0.0,
        algorithms: tuple[str, ...] = ACCEPTED_ALGORITHMS,
        cache_lifetime: float = 300.0,
        min_refresh_interval: float = 30.0,
        client_settings: Mapping[str, Any] | None = None,
    ) -> None:
        bad = [a for a in algorithms if a not in ACCEPTED_ALGORITHMS]
        if bad:
            raise ValueError(
                f"algorithm {bad[0]!r} is not accepted for tokens (only {', '.join(ACCEPTED_ALGORITHMS)})"
            )
        self.source = source
        self.audience = audience
        self.issuer = issuer
        self.leeway = leeway
        self.algorithms = algorithms
        self.cache_lifetime = cache_lifetime
        self.min_refresh_interval = min_refresh_interval
        self.client_settings: dict[str, Any] = dict(client_settings or {})
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = trio.Lock()
        #: how many times the JWKS was fetched (for tests and metrics)
        self.fetches: int = 0

    # -- keys -------------------------------------------------------------------------------
    async def _jwks(self) -> Mapping[str, Any]:
        source = self.source
        if isinstance(source, Mapping):
            return source
        if not isinstance(source, str):
            return source.jwks()
        from .._io.client._client import Client

        try:
            async with Client(**self.client_settings) as client:
                response = await client.get(source, timeout=10.0)
        except RTTPError as exc:
            raise AuthError(
                f"cannot fetch the signing keys from {source}: {exc}", status=503
            ) from exc
        if response.status != 200:
            raise AuthError(
                f"cannot fetch the signing keys from {source}: status {response.status}",
                status=503,
            )
        try:
            value = response.json()
        except ValueError as exc:
            raise AuthError(f"the JWKS at {source} is not JSON: {exc}", status=503) from exc
        if not isinstance(value, Mapping):
            raise AuthError(f"the JWKS at {source} is not a JSON object", status=503)
        return value

    async def _refresh(self, wanted: str | None) -> None:
        async with self._lock:
            now = time.monotonic()
            if wanted is not None and wanted in self._keys:
                return  # another task fetched it while this one waited
            if self._fetched_at is not None and now - self._fetched_at < self.min_refresh_interval:
                return  # rate limit: an unknown kid does not make us hammer the service
            jwks = await self._jwks()
            keys: dict[str, jwt.PyJWK] = {}
            for entry in jwks.get("keys", ()):
                try:
                    key = jwt.PyJWK(entry)
                except (jwt.PyJWKError, jwt.InvalidKeyError, KeyError, TypeError) as exc:
                    log.warning("skipping an unusable key in %s: %s", self.source, exc)
                    continue
                kid = entry.get("kid")
                if isinstance(kid, str) and key.algorithm_name in self.algorithms:
                    keys[kid] = key
            self._keys, self._fetched_at = keys, now
            self.fetches += 1

    async def _key(self, kid: str) -> jwt.PyJWK:
        stale = (
            self._fetched_at is None or time.monotonic() - self._fetched_at > self.cache_lifetime
        )
        if stale or kid not in self._keys:
            await self._refresh(kid)
        key = self._keys.get(kid)
        if key is None:
            raise _refused(f"the token's key id {kid!r} is not one of the service's keys")
        return key

    # -- verification -------------------------------------------------------------------------
    async def verify(self, token: str) -> Identity:
        """The Identity ``token`` proves, or AuthError saying why it is refused."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as exc:
            raise _refused(f"malformed token: {exc}") from exc
        algorithm = header.get("alg")
        if algorithm is None or str(algorithm).lower() == "none":
            raise _refused("unsigned tokens (alg=none) are refused")
        if algorithm not in self.algorithms:
            raise _refused(
                f"token algorithm {algorithm!r} is not accepted (accepted: {', '.join(self.algorithms)})"
            )
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise _refused("the token has no key id (kid)")
        key = await self._key(kid)
        if key.algorithm_name != algorithm:
            raise _refused(
                f"key {kid!r} is for {key.algorithm_name}, but the token says {algorithm}"
            )
        required = ["exp", "iat", "sub", "aud"] + (["iss"] if self.issuer else [])
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": required},
            )
        except jwt.ExpiredSignatureError as exc:
            raise _refused(f"the token has expired{_when(token, 'exp')}") from exc
        except jwt.ImmatureSignatureError as exc:
            raise _refused(f"the token is not valid yet{_when(token, 'nbf')}") from exc
        except jwt.InvalidAudienceError as exc:
            raise _refused(
                f"wrong audience: the token is for {_claim(token, 'aud')!r}, "
                f"this service is {self.audience!r}"
            ) from exc
        except jwt.InvalidIssuerError as exc:
            raise _refused(
                f"wrong issuer {_claim(token, 'iss')!r}, expected {self.issuer!r}"
            ) from exc
        except jwt.InvalidSignatureError as exc:
            raise _refused("bad signature: the token was not signed by the service's key") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise _refused(f"the token lacks the {exc.claim!r} claim") from exc
        except jwt.InvalidTokenError as exc:
            raise _refused(f"invalid token: {exc}") from exc
        return identity_of(claims)

    async def __call__(self, token: str) -> Identity:
        """:meth:`verify` (so the verifier is a ``verify_token`` callback)."""
        return await self.verify(token)

    def __repr__(self) -> str:
        return f"<TokenVerifier audience={self.audience!r} source={self.source!r}>"


def _claim(token: str, name: str) -> Any:
    try:
        return jwt.decode(token, options={"verify_signature": False}).get(name)
    except jwt.InvalidTokenError:  # pragma: no cover - it decoded once already
        return None


def _when(token: str, name: str) -> str:
    value = _claim(token, name)
    if not isinstance(value, (int, float)):
        return ""
    moment = datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    return f" ({name} {moment.isoformat(timespec='seconds')})"
