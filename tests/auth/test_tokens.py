"""Audience-scoped tokens: a token service and two services verifying its tokens, each in
its own process; key rotation; every refusal; and the token handle of seed 001."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager

import jwt
import pytest
import trio

import rttp
from rttp.errors import AuthError
from rttp.plugin import parse_challenges
from tests.conftest import peer_process

pytestmark = pytest.mark.timeout(60)


def process(*args: str) -> AbstractContextManager[rttp.URL]:
    return peer_process("token_services.py", *args)


@pytest.fixture(scope="module")
def deployment() -> Iterator[dict[str, rttp.URL]]:
    with process("issuer") as issuer:
        jwks = f"{issuer}/.well-known/jwks.json"
        with (
            process("service", "chat", jwks, str(issuer)) as chat,
            process("service", "files", jwks, str(issuer)) as files,
        ):
            yield {"issuer": issuer, "chat": chat, "files": files}


def plain_pyjwt_claims(token: str, jwks: dict, audience: str, issuer: str) -> dict:
    """Verify with nothing but PyJWT and the published JWKS."""
    kid = jwt.get_unverified_header(token)["kid"]
    (entry,) = [k for k in jwks["keys"] if k["kid"] == kid]
    key = jwt.PyJWK(entry)
    return jwt.decode(token, key.key, algorithms=[entry["alg"]], audience=audience, issuer=issuer)


async def test_tokens_across_services_in_separate_processes(deployment):
    issuer, chat, files = deployment["issuer"], deployment["chat"], deployment["files"]
    async with rttp.Client(token_service=issuer, auth=("alice", "wonderland")) as client:
        handle = client.get_auth_token("chat")
        token, status = await handle.finish()
        assert status == 200
        assert handle.status == "dead"
        jwks = (await client.get(f"{issuer}/.well-known/jwks.json", auth=None)).json()
    claims = plain_pyjwt_claims(token, jwks, "chat", str(issuer))
    assert claims["sub"] == "alice"
    assert {"iss", "sub", "aud", "iat", "exp", "jti"} <= set(claims)
    assert claims["exp"] - claims["iat"] == 3600
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA"
    assert header["kid"] == jwks["keys"][0]["kid"]
    async with rttp.Client(auth=token) as client:
        me = await client.get(f"{chat}/me")
        assert me.status == 200
        assert me.json()["name"] == "alice"
        assert me.json()["audiences"] == ["chat"]
        elsewhere = await client.get(f"{files}/me")
    assert elsewhere.status == 401
    (challenge,) = parse_challenges(elsewhere.headers.get_all("www-authenticate"))
    assert challenge.params["error"] == "invalid_token"
    assert "wrong audience" in challenge.params["error_description"]
    # the token credentials fetch and send tokens by themselves
    auto = rttp.auth.token(str(issuer), "files", ("alice", "wonderland"))
    async with rttp.Client(auth=auto) as client:
        assert (await client.get(f"{files}/me")).json()["audiences"] == ["files"]
        assert (await client.get(f"{files}/me")).status == 200


async def test_the_token_handle_refusals(deployment):
    issuer = deployment["issuer"]
    async with rttp.Client(token_service=issuer, auth=("bob", "builder")) as client:
        answer, status = await client.get_auth_token("files").finish()
        assert status == 403
        assert json.loads(answer)["error"] == "invalid_target"
        assert (await client.get_auth_token("chat").finish())[1] == 200
    async with rttp.Client(token_service=issuer, auth=("bob", "wrong")) as client:
        assert (await client.get_auth_token("chat").finish())[1] == 401
    async with rttp.Client(token_service=issuer) as client:
        with pytest.raises(AuthError, match="not authenticated"):
            client.get_auth_token("chat")


async def test_a_malformed_token_answer_is_600(serve):
    app = rttp.App()
    app.post("/token", lambda request: rttp.Response(200, body=b"<html>not json</html>"))
    _, url = await serve(app)
    async with rttp.Client(token_service=url, auth=("a", "b")) as client:
        assert await client.get_auth_token("x").finish() == ("", 600)


async def test_key_rotation_keeps_old_tokens_valid(deployment):
    issuer, chat = deployment["issuer"], deployment["chat"]
    async with rttp.Client(token_service=issuer, auth=("alice", "wonderland")) as client:
        old, _ = await client.get_auth_token("chat").finish()
        new_kid = (await client.post(f"{issuer}/rotate")).text
        new, _ = await client.get_auth_token("chat").finish()
        jwks = (await client.get(f"{issuer}/.well-known/jwks.json", auth=None)).json()
    assert jwt.get_unverified_header(new)["kid"] == new_kid
    assert jwt.get_unverified_header(old)["kid"] != new_kid
    assert jwks["keys"][0]["kid"] == new_kid
    assert len(jwks["keys"]) == 2
    for token in (old, new):
        assert plain_pyjwt_claims(token, jwks, "chat", str(issuer))["sub"] == "alice"
        async with rttp.Client(auth=token) as client:
            assert (await client.get(f"{chat}/me")).status == 200


# -- every refusal, in one process -------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict, payload: dict) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"


@pytest.fixture
async def guarded(serve):
    now = [time.time()]  # moved back and forth to issue expired and early tokens
    service = rttp.auth.TokenService("https://id.test", users={"a": "b"}, clock=lambda: now[0])
    verifier = service.verifier("chat", leeway=0)
    app = rttp.App()
    app.any("*", rttp.auth.require(verify_token=verifier))
    app.get("/", lambda request: "in")
    _, url = await serve(app)

    async def refusal(token: str) -> str:
        async with rttp.Client() as client:
            response = await client.get(str(url), auth=token)
        if response.status == 200:
            return "accepted"
        assert response.status == 401
        (challenge,) = parse_challenges(response.headers.get_all("www-authenticate"))
        assert challenge.params["error"] == "invalid_token"
        return challenge.params["error_description"]

    return service, now, refusal


async def test_every_refusal_says_why(guarded):
    service, now, refusal = guarded
    real = now[0]
    good = service.issue("alice", "chat")
    assert await refusal(good) == "accepted"
    assert "wrong audience" in await refusal(service.issue("alice", "files"))
    now[0] = real - 7200
    expired = service.issue("alice", "chat")
    now[0] = real + 600
    early = service.issue("alice", "chat")
    now[0] = real
    assert "expired" in await refusal(expired)
    assert "not valid yet" in await refusal(early)
    head, payload, signature = good.split(".")
    flipped = signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")
    assert "bad signature" in await refusal(f"{head}.{payload}.{flipped}")
    claims = jwt.decode(good, options={"verify_signature": False})
    kid = service.signing_key.kid
    assert "alg=none" in await refusal(_unsigned({"alg": "none", "kid": kid}, claims) + ".")
    # algorithm confusion: HS256 "signed" with the public key as the shared secret
    public = service.jwks()["keys"][0]
    signing_input = _unsigned({"alg": "HS256", "kid": kid, "typ": "JWT"}, claims)
    secret = json.dumps(public).encode()
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    assert "'HS256' is not accepted" in await refusal(f"{signing_input}.{_b64(mac)}")
    other = rttp.auth.TokenService("https://id.test", users={"a": "b"}, clock=lambda: now[0])
    assert "is not one of the service's keys" in await refusal(other.issue("alice", "chat"))


async def test_unknown_kids_refetch_the_jwks_at_most_once_per_interval(serve):
    service = rttp.auth.TokenService("https://id.test", users={"a": "b"})
    app = rttp.App()
    service.install(app)
    _, url = await serve(app)
    verifier = rttp.auth.TokenVerifier(
        f"{url}/.well-known/jwks.json", audience="chat", min_refresh_interval=60
    )
    assert (await verifier.verify(service.issue("alice", "chat"))).name == "alice"
    assert verifier.fetches == 1
    service.rotate()
    with pytest.raises(AuthError, match="not one of the service's keys"):
        await verifier.verify(service.issue("alice", "chat"))
    with pytest.raises(AuthError, match="not one of the service's keys"):
        await verifier.verify(service.issue("bob", "chat"))
    assert verifier.fetches == 1  # rate-limited: no fetch for each unknown kid
    fast = rttp.auth.TokenVerifier(
        f"{url}/.well-known/jwks.json", audience="chat", min_refresh_interval=0
    )
    async with trio.open_nursery() as nursery:
        for _ in range(5):  # concurrent verifications share one fetch
            nursery.start_soon(fast.verify, service.issue("carol", "chat"))
    assert fast.fetches == 1


def test_token_service_keys_and_algorithms():
    for algorithm in ("ES256", "RS256"):
        service = rttp.auth.TokenService("i", users={"a": "b"}, algorithm=algorithm)
        token = service.issue("s", "aud", permissions={"read", "write"})
        assert jwt.get_unverified_header(token)["alg"] == algorithm
        claims = plain_pyjwt_claims(token, service.jwks(), "aud", "i")
        assert claims["scope"] == "read write"
    with pytest.raises(ValueError, match="must be one of"):
        rttp.auth.TokenService("i", users={"a": "b"}, algorithm="HS256")
    with pytest.raises(ValueError, match="users= or authenticate="):
        rttp.auth.TokenService("i")
    with pytest.raises(ValueError, match="not accepted for tokens"):
        rttp.auth.TokenVerifier({}, audience="x", algorithms=("HS256",))
