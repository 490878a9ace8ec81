"""The client commands through the real ``rttp`` command: piped and on a terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import trio

import rttp

from .conftest import ROOT, rttp_on_a_terminal, run_rttp

pytestmark = pytest.mark.timeout(60)

BLOB = os.urandom(3 * 1024 * 1024)


async def handler(request: rttp.Request) -> rttp.Response:
    body = await request.read()
    path = request.path
    if path == "/blob":
        return rttp.Response(200, {"Content-Type": "application/octet-stream"}, BLOB)
    if path == "/json":
        return rttp.Response(200, {"Content-Type": "application/json"}, b'{"a":[1,2],"b":"x"}')
    if path == "/echo":
        seen = {
            "method": request.method,
            "type": request.headers.get("content-type"),
            "query": request.query,
            "x": request.headers.get("x-item"),
            "body": body.decode("latin-1"),
        }
        return rttp.Response(200, {"Content-Type": "application/json"}, json.dumps(seen))
    if path.startswith("/status/"):
        code = int(path.rsplit("/", 1)[1])
        return rttp.Response(code, {"Location": "/json"} if code < 400 else {}, b"")
    return rttp.Response(404, body=b"no such path\n")


@pytest.fixture
async def url(serve) -> str:
    _, address = await serve(handler)
    return str(address)


async def test_a_piped_body_is_the_body_byte_for_byte(url, tmp_path):
    done = await run_rttp("get", f"{url}/blob")
    assert done.returncode == 0
    assert done.stdout == BLOB  # no status line, no headers
    target = tmp_path / "out.bin"
    done = await run_rttp("get", f"{url}/blob", "-o", str(target))
    assert (done.returncode, target.read_bytes() == BLOB, done.stdout) == (0, True, b"")


async def test_on_a_terminal_json_is_pretty_and_binary_is_a_note(url):
    status, drawn = await rttp_on_a_terminal("get", f"{url}/json")
    assert status == 0
    assert "HTTP/1.1 200 OK" in drawn
    assert '{\r\n  "a": [\r\n    1,' in drawn  # pretty-printed (the pty turns \n into \r\n)
    assert drawn.endswith("}\r\n")  # a final newline
    status, drawn = await rttp_on_a_terminal("get", f"{url}/blob")
    assert "binary data not shown" in drawn
    assert len(drawn) < 2000


async def test_download_shows_size_speed_and_eta(url, tmp_path):
    status, drawn = await rttp_on_a_terminal("get", f"{url}/blob", "--download", cwd=tmp_path)
    assert status == 0
    assert (tmp_path / "blob").read_bytes() == BLOB
    assert "3.1/3.1 MB" in drawn  # rich's DownloadColumn: sizes in units
    assert "/s" in drawn  # the speed
    assert "0:00:00" in drawn  # the time left


async def test_request_items_stdin_and_data(url):
    items = await run_rttp("post", f"{url}/echo", "a=1", "n:=[1,2]", "q==7", "X-Item:yes")
    seen = json.loads(items.stdout)
    assert seen["type"] == "application/json"
    assert json.loads(seen["body"]) == {"a": "1", "n": [1, 2]}
    assert (seen["query"], seen["x"]) == ("q=7", "yes")
    form = json.loads((await run_rttp("post", "--form", f"{url}/echo", "a=1", "b=two")).stdout)
    assert (form["type"], form["body"]) == ("application/x-www-form-urlencoded", "a=1&b=two")
    piped = json.loads((await run_rttp("post", f"{url}/echo", stdin=b'{"x":1}')).stdout)
    assert (piped["type"], piped["body"]) == ("application/json", '{"x":1}')
    data = json.loads((await run_rttp("post", "-d", "a=1&b=2", f"{url}/echo")).stdout)
    assert data["type"] == "application/x-www-form-urlencoded"
    doc = json.loads((await run_rttp("put", "--json", '{"k": true}', f"{url}/echo")).stdout)
    assert (doc["method"], json.loads(doc["body"])) == ("PUT", {"k": True})


async def test_every_verb_and_any_method(url):
    for verb in ("put", "patch", "delete", "options"):
        seen = json.loads((await run_rttp(verb, f"{url}/echo")).stdout)
        assert seen["method"] == verb.upper()
    head = await run_rttp("head", f"{url}/echo", "-h")
    assert b"HTTP/1.1 200 OK" in head.stdout
    any_method = json.loads((await run_rttp("request", "PROPFIND", f"{url}/echo")).stdout)
    assert any_method["method"] == "PROPFIND"
    override = json.loads((await run_rttp("get", "-X", "PURGE", f"{url}/echo")).stdout)
    assert override["method"] == "PURGE"


async def test_verbose_prints_the_request_too(url):
    for args in (("-v", "get", f"{url}/json"), ("get", "-v", f"{url}/json")):
        out = (await run_rttp(*args)).stdout.decode()
        assert out.startswith("GET /json HTTP/1.1\n")
        assert "User-Agent: trio-rttp/" in out
        assert "HTTP/1.1 200 OK" in out


async def test_exit_statuses_follow_the_answer(url):
    assert (await run_rttp("get", f"{url}/json")).returncode == 0
    assert (await run_rttp("get", "--no-follow", f"{url}/status/302")).returncode == 3
    assert (await run_rttp("get", f"{url}/status/302")).returncode == 0  # followed
    assert (await run_rttp("get", f"{url}/status/404")).returncode == 4
    assert (await run_rttp("get", f"{url}/status/503")).returncode == 5
    refused = await run_rttp("get", "http://127.0.0.1:1/")
    assert refused.returncode == 2
    assert refused.stderr.decode().count("\n") == 1
    helped = await run_rttp("get", "--help")
    assert b"4  a 4xx" in helped.stdout


async def test_a_url_without_scheme_gets_http(url):
    bare = url.removeprefix("http://")
    assert json.loads((await run_rttp("get", f"{bare}/echo")).stdout)["method"] == "GET"
    port = bare.rsplit(":", 1)[1]
    assert (await run_rttp("get", f":{port}/json")).returncode == 0  # :port means localhost


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("post", "--json", "{bad json", "URL/echo"), "--json is not valid JSON"),
        (("post", "-d", "@/nonexistent", "URL/echo"), "cannot read '/nonexistent'"),
        (("post", "URL/echo", "a:={bad"), "is not valid JSON after ':='"),
        (("post", "URL/echo", "nonsense"), "is not a request item"),
        (("get", "http://bad host:port/"), "malformed URL"),
    ],
)
async def test_everyday_mistakes_are_one_line(url, args, message):
    done = await run_rttp(*[a.replace("URL", url) for a in args])
    err = done.stderr.decode()
    assert done.returncode == 2
    assert err.count("\n") == 1, err
    assert message in err
    assert "Traceback" not in err


async def test_a_closed_pipe_is_not_an_error(url):
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "rttp", "get", "-b", f"{url}/blob"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=str(ROOT),
    )
    assert process.stdout is not None
    assert process.stderr is not None
    got = await process.stdout.receive_some(100)
    assert got
    await process.stdout.aclose()  # as `| head -c 100` does
    with trio.fail_after(20):
        err = b""
        while chunk := await process.stderr.receive_some(65536):
            err += chunk
        status = await process.wait()
    await process.stderr.aclose()
    assert (status, err) == (0, b"")


async def test_a_piped_body_and_fields_are_not_mixed(url):
    """As httpie: a body on stdin and fields on the command line is a mistake, said in
    one line (exit 2); --ignore-stdin sends the fields."""
    mixed = await run_rttp("post", f"{url}/echo", "a=b", stdin=b'{"x":1}')
    assert mixed.returncode == 2
    err = mixed.stderr.decode()
    assert "cannot be mixed; pass --ignore-stdin" in err
    assert err.count("\n") == 1
    chosen = await run_rttp("post", f"{url}/echo", "a=b", "--ignore-stdin", stdin=b'{"x":1}')
    assert json.loads(chosen.stdout)["body"] == '{"a":"b"}'


async def test_a_get_never_waits_for_stdin(url):
    """``sleep 3 | rttp get URL``: a GET sends no body, so an open pipe nobody writes
    to is not read (the command would hang here if it were)."""
    import sys

    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "rttp", "get", f"{url}/echo"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        with trio.fail_after(20):  # the pipe stays open, unwritten, the whole time
            assert await process.wait() == 0
    finally:
        assert process.stdin is not None
        await process.stdin.aclose()


async def test_downloads_never_overwrite_and_continue_where_they_stopped(nursery, tmp_path):
    """--download picks name-1 for a name that exists; --continue -o FILE asks for the
    rest with Range (rttp.static answers it) and appends; a complete file is said so."""
    site = tmp_path / "site"
    site.mkdir()
    data = bytes(range(256)) * 4000
    (site / "data.bin").write_bytes(data)
    server = rttp.Server(rttp.static(site), "http://127.0.0.1:0", access_log=False)
    url = str((await nursery.start(server.serve))[0])
    work = tmp_path / "work"
    work.mkdir()
    for _ in range(2):
        done = await run_rttp("get", f"{url}/data.bin", "--download", cwd=work)
        assert done.returncode == 0, done.stderr
    assert (work / "data.bin").read_bytes() == data
    assert (work / "data.bin-1").read_bytes() == data  # the first one left alone
    (work / "part.bin").write_bytes(data[:1000])
    resumed = await run_rttp(
        "get", f"{url}/data.bin", "--download", "-o", "part.bin", "--continue", cwd=work
    )
    assert resumed.returncode == 0, resumed.stderr
    assert (work / "part.bin").read_bytes() == data
    again = await run_rttp(
        "get", f"{url}/data.bin", "--download", "-o", "part.bin", "--continue", cwd=work
    )
    assert again.returncode == 0
    assert b"part.bin is complete already" in again.stderr
    assert (work / "part.bin").read_bytes() == data
    lost = await run_rttp("get", f"{url}/data.bin", "--continue", cwd=work)
    assert lost.returncode == 2
    assert b"--continue needs -o FILE" in lost.stderr


@pytest.mark.parametrize(
    ("args", "said", "helped"),
    [
        (["serve", "examples.hello:app", "--lgo-level", "debug"], "--log-level?", "rttp serve"),
        (["get", ":8000", "--proxxy", "x"], "did you mean --proxy?", "rttp get"),
        (["sever", "x"], "did you mean serve?", "rttp"),
    ],
)
async def test_a_mistyped_option_or_command_gets_a_suggestion(args, said, helped):
    done = await run_rttp(*args)
    err = done.stderr.decode()
    assert done.returncode == 2
    assert said in err
    assert err.count("\n") == 1  # one line, no usage dump
    assert err.rstrip().endswith(f"see {helped} --help")  # the help of the command at fault
