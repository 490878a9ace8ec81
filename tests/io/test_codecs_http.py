"""Codecs over HTTP: handlers return values, bodies decode, limits answer 413, peers upload."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import trio
import trio.lowlevel

import rttp
from rttp import rtml
from rttp.errors import CodecError
from tests.conftest import raw_request, status_of

PEERS = Path(__file__).parents[1] / "peers"


async def values(request: rttp.Request):
    """Return whatever the path names; /echo decodes the body and describes it."""
    path = request.path
    if path == "/str":
        return "plain text"
    if path == "/dict":
        return {"a": [1, 2]}
    if path == "/bytes":
        return b"\x00\x01"
    if path == "/page":
        return rtml.Page().add_text(1, 1, "Hi").add_link(1, 2, "Home", "/")
    if path == "/none":
        return None
    if path == "/form":
        return rttp.FormData([("a", "1"), ("b", "2")])
    if path == "/table":
        return rttp.Response(201, value={"k": "v"}, content_type="table")
    if path == "/bad-value":
        return object()
    if path == "/echo":
        value = await request.read_value()
        if isinstance(value, rttp.FormData):
            value = [
                [
                    name,
                    {
                        "file": item.filename,
                        "type": item.content_type,
                        "size": item.size,
                        "head": item.data[:8].decode("latin-1"),
                    }
                    if isinstance(item, rttp.UploadFile)
                    else item,
                ]
                for name, item in value.multi_items()
            ]
        elif isinstance(value, rtml.Page):
            value = value.to_wire()
        elif isinstance(value, bytes):
            value = value.decode("latin-1")
        elif isinstance(value, (rtml.ButtonSubmit, rtml.ButtonPush)):
            value = repr(value)
        return {"media_type": request.media_type, "value": value}
    if path == "/negotiate":
        return rttp.negotiate(
            request,
            {
                "application/json": {"n": 1},
                "text/plain": "n=1",
                "table/rtml": lambda: rtml.Page().add_text(1, 1, "n=1"),
            },
        )
    return f"hello {path}"


async def test_handlers_return_values_encoded_by_their_type(serve):
    _, url = await serve(values)
    async with rttp.Client() as client:
        cases = {
            "/str": ("text/plain; charset=utf-8", "plain text"),
            "/dict": ("application/json", {"a": [1, 2]}),
            "/bytes": ("application/octet-stream", b"\x00\x01"),
            "/form": ("application/x-www-form-urlencoded", rttp.FormData([("a", "1"), ("b", "2")])),
        }
        for path, (content_type, value) in cases.items():
            response = await client.get(str(url) + path)
            assert response.headers["content-type"] == content_type
            assert response.value == value
        page = await client.get(str(url) + "/page")
        assert page.headers["content-type"] == "table/rtml"
        assert page.value == rtml.Page().add_text(1, 1, "Hi").add_link(1, 2, "Home", "/")
        assert (await client.get(str(url) + "/none")).status == 204
        table = await client.get(str(url) + "/table")
        assert (table.status, table.headers["content-type"], table.value) == (
            201,
            "table",
            {"k": "v"},
        )


async def test_a_value_no_codec_can_encode_is_a_500_logged(serve, caplog):
    _, url = await serve(values)
    async with rttp.Client() as client:
        response = await client.get(str(url) + "/bad-value")
    assert response.status == 500
    assert "cannot infer a media type for a object" in caplog.text


async def test_request_bodies_decode_by_content_type(serve):
    _, url = await serve(values)
    async with rttp.Client() as client:

        async def echo(**kwargs):
            response = await client.post(str(url) + "/echo", **kwargs)
            assert response.status == 200, response.text
            return response.value

        assert await echo(json={"x": [1, None]}) == {
            "media_type": "application/json",
            "value": {"x": [1, None]},
        }
        assert await echo(value={"t": 1}, content_type="table") == {
            "media_type": "table",
            "value": {"t": 1},
        }
        assert await echo(content="héllo") == {"media_type": "text/plain", "value": "héllo"}
        assert await echo(data={"a": "1", "b": ["x", "y"]}) == {
            "media_type": "application/x-www-form-urlencoded",
            "value": [["a", "1"], ["b", "x"], ["b", "y"]],
        }
        got = await echo(data={"field": "v"}, files={"up": ("a.txt", b"file body", "text/plain")})
        assert got["value"] == [
            ["field", "v"],
            ["up", {"file": "a.txt", "type": "text/plain", "size": 9, "head": "file bod"}],
        ]
        page = rtml.Page().add_input(1, 1, "user", 5)
        assert (await echo(value=page))["value"] == page.to_wire()
        submit = await echo(value=rtml.ButtonSubmit({"user": "ana"}))
        assert submit["media_type"] == "object/lua"


@pytest.mark.parametrize(
    ("content_type", "body", "status", "words"),
    [
        ("application/json", b'{"a": }', 400, "invalid JSON at line 1 column 7"),
        ("table", b"[1,", 400, "invalid JSON"),
        ("application/x-www-form-urlencoded", b"a=%G1", 400, "bad percent-encoding"),
        ("multipart/form-data", b"--x\r\n", 400, "has no boundary"),
        (
            "multipart/form-data; boundary=Q",
            b'--Q\r\nContent-Disposition: form-data; name="a"\r\n\r\nv',
            400,
            "truncated",
        ),
        ("multipart/form-data; boundary=Q", b"--Z\r\n\r\n", 400, "malformed multipart"),
        (
            "table/rtml",
            b'[{"type": "TEXT", "x": 0, "y": 1, "text": "a"}]',
            400,
            "element 0 (TEXT): field 'x'",
        ),
        ("table/rtml", b'[{"type": "MARQUEE", "x": 1, "y": 1}]', 400, "got 'MARQUEE'"),
        ("object/lua", b'{"type": 3}', 400, "BUTTON_SUBMIT or BUTTON_PUSH"),
        ("text/plain; charset=utf-8", b"\xc3\x28", 400, "not valid utf-8"),
        ("image/x-unknown", b"data", 415, "unsupported Content-Type 'image/x-unknown'"),
    ],
)
async def test_malformed_bodies_are_400_or_415_and_the_server_keeps_serving(
    serve, content_type, body, status, words
):
    _, url = await serve(values)
    reply = await raw_request(
        url,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s"
        % (content_type.encode(), len(body), body)
        + b"GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    assert status_of(reply) == status
    assert words.encode() in reply
    assert reply.endswith(b"hello /next")  # same connection, next request served


async def test_a_page_with_an_unknown_rtml_type_is_refused_by_the_client(serve):
    """The client decodes RTML as strictly as the server: an element type it does not
    know is a CodecError naming it, not a page drawn without it."""

    async def handler(request):
        body = (
            b'[{"type": "TEXT", "x": 1, "y": 1, "text": "a"}, {"type": "MARQUEE", "x": 1, "y": 2}]'
        )
        return rttp.Response(200, {"Content-Type": "table/rtml"}, body)

    _, url = await serve(handler)
    async with rttp.Client() as client:
        response = await client.get(str(url))
        with pytest.raises(CodecError, match=r"element 1.*got 'MARQUEE'"):
            response.value  # noqa: B018


def _multipart(*parts: bytes, boundary: bytes = b"B") -> bytes:
    return (
        b"".join(b"--" + boundary + b"\r\n" + p + b"\r\n" for p in parts)
        + b"--"
        + boundary
        + b"--\r\n"
    )


FIELD = b'Content-Disposition: form-data; name="f"\r\n\r\nv'


@pytest.mark.parametrize(
    ("settings", "content_type", "body", "words"),
    [
        (
            {"max_form_fields": 3},
            "application/x-www-form-urlencoded",
            b"a=1&b=2&c=3&d=4",
            "max_form_fields=3",
        ),
        (
            {"max_multipart_parts": 2},
            "multipart/form-data; boundary=B",
            _multipart(FIELD, FIELD, FIELD),
            "max_multipart_parts=2",
        ),
        (
            {"max_part_header_size": 1024},
            "multipart/form-data; boundary=B",
            _multipart(
                b'Content-Disposition: form-data; name="f"\r\nX-Pad: ' + b"p" * 3000 + b"\r\n\r\nv"
            ),
            "max_part_header_size=1024",
        ),
        (
            {"max_file_size": 1000},
            "multipart/form-data; boundary=B",
            _multipart(
                b'Content-Disposition: form-data; name="f"; filename="a"\r\n\r\n' + b"x" * 5000
            ),
            "max_file_size=1000",
        ),
        (
            {"max_body_size": 1000},
            "multipart/form-data; boundary=B",
            _multipart(
                b'Content-Disposition: form-data; name="f"; filename="a"\r\n\r\n' + b"x" * 5000
            ),
            "max_body_size=1000",
        ),
    ],
    ids=["fields", "parts", "part-header", "file-size", "body-size"],
)
async def test_codec_limits_answer_413_naming_the_limit(serve, settings, content_type, body, words):
    _, url = await serve(values, **settings)
    reply = await raw_request(
        url,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
        b"Connection: close\r\n\r\n%s" % (content_type.encode(), len(body), body),
    )
    assert status_of(reply) == 413
    assert words.encode() in reply
    async with rttp.Client() as client:
        assert (await client.get(str(url) + "/next")).text == "hello /next"


async def test_accept_negotiation(serve):
    _, url = await serve(values)
    async with rttp.Client() as client:
        for accept, content_type in (
            ("application/json", "application/json"),
            ("text/*", "text/plain; charset=utf-8"),
            ("table/rtml, */*;q=0.1", "table/rtml"),
            ("*/*", "application/json"),
        ):
            response = await client.get(str(url) + "/negotiate", headers={"Accept": accept})
            assert response.headers["content-type"] == content_type
            assert response.headers["vary"] == "Accept"
        refused = await client.get(str(url) + "/negotiate", headers={"Accept": "image/png"})
        assert refused.status == 406
        assert "application/json, text/plain, table/rtml" in refused.text


async def test_stream_post_param_follows_the_seed_call_sequence(serve):
    calls: list[tuple] = []
    results: dict = {}

    async def handler(request: rttp.Request):
        def big(*args):
            calls.append(
                ("big", len(args[0]) if args else None, args[1] if len(args) > 1 else None)
            )

        async def images(*args):  # async callbacks are awaited
            await trio.lowlevel.checkpoint()
            calls.append(
                ("img", args[0] if args else None, args[1]["field_name"] if len(args) > 1 else None)
            )

        request.stream_post_param("big", big)
        request.stream_post_params(r"^img_\d+$", images)
        form = await request.process_body()
        results["rest"] = form.multi_items()
        with pytest.raises(rttp.RTTPError, match="already processed"):
            request.stream_post_param("late", big)
        return "ok"

    _, url = await serve(handler)
    async with rttp.Client() as client:
        response = await client.post(
            str(url),
            data={"plain": "kept"},
            files={
                "big": ("big.bin", b"z" * 300_000, "application/x-big"),
                "img_1": ("empty.png", b"", "image/png"),
                "img_2": ("one.png", b"P", "image/png"),
            },
        )
    assert response.text == "ok"
    big = [c for c in calls if c[0] == "big"]
    assert big[0][2] == {
        "field_name": "big",
        "file_name": "big.bin",
        "content_type": "application/x-big",
    }
    assert big[0][1] > 0
    assert all(c[2] is None for c in big[1:])  # metadata only with the first chunk
    assert big[-1] == ("big", None, None)  # then a call without arguments
    assert sum(c[1] for c in big[:-1]) == 300_000
    assert [c for c in calls if c[0] == "img"] == [
        ("img", b"", "img_1"),  # an empty file: an empty first chunk, then the end
        ("img", None, None),
        ("img", b"P", "img_2"),
        ("img", None, None),
    ]
    assert results["rest"] == [("plain", "kept")]


async def test_form_on_a_non_form_body_is_415(serve):
    async def handler(request):
        await request.form()
        return "unreachable"

    _, url = await serve(handler)
    async with rttp.Client() as client:
        response = await client.post(str(url), json={"a": 1})
    assert response.status == 415
    assert "is not a form" in response.text


async def test_client_streams_multipart_from_files(serve, tmp_path):
    seen: dict = {}

    async def handler(request):
        seen["length"] = request.headers.get("content-length")
        seen["chunked"] = request.headers.get("transfer-encoding")
        form = await request.form()
        seen["sizes"] = {
            name: item.size
            for name, item in form.multi_items()
            if isinstance(item, rttp.UploadFile)
        }
        return "ok"

    _, url = await serve(handler)
    path = tmp_path / "data.bin"
    path.write_bytes(b"d" * 200_000)
    async with rttp.Client() as client:
        with path.open("rb") as handle:
            await client.post(str(url), data={"k": "v"}, files={"doc": handle})
        assert seen["sizes"] == {"doc": 200_000}
        assert seen["length"] is not None  # sizes known: a Content-Length, not chunked
        assert seen["chunked"] is None
        async with await trio.open_file(path, "rb") as async_handle:
            await client.post(str(url), files={"doc": ("data.bin", async_handle)})
        assert seen["sizes"] == {"doc": 200_000}
        assert seen["chunked"] == "chunked"  # an async file has no size up front


# -- peers uploading multipart ---------------------------------------------------------------
async def test_curl_form_upload(serve, tmp_path):
    _, url = await serve(values)
    upload = tmp_path / "report.csv"
    upload.write_bytes(b"a,b\n1,2\n")
    result = await trio.run_process(
        [
            "curl",
            "-sS",
            "-F",
            "title=quarterly",
            "-F",
            f"file=@{upload};type=text/csv",
            f"{url}/echo",
        ],
        capture_stdout=True,
    )
    reply = json.loads(result.stdout)
    assert reply["media_type"] == "multipart/form-data"
    assert reply["value"] == [
        ["title", "quarterly"],
        ["file", {"file": "report.csv", "type": "text/csv", "size": 8, "head": "a,b\n1,2\n"}],
    ]


async def test_httpx_multipart_upload(serve):
    _, url = await serve(values)
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{url}/echo",
            data={"name": "httpx"},
            files={"blob": ("b.bin", io.BytesIO(b"\x00" * 1000), "application/octet-stream")},
        )
    assert response.json()["value"] == [
        ["name", "httpx"],
        [
            "blob",
            {"file": "b.bin", "type": "application/octet-stream", "size": 1000, "head": "\x00" * 8},
        ],
    ]


async def test_aiohttp_multipart_upload(serve):
    _, url = await serve(values)
    script = (
        "import aiohttp, asyncio, sys\n"
        "async def main():\n"
        "    form = aiohttp.FormData()\n"
        "    form.add_field('who', 'aiohttp')\n"
        "    form.add_field('doc', b'%PDF-1.4 fake', filename='d.pdf', content_type='application/pdf')\n"
        "    async with aiohttp.ClientSession() as s:\n"
        "        async with s.post(sys.argv[1], data=form) as r:\n"
        "            print(await r.text())\n"
        "asyncio.run(main())\n"
    )
    result = await trio.run_process(
        [sys.executable, "-c", script, f"{url}/echo"], capture_stdout=True
    )
    assert json.loads(result.stdout)["value"] == [
        ["who", "aiohttp"],
        ["doc", {"file": "d.pdf", "type": "application/pdf", "size": 13, "head": "%PDF-1.4"}],
    ]


def test_large_upload_streams_with_bounded_memory():
    """200 MiB through stream_post_param: the server's peak RSS grows by a few MiB at most."""
    process = subprocess.Popen(
        [sys.executable, str(PEERS / "upload_server.py")], stdout=subprocess.PIPE, text=True
    )
    try:
        port = int(process.stdout.readline().split()[1])  # type: ignore[union-attr]
        report = subprocess.run(
            [sys.executable, str(PEERS / "upload_client.py"), str(port), str(200 << 20)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        result = json.loads(report.stdout)
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()  # type: ignore[union-attr]
    assert result["received"] == 200 << 20
    grown = result["peak_after_kib"] - result["peak_before_kib"]
    assert grown < 8 * 1024, f"peak RSS grew by {grown} KiB while streaming 200 MiB"


async def _rtml_page(request):
    page = rtml.Page().add_text(1, 1, "Welcome", color="yellow").add_link(1, 3, "Next", "/next")
    return rttp.negotiate(request, rtml.representations(page, title="Welcome"))


async def test_an_rtml_page_goes_to_browsers_as_html(serve):
    _, url = await serve(_rtml_page)
    async with rttp.Client() as client:
        browser = await client.get(
            str(url), headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
        )
        assert browser.headers["content-type"] == "text/html; charset=utf-8"
        assert '<a class="rtml-link" href="/next"' in browser.text
        assert "<title>Welcome</title>" in browser.text
        rttp_client = await client.get(str(url), headers={"Accept": "table/rtml"})
        assert rttp_client.value[0].text == "Welcome"


async def test_rttp_get_draws_rtml_on_a_terminal(serve):
    import os
    import pty

    _, url = await serve(_rtml_page)
    controller, terminal = pty.openpty()
    try:
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "rttp", "get", "-b", "-H", "Accept: table/rtml", str(url)],
            stdout=terminal,
            stderr=subprocess.DEVNULL,
        )
        with trio.fail_after(20):
            assert await process.wait() == 0
        output = os.read(controller, 65536).decode()
    finally:
        os.close(controller)
        os.close(terminal)
    assert "\x1b[38;2;222;222;108mWelcome" in output  # yellow
    assert "\x1b[4mNext" in output  # links underlined


def _file_part(size: int) -> bytes:
    return b'Content-Disposition: form-data; name="f"; filename="a"\r\n\r\n' + b"x" * size


@pytest.mark.parametrize(
    ("settings", "at_limit", "past_limit", "words"),
    [
        (
            {"max_form_fields": 3},
            ("application/x-www-form-urlencoded", b"a=1&b=2&c=3"),
            ("application/x-www-form-urlencoded", b"a=1&b=2&c=3&d=4"),
            "max_form_fields=3",
        ),
        (
            {"max_multipart_parts": 2},
            ("multipart/form-data; boundary=B", _multipart(FIELD, FIELD)),
            ("multipart/form-data; boundary=B", _multipart(FIELD, FIELD, FIELD)),
            "max_multipart_parts=2",
        ),
        (
            {"max_file_size": 1000},
            ("multipart/form-data; boundary=B", _multipart(_file_part(1000))),
            ("multipart/form-data; boundary=B", _multipart(_file_part(1001))),
            "max_file_size=1000",
        ),
    ],
    ids=["fields", "parts", "file-size"],
)
async def test_each_codec_limit_takes_its_value_and_refuses_one_more(
    serve, settings, at_limit, past_limit, words
):
    _, url = await serve(values, **settings)
    for (content_type, body), status in ((at_limit, 200), (past_limit, 413)):
        reply = await raw_request(
            url,
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n%s" % (content_type.encode(), len(body), body),
        )
        assert status_of(reply) == status, reply[:300]
        assert (words.encode() in reply) is (status == 413)


async def test_a_streamed_body_may_be_max_body_size_and_no_more(serve):
    """Chunked (no declared length): counted as it arrives, exactly."""

    async def read(request: rttp.Request) -> rttp.Response:
        return rttp.Response(200, body=b"%d" % len(await request.read()))

    _, url = await serve(read, max_body_size=1000)
    for size, status in ((1000, 200), (1001, 413)):
        chunks = b"".join(b"64\r\n" + b"y" * 100 + b"\r\n" for _ in range(size // 100))
        if size % 100:
            chunks += b"%x\r\n%s\r\n" % (size % 100, b"z" * (size % 100))
        reply = await raw_request(
            url,
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            + chunks
            + b"0\r\n\r\n",
        )
        assert status_of(reply) == status, reply[:300]
        if status == 200:
            assert reply.endswith(b"1000")
        else:
            assert b"max_body_size=1000" in reply
