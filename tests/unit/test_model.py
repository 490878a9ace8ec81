"""The model: URL, Headers (with the Moonbridge views), status table, messages."""

from __future__ import annotations

import pytest

import rttp
from rttp.errors import InvalidURL


class TestURL:
    def test_parse_and_defaults(self):
        url = rttp.URL("https://Example.ORG/a/b?x=1&x=2&y=#frag")
        assert (url.scheme, url.host, url.port, url.path) == ("https", "example.org", 443, "/a/b")
        assert url.explicit_port is None
        assert url.target == "/a/b?x=1&x=2&y="
        assert url.params.get_all("x") == ["1", "2"]
        assert url.params["y"] == ""
        assert url.fragment == "frag"
        assert url.is_secure

    @pytest.mark.parametrize(
        ("text", "port"),
        [
            ("http://h/", 80),
            ("ws://h/", 80),
            ("wss://h/", 443),
            ("rttp://h/", 10080),
            ("rttps://h/", 10081),
        ],
    )
    def test_default_ports(self, text, port):
        assert rttp.URL(text).port == port

    def test_ipv6_and_host_header(self):
        url = rttp.URL("http://[::1]:8080/x")
        assert url.host == "::1"
        assert url.port == 8080
        assert url.host_header == "[::1]:8080"
        assert rttp.URL("http://h:80/").host_header == "h"

    def test_join(self):
        base = rttp.URL("http://h/a/b/c")
        assert str(base.join("../d")) == "http://h/a/d"
        assert str(base.join("/e?q=1")) == "http://h/e?q=1"
        assert str(base.join("https://other/")) == "https://other/"

    def test_unix_urls(self):
        url = rttp.URL("http+unix://%2Ftmp%2FMy.sock/path?q=1")
        assert url.unix_path == "/tmp/My.sock"
        assert url.target == "/path?q=1"
        assert url.host_header == "localhost"
        assert rttp.URL("unix:/run/app.sock").unix_path == "/run/app.sock"

    def test_params_merge_and_encoding(self):
        url = rttp.URL("http://h/p?a=1", params={"b": "x y", "c": ["1", "2"]})
        assert url.params.multi_items() == [("a", "1"), ("b", "x y"), ("c", "1"), ("c", "2")]
        assert "b=x+y" in url.target

    def test_unsafe_characters_are_percent_encoded(self):
        assert rttp.URL("http://h/a b").path == "/a%20b"

    @pytest.mark.parametrize(
        "text",
        [
            "http://h/a\r\nInjected: 1",
            "http://h/\x00",
            "http://h:99999/",
            "http://h:port/",
            "http:///nohost",
        ],
    )
    def test_invalid(self, text):
        with pytest.raises(InvalidURL) as info:
            rttp.URL(text)
        assert info.value.url == text

    def test_idna_host(self):
        assert rttp.URL("http://bücher.example/").host == "xn--bcher-kva.example"


class TestHeaders:
    def test_case_insensitive_multi(self):
        h = rttp.Headers([("Accept", "a"), ("accept", "b"), ("X-One", "1")])
        assert h["ACCEPT"] == "a, b"
        assert h.get_all("accept") == ["a", "b"]
        assert "x-one" in h
        assert len(h) == 2
        assert list(h) == ["accept", "x-one"]
        h["Accept"] = "c"
        assert h.get_all("accept") == ["c"]
        h.add("accept", "d")
        assert h.multi_items()[-1] == ("accept", "d")
        del h["accept"]
        assert "accept" not in h
        with pytest.raises(KeyError):
            h["missing"]

    def test_moonbridge_views(self):
        h = rttp.Headers(
            [("Connection", "Keep-Alive, Upgrade"), ("connection", "x"), ("Cache-Control", "a, ,b")]
        )
        assert h.csv_string("connection") == "Keep-Alive, Upgrade, x"
        assert h.csv_list("cache-control") == ["a", "b"]
        assert "keep-alive" in h.flags("connection")
        assert "upgrade" in h.flags("Connection")
        assert h.value("cache-control") == "a, ,b"
        assert h.value("connection") is rttp.MULTIPLE
        assert not rttp.MULTIPLE
        assert h.value("absent") is None

    def test_bytes_and_non_latin1(self):
        h = rttp.Headers({b"X-Raw": b"\xff", "X-Text": "snow \u2603"})
        assert h.raw[0] == (b"X-Raw", b"\xff")
        assert h.get_raw("x-text") == ["snow \u2603".encode()]

    def test_equality(self):
        assert rttp.Headers({"A": "1"}) == rttp.Headers({"a": "1"})
        assert rttp.Headers({"A": "1"}) == {"a": "1"}


class TestStatus:
    def test_seed_names(self):
        assert rttp.code_name(404) == "notFound"
        assert rttp.code_name(418) == "imATeapot"
        assert rttp.code_name(200) == "okay"
        assert rttp.code_name(302) == "movedTemporarily"
        assert rttp.code_name(406) == "notAcceptable"
        assert rttp.code_name(999) == "unknown"
        assert rttp.Code.notFound == 404
        assert rttp.response_codes["upgradeRequired"] == 426

    def test_phrases(self):
        assert rttp.reason_phrase(404) == "Not Found"
        assert rttp.reason_phrase(609) == "Invalid Certificate"
        for code in rttp.Code:
            assert rttp.reason_phrase(int(code)), code


class TestMessages:
    async def test_bytes_str_and_stream_bodies(self):
        r = rttp.Response(200, body="héllo")
        assert r.body == "héllo".encode()
        assert r.headers["content-type"] == "text/plain; charset=utf-8"
        assert r.text == "héllo"

        async def gen():
            yield b"a"
            yield b""
            yield b"b"

        s = rttp.Response(200, body=gen())
        assert s.is_streaming
        with pytest.raises(rttp.RTTPError, match=r"read\(\)"):
            _ = s.body
        assert await s.read() == b"ab"
        assert s.body == b"ab"

    async def test_stream_consumed_once(self):
        async def gen():
            yield b"x"

        r = rttp.Request("POST", "/p", body=gen())
        assert [c async for c in r.stream()] == [b"x"]
        with pytest.raises(rttp.RTTPError, match="consumed"):
            async for _ in r.stream():
                pass

    def test_request_views(self):
        r = rttp.Request("get", "/a%20b?x=1", headers={"Cookie": "a=1; b=2", "Host": "h:1"})
        assert r.method == "GET"
        assert r.path == "/a b"
        assert r.raw_path == "/a%20b"
        assert r.query == "x=1"
        assert r.params["x"] == "1"
        assert r.cookies == {"a": "1", "b": "2"}
        assert str(r.url) == "http://h:1/a%20b?x=1"

    def test_response_status_checks(self):
        with pytest.raises(ValueError, match="status"):
            rttp.Response(42)
        r = rttp.Response(404)
        assert r.reason == "Not Found"
        with pytest.raises(rttp.HTTPStatusError, match="404 Not Found"):
            r.raise_for_status()
        assert rttp.Response(204).raise_for_status().status == 204
        cookies = rttp.Response(
            200, [("Set-Cookie", "sid=abc; Path=/"), ("Set-Cookie", "t=1")]
        ).cookies
        assert cookies == {"sid": "abc", "t": "1"}

    def test_body_type_checked(self):
        with pytest.raises(TypeError, match="async iterable"):
            rttp.Response(200, body=12)  # type: ignore[arg-type]


class TestFormData:
    def test_seed_views(self):
        photo = rttp.UploadFile("photo", "a.png", "image/png", b"\x89PNG")
        second = rttp.UploadFile("photo", "b.jpg", "image/jpeg", b"\xff\xd8")
        form = rttp.FormData([("name", "ana"), ("photo", photo), ("name", "bo"), ("photo", second)])
        assert form["name"] == "ana"
        assert form.get_all("name") == ["ana", "bo"]
        assert form.params == {"name": "ana", "photo": photo}
        assert form.params_list == {"name": ["ana", "bo"], "photo": [photo, second]}
        assert form.metadata("photo") == {"file_name": "a.png", "content_type": "image/png"}
        assert form.metadata_list("photo") == [
            {"file_name": "a.png", "content_type": "image/png"},
            {"file_name": "b.jpg", "content_type": "image/jpeg"},
        ]
        assert form.metadata("name") is None
        assert form.files == [photo, second]
        assert list(form) == ["name", "photo"]
        assert len(form) == 2
        assert photo.size == 4

    def test_field_info_metadata_is_the_seed_table(self):
        info = rttp.FieldInfo("f", "x.txt", "text/plain")
        assert info.metadata == {
            "field_name": "f",
            "file_name": "x.txt",
            "content_type": "text/plain",
        }


def test_a_received_request_has_every_attribute_of_a_built_one():
    import rttp
    from rttp import Headers

    built = rttp.Request("GET", "/x")
    received = rttp.Request.received(
        "GET", "/x", Headers(), "1.1", scheme="http", client=("127.0.0.1", 1)
    )
    for name in type(built).__slots__:
        if hasattr(built, name):
            assert hasattr(received, name), name


def test_join_works_for_schemes_urllib_does_not_know():
    import rttp

    assert str(rttp.URL("memory://app/a/b").join("c?x=1")) == "memory://app/a/c?x=1"
    assert str(rttp.URL("memory://app/a/").join("/users/8")) == "memory://app/users/8"
    assert str(rttp.URL("memory://app/a/b/").join("../c")) == "memory://app/a/c"
    assert str(rttp.URL("memory://app/").join("http://x/")) == "http://x/"
    assert str(rttp.URL("http://h/a").join("b")) == "http://h/b"
