"""Client auth against real peers (httpbin), the grammar, and redirects that leave the origin."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rttp
from rttp.errors import AuthError
from rttp.plugin import parse_auth_params, parse_challenges, parse_credentials

pytestmark = pytest.mark.timeout(60)


# -- the grammar -------------------------------------------------------------------------
def test_several_challenges_in_one_field_and_quoted_commas():
    found = parse_challenges(
        [
            'Basic realm="a, b", charset="UTF-8", Digest realm="x", nonce="n\\"q", qop="auth,auth-int"',
            "Bearer",
            "Negotiate YWJj==",
        ]
    )
    assert [(c.scheme, c.params, c.token68) for c in found] == [
        ("basic", {"realm": "a, b", "charset": "UTF-8"}, None),
        ("digest", {"realm": "x", "nonce": 'n"q', "qop": "auth,auth-int"}, None),
        ("bearer", {}, None),
        ("negotiate", {}, "YWJj=="),
    ]


def test_junk_challenges_never_raise():
    for junk in ["", ",", '"', "= =", "Basic ,,, realm", "\x00\x01", 'Digest realm="x']:
        parse_challenges([junk])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["a", "b", " ", "=", ",", '"', "\\", "\t", "Basic", "realm", "\u00e9"]),
        max_size=40,
    ).map("".join)
)
def test_the_parser_never_raises_and_always_ends(text):
    for challenge in parse_challenges([text]):
        assert challenge.scheme == challenge.scheme.lower()
    parse_auth_params(text)


def test_credentials_and_params():
    assert parse_credentials("  BASIC  dXNlcjpw  ") == ("basic", "dXNlcjpw")
    assert parse_auth_params('username="u", nc=00000001, uri="/a?b=1,c"') == {
        "username": "u",
        "nc": "00000001",
        "uri": "/a?b=1,c",
    }


# -- httpbin, the reference peer ---------------------------------------------------------
async def test_basic_against_httpbin(httpbin):
    async with rttp.Client(base_url=httpbin, auth=("user", "pässwörd")) as client:
        good = await client.get("/basic-auth/user/p%C3%A4ssw%C3%B6rd")
        assert good.status == 200
        assert good.json() == {"authenticated": True, "user": "user"}
        wrong = await client.get("/basic-auth/user/other")
        assert wrong.status == 401


async def test_bearer_against_httpbin(httpbin):
    async with rttp.Client(base_url=httpbin) as client:
        answered = await client.get("/bearer", auth="abc.def-ghi")
        assert answered.json() == {"authenticated": True, "token": "abc.def-ghi"}
        missing = await client.get("/bearer")
        assert missing.status == 401
        assert parse_challenges(missing.headers.get_all("www-authenticate"))[0].scheme == "bearer"


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
async def test_digest_against_httpbin(httpbin, algorithm):
    async with rttp.Client(base_url=httpbin, auth=rttp.auth.digest("user", "pass")) as client:
        good = await client.get(f"/digest-auth/auth/user/pass/{algorithm}")
        assert good.status == 200
        assert good.json() == {"authenticated": True, "user": "user"}
    async with rttp.Client(base_url=httpbin, auth=rttp.auth.digest("user", "wrong")) as client:
        refused = await client.get(f"/digest-auth/auth/user/pass/{algorithm}")
        assert refused.status == 401  # answered once, then given up


async def test_per_request_auth_replaces_the_clients(httpbin):
    async with rttp.Client(base_url=httpbin, auth=("nobody", "x")) as client:
        answered = await client.get("/basic-auth/a/b", auth=("a", "b"))
        assert answered.status == 200
        none = await client.get("/basic-auth/a/b", auth=None)
        assert none.status == 401


def test_auth_argument_errors():
    with pytest.raises(TypeError, match="auth= takes"):
        rttp.Client(auth=42)
    with pytest.raises(AuthError, match="cannot contain ':'"):
        rttp.Client(auth=("a:b", "c"))
    with pytest.raises(AuthError, match="no auth scheme 'nope'"):
        rttp.Client(auth=rttp.auth.Credentials("nope", "x"))
    with pytest.raises(TypeError, match="give it credentials"):
        rttp.Client(auth=rttp.get_plugins().auth_schemes["basic"])
    assert "secret" not in repr(rttp.Client(auth=("u", "secret")).auth)


async def test_bearer_refresh_once_on_401(serve):
    seen: list[str | None] = []

    async def handler(request: rttp.Request) -> rttp.Response:
        seen.append(request.headers.get("authorization"))
        if request.headers.get("authorization") == "Bearer new":
            return rttp.Response(200, body="ok")
        return rttp.Response(401, {"WWW-Authenticate": 'Bearer error="invalid_token"'})

    _, url = await serve(handler)
    refreshes = 0

    async def refresh() -> str:
        nonlocal refreshes
        refreshes += 1
        return "new" if refreshes == 1 else "newer"

    async with rttp.Client(auth=rttp.auth.bearer("old", refresh=refresh)) as client:
        assert (await client.get(str(url))).status == 200
        assert seen == ["Bearer old", "Bearer new"]
        seen.clear()
        assert (await client.get(str(url))).status == 200  # the new token is kept
        assert seen == ["Bearer new"]
    assert refreshes == 1


async def test_challenge_error_parses_the_refusal(serve):
    async def handler(request: rttp.Request) -> rttp.Response:
        return rttp.Response(
            401,
            {
                "WWW-Authenticate": 'Bearer realm="r", error="invalid_token", error_description="expired"'
            },
        )

    _, url = await serve(handler)
    async with rttp.Client() as client:
        response = await client.get(str(url), auth="t")
    error = rttp.auth.challenge_error(response)
    assert error is not None
    assert (error.status, error.error, error.description, error.scheme) == (
        401,
        "invalid_token",
        "expired",
        "bearer",
    )


# -- a redirect to another origin never carries credentials ------------------------------
SCHEMES = ["basic", "bearer", "digest", "token"]


@pytest.mark.parametrize("scheme", SCHEMES)
async def test_cross_origin_redirect_drops_credentials(serve, scheme):
    other_seen: list[str | None] = []

    async def other(request: rttp.Request) -> rttp.Response:
        other_seen.append(request.headers.get("authorization"))
        # a digest challenge of its own, which the client must not answer
        return rttp.Response(
            401, {"WWW-Authenticate": 'Digest realm="other", nonce="abc", qop="auth"'}
        )

    _, other_url = await serve(other)
    users = {"alice": "wonderland"}
    app = rttp.App()
    service = rttp.auth.TokenService("http://issuer.test", users=users)
    service.install(app)
    verifier = service.verifier("home")
    guard = rttp.auth.require(users=users, verify_token=verifier)

    @app.get("/start")
    @guard
    async def start(request: rttp.Request) -> rttp.Response:
        return rttp.Response(302, {"Location": f"{other_url}/landing"})

    @app.get("/same")
    @guard
    async def same(request: rttp.Request) -> rttp.Response:
        return rttp.Response(302, {"Location": "/final"})

    @app.get("/final")
    @guard
    async def final(request: rttp.Request) -> str:
        return f"hello {request.identity.name} by {request.identity.scheme}"

    _, home = await serve(app)
    auth = {
        "basic": ("alice", "wonderland"),
        "bearer": service.issue("alice", "home"),
        "digest": rttp.auth.digest("alice", "wonderland"),
        "token": rttp.auth.token(str(home), "home", ("alice", "wonderland")),
    }[scheme]
    async with rttp.Client(base_url=home, auth=auth) as client:
        same_origin = await client.get("/same")
        assert same_origin.status == 200, same_origin.text
        assert same_origin.text.startswith("hello alice by ")
        response = await client.get("/start")
    assert response.status == 401  # the other origin's challenge, unanswered
    assert [r.status for r in response.history] == [302]
    assert other_seen == [None]


def test_basic_header_bytes_are_utf8():
    scheme = rttp.get_plugins().auth_schemes["basic"]
    request = rttp.Request("GET", "http://x.test/")
    flow = scheme.auth(("jöhn", "pä:ss")).auth_flow(request)
    sent = next(flow)  # type: ignore[arg-type]
    value = sent.headers["authorization"]
    assert base64.b64decode(value.split()[1]) == "jöhn:pä:ss".encode()
