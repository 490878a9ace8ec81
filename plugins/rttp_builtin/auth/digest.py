"""The ``digest`` auth scheme (RFC 7616): SHA-256 and MD5 (and their ``-sess``
variants), ``qop=auth``, nonce counts.

Client: ``rttp.auth.digest(user, password)``. The first request goes without
credentials; a 401 with a digest challenge is answered once. Later requests to the same
origin answer the remembered challenge up front, counting ``nc`` up; a challenge is
never answered on another origin's behalf.

Server: a policy's ``lookup_password`` gives the user's password. Nonces are stateless
(a timestamp and random bytes, keyed with the policy's secret); an old one is refused
with ``stale=true`` so that clients retry without asking the user again, and a nonce
count that does not grow is refused as a replay.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Callable, Generator
from typing import Any
from urllib.parse import quote as percent_quote
from urllib.parse import unquote

from rttp.errors import AuthError
from rttp.plugin import (
    AuthPolicy,
    AuthScheme,
    Challenge,
    ClientAuth,
    Identity,
    NonceCounts,
    Request,
    Response,
    hookimpl,
    parse_auth_params,
    parse_challenges,
    quote,
)

from ._common import credential_pair

__all__ = ["Digest", "DigestAuth", "digest_response"]

_HASHES: dict[str, Callable[[bytes], Any]] = {"SHA-256": hashlib.sha256, "MD5": hashlib.md5}
#: most preferred first
_ALGORITHMS = ("SHA-256", "SHA-256-SESS", "MD5", "MD5-SESS")
_SERVER_ALGORITHMS = ("SHA-256", "MD5")
_NONCE = re.compile(r"([0-9a-f]{1,16})\.([0-9a-f]{16})\.([0-9a-f]{32})")


def _hasher(algorithm: str) -> Callable[[str], str]:
    digest = _HASHES[algorithm.upper().removesuffix("-SESS")]  # pragma: no mutate (-sess: client)
    return lambda text: digest(text.encode("utf-8")).hexdigest()  # pragma: no mutate (case)


def digest_response(
    *,
    algorithm: str,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    nc: str,
    cnonce: str,
    qop: str | None,
) -> str:
    """The ``response`` value of RFC 7616 §3.4.1 (``qop`` None: RFC 2069's form)."""
    h = _hasher(algorithm)
    ha1 = h(f"{username}:{realm}:{password}")
    # pragma: no mutate start (-sess and RFC 2069's form: the client's; servers require qop=auth)
    if algorithm.upper().endswith("-SESS"):
        ha1 = h(f"{ha1}:{nonce}:{cnonce}")
    # pragma: no mutate end
    ha2 = h(f"{method}:{uri}")
    if qop is None:  # pragma: no mutate
        return h(f"{ha1}:{nonce}:{ha2}")  # pragma: no mutate
    return h(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


# pragma: no mutate start (the client's side: what it sends, not what it lets in)
def _usable(challenge: Challenge) -> bool:
    qops = [q.strip() for q in challenge.params.get("qop", "auth").split(",")]
    return (
        challenge.scheme == "digest"
        and "nonce" in challenge.params
        and challenge.params.get("algorithm", "MD5").upper() in _ALGORITHMS
        and "auth" in qops
    )


class DigestAuth(ClientAuth):
    """Answers digest challenges for one user."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self._password = password
        self._challenge: Challenge | None = None
        self._origin: tuple[str, str, int | None] | None = None
        self._nc = 0

    def _authorization(self, request: Request) -> str:
        assert self._challenge is not None
        params = self._challenge.params
        algorithm = params.get("algorithm", "MD5")
        qop = "auth" if "qop" in params else None
        self._nc += 1
        nc = f"{self._nc:08x}"
        cnonce = os.urandom(16).hex()
        uri = request.target
        response = digest_response(
            algorithm=algorithm,
            username=self.username,
            realm=params.get("realm", ""),
            password=self._password,
            method=request.method,
            uri=uri,
            nonce=params["nonce"],
            nc=nc,
            cnonce=cnonce,
            qop=qop,
        )
        if self.username.isascii() and '"' not in self.username:
            user = f"username={quote(self.username)}"
        else:  # RFC 7616 §3.4.4: username* in RFC 8187 form
            user = f"username*=UTF-8''{percent_quote(self.username, safe='')}"
        parts = [
            user,
            f"realm={quote(params.get('realm', ''))}",
            f"nonce={quote(params['nonce'])}",
            f"uri={quote(uri)}",
            f"algorithm={algorithm}",
            f"response={quote(response)}",
        ]
        if "opaque" in params:
            parts.append(f"opaque={quote(params['opaque'])}")
        if qop is not None:
            parts += [f"qop={qop}", f"nc={nc}", f"cnonce={quote(cnonce)}"]
        return "Digest " + ", ".join(parts)

    def auth_flow(self, request: Request) -> Generator[Request, Response, None]:
        origin = request.url.origin
        answered = self._challenge is not None and origin == self._origin
        if answered:
            request.headers["Authorization"] = self._authorization(request)
        response = yield request
        if response.status != 401:
            return
        usable = [
            c for c in parse_challenges(response.headers.get_all("www-authenticate")) if _usable(c)
        ]
        if not usable:
            return
        usable.sort(key=lambda c: _ALGORITHMS.index(c.params.get("algorithm", "MD5").upper()))
        challenge = usable[0]
        if answered and challenge.params.get("stale", "").lower() != "true":
            return  # our answer to this origin's challenge was refused: wrong credentials
        self._challenge, self._origin, self._nc = challenge, origin, 0
        request.headers["Authorization"] = self._authorization(request)
        yield request

    def __repr__(self) -> str:
        return f"DigestAuth({self.username!r}, '***')"


# pragma: no mutate end


class Digest(AuthScheme):
    """RFC 7616."""

    name = "digest"

    def auth(self, credentials: Any) -> ClientAuth:
        return DigestAuth(*credential_pair(credentials, "digest"))  # pragma: no mutate

    def configured(self, policy: AuthPolicy) -> bool:
        return policy.lookup_password is not None

    # -- nonces: "<time hex>.<random hex>.<mac>", the mac over both and the realm --------
    def _nonce(self, policy: AuthPolicy) -> str:
        stamp = f"{int(policy.clock()):x}.{os.urandom(8).hex()}"
        return f"{stamp}.{self._mac(policy, stamp)}"

    def _mac(self, policy: AuthPolicy, stamp: str) -> str:
        message = f"{stamp}.{policy.realm}".encode()
        return hmac.new(policy.secret, message, hashlib.sha256).hexdigest()[:32]

    def _check_nonce(self, policy: AuthPolicy, nonce: str) -> None:
        match = _NONCE.fullmatch(nonce)
        if match is None or not hmac.compare_digest(
            match.group(3), self._mac(policy, f"{match.group(1)}.{match.group(2)}")
        ):
            raise AuthError("the digest nonce was not issued by this server", scheme="digest")
        if policy.clock() - int(match.group(1), 16) > policy.nonce_lifetime:
            raise AuthError("the digest nonce has expired", error="stale", scheme="digest")

    def _count(self, policy: AuthPolicy, nonce: str, nc: str) -> None:
        """Accept ``nc`` for ``nonce`` once: it must be higher than any accepted before,
        by any worker of this server (the policy's shared ``nonce_counts``)."""
        try:
            count = int(nc, 16)  # pragma: no mutate (any base above 15 orders hex alike)
        except ValueError:
            raise AuthError(f"malformed digest nonce count nc={nc!r}", scheme="digest") from None
        match = _NONCE.fullmatch(nonce)
        if match is None:  # pragma: no cover - _check_nonce refused it already
            raise AuthError("the digest nonce was not issued by this server", scheme="digest")
        if policy.nonce_counts is None:  # a policy given lookup_password after it was made
            policy.nonce_counts = NonceCounts()
        expires = (
            int(match.group(1), 16) + policy.nonce_lifetime
        )  # pragma: no mutate (later is safe)
        accepted = policy.nonce_counts.advance(nonce, count, expires, policy.clock())
        if accepted is None:
            raise AuthError(
                "too many digest nonces in use to track this one: ask again",
                error="stale",
                scheme="digest",
            )
        if not accepted:
            raise AuthError(
                f"digest nonce count nc={nc} was already used (a replay?)", scheme="digest"
            )

    async def verify(self, request: Request, credentials: str, policy: AuthPolicy) -> Identity:
        params = parse_auth_params(credentials)
        required = ("realm", "nonce", "uri", "response", "qop", "nc", "cnonce")
        missing = [name for name in required if name not in params]
        if "username" not in params and "username*" not in params:
            missing.insert(0, "username")  # pragma: no mutate (the message's order)
        if missing:
            raise AuthError(f"digest credentials lack {', '.join(missing)}", scheme="digest")
        user = params.get("username") or _rfc8187(params["username*"])
        algorithm = params.get("algorithm", "MD5").upper()
        if algorithm not in _SERVER_ALGORITHMS:
            raise AuthError(f"unsupported digest algorithm {algorithm!r}", scheme="digest")
        if params["realm"] != policy.realm:
            raise AuthError(
                f"digest realm {params['realm']!r} is not {policy.realm!r}", scheme="digest"
            )
        if params["uri"] != request.target:
            raise AuthError(
                f"digest uri {params['uri']!r} is not the request target {request.target!r}",
                scheme="digest",
            )
        qop = params["qop"]
        if qop != "auth":
            raise AuthError(f"digest qop must be 'auth', got {qop!r}", scheme="digest")
        self._check_nonce(policy, params["nonce"])
        assert policy.lookup_password is not None
        password = await policy.lookup_password(user, policy.realm)
        expected = digest_response(
            algorithm=algorithm,
            username=user,
            realm=policy.realm,
            # an unknown user costs the same work as a known one (no timing oracle)
            password=password or "",  # pragma: no mutate
            method=request.method,
            uri=params["uri"],
            nonce=params["nonce"],
            nc=params["nc"],
            cnonce=params["cnonce"],
            qop=qop,
        )
        if password is None or not hmac.compare_digest(expected, params["response"].lower()):
            raise AuthError(f"wrong user name or password for user {user!r}", scheme="digest")
        self._count(policy, params["nonce"], params["nc"])
        return Identity(user, "digest")

    def challenge(self, policy: AuthPolicy, error: AuthError | None = None) -> list[str]:
        stale = (
            ", stale=true" if error is not None and error.error == "stale" else ""
        )  # pragma: no mutate
        nonce = self._nonce(policy)
        return [
            f'Digest realm={quote(policy.realm)}, qop="auth", algorithm={algorithm}, '
            f"nonce={quote(nonce)}{stale}"
            for algorithm in _SERVER_ALGORITHMS
        ]


# pragma: no mutate start (a user name's spelling: the password still decides)
def _rfc8187(value: str) -> str:
    """An RFC 8187 ``charset'lang'percent-encoded`` value, decoded; AuthError if it is not."""
    charset, _, rest = value.partition("'")
    _, _, encoded = rest.partition("'")
    try:
        return unquote(encoded, encoding=charset or "utf-8", errors="strict")
    except (LookupError, UnicodeError) as exc:
        raise AuthError(f"malformed digest username*: {exc}", scheme="digest") from exc


# pragma: no mutate end


@hookimpl
def rttp_register_auth_schemes(register: Any) -> None:
    """Register ``digest``."""
    register(Digest())
