"""Examples in the docs are files that run."""

from __future__ import annotations

import runpy
from pathlib import Path

DOCS = Path(__file__).parents[2] / "docs"


async def test_quickstart_example_runs():
    namespace = runpy.run_path(str(DOCS / "examples" / "quickstart.py"))
    assert await namespace["main"]() == "hello, trio"


async def test_codecs_example_runs():
    namespace = runpy.run_path(str(DOCS / "examples" / "codecs.py"))
    assert await namespace["main"]() == [
        {"got": "application/json", "type": "dict"},
        {"got": "table", "type": "list"},
        {"got": "application/x-www-form-urlencoded", "type": "FormData"},
        {"got": "text/plain", "type": "str"},
        {"title": "report", "file_bytes": 1000},
        "Hello",
    ]


def test_every_codec_is_listed_in_the_docs():
    import rttp

    page = (DOCS / "codecs.rst").read_text()
    for codec in rttp.get_plugins().body_codecs.values():
        assert f"``{codec.media_type}``" in page, codec.media_type


async def test_chat_example_app(nursery):
    import rttp

    namespace = runpy.run_path(str(DOCS / "examples" / "chat.py"))
    app = namespace["app"]
    served = await nursery.start(app.serve(0).run)
    base = str(served.url)
    async with rttp.Client() as client:
        assert "new WebSocket" in (await client.get(base + "/")).text
        assert (await client.get(base + "/users/3")).value == {"id": 3, "from": "127.0.0.1"}
        note = await client.post(base + "/notes", json={"a": 1})
        assert (note.status, note.value) == (201, {"saved": {"a": 1}})
    url = base.replace("http", "ws") + "/chat"
    async with (
        rttp.websocket(url, ping_interval=None) as a,
        rttp.websocket(url, ping_interval=None) as b,
    ):
        assert (await a.receive()).startswith("welcome")
        assert (await b.receive()).startswith("welcome")
        await a.text("hi")
        assert (await a.receive()).endswith(": hi")
        assert (await b.receive()).endswith(": hi")
    await served.stop()


async def test_engine_example_runs_over_each_stream():
    namespace = runpy.run_path(str(DOCS / "examples" / "engine.py"))
    results = await namespace["main"]()
    assert len(results) == 3  # memory streams, socketpair, TLS
    for answers in results:
        assert answers[:2] == ["200 POST /upload: 10 bytes", "200 GET /: 0 bytes"]
        assert answers[2].startswith("405 ")
        assert "allowed: GET, POST" in answers[2]


async def test_auth_services_example_runs():
    namespace = runpy.run_path(str(DOCS / "examples" / "auth_services.py"))
    assert await namespace["main"]() == [
        "chat says hello to alice",
        "files says hello to alice",
        "wrong audience: the token is for 'chat', this service is 'files'",
    ]


def test_every_6xx_code_is_in_the_handles_page():
    import rttp

    page = (DOCS / "handles.rst").read_text()
    for code in rttp.HANDLE_CODES:
        assert f"\n{code}    " in page, code


async def test_testing_example_runs():
    namespace = runpy.run_path(str(DOCS / "examples" / "testing_app.py"))
    assert await namespace["called_directly"]() == {"id": 7}
    assert await namespace["in_memory"]() == {"id": 8}


async def test_the_testing_pages_fixture_recipe(rttp_server):
    namespace = runpy.run_path(str(DOCS / "examples" / "testing_app.py"))
    import rttp

    url = await rttp_server(namespace["app"])
    async with rttp.Client(base_url=url) as client:
        assert (await client.get("/users/9")).json() == {"id": 9}


def test_the_performance_chart_is_drawn_from_the_table():
    chart = runpy.run_path(str(DOCS.parent / "benchmarks" / "chart.py"))
    rows = chart["server_rows"]((DOCS / "performance.rst").read_text())
    assert ("rttp (httptools)", rows[0][1]) == rows[0]
    assert (DOCS / "_static" / "servers-c50.svg").read_text() == chart["svg"](rows), (
        "run python benchmarks/chart.py after changing the table"
    )


async def test_push_example_runs():
    namespace = runpy.run_path(str(DOCS / "examples" / "push.py"))
    assert await namespace["main"]() == [
        "data: tick 0",
        "data: tick 1",
        "data: tick 2",
        '{"row": 1} {"row": 2} {"row": 3}',
        "returned, not pushed",
    ]


async def test_asgi_example_runs():
    namespace = runpy.run_path(str(DOCS / "examples" / "asgi_fastapi.py"))
    assert await namespace["main"]() == [
        {"item_id": 7, "q": "trio"},
        {"item_id": 1, "q": None},
        "echo: hi",
    ]


async def test_wsgi_example_runs():
    namespace = runpy.run_path(str(DOCS / "examples" / "wsgi_flask.py"))
    assert await namespace["main"]() == [
        {"bytes": 7, "type": "application/json"},
        {"bytes": 100_000, "type": None},
    ]


def test_the_encoding_plugin_example_passes_the_kit():
    from rttp.testing import check_content_encoding

    namespace = runpy.run_path(str(DOCS / "examples" / "encoding_plugin.py"))
    check_content_encoding(namespace["RawDeflate"]())


async def test_the_encoding_plugin_example_decodes_a_response():
    import zlib

    import rttp

    namespace = runpy.run_path(str(DOCS / "examples" / "encoding_plugin.py"))
    squeezer = zlib.compressobj(wbits=-15)
    body = squeezer.compress(b"raw deflate " * 100) + squeezer.flush()

    async def handler(request: rttp.Request) -> rttp.Response:
        response = rttp.Response(200, {"Content-Encoding": "x-deflate-raw"}, body)
        response.compress = False
        return response

    plugin = namespace["RawDeflate"]()
    from rttp.testing import AppTransport

    plugins = [AppTransport(handler), _Register(plugin)]
    async with rttp.Client(plugins=plugins) as client:
        got = await client.get("http://testserver/")
    assert got.content == b"raw deflate " * 100


class _Register:
    """A plugin object registering one encoding (as the example's module does)."""

    def __init__(self, encoding: object) -> None:
        self.encoding = encoding

    from rttp.plugin import hookimpl as _hookimpl

    @_hookimpl
    def rttp_register_content_encodings(self, register):  # type: ignore[no-untyped-def]
        register(self.encoding)
