"""Proxy headers (only from trusted proxies, read right to left) and access-log formats."""

from __future__ import annotations

import io

import pytest

import rttp
from rttp._io.server._accesslog import FORMATS, AccessLog
from rttp._io.server._forwarded import ProxyHeaders


def received(headers: dict[str, str], peer: str = "127.0.0.1") -> rttp.Request:
    return rttp.Request.received(
        "GET", "/p?q=1", rttp.Headers(headers), "1.1", scheme="http", client=(peer, 5000)
    )


@pytest.mark.parametrize(
    ("headers", "peer", "client", "scheme"),
    [
        # the proxy appended the client it saw; a client's own claim (1.1.1.1) is ignored
        ({"X-Forwarded-For": "1.1.1.1, 203.0.113.7"}, "127.0.0.1", "203.0.113.7", "http"),
        # a chain of trusted proxies is walked through
        (
            {"X-Forwarded-For": "203.0.113.7, 10.0.0.2", "X-Forwarded-Proto": "https"},
            "127.0.0.1",
            "203.0.113.7",
            "https",
        ),
        # the peer is not trusted: nothing changes
        (
            {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"},
            "192.0.2.9",
            "192.0.2.9",
            "http",
        ),
        # RFC 7239, with a quoted IPv6 and port; it wins over X-Forwarded-For
        (
            {
                "Forwarded": 'for="[2001:db8::17]:4711";proto=https, for=10.0.0.2',
                "X-Forwarded-For": "9.9.9.9",
            },
            "127.0.0.1",
            "2001:db8::17",
            "https",
        ),
        # an obfuscated or unknown hop stops the walk: the peer stays
        ({"Forwarded": "for=unknown"}, "127.0.0.1", "127.0.0.1", "http"),
        # a scheme that is not one
        ({"X-Forwarded-Proto": "gopher"}, "127.0.0.1", "127.0.0.1", "http"),
        # garbage never raises
        ({"Forwarded": '"";;=,,for'}, "127.0.0.1", "127.0.0.1", "http"),
    ],
)
def test_proxy_headers(headers, peer, client, scheme):
    request = received(headers, peer)
    ProxyHeaders(("127.0.0.1", "10.0.0.0/8")).apply(request)
    assert (request.client[0], request.scheme) == (client, scheme)


def test_a_star_trusts_everyone():
    request = received({"X-Forwarded-For": "203.0.113.7"}, "192.0.2.9")
    ProxyHeaders(("*",)).apply(request)
    assert request.client == ("203.0.113.7", 0)


def test_access_log_atoms():
    request = received({"User-Agent": "ua/1", "Referer": "http://r/", "X-Id": "7"})
    stream = io.StringIO()
    log = AccessLog(
        "%(h)s %(m)s %(U)s %(q)s %(H)s %(s)s %(b)s %(B)s %(a)s %(f)s %({x-id}i)s %(D)s", stream
    )
    assert (
        log.line(request, 204, 0, 0.0015)
        == "127.0.0.1:5000 GET /p q=1 HTTP/1.1 204 - 0 ua/1 http://r/ 7 1500"
    )
    for preset in ("rttp", "common", "combined"):  # each fast path says what the atoms say
        generic = AccessLog(FORMATS[preset] + " ").line(request, 200, 10, 0.0123).rstrip()
        assert generic == AccessLog(preset).line(request, 200, 10, 0.0123), preset
    common = AccessLog("common").line(request, 200, 10, 0.0)
    assert common.startswith("127.0.0.1:5000 - - [")
    assert common.endswith('] "GET /p?q=1 HTTP/1.1" 200 10')
    for _ in range(3):
        log.log(request, 200, 1, 0.0)
    assert stream.getvalue() == ""  # buffered
    log.flush()
    assert stream.getvalue().count("\n") == 3
    with pytest.raises(ValueError, match="unknown atom"):
        AccessLog("%(nope)s")
