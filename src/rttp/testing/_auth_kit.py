"""The conformance kit of auth scheme plugins: :func:`check_auth_scheme`."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import Any

from .._model import Headers, Request, Response
from .._proto._auth import parse_challenges, parse_credentials
from .._proto._authscheme import AuthPolicy, AuthScheme, ClientAuth, Identity
from ..errors import AuthError

__all__ = ["MALFORMED_CREDENTIALS", "check_auth_scheme"]

#: ``Authorization`` parameters no scheme may accept, nor fail on with anything but AuthError
MALFORMED_CREDENTIALS = [
    "",
    " ",
    "=",
    "%%%",
    "a" * 10_000,
    "\u00e9\u00e9",
    "bm8tY29sb24=",  # base64 of "no-colon"
    '"unterminated',
    'realm="x", nonce="y", uri="/", response="z"',
    'username="u", realm="rttp", nonce="1.0000000000000000.00000000000000000000000000000000", uri="/", response="0", qop=auth, nc=1, cnonce="c"',
    ",,,,",
    "a=b=c",
    'username*=nocharset\'\'%FF%FE, realm="rttp", nonce="n", uri="/", response="r"',
    'username*=UTF-8\'\'%FF, realm="rttp", nonce="n", uri="/", response="r"',
]


class _Driver:
    """A flow driven by hand, sync or async."""

    def __init__(self, auth: ClientAuth, request: Request) -> None:
        self.flow = auth.auth_flow(request)

    async def start(self) -> Request:
        if isinstance(self.flow, AsyncGenerator):
            return await self.flow.__anext__()
        assert isinstance(self.flow, Generator), "auth_flow() must return a (async) generator"
        return next(self.flow)

    async def send(self, response: Response) -> Request | None:
        try:
            if isinstance(self.flow, AsyncGenerator):
                return await self.flow.asend(response)
            assert isinstance(self.flow, Generator)
            return self.flow.send(response)
        except (StopIteration, StopAsyncIteration):
            return None


async def _round_trip(
    scheme: AuthScheme, auth: ClientAuth, policy: AuthPolicy, url: str
) -> Identity:
    """Drive the client side against the server side, in memory; the identity proved."""
    request = Request("GET", url)
    driver = _Driver(auth, request)
    outgoing: Request | None = await driver.start()
    for _ in range(4):
        assert outgoing is not None, f"{scheme.name}: the flow stopped before proving anything"
        value = outgoing.headers.get("authorization")
        error: AuthError | None = None
        if value is not None:
            name, credentials = parse_credentials(value)
            assert name == scheme.name, f"{scheme.name}: the client sent scheme {name!r}"
            try:
                identity = await scheme.verify(outgoing, credentials, policy)
            except AuthError as exc:
                error = exc
            else:
                assert isinstance(identity, Identity), (
                    f"{scheme.name}: verify() must return an Identity"
                )
                done = await driver.send(Response(200, body=b"ok"))
                assert done is None, f"{scheme.name}: the flow sent another request after a 200"
                return identity
        challenges = scheme.challenge(policy, error)
        headers = Headers()
        for challenge in [challenges] if isinstance(challenges, str) else challenges:
            headers.add("WWW-Authenticate", challenge)
        refusal = Response(401, headers)
        refusal.url = outgoing.url
        outgoing = await driver.send(refusal)
    raise AssertionError(f"{scheme.name}: the flow kept retrying (4 rounds) without success")


async def _refused_in_bounded_rounds(
    scheme: AuthScheme, auth: ClientAuth, policy: AuthPolicy | None
) -> None:
    """Against a server that refuses everything, the flow gives up within a few rounds
    (by ending, or by raising AuthError); anything else it raises fails the check."""
    request = Request("GET", "http://kit.test/protected")
    driver = _Driver(auth, request)
    outgoing: Request | None = await driver.start()
    for _ in range(4):
        if outgoing is None:
            return
        headers = Headers()
        if policy is not None:
            error = AuthError("refused by the kit", error="invalid_token")
            challenges = scheme.challenge(policy, error)
            for challenge in [challenges] if isinstance(challenges, str) else challenges:
                headers.add("WWW-Authenticate", challenge)
        refusal = Response(401, headers, b"")
        refusal.url = outgoing.url
        try:
            outgoing = await driver.send(refusal)
        except AuthError:
            return  # giving up with an AuthError is fine too (a token service refused)
    raise AssertionError(f"{scheme.name}: the flow retries a refused request forever")


async def check_auth_scheme(
    scheme: AuthScheme,
    *,
    credentials: Any = None,
    wrong_credentials: Any = None,
    policy: AuthPolicy | None = None,
) -> None:
    """Check an auth scheme plugin; raises AssertionError naming the broken rule.

    - ``name`` is a lower-case token, and bad credentials are an AuthError;
    - with ``credentials``: the flow starts with a request, gives up on a server that
      refuses everything within a few rounds;
    - with ``policy`` (a server side): the challenge parses as this scheme's, malformed
      credentials (:data:`MALFORMED_CREDENTIALS`) are AuthError and nothing else, and
      with ``credentials`` the client side proves an identity to the server side in
      memory, while ``wrong_credentials`` are refused.
    """
    assert isinstance(scheme.name, str), "a scheme's name must be a str"
    assert scheme.name, "a scheme needs a name"
    assert scheme.name == scheme.name.lower(), f"{scheme.name}: the name must be lower case"
    try:
        scheme.auth(object())
    except AuthError:
        pass
    else:
        raise AssertionError(f"{scheme.name}: auth(object()) must raise AuthError")
    if credentials is not None:
        await _refused_in_bounded_rounds(scheme, scheme.auth(credentials), policy)
    if policy is None:
        return
    assert scheme.configured(policy), f"{scheme.name}: configured() is False for the policy given"
    challenges = scheme.challenge(policy, None)
    values = [challenges] if isinstance(challenges, str) else list(challenges)
    parsed = parse_challenges(values)
    assert parsed, f"{scheme.name}: challenge {values!r} does not parse"
    assert all(c.scheme == scheme.name for c in parsed), (
        f"{scheme.name}: challenge {values!r} does not parse as a {scheme.name} challenge"
    )
    assert all(c.params.get("realm") == policy.realm for c in parsed), (
        f"{scheme.name}: the challenge must carry realm={policy.realm!r}"
    )
    for bad in MALFORMED_CREDENTIALS:
        try:
            await scheme.verify(Request("GET", "http://kit.test/"), bad, policy)
        except AuthError:
            continue
        raise AssertionError(f"{scheme.name}: malformed credentials {bad[:40]!r} were accepted")
    if credentials is not None:
        identity = await _round_trip(
            scheme, scheme.auth(credentials), policy, "http://kit.test/a?b=1"
        )
        assert identity.name, f"{scheme.name}: the identity proved has no name"
    if wrong_credentials is not None:
        try:
            await _round_trip(scheme, scheme.auth(wrong_credentials), policy, "http://kit.test/")
        except AssertionError:
            pass
        else:
            raise AssertionError(f"{scheme.name}: wrong credentials proved an identity")
