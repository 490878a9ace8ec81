"""Moonbridge's HTTP module against curl and raw sockets, in a real worker pool."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio

from rttp import moonbridge
from tests.integration.test_peers import curl
from tests.moonbridge._app import App, running

pytestmark = pytest.mark.peer

APP = """
import json
received = {}

async def handle(req):
    if req.path == "echo":  # every view of the request, as JSON
        await req.process_request_body()
        req.send_status("200 OK")
        req.send_header("Content-Type", "application/json")
        await req.send_data(json.dumps({
            "method": req.method, "path": req.path, "query": req.query,
            "get": req.get_params, "get_list": req.get_params_list,
            "post": req.post_params if req._form is not None else None,
            "body": req.body.decode() if req._body is not None else None,
            "cookies": req.cookies,
            "accept": req.headers.get("accept"),
            "csv": req.headers_csv_string.get("x-list"),
            "table": req.headers_csv_table.get("x-list"),
            "flag": req.headers_flags["x-list"]["B"] if "x-list" in req.headers_flags else None,
            "value": req.headers_value.get("x-one"),
        }))
        return
    if req.path == "upload":  # a multipart file streamed field by field
        got = []
        def field(*args):
            got.append(("start", len(args[0]), args[1]["file_name"]) if len(args) == 2
                       else ("more", len(args[0])) if args else ("end",))
        req.stream_post_param("file", field)
        await req.process_request_body()
        req.send_status("200 OK")
        await req.send_data(json.dumps({"events": [got[0], got[-1]],
                                        "bytes": sum(e[1] for e in got if len(e) > 1 and e[0] != "end"),
                                        "other": req.post_params.get("note"),
                                        "meta": req.post_metadata.get("doc"),
                                        "metas": req.post_metadata_list.get("doc"),
                                        "notes": req.post_params_list.get("note")}))
        return
    if req.path == "raw":  # a streamed (chunked) request body
        sizes = []
        await req.stream_request_body(lambda chunk: sizes.append(len(chunk)))
        req.send_status("201 Created")
        await req.send_data(f"{sum(sizes)} bytes in {len(sizes)} pieces, largest {max(sizes)}")
        return
    if req.path == "pieces":  # small writes coalesced up to minimum_output_chunk_size
        req.send_status("200 OK")
        for _ in range(100):
            await req.send_data("x" * 10)
        await req.finish()
        return
    if req.path == "order":
        req.send_status("200 OK")
        errors = []
        try:
            req.send_status("201 Created")
        except RuntimeError as exc:
            errors.append(str(exc))
        await req.send_data("body started")
        try:
            req.send_header("X-Late", "1")
        except RuntimeError as exc:
            errors.append(str(exc))
        await req.finish()
        await req.finish()  # twice is fine
        say("ORDER", json.dumps(errors))
        return
    if req.path == "close":
        req.close_after_finish()
        req.send_status("200 OK")
        await req.send_data("bye")
        return
    if req.path is None:  # OPTIONS *
        req.send_status("200 OK")
        await req.send_data(f"asterisk query={req.query!r}")
        return
    if req.path == "early":  # answered before the body is read
        req.defer_reading()
        req.send_status("200 OK")
        await req.flush()
        say("EARLY head sent")
        size = 0
        def count(chunk):
            nonlocal size
            size += len(chunk)
        await req.stream_request_body(count)
        await req.send_data(f"read {size} after answering")
        return
    if req.path == "form-only":
        await req.process_request_body()
        req.send_status("200 OK")
        await req.send_data(str(req.post_params))
        return
    if req.path == "nothing":
        return  # no answer: a 500 says so
    if req.path == "see-other":  # a status and a header, then return (the seed example's /)
        req.send_status("303 See Other")
        req.send_header("Location", "/plain")
        return
    if req.path == "no-content":
        req.send_status("204 No Content")
        return
    if req.path == "faulty":  # writes to a client that hung up
        req.send_status("200 OK")
        try:
            for _ in range(10000):
                await req.send_data("x" * 65536)
                await req.flush()
        except Exception as exc:
            say("FAULTY", req.faulty, type(exc).__name__)
            raise
        return
    if req.path == "boom":
        raise RuntimeError("handler broke")
    req.send_status("200 OK")
    req.send_header("Content-Length", "5")
    await req.send_data("hello")

moonbridge.listen({"proto": "tcp", "host": "127.0.0.1", "port": 0},
                  connect=moonbridge.generate_handler(handle, OPTIONS), fork_delay=0.01)
moonbridge.run()
"""

DEFAULT_OPTIONS = {
    "static_headers": ["X-Static: yes"],
    "request_body_size_limit": 100_000,
    "request_header_size_limit": 4096,
    "maximum_input_chunk_size": 1000,
    "minimum_output_chunk_size": 400,
}


@asynccontextmanager
async def http_app(tmp_path: Path, **options: object) -> AsyncIterator[tuple[App, str]]:
    source = APP.replace("OPTIONS", repr({**DEFAULT_OPTIONS, **options}))
    async with running(tmp_path, source) as app:
        yield app, f"http://127.0.0.1:{app.port}"


async def test_get_head_and_the_request_views(tmp_path):
    async with http_app(tmp_path) as (_, base):
        got = await curl(
            "-H",
            "Cookie: a=1; b=2",
            "-H",
            "X-List: a, b",
            "-H",
            "X-List: c",
            "-H",
            "X-One: v",
            f"{base}/echo?x=1&x=2&y=",
        )
        seen = json.loads(got.stdout)
        assert seen["method"] == "GET"
        assert seen["path"] == "echo"
        assert seen["query"] == "?x=1&x=2&y="
        assert seen["get"] == {"x": "1", "y": ""}
        assert seen["get_list"] == {"x": ["1", "2"], "y": [""]}
        assert seen["cookies"] == {"a": "1", "b": "2"}
        assert seen["csv"] == "a, b, c"
        assert seen["table"] == ["a", "b", "c"]
        assert seen["flag"] is True
        assert seen["value"] == "v"
        assert seen["body"] == ""
        head = await curl("-sI", f"{base}/plain")
        assert head.stdout.startswith(b"HTTP/1.1 200 OK")
        assert b"X-Static: yes" in head.stdout
        assert b"Content-Length: 5" in head.stdout
        plain = await curl("-s", f"{base}/plain")
        assert plain.stdout == b"hello"


async def test_urlencoded_post_and_a_multipart_file_through_stream_post_param(tmp_path):
    async with http_app(tmp_path, request_body_size_limit=1 << 20) as (_, base):
        form = json.loads((await curl("-d", "a=1&b=two", f"{base}/echo")).stdout)
        assert form["post"] == {"a": "1", "b": "two"}
        upload = tmp_path / "data.bin"
        upload.write_bytes(b"z" * 300_000)
        doc = tmp_path / "doc.txt"
        doc.write_text("kept")
        got = await curl(
            "-F",
            f"file=@{upload}",
            "-F",
            "note=hi",
            "-F",
            "note=again",
            "-F",
            f"doc=@{doc};type=text/plain",
            f"{base}/upload",
        )
        seen = json.loads(got.stdout)
        assert seen["meta"] == {"file_name": "doc.txt", "content_type": "text/plain"}
        assert seen["metas"] == [seen["meta"]]
        assert seen["notes"] == ["hi", "again"]
        assert seen["events"][0][0] == "start"
        assert seen["events"][0][2] == "data.bin"
        assert seen["events"][-1] == ["end"]
        assert seen["bytes"] == 300_000
        assert seen["other"] == "hi"


async def test_a_chunked_upload_with_expect_100_is_streamed_in_bounded_pieces(tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(b"q" * 50_000)
    async with http_app(tmp_path) as (_, base):
        got = await curl(
            "-v",
            "-H",
            "Transfer-Encoding: chunked",
            "-H",
            "Expect: 100-continue",
            "--data-binary",
            f"@{big}",
            f"{base}/raw",
        )
        assert b"HTTP/1.1 100 Continue" in got.stderr
        assert b"HTTP/1.1 201 Created" in got.stderr
        text = got.stdout.decode()
        assert text.startswith("50000 bytes in ")
        assert text.endswith("largest 1000")  # maximum_input_chunk_size


async def _raw(base: str, data: bytes) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    stream = await trio.open_tcp_stream(host, int(port))
    async with stream:
        await stream.send_all(data)
        reply = b""
        with trio.fail_after(10):
            while chunk := await stream.receive_some(65536):
                reply += chunk
    return reply


@pytest.mark.parametrize(
    ("request_bytes", "status", "words"),
    [
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n",
            413,
            b"max_body_size=100000",
        ),
        (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, b""),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 5000 + b"\r\n\r\n", 431, b""),
        (b"GET / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n", 417, b"Expect"),
        (b"GET / HTTP/1.1\r\n\r\n", 400, b"Host"),
    ],
    ids=["413", "414", "431", "417", "400-no-host"],
)
async def test_limits_answer_with_their_status_and_the_pool_serves_on(
    tmp_path, request_bytes, status, words
):
    async with http_app(tmp_path) as (_, base):
        reply = await _raw(base, request_bytes)
        assert reply.startswith(b"HTTP/1.1 %d" % status), reply[:200]
        assert words in reply
        assert (await curl("-s", f"{base}/plain")).stdout == b"hello"


async def test_a_stalled_head_gets_408(tmp_path):
    async with http_app(tmp_path, request_header_timeout=0.3) as (_, base):
        reply = await _raw(base, b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finished
        assert reply.startswith(b"HTTP/1.1 408")
        assert b"header_timeout=0.3" in reply


async def test_small_writes_are_coalesced_on_the_wire(tmp_path):
    async with http_app(tmp_path) as (_, base):
        reply = await _raw(base, b"GET /pieces HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        body = reply.split(b"\r\n\r\n", 1)[1]
        sizes = []
        while body:
            size, _, rest = body.partition(b"\r\n")
            sizes.append(int(size, 16))
            body = rest[int(size, 16) + 2 :]
            if sizes[-1] == 0:
                break
        assert sizes == [400, 400, 200, 0]  # 100 writes of 10 bytes, held to 400


async def test_order_rules_close_after_finish_and_handlers_that_fail(tmp_path):
    async with http_app(tmp_path) as (app, base):
        assert (await curl("-s", f"{base}/order")).stdout == b"body started"
        errors = json.loads((await app.expect(r"ORDER (.*)")).group(1))
        assert "send_status() was called already (with 200)" in errors[0]
        assert "header 'X-Late' after the body has started" in errors[1]
        closing = await _raw(
            base, b"GET /close HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        assert closing.count(b"HTTP/1.1 200") == 1  # closed after the first answer
        assert b"Connection: close" in closing
        nothing = await curl("-s", "-w", "%{http_code}", f"{base}/nothing")
        assert nothing.stdout.endswith(b"500")
        assert b"sent no response" in nothing.stdout
        boom = await curl("-s", "-w", "%{http_code}", f"{base}/boom")
        assert boom.stdout.endswith(b"500")
        assert b"handler broke" not in boom.stdout  # the traceback stays in the log
        await app.expect("HTTP handler failed for GET /boom")
        assert (await curl("-s", f"{base}/plain")).stdout == b"hello"


async def test_the_ported_example_application(tmp_path):
    example = Path(__file__).parents[2] / "examples" / "moonbridge_app.py"
    async with running(tmp_path, example) as app:
        base = f"http://127.0.0.1:{app.port}"
        home = await curl("-si", f"{base}/")
        assert b"X-Powered-By: trio-rttp moonbridge" in home.stdout
        assert home.stdout.endswith(b"</p>")
        greeting = (await curl("-s", "-d", "name=Ana", f"{base}/greet")).stdout.decode()
        assert greeting.startswith("Hello, Ana! (worker ")
        missing = await curl("-s", "-w", "%{http_code}", f"{base}/nowhere")
        assert missing.stdout.endswith(b"404")


async def test_options_asterisk_and_a_form_read_from_a_body_that_is_not_one(tmp_path):
    async with http_app(tmp_path) as (_, base):
        reply = await _raw(base, b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert b"asterisk query=None" in reply  # path and query are None
        got = await curl(
            "-s",
            "-w",
            "%{http_code}",
            "-H",
            "Content-Type: application/json",
            "-d",
            '{"a": 1}',
            f"{base}/form-only",
        )
        assert got.stdout.endswith(b"415")
        assert b"not a form" in got.stdout
        empty = await curl("-s", f"{base}/form-only")  # no body at all: no fields, no error
        assert empty.stdout == b"{}"


async def test_defer_reading_answers_before_the_body_is_read(tmp_path):
    async with http_app(tmp_path) as (app, base):
        host, port = base.removeprefix("http://").split(":")
        stream = await trio.open_tcp_stream(host, int(port))
        async with stream:
            await stream.send_all(
                b"POST /early HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\n"
            )
            await app.expect("EARLY head sent")  # the body has not been sent yet
            with trio.fail_after(5):
                head = await stream.receive_some(65536)
            assert head.startswith(b"HTTP/1.1 200 OK")
            await stream.send_all(b"0123456789")
            rest = b""
            with trio.fail_after(5):
                while chunk := await stream.receive_some(65536):
                    rest += chunk
        assert b"read 10 after answering" in head + rest


def test_generate_handler_options():
    async def handle(req):
        pass

    assert callable(moonbridge.generate_handler({"chunk_size": 10}, handle))
    assert callable(moonbridge.generate_handler(handle, {"idle_timeout": False}))
    options = moonbridge.HttpOptions({"chunk_size": 2048, "body_size_limit": 5})
    assert (options.input_chunk, options.output_chunk, options.body_limit) == (2048, 2048, 5)
    with pytest.raises(ValueError, match="unknown generate_handler\\(\\) option 'speed'"):
        moonbridge.HttpOptions({"speed": 1})
    with pytest.raises(ValueError, match="not both"):
        moonbridge.HttpOptions({"body_size_limit": 1, "request_body_size_limit": 2})
    with pytest.raises(ValueError, match="Name: value"):
        moonbridge.HttpOptions({"static_headers": ["no colon"]})
    assert moonbridge.HttpOptions({"static_headers": {"A": "1"}}).static_headers == [("A", "1")]


async def test_a_status_only_answer_is_finished_when_the_handler_returns(tmp_path):
    """Moonbridge finishes the answer when the handler returns: a 303 with its Location
    (the example application's ``/``) or a bare 204 is no 500."""
    async with http_app(tmp_path) as (_, base):
        other = await curl("-si", f"{base}/see-other")
        assert other.stdout.startswith(b"HTTP/1.1 303 See Other")
        assert b"Location: /plain" in other.stdout
        assert b"500" not in other.stdout
        empty = await curl("-si", f"{base}/no-content")
        assert empty.stdout.startswith(b"HTTP/1.1 204 No Content")
        both = await _raw(
            base,
            b"GET /no-content HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /see-other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        assert both.startswith(b"HTTP/1.1 204")  # kept alive: the next one answered too
        assert b"HTTP/1.1 303" in both
        nothing = await curl("-s", "-w", "%{http_code}", f"{base}/nothing")
        assert nothing.stdout.endswith(b"500")  # no status at all is still one


async def test_faulty_is_set_before_a_write_error_is_raised(tmp_path):
    async with http_app(tmp_path) as (app, base):
        host, port = base.removeprefix("http://").split(":")
        stream = await trio.open_tcp_stream(host, int(port))
        await stream.send_all(b"GET /faulty HTTP/1.1\r\nHost: x\r\n\r\n")
        with trio.fail_after(10):
            assert (await stream.receive_some(100)).startswith(b"HTTP/1.1 200")
        await stream.aclose()
        found = await app.expect(r"FAULTY (\w+) (\w+)")
        assert found.group(1) == "True"
        assert (await curl("-s", f"{base}/plain")).stdout == b"hello"
