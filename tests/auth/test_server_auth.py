"""Server auth: rttp.auth.require against curl, httpx and aiohttp, 401/403 answers, digest
nonces, and the conformance kit for every built-in scheme."""

from __future__ import annotations

import shutil
import subprocess

import httpx
import pytest
import trio

import rttp
from rttp.errors import AuthError
from rttp.plugin import AuthPolicy, Identity, TokenCredentials, parse_challenges
from rttp.testing import check_auth_scheme

pytestmark = pytest.mark.timeout(60)

USERS = {"alice": "wonderland", "jöhn": "pässwörd"}


def protected_app(**require_options) -> rttp.App:
    app = rttp.App()
    app.any("*", rttp.auth.require(users=USERS, **require_options))

    @app.get("/whoami")
    async def whoami(request: rttp.Request) -> str:
        return f"{request.identity.name} via {request.identity.scheme}"

    return app


async def curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    return await trio.run_process(
        ["curl", "-s", "-w", "\n%{http_code}", *args], capture_stdout=True
    )


async def test_curl_basic_and_digest(serve):
    _, url = await serve(protected_app())
    basic = await curl("-u", "alice:wonderland", f"{url}/whoami")
    assert basic.stdout.decode().splitlines() == ["alice via basic", "200"]
    digest = await curl("--digest", "-u", "alice:wonderland", f"{url}/whoami?x=1")
    assert digest.stdout.decode().splitlines() == ["alice via digest", "200"]
    wrong = await curl("--digest", "-u", "alice:nope", f"{url}/whoami")
    assert wrong.stdout.decode().splitlines()[-1] == "401"


async def test_httpx_basic_and_digest(serve):
    _, url = await serve(protected_app())
    async with httpx.AsyncClient(base_url=str(url)) as client:
        answered = await client.get("/whoami", auth=httpx.BasicAuth("jöhn", "pässwörd"))
        assert (answered.status_code, answered.text) == (200, "jöhn via basic")
        answered = await client.get("/whoami", auth=httpx.DigestAuth("alice", "wonderland"))
        assert (answered.status_code, answered.text) == (200, "alice via digest")
        refused = await client.get("/whoami", auth=httpx.BasicAuth("alice", "x"))
        assert refused.status_code == 401


async def test_aiohttp_basic(serve):
    _, url = await serve(protected_app())
    script = (
        "import aiohttp, asyncio, sys\n"
        "async def main():\n"
        "    async with aiohttp.ClientSession() as s:\n"
        "        async with s.get(sys.argv[1], auth=aiohttp.BasicAuth('alice', 'wonderland')) as r:\n"
        "            print(r.status, await r.text())\n"
        "asyncio.run(main())\n"
    )
    import sys

    result = await trio.run_process(
        [sys.executable, "-c", script, f"{url}/whoami"], capture_stdout=True
    )
    assert result.stdout.decode().strip() == "200 alice via basic"


async def test_a_401_challenges_with_every_scheme_and_the_connection_goes_on(serve):
    verify_calls = 0

    async def verify(token: str) -> Identity | None:
        nonlocal verify_calls
        verify_calls += 1
        if token == "good":
            return Identity("robot", "bearer", permissions=frozenset({"read"}))
        raise AuthError("the token is unknown", error="invalid_token")

    _, url = await serve(protected_app(verify_token=verify, realm="shop"))
    async with rttp.Client(base_url=url) as client:
        missing = await client.get("/whoami")
        assert missing.status == 401
        assert "no Authorization" in missing.text
        challenges = parse_challenges(missing.headers.get_all("www-authenticate"))
        assert {c.scheme for c in challenges} == {"basic", "bearer", "digest"}
        assert all(c.params["realm"] == "shop" for c in challenges)
        assert {c.params.get("algorithm") for c in challenges if c.scheme == "digest"} == {
            "SHA-256",
            "MD5",
        }
        bad = await client.get("/whoami", auth="bad")
        bearer = next(
            c
            for c in parse_challenges(bad.headers.get_all("www-authenticate"))
            if c.scheme == "bearer"
        )
        assert bearer.params["error"] == "invalid_token"
        assert bearer.params["error_description"] == "the token is unknown"
        good = await client.get("/whoami", auth="good")
        assert (good.status, good.text) == (200, "robot via bearer")
        assert client.pool.idle_connections == 1  # one connection served all three
        unknown = await client.get("/whoami", headers={"Authorization": "Magic x"})
        assert unknown.status == 401
        assert "'magic' is not accepted" in unknown.text
        malformed = await client.get("/whoami", headers={"Authorization": "Bearer a b"})
        assert malformed.status == 400
    assert verify_calls == 2


async def test_permission_and_audience_missing_is_403(serve):
    async def verify(token: str) -> Identity:
        return Identity(
            "robot", "bearer", permissions=frozenset({"read"}), audiences=frozenset({"a"})
        )

    app = rttp.App()
    writer = rttp.auth.require(verify_token=verify, permissions={"write"})
    for_b = rttp.auth.require(verify_token=verify, audience="b")

    @app.post("/items")
    @writer
    async def create(request: rttp.Request) -> str:
        return "created"

    @app.get("/b")
    @for_b
    async def b(request: rttp.Request) -> str:
        return "b"

    _, url = await serve(app)
    async with rttp.Client(base_url=url, auth="t") as client:
        forbidden = await client.post("/items")
        assert forbidden.status == 403
        assert "lacks the permission write" in forbidden.text
        (challenge,) = parse_challenges(forbidden.headers.get_all("www-authenticate"))
        assert challenge.params["error"] == "insufficient_scope"
        other = await client.get("/b")
        assert other.status == 403
        assert "audience 'b'" in other.text


async def test_guard_wraps_a_plain_server_handler(serve):
    guard = rttp.auth.require(users=USERS)

    @guard
    async def handler(request: rttp.Request) -> rttp.Response:
        return rttp.Response(200, body=request.identity.name)

    _, url = await serve(handler)
    async with rttp.Client() as client:
        assert (await client.get(str(url))).status == 401
        assert (await client.get(str(url), auth=("alice", "wonderland"))).text == "alice"


def test_require_checks_its_configuration():
    with pytest.raises(ValueError, match="needs something to verify against"):
        rttp.auth.require()
    with pytest.raises(ValueError, match="bearer"):
        rttp.auth.require("bearer", users=USERS)
    with pytest.raises(ValueError, match="no auth scheme 'nope'"):
        rttp.auth.require("nope", users=USERS)


def test_secrets_equal():
    assert rttp.auth.secrets_equal("pässwörd", "pässwörd".encode())
    assert not rttp.auth.secrets_equal("a", "b")
    assert not rttp.auth.secrets_equal("a", "aa")


# -- digest nonces -----------------------------------------------------------------------
async def _digest_round(client: rttp.Client, url: str) -> list[int]:
    response = await client.get(url)
    return [r.status for r in (*response.history, response)]


async def test_digest_stale_nonce_is_retried_and_a_replay_refused(serve):
    now = [1_000_000.0]
    guard = rttp.auth.require("digest", users=USERS)
    guard.policy.clock = lambda: now[0]
    seen: list[int] = []

    @guard
    async def handler(request: rttp.Request) -> rttp.Response:
        return rttp.Response(200, body="ok")

    async def recording(request: rttp.Request) -> rttp.Response:
        response = await handler(request)
        seen.append(response.status)
        return response

    _, url = await serve(recording)
    async with rttp.Client(auth=rttp.auth.digest("alice", "wonderland")) as client:
        assert (await client.get(str(url))).status == 200
        assert seen == [401, 200]
        seen.clear()
        assert (await client.get(str(url))).status == 200  # the remembered challenge, nc=2
        assert seen == [200]
        seen.clear()
        now[0] += 301  # past nonce_lifetime: stale=true, answered again without asking
        assert (await client.get(str(url))).status == 200
        assert seen == [401, 200]
    # a replayed Authorization (the same nonce count) is refused
    captured: list[str] = []

    async def capture(request: rttp.Request) -> rttp.Response:
        response = await handler(request)
        if response.status == 200:
            captured.append(request.headers["authorization"])
        return response

    _, url2 = await serve(capture)
    async with rttp.Client(auth=rttp.auth.digest("alice", "wonderland")) as client:
        assert (await client.get(str(url2))).status == 200
    async with rttp.Client() as client:
        replay = await client.get(str(url2), headers={"Authorization": captured[0]})
    assert replay.status == 401
    assert "already used" in replay.text


async def test_digest_refuses_a_forged_nonce_and_another_uri(serve):
    _, url = await serve(protected_app())
    forged = (
        'Digest username="alice", realm="rttp", nonce="5f5e100.0000000000000000.'
        + "0" * 32
        + '", uri="/whoami", response="00", qop=auth, nc=00000001, cnonce="c"'
    )
    other_uri = forged.replace('uri="/whoami"', 'uri="/elsewhere"')
    async with rttp.Client(base_url=url) as client:
        refused = await client.get("/whoami", headers={"Authorization": forged})
        assert refused.status == 401
        assert "not issued by this server" in refused.text
        refused = await client.get("/whoami", headers={"Authorization": other_uri})
        assert "is not the request target" in refused.text


# -- the conformance kit -----------------------------------------------------------------
async def _check_password(user: str, password: str) -> bool:
    return USERS.get(user) == password


async def _lookup(user: str, realm: str) -> str | None:
    return USERS.get(user)


async def _verify(token: str) -> Identity | None:
    return Identity("robot", "bearer") if token == "good-token" else None


@pytest.mark.parametrize(
    ("name", "credentials", "wrong", "policy"),
    [
        (
            "basic",
            ("alice", "wonderland"),
            ("alice", "x"),
            AuthPolicy(check_password=_check_password),
        ),
        ("digest", ("jöhn", "pässwörd"), ("jöhn", "x"), AuthPolicy(lookup_password=_lookup)),
        ("bearer", "good-token", "bad-token", AuthPolicy(verify_token=_verify)),
        ("token", TokenCredentials("http://id.test", "a", ("u", "p")), None, None),
    ],
)
async def test_builtin_schemes_pass_the_kit(name, credentials, wrong, policy):
    await check_auth_scheme(
        rttp.get_plugins().auth_schemes[name],
        credentials=credentials,
        wrong_credentials=wrong,
        policy=policy,
    )


async def test_the_kit_catches_a_scheme_that_accepts_anything():
    from rttp_builtin.auth.basic import Basic

    class Lenient(Basic):
        async def verify(self, request, credentials, policy):
            return Identity("anyone", "basic")

    with pytest.raises(AssertionError, match="malformed credentials"):
        await check_auth_scheme(Lenient(), policy=AuthPolicy(check_password=_check_password))


# -- the rttp command --------------------------------------------------------------------
async def rttp_command(*args: str) -> subprocess.CompletedProcess[bytes]:
    import sys

    return await trio.run_process(
        [sys.executable, "-m", "rttp", *args], capture_stdout=True, capture_stderr=True, check=False
    )


async def test_rttp_get_with_auth(serve):
    _, url = await serve(protected_app())
    for scheme in ("basic", "digest"):
        done = await rttp_command(
            "get", "-b", "-a", "alice:wonderland", "-A", scheme, f"{url}/whoami"
        )
        assert (done.returncode, done.stdout) == (0, f"alice via {scheme}".encode())
    refused = await rttp_command("get", "-b", "-a", "alice:x", f"{url}/whoami")
    assert refused.returncode == 4
    bad = await rttp_command("get", "-a", "alice", f"{url}/whoami")
    assert bad.returncode != 0
    assert b"USER:PASSWORD" in bad.stderr


async def test_rttp_get_hints_from_the_error_reason(serve, cert_files):
    async def ok(request: rttp.Request) -> rttp.Response:
        return rttp.Response(200)

    _, url = await serve(
        ok, "https://127.0.0.1:0", certfile=cert_files["certfile"], keyfile=cert_files["keyfile"]
    )
    done = await rttp_command("get", str(url))
    assert done.returncode == 2
    (line,) = done.stderr.decode().splitlines()
    assert "certificate verification failed" in line
    assert "--cacert FILE" in line
    trusted = await rttp_command("get", "-b", "--cacert", cert_files["ca"], str(url))
    assert trusted.returncode == 0
