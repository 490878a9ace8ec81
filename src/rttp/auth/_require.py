"""Requiring auth on the server: :func:`require` and the :class:`Guard` it returns."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any, TypeVar, overload

from .._io._util import call_maybe_async
from .._model import Headers, Request, Response
from .._plugins import Plugins, get_plugins
from .._proto._auth import parse_credentials
from .._proto._authscheme import (
    AuthPolicy,
    AuthScheme,
    Identity,
    PasswordCheck,
    PasswordLookup,
    TokenCheck,
)
from ..errors import AuthError

__all__ = ["Guard", "require", "secrets_equal"]

_H = TypeVar("_H", bound=Callable[..., Any])


def secrets_equal(given: str | bytes, expected: str | bytes) -> bool:
    """Compare two secrets in time that does not depend on where they differ."""
    a = given.encode("utf-8") if isinstance(given, str) else given  # pragma: no mutate
    b = expected.encode("utf-8") if isinstance(expected, str) else expected  # pragma: no mutate
    return hmac.compare_digest(a, b)


def users_check(users: Mapping[str, str]) -> PasswordCheck:
    """A password check against a ``{user: password}`` table, in constant time."""

    async def check(user: str, password: str) -> bool:
        expected = users.get(user)
        placeholder = "\0" * 16  # pragma: no mutate (any value: compared only for the timing)
        if expected is None:
            secrets_equal(password, placeholder)  # the same work, so timing says nothing
            return False
        return secrets_equal(password, expected)

    return check


def users_lookup(users: Mapping[str, str]) -> PasswordLookup:
    """A digest password lookup in a ``{user: password}`` table."""

    async def lookup(user: str, realm: str) -> str | None:
        return users.get(user)

    return lookup


class Guard:
    """Checks ``Authorization`` on the requests it sees; made by :func:`require`.

    - As an App filter: ``app.any("*", guard)`` (or a path): a refused request gets its
      401/403, an accepted one goes on with ``request.identity`` set.
    - As a handler wrapper: ``@guard`` above a handler (an App route or a
      :class:`rttp.Server` handler).
    - In code: ``identity = await guard.check(request)`` raises
      :class:`~rttp.errors.AuthError`.
    """

    def __init__(
        self,
        policy: AuthPolicy,
        schemes: list[AuthScheme],
        *,
        permissions: frozenset[str] = frozenset(),
        audience: str | None = None,
    ) -> None:
        self.policy = policy
        self.schemes = schemes
        self.permissions = permissions
        self.audience = audience
        self._by_name = {scheme.name: scheme for scheme in schemes}

    async def check(self, request: Request) -> Identity:
        """The identity ``request`` proves, also set as ``request.identity``; AuthError
        (``status`` 401, 400 or 403) if it proves none, or one without the audience or
        permissions required."""
        value = request.headers.get("authorization")  # pragma: no mutate (any case)
        if value is None:
            raise AuthError("authentication required: the request has no Authorization")
        name, credentials = parse_credentials(value)
        scheme = self._by_name.get(name)
        if scheme is None:
            raise AuthError(
                f"auth scheme {name!r} is not accepted here (accepted: "
                f"{', '.join(s.name for s in self.schemes)})"
            )
        try:
            identity = await scheme.verify(request, credentials, self.policy)
        except AuthError as exc:
            exc.scheme = exc.scheme or scheme.name
            raise
        if self.audience is not None and self.audience not in identity.audiences:
            raise AuthError(
                f"{identity.name!r} is not authorised for audience {self.audience!r}",
                status=403,
                error="insufficient_scope",
                scheme=scheme.name,
            )
        missing = self.permissions - identity.permissions
        if missing:
            raise AuthError(
                f"{identity.name!r} lacks the permission {', '.join(sorted(missing))}",
                status=403,
                error="insufficient_scope",
                scheme=scheme.name,
            )
        request.identity = identity
        return identity

    def refusal(self, error: AuthError) -> Response:
        """The 401/400/403 answer for ``error``, with a challenge from every scheme."""
        headers = Headers()
        for scheme in self.schemes:
            if error.status == 403 and scheme.name != error.scheme:
                continue  # a 403 names only the scheme the identity came through
            values = scheme.challenge(
                self.policy, error if scheme.name == error.scheme else None
            )  # pragma: no mutate
            for value in [values] if isinstance(values, str) else values:
                headers.add("WWW-Authenticate", value)  # pragma: no mutate (any case)
        title = {400: "Bad Request", 403: "Forbidden"}.get(
            error.status, "Unauthorized"
        )  # pragma: no mutate
        return Response(error.status, headers, f"{error.status} {title}: {error}\n")

    async def filter(self, request: Request) -> Response | None:
        """None (and ``request.identity`` set) if the request proves who it is; else
        the refusal to answer with."""
        try:
            await self.check(request)
        except AuthError as exc:
            return self.refusal(exc)
        return None

    @overload
    def __call__(self, target: Request) -> Awaitable[Response | None]: ...
    @overload
    def __call__(self, target: _H) -> _H: ...
    def __call__(self, target: Any) -> Any:
        if isinstance(target, Request):
            return self.filter(target)
        handler = target

        @functools.wraps(handler)
        async def guarded(request: Request, *rest: Any) -> Any:
            refused = await self.filter(request)
            if refused is not None:
                return refused
            return await call_maybe_async(handler, request, *rest)

        return guarded


def require(
    *schemes: str,
    realm: str = "rttp",
    users: Mapping[str, str] | None = None,
    check_password: PasswordCheck | None = None,
    lookup_password: PasswordLookup | None = None,
    verify_token: TokenCheck | None = None,
    permissions: Collection[str] = (),
    audience: str | None = None,
    secret: bytes | None = None,
    plugins: Plugins | None = None,
) -> Guard:
    """A :class:`Guard` that requires one of ``schemes`` (names of registered auth
    schemes; by default every one this configuration lets verify).

    - ``users``: a ``{user: password}`` table for basic and digest;
    - ``check_password``: ``async (user, password)`` → Identity, True or a false value
      (basic);
    - ``lookup_password``: ``async (user, realm)`` → the password or None (digest);
    - ``verify_token``: ``async (token)`` → Identity (bearer), such as a
      :class:`~rttp.auth.TokenVerifier`;
    - ``permissions``: each must be among the identity's, else 403;
    - ``audience``: must be among the identity's audiences (a token's ``aud``), else 403;
    - ``secret``: the key of digest nonces (give the same one to every worker).
    """
    if users is not None:
        check_password = check_password or users_check(users)
        lookup_password = lookup_password or users_lookup(users)
    policy = AuthPolicy(
        realm=realm,
        check_password=check_password,
        lookup_password=lookup_password,
        verify_token=verify_token,
    )
    if secret is not None:
        policy.secret = secret
    registry = (plugins or get_plugins()).auth_schemes
    if schemes:
        unknown = [name for name in schemes if name.lower() not in registry]
        if unknown:
            raise ValueError(
                f"no auth scheme {unknown[0]!r} is registered (have: {', '.join(sorted(registry))})"
            )
        chosen = [registry[name.lower()] for name in schemes]
        idle = [scheme.name for scheme in chosen if not scheme.configured(policy)]
        if idle:
            raise ValueError(
                f"auth scheme {idle[0]!r} cannot verify with what was given: basic needs "
                "users= or check_password=, digest users= or lookup_password=, bearer "
                "verify_token="
            )
    else:
        chosen = [scheme for scheme in registry.values() if scheme.configured(policy)]
        if not chosen:
            raise ValueError(
                "require() needs something to verify against: users=, check_password=, "
                "lookup_password= or verify_token="
            )
    return Guard(policy, chosen, permissions=frozenset(permissions), audience=audience)
