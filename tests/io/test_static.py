"""rttp.static over real sockets: files with their validators, 304 and 412, ranges (one,
several, If-Range, 416) read by curl and http.client, precompressed siblings, index
files, and every way a request path could try to leave the directory."""

from __future__ import annotations

import email
import email.utils
import http.client
import shutil
import sys

import pytest
import trio

import rttp
from rttp._proto._ranges import MAX_RANGES, Unsatisfiable, parse_ranges
from tests.conftest import raw_request, status_of

SECRET = b"the secret outside the root"


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "public"
    (root / "docs").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "docs" / "index.html").write_text("<h1>docs</h1>")
    (root / "hello.txt").write_text("hello, static world\n")
    (root / "data.bin").write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    (root / "app.js").write_text("console.log('plain');")
    (root / "app.js.gz").write_bytes(b"gzip bytes stand-in")
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (root / "leak").symlink_to(tmp_path / "secret.txt")
    (root / "inner-link").symlink_to(root / "hello.txt")
    return root


async def start(nursery, handler, **settings) -> rttp.URL:
    server = rttp.Server(handler, "http://127.0.0.1:0", access_log=False, **settings)
    return (await nursery.start(server.serve))[0]


@pytest.fixture
async def url(nursery, site):
    return await start(nursery, rttp.static(site, cache_control="max-age=60"))


def curl(*args: str) -> list[str]:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed (apt-get install curl)")
    return ["curl", "-sS", *args]


async def test_a_file_with_its_type_and_validators(url, site, sendfile_calls):
    sent = sendfile_calls
    async with rttp.Client() as client:
        got = await client.get(f"{url}/data.bin")
        by_kernel = sum(sent)
        text = await client.get(f"{url}/hello.txt")
        head = await client.head(f"{url}/data.bin")
    assert got.content == (site / "data.bin").read_bytes()
    assert by_kernel == len(got.content)  # by the kernel, not read through Python
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["accept-ranges"] == "bytes"
    assert got.headers["cache-control"] == "max-age=60"
    assert got.headers["etag"].startswith('"')
    assert got.headers["last-modified"].endswith(" GMT")
    assert (text.text, text.headers["content-type"]) == (
        "hello, static world\n",
        "text/plain; charset=utf-8",
    )
    assert (head.status, head.content, head.headers["content-length"]) == (200, b"", "1048576")


async def test_conditions_answer_304_and_412(url):
    async with rttp.Client() as client:
        first = await client.get(f"{url}/hello.txt")
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        by_tag = await client.get(f"{url}/hello.txt", headers={"If-None-Match": etag})
        by_weak_tag = await client.get(f"{url}/hello.txt", headers={"If-None-Match": "W/" + etag})
        by_date = await client.get(f"{url}/hello.txt", headers={"If-Modified-Since": modified})
        changed = await client.get(f"{url}/hello.txt", headers={"If-None-Match": '"other"'})
        refused = await client.get(f"{url}/hello.txt", headers={"If-Match": '"other"'})
        matched = await client.get(f"{url}/hello.txt", headers={"If-Match": etag})
    assert (by_tag.status, by_tag.content, by_tag.headers["etag"]) == (304, b"", etag)
    assert by_weak_tag.status == 304  # If-None-Match compares weakly
    assert by_date.status == 304
    assert changed.status == 200
    assert refused.status == 412
    assert matched.status == 200


async def test_curl_time_condition_and_ranges(url, site):
    data = (site / "data.bin").read_bytes()
    # (curl itself "simulates" a 304 when the date is later than Last-Modified: the
    # head it dumps says what the server answered)
    now = email.utils.formatdate(usegmt=True)
    newer = await trio.run_process(
        [*curl("-z", now, "-D", "-", "-o", "/dev/null"), f"{url}/data.bin"],
        capture_stdout=True,
    )
    assert newer.stdout.startswith(b"HTTP/1.1 304 ")
    part = await trio.run_process(curl("-r", "100-199", f"{url}/data.bin"), capture_stdout=True)
    assert part.stdout == data[100:200]
    tail = await trio.run_process(curl("-r", "-10", f"{url}/data.bin"), capture_stdout=True)
    assert tail.stdout == data[-10:]
    head = await trio.run_process(curl("-I", f"{url}/data.bin"), capture_stdout=True)
    etag = next(
        line.split(b":", 1)[1].strip()
        for line in head.stdout.splitlines()
        if line.lower().startswith(b"etag:")
    )
    cached = await trio.run_process(
        [
            *curl("-H", f"If-None-Match: {etag.decode()}", "-D", "-", "-o", "/dev/null"),
            f"{url}/data.bin",
        ],
        capture_stdout=True,
    )
    assert cached.stdout.startswith(b"HTTP/1.1 304 ")


async def test_one_range_several_ranges_and_416(url, site):
    data = (site / "data.bin").read_bytes()
    async with rttp.Client() as client:
        one = await client.get(f"{url}/data.bin", headers={"Range": "bytes=10-19"})
        open_end = await client.get(f"{url}/data.bin", headers={"Range": "bytes=1048570-"})
        beyond = await client.get(f"{url}/data.bin", headers={"Range": "bytes=2000000-"})
        bad = await client.get(f"{url}/data.bin", headers={"Range": "bytes=5-1"})
    assert (one.status, one.content) == (206, data[10:20])
    assert one.headers["content-range"] == f"bytes 10-19/{len(data)}"
    assert (open_end.status, open_end.content) == (206, data[-6:])
    assert (beyond.status, beyond.headers["content-range"]) == (416, f"bytes */{len(data)}")
    assert (bad.status, len(bad.content)) == (200, len(data))  # invalid: ignored

    def multipart() -> tuple[int, str, bytes]:
        connection = http.client.HTTPConnection(url.host, url.port, timeout=10)
        connection.request("GET", "/data.bin", headers={"Range": "bytes=0-3,100-103,-2"})
        response = connection.getresponse()
        body = response.read()
        connection.close()
        return response.status, response.getheader("Content-Type"), body

    status, kind, body = await trio.to_thread.run_sync(multipart)
    assert status == 206
    assert kind.startswith("multipart/byteranges; boundary=")
    message = email.message_from_bytes(b"Content-Type: " + kind.encode() + b"\r\n\r\n" + body)
    parts = [(p["Content-Range"], p.get_payload(decode=True)) for p in message.get_payload()]
    size = len(data)
    assert parts == [
        (f"bytes 0-3/{size}", data[0:4]),
        (f"bytes 100-103/{size}", data[100:104]),
        (f"bytes {size - 2}-{size - 1}/{size}", data[-2:]),
    ]


async def test_if_range_that_does_not_match_sends_the_whole_file(url, site):
    async with rttp.Client() as client:
        etag = (await client.head(f"{url}/data.bin")).headers["etag"]
        kept = await client.get(f"{url}/data.bin", headers={"Range": "bytes=0-9", "If-Range": etag})
        stale = await client.get(
            f"{url}/data.bin", headers={"Range": "bytes=0-9", "If-Range": '"stale"'}
        )
    assert (kept.status, len(kept.content)) == (206, 10)
    assert (stale.status, len(stale.content)) == (200, 1048576)


async def test_index_redirect_and_no_listing(url):
    async with rttp.Client(follow_redirects=False) as client:
        docs = await client.get(f"{url}/docs/")
        bare = await client.get(f"{url}/docs?x=1")
        empty = await client.get(f"{url}/empty/")
        post = await client.post(f"{url}/hello.txt", content=b"x")
    assert (docs.status, docs.text) == (200, "<h1>docs</h1>")
    assert (bare.status, bare.headers["location"]) == (301, "/docs/?x=1")
    assert empty.status == 404  # no listing
    assert (post.status, post.headers["allow"]) == (405, "GET, HEAD")


async def test_a_precompressed_sibling_for_a_client_that_accepts_it(url):
    async with rttp.Client(decode_content=False) as raw:
        gz = await raw.get(f"{url}/app.js", headers={"Accept-Encoding": "gzip"})
    async with rttp.Client() as client:
        plain = await client.get(f"{url}/app.js", headers={"Accept-Encoding": "identity"})
        refused = await client.get(f"{url}/app.js", headers={"Accept-Encoding": "gzip;q=0"})
    assert gz.headers["content-encoding"] == "gzip"
    assert gz.headers["content-type"].endswith("javascript; charset=utf-8")  # the .js's
    assert gz.headers["vary"] == "Accept-Encoding"
    assert gz.content == b"gzip bytes stand-in"
    assert plain.text == refused.text == "console.log('plain');"


TRAVERSALS = [
    b"/../secret.txt",
    b"/docs/../../secret.txt",
    b"/%2e%2e/secret.txt",
    b"/%2E%2E%2Fsecret.txt",
    b"/..%2fsecret.txt",
    b"/..%5csecret.txt",
    b"/..\\secret.txt",
    b"/hello.txt%00.png",
    b"//" + b"/".join([b".."] * 8) + b"/etc/passwd",
    b"/C:/secret.txt",
    b"/%c0%ae%c0%ae/secret.txt",  # overlong UTF-8 dots
    b"/leak",  # a symlink out of the root
    b"/./hello.txt/..",
]


@pytest.mark.parametrize("target", TRAVERSALS, ids=[t.decode("latin-1") for t in TRAVERSALS])
async def test_no_path_leaves_the_directory(url, target):
    reply = await raw_request(
        url, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert status_of(reply) in (400, 404)
    assert SECRET not in reply
    assert b"root:" not in reply
    after = await raw_request(
        url, b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert status_of(after) == 200  # the server goes on


async def test_symlinks_inside_the_root_and_followed_when_asked(nursery, site):
    guarded = await start(nursery, rttp.static(site))
    trusting = await start(nursery, rttp.static(site, follow_symlinks=True))
    async with rttp.Client() as client:
        inner = await client.get(f"{guarded}/inner-link")
        leak = await client.get(f"{trusting}/leak")
    assert inner.text == "hello, static world\n"
    assert leak.content == SECRET


async def test_over_tls_the_file_goes_out_in_pieces(nursery, site, cert_files, client_ssl):
    server = rttp.Server(
        rttp.static(site),
        "https://127.0.0.1:0",
        certfile=cert_files["certfile"],
        keyfile=cert_files["keyfile"],
        access_log=False,
    )
    url = (await nursery.start(server.serve))[0]
    async with rttp.Client(verify=client_ssl) as client:
        got = await client.get(f"https://localhost:{url.port}/data.bin")
        part = await client.get(
            f"https://localhost:{url.port}/data.bin", headers={"Range": "bytes=5-9"}
        )
    assert got.content == (site / "data.bin").read_bytes()
    assert part.content == (site / "data.bin").read_bytes()[5:10]


def test_a_directory_is_required(tmp_path):
    with pytest.raises(ValueError, match="static files need a directory, got"):
        rttp.static(tmp_path / "missing")


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        (None, None),
        ("bytes=0-0", [(0, 1)]),
        ("bytes=0-", [(0, 100)]),
        ("bytes=-5", [(95, 100)]),
        ("bytes=-500", [(0, 100)]),
        ("bytes=90-200", [(90, 100)]),
        ("bytes=0-1, 5-6", [(0, 2), (5, 7)]),
        ("bytes=5-1", None),
        ("items=0-1", None),
        ("bytes=a-b", None),
        ("bytes=", None),
        ("bytes=" + ",".join(["0-0"] * (MAX_RANGES + 1)), None),
    ],
)
def test_parse_ranges(field, expected):
    assert parse_ranges(field, 100) == expected


def test_parse_ranges_unsatisfiable():
    with pytest.raises(Unsatisfiable):
        parse_ranges("bytes=100-", 100)
    with pytest.raises(Unsatisfiable):
        parse_ranges("bytes=-0", 100)


@pytest.mark.parametrize(
    "raw_path",
    ["/../x", "/a/../../x", "/%2e%2e/x", "/..%2fx", "/..%5cx", "/..\\x", "/a%00b", "/C:/x", "/./x"],
)
def test_each_layer_refuses_on_its_own_the_path_segments(raw_path):
    """The segment check refuses a climbing path before anything is resolved (the
    resolved-path check behind it is the second layer, tested by the symlink)."""
    from rttp._io.server._static import StaticFiles

    assert StaticFiles._relative(raw_path) is None
    assert StaticFiles._relative("/docs/a%20b.txt") == ["docs", "a b.txt"]


async def test_an_app_mounts_a_directory_under_a_prefix(nursery, site):
    app = rttp.App()
    app.static("/assets", site, index="index.html")

    @app.get("/")
    async def home(request):
        return "home"

    url = await start(nursery, app)
    async with rttp.Client(follow_redirects=False) as client:
        home_page = await client.get(f"{url}/")
        text = await client.get(f"{url}/assets/hello.txt")
        part = await client.get(f"{url}/assets/data.bin", headers={"Range": "bytes=0-1"})
        head = await client.head(f"{url}/assets/hello.txt")
        bare = await client.get(f"{url}/assets/docs")
        index = await client.get(f"{url}/assets/docs/")
        climb = await client.get(f"{url}/assets/..%2fsecret.txt")
        post = await client.post(f"{url}/assets/hello.txt")
    assert home_page.text == "home"
    assert text.text == "hello, static world\n"
    assert (part.status, part.content) == (206, b"\x00\x01")
    assert (head.status, head.content, head.headers["content-length"]) == (200, b"", "20")
    assert (bare.status, bare.headers["location"]) == (301, "/assets/docs/")
    assert index.text == "<h1>docs</h1>"
    assert climb.status == 404
    assert SECRET not in climb.content
    assert post.status == 405  # the App's answer: the route is GET (and HEAD)


def test_a_static_prefix_is_a_path():
    with pytest.raises(ValueError, match="a static prefix must start with '/', got 'assets'"):
        rttp.App().static("assets", ".")


async def test_the_rttp_static_command_serves_a_directory(site):
    from tests.cli.conftest import run_rttp
    from tests.conftest import cli_process

    async with (
        cli_process(
            "static", str(site), "--cache-control", "no-cache", "--bind", "http://127.0.0.1:0"
        ) as (url, _),
        rttp.Client() as client,
    ):
        got = await client.get(f"{url}/hello.txt")
        leak = await client.get(f"{url}/leak")
    assert (got.text, got.headers["cache-control"]) == ("hello, static world\n", "no-cache")
    assert leak.status == 404
    missing = await run_rttp("static", str(site / "nowhere"))
    err = missing.stderr.decode()
    assert missing.returncode == 2
    assert "rttp static: static files need a directory, got" in err
    assert err.count("\n") == 1


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.parametrize("tls", [False, True], ids=["sendfile", "tls"])
async def test_a_slow_reader_of_100_mib_costs_the_server_bounded_memory(
    tmp_path, cert_files, client_ssl, tls
):
    """``rttp static`` in its own process sends a 100 MiB file to a client that reads
    it a piece at a time: the server's resident memory stays within a few MiB of what
    it was (the kernel sends the file, or TLS takes 256 KiB pieces as the socket allows)."""
    from tests.conftest import cli_process

    if sys.platform != "linux":
        pytest.skip("needs Linux's /proc to read the server's resident memory")
    (tmp_path / "big.bin").write_bytes(b"\x5a" * (100 << 20))
    scheme = "https" if tls else "http"
    extra = (
        ["--certfile", cert_files["certfile"], "--keyfile", cert_files["keyfile"]] if tls else []
    )
    async with cli_process(
        "static", str(tmp_path), *extra, "--bind", f"{scheme}://127.0.0.1:0"
    ) as (url, process):
        port = int(url.rsplit(":", 1)[1])
        before = _rss_kib(process.pid)
        stream: trio.abc.Stream = await trio.open_tcp_stream("127.0.0.1", port)
        if tls:
            stream = trio.SSLStream(
                stream, client_ssl, server_hostname="localhost", https_compatible=True
            )
        await stream.send_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        received = 0
        peak = before
        while chunk := await stream.receive_some(16384):  # a small reader
            received += len(chunk)
            if received % (8 << 20) < 16384:
                peak = max(peak, _rss_kib(process.pid))
        await stream.aclose()
    assert received > 100 << 20  # the whole file (and its head)
    assert peak - before < 16 * 1024, (before, peak)  # KiB: never the file in memory
