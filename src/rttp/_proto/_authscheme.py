"""The auth scheme contract (re-exported from :mod:`rttp.plugin`), sans-IO.

An :class:`AuthScheme` plugin has two sides:

- the client side, :meth:`AuthScheme.auth`, binds credentials into a :class:`ClientAuth`
  whose :meth:`~ClientAuth.auth_flow` is a generator the client drives: it yields a
  request to send and is sent the response, as often as the scheme needs (answer a
  digest challenge, fetch a token first, refresh one on a 401);
- the server side, :meth:`AuthScheme.verify` and :meth:`AuthScheme.challenge`, checks
  an ``Authorization`` value against an :class:`AuthPolicy` (the callbacks an
  application supplies through :func:`rttp.auth.require`) and words the 401.
"""

from __future__ import annotations

import abc
import os
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Union

from .._model import Request, Response
from ..errors import AuthError
from ._auth import Challenge, parse_challenges, quote
from ._replay import NonceCounts

__all__ = [
    "AuthFlow",
    "AuthPolicy",
    "AuthScheme",
    "ClientAuth",
    "Credentials",
    "Identity",
    "PasswordCheck",
    "PasswordLookup",
    "TokenCheck",
    "TokenCredentials",
    "challenge_error",
]


@dataclass(frozen=True)
class Identity:
    """Who a request proved to be: set as ``request.identity`` by :func:`rttp.auth.require`.

    ``name`` is the user (a token's ``sub``), ``scheme`` the auth scheme that proved it,
    ``claims`` what a token said (empty for passwords), ``permissions`` what the
    identity may do (a token's ``scope`` or ``permissions`` claim, or what a password
    callback granted), and ``audiences`` the services a token was issued for.
    """

    name: str
    scheme: str
    claims: Mapping[str, Any] = field(default_factory=dict)
    permissions: frozenset[str] = frozenset()
    audiences: frozenset[str] = frozenset()


#: ``async check(user, password)`` → an Identity, True (the user is who they say), or a
#: false value (refused)
PasswordCheck = Callable[[str, str], Awaitable[Union[Identity, bool, None]]]
#: ``async lookup(user, realm)`` → the user's password (digest needs it), or None
PasswordLookup = Callable[[str, str], Awaitable[Union[str, None]]]
#: ``async verify(token)`` → an Identity; raises :class:`~rttp.errors.AuthError` (or
#: returns None) when the token is refused
TokenCheck = Callable[[str], Awaitable[Union[Identity, None]]]


@dataclass
class AuthPolicy:
    """What the server side of every scheme verifies against.

    A scheme takes part only when the policy has what it needs
    (:meth:`AuthScheme.configured`): basic needs ``check_password``, digest
    ``lookup_password``, bearer ``verify_token``. ``secret`` keys digest nonces (random
    per policy unless given; a policy made before a pre-fork pool forks is the same in
    every worker); ``nonce_lifetime`` is how long a nonce stays usable (then the
    challenge says ``stale=true``). ``nonce_counts`` holds the digest nonce counts
    accepted, in memory every worker forked after the policy was made shares, so a
    replayed header is refused whichever worker it reaches; it is made with a policy
    that has ``lookup_password``. ``state`` is the schemes' own per-policy memory.
    """

    realm: str = "rttp"
    check_password: PasswordCheck | None = None
    lookup_password: PasswordLookup | None = None
    verify_token: TokenCheck | None = None
    secret: bytes = field(default_factory=lambda: os.urandom(32))
    nonce_lifetime: float = 300.0
    clock: Callable[[], float] = time.time
    state: dict[str, Any] = field(default_factory=dict)
    nonce_counts: NonceCounts | None = None

    def __post_init__(self) -> None:
        if self.lookup_password is not None and self.nonce_counts is None:
            self.nonce_counts = NonceCounts()  # now: before any fork, so it is shared


#: What :meth:`ClientAuth.auth_flow` returns: a generator (sans-IO) or, for a scheme
#: that must await something of its own (a token refresh callback), an async generator
AuthFlow = Union[Generator[Request, Response, None], AsyncGenerator[Request, Response]]


class ClientAuth:
    """Credentials bound to a scheme, on the client: what ``Client(auth=...)`` holds.

    Subclass it to sign requests or to speak a scheme of your own::

        class HMACAuth(rttp.plugin.ClientAuth):
            def auth_flow(self, request):
                request.headers["X-Signature"] = sign(request)
                yield request

    ``requires_response_body``: the responses sent into the flow have their bodies read
    (a token endpoint's JSON); otherwise only their heads are.
    """

    requires_response_body: ClassVar[bool] = False

    def auth_flow(self, request: Request) -> AuthFlow:
        """Yield the request to send; receive its response; yield again to retry."""
        return self._plain(request)

    def _plain(self, request: Request) -> Generator[Request, Response, None]:
        yield request


class AuthScheme(abc.ABC):
    """An auth scheme, client side and server side; register one through
    :func:`~rttp.hookspecs.rttp_register_auth_schemes`.

    ``name`` is the registry key, and for a scheme that travels in ``Authorization``
    (``basic``, ``bearer``, ``digest``) the scheme word in lower case.
    """

    name: ClassVar[str]

    def auth(self, credentials: Any) -> ClientAuth:
        """Client side: ``credentials`` (a ``(user, password)`` pair, a token…) bound into
        a :class:`ClientAuth`."""
        raise AuthError(f"the {self.name!r} auth scheme has no client side", scheme=self.name)

    def configured(self, policy: AuthPolicy) -> bool:
        """Server side: whether ``policy`` gives this scheme what it needs to verify."""
        return False

    async def verify(self, request: Request, credentials: str, policy: AuthPolicy) -> Identity:
        """Server side: the identity ``credentials`` (what follows the scheme word in
        ``Authorization``) prove; raise :class:`~rttp.errors.AuthError` if none."""
        raise AuthError(f"the {self.name!r} auth scheme cannot verify", scheme=self.name)

    def challenge(self, policy: AuthPolicy, error: AuthError | None = None) -> str | Sequence[str]:
        """Server side: the ``WWW-Authenticate`` value (or values) of a 401 or 403;
        ``error`` is why the request was refused (None: it carried no credentials)."""
        return f"{self.name.capitalize()} realm={quote(policy.realm)}"


def challenge_error(response: Response) -> AuthError | None:
    """The refusal a 401 or 403 states in ``WWW-Authenticate``, as an AuthError: the
    first challenge's scheme, its RFC 6750 ``error`` and ``error_description``. None if
    the response is not a refusal."""
    if response.status not in (401, 403):
        return None
    challenges: list[Challenge] = parse_challenges(response.headers.get_all("www-authenticate"))
    first = next(
        (c for c in challenges if "error" in c.params), challenges[0] if challenges else None
    )
    if first is None:
        return AuthError(f"refused with status {response.status}", status=response.status)
    error = first.params.get("error", "")
    description = first.params.get("error_description") or (
        f"refused with status {response.status}" + (f" ({error})" if error else "")
    )
    return AuthError(description, status=response.status, error=error, scheme=first.scheme)


@dataclass(frozen=True)
class Credentials:
    """Credentials for the scheme registered as ``scheme``, bound when a client uses them
    (so that the client's own plugin set decides what the name means):
    ``Credentials("digest", ("user", "password"))``. ``rttp.auth.digest(user, password)``
    and the other helpers there build these."""

    scheme: str
    value: Any = field(repr=False)


@dataclass(frozen=True)
class TokenCredentials:
    """What the ``token`` scheme's credentials hold: the token service's URL, the
    audience to ask a token for, and the credentials that prove who asks
    (``(user, password)`` or a :class:`ClientAuth`)."""

    service: str
    audience: str
    auth: Any = field(repr=False)
