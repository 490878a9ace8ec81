"""The server halves of basic and digest, without sockets: what they let in, exactly."""

from __future__ import annotations

import base64
import re

import pytest

import rttp
from rttp.errors import AuthError
from rttp.plugin import AuthPolicy
from rttp_builtin.auth.basic import Basic
from rttp_builtin.auth.digest import Digest, digest_response

USERS = {"alice": "won:der:land"}


async def _lookup(user: str, realm: str) -> str | None:
    return USERS.get(user) if realm == "rttp" else None  # the realm is asked for too


async def _check(user: str, password: str) -> bool:
    return USERS.get(user) == password


# -- basic ------------------------------------------------------------------------------------
async def test_basic_splits_at_the_first_colon_a_password_may_hold_more():
    policy = AuthPolicy(check_password=_check)
    credentials = base64.b64encode(b"alice:won:der:land").decode()
    identity = await Basic().verify(rttp.Request("GET", "/"), credentials, policy)
    assert identity.name == "alice"


@pytest.mark.parametrize(
    "credentials",
    [
        base64.b64encode(b"alice:won:der:land").decode() + "!",  # not strict base64
        "YWxp Y2U6d29uOmRlcjpsYW5k",
        base64.b64encode(b"alice-no-colon").decode(),
        base64.b64encode(b"alice:wrong").decode(),
    ],
)
async def test_basic_refuses_what_is_not_exactly_the_credentials(credentials):
    policy = AuthPolicy(check_password=_check)
    with pytest.raises(AuthError):
        await Basic().verify(rttp.Request("GET", "/"), credentials, policy)


# -- digest -------------------------------------------------------------------------------------
def _answer(
    policy: AuthPolicy, *, nonce: str | None = None, nc: str = "00000001", uri: str = "/x"
) -> str:
    if nonce is None:
        challenge = Digest().challenge(policy)[0]
        found = re.search(r'nonce="([^"]+)"', challenge)
        assert found is not None
        nonce = found.group(1)
    response = digest_response(
        algorithm="SHA-256",
        username="alice",
        realm="rttp",
        password=USERS["alice"],
        method="GET",
        uri=uri,
        nonce=nonce,
        nc=nc,
        cnonce="c0ffee",
        qop="auth",
    )
    return (
        f'username="alice", realm="rttp", uri="{uri}", algorithm=SHA-256, qop=auth, '
        f'nonce="{nonce}", nc={nc}, cnonce="c0ffee", response="{response}"'
    )


async def test_digest_takes_a_right_answer_once_and_counts_in_hex():
    policy = AuthPolicy(lookup_password=_lookup)
    nonce = re.search(r'nonce="([^"]+)"', Digest().challenge(policy)[0]).group(1)  # type: ignore[union-attr]
    request = rttp.Request("GET", "/x")
    for nc in ("00000001", "00000009", "0000000a", "00000010"):
        identity = await Digest().verify(request, _answer(policy, nonce=nonce, nc=nc), policy)
        assert identity.name == "alice"
    with pytest.raises(AuthError, match="already used"):
        await Digest().verify(request, _answer(policy, nonce=nonce, nc="0000000f"), policy)


async def test_a_nonce_with_a_new_time_keeps_no_valid_mac():
    """The MAC covers the time: a nonce pushed into the future is not the server's."""
    now = [1_000_000.0]
    policy = AuthPolicy(lookup_password=_lookup, clock=lambda: now[0])
    nonce = re.search(r'nonce="([^"]+)"', Digest().challenge(policy)[0]).group(1)  # type: ignore[union-attr]
    stamp, rest = nonce.split(".", 1)
    forged = f"{int(stamp, 16) + 1000:x}.{rest}"
    with pytest.raises(AuthError, match="not issued by this server"):
        await Digest().verify(rttp.Request("GET", "/x"), _answer(policy, nonce=forged), policy)


async def test_a_nonce_lives_exactly_nonce_lifetime():
    now = [1_000_000.0]
    policy = AuthPolicy(lookup_password=_lookup, clock=lambda: now[0], nonce_lifetime=300)
    nonce = re.search(r'nonce="([^"]+)"', Digest().challenge(policy)[0]).group(1)  # type: ignore[union-attr]
    request = rttp.Request("GET", "/x")
    now[0] += 300
    await Digest().verify(request, _answer(policy, nonce=nonce, nc="00000001"), policy)
    now[0] += 1
    with pytest.raises(AuthError) as info:
        await Digest().verify(request, _answer(policy, nonce=nonce, nc="00000002"), policy)
    assert info.value.error == "stale"


async def test_digest_asks_for_the_password_in_its_own_realm():
    policy = AuthPolicy(lookup_password=_lookup, realm="other")
    with pytest.raises(AuthError):
        await Digest().verify(
            rttp.Request("GET", "/x"),
            _answer(policy).replace('realm="rttp"', 'realm="other"'),
            policy,
        )


@pytest.mark.parametrize("dropped", ["nc", "cnonce", "qop"])
async def test_digest_without_a_count_or_client_nonce_is_refused(dropped):
    policy = AuthPolicy(lookup_password=_lookup)
    answer = re.sub(rf",? ?{dropped}=[^,]+", "", _answer(policy))
    with pytest.raises(AuthError, match=dropped):
        await Digest().verify(rttp.Request("GET", "/x"), answer, policy)


async def test_two_guards_with_one_secret_verify_each_others_nonces():
    secret = b"s" * 32
    first = rttp.auth.require("digest", users=USERS, secret=secret)
    second = rttp.auth.require("digest", users=USERS, secret=secret)
    assert first.policy.secret == secret
    answer = _answer(first.policy)
    request = rttp.Request("GET", "/x", headers={"Authorization": f"Digest {answer}"})
    await second.check(request)
    assert request.identity.name == "alice"
    stranger = rttp.auth.require("digest", users=USERS)  # a secret of its own
    with pytest.raises(AuthError, match="not issued"):
        await stranger.check(
            rttp.Request("GET", "/x", headers={"Authorization": f"Digest {_answer(first.policy)}"})
        )


# -- what a refusal names ------------------------------------------------------------------------
def test_a_refusal_challenges_with_every_scheme_but_carries_the_error_in_its_own():
    guard = rttp.auth.require("basic", "bearer", users=USERS, verify_token=_never)
    refused = guard.refusal(AuthError("bad token", error="invalid_token", scheme="bearer"))
    challenges = refused.headers.get_all("www-authenticate")
    assert refused.status == 401
    assert any(c.startswith("Basic") for c in challenges)
    bearer = [c for c in challenges if c.startswith("Bearer")]
    assert bearer
    assert 'error="invalid_token"' in bearer[0]
    assert not any("invalid_token" in c for c in challenges if c.startswith("Basic"))


def test_a_403_names_only_the_scheme_the_identity_came_through():
    guard = rttp.auth.require("basic", "bearer", users=USERS, verify_token=_never)
    refused = guard.refusal(
        AuthError("no", status=403, error="insufficient_scope", scheme="bearer")
    )
    challenges = refused.headers.get_all("www-authenticate")
    assert refused.status == 403
    assert challenges
    assert all(c.startswith("Bearer") for c in challenges)


async def _never(token: str) -> None:
    return None


async def test_a_policy_given_its_password_lookup_late_still_counts_nonces():
    policy = AuthPolicy()
    policy.lookup_password = _lookup
    assert policy.nonce_counts is None
    request = rttp.Request("GET", "/x")
    answer = _answer(policy)
    assert (await Digest().verify(request, answer, policy)).name == "alice"
    assert policy.nonce_counts is not None
    with pytest.raises(AuthError, match="already used"):
        await Digest().verify(request, answer, policy)
