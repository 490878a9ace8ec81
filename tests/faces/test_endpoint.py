"""RTTP messages (seed 000): two Endpoints on loopback, curl as a plain-HTTP peer."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import trio

import rttp
from rttp._faces._message import destination as _destination
from rttp.errors import MessageError
from tests.integration.test_peers import curl


def _where(endpoint: rttp.Endpoint) -> str:
    return str(endpoint.addresses[0]).split("://", 1)[1]


async def test_two_endpoints_exchange_request_and_reply_messages():
    seen: list[tuple] = []

    def handler(method, head, body, msg):
        seen.append((method, head, body, msg.id))
        return 200, "table", {"echo": body, "path": head["path"]}

    async with rttp.Endpoint() as server, rttp.Endpoint() as client:
        server.handle_msg(handler)
        assert await server.register_handler("rttp://127.0.0.1:0") is True
        assert await server.register_handler("rttp://127.0.0.1:0") is False  # serving already
        where = _where(server)
        reply = await client.post_sync(where, "/things", "table", {"n": 1})
        assert rttp.valid(reply)
        assert reply.header["code"] == 200
        assert reply.header["content_type"] == "table"
        assert reply.header["rsp_domain"] == where
        assert reply.body == {"echo": {"n": 1}, "path": "/things"}
        method, head, body, msg_id = seen[0]
        assert (method, body, msg_id) == ("POST", {"n": 1}, reply.id)
        assert head["type"] == "rttp"
        assert head["domain"] == where
        assert head["content_type"] == "table"
        got = await client.get_sync(where, "/plain")
        assert got.body == {"echo": None, "path": "/plain"}
        assert "reply 200 okay" in rttp.string_message(got)
        assert rttp.Endpoint.code_name(418) == "imATeapot"
        assert rttp.Endpoint.response_codes["notFound"] == 404


async def test_a_thousand_concurrent_sends_are_each_answered_once_by_id():
    async with rttp.Endpoint() as server, rttp.Endpoint() as client:
        server.handle_msg(lambda method, head, body, msg: (200, "text/plain", str(msg.id)))
        await server.register_handler("rttp://127.0.0.1:0")
        where = _where(server)
        ids = [client.send(where, f"/n/{i}") for i in range(1000)]
        replies = []
        with trio.fail_after(60):
            for _ in ids:
                replies.append(await client.wait_for_msg(10))
        assert sorted(r.id for r in replies) == sorted(ids)  # none lost, none twice
        assert all(r.body == str(r.id) for r in replies)  # each reply is its own request's
        with pytest.raises(MessageError) as info:
            await client.wait_for_msg(0.05)
        assert str(info.value) == "timeout"


async def test_failures_have_the_seeds_kinds():
    hang = trio.Event()

    async def slow(method, head, body, msg):
        await hang.wait()

    async with rttp.Endpoint() as server, rttp.Endpoint() as client:
        server.handle_msg(slow)
        await server.register_handler("rttp://127.0.0.1:0")
        with pytest.raises(MessageError) as info:
            await client.send_sync(_where(server), "/", timeout=0.2)
        assert str(info.value) == "timeout"
        assert info.value.kind == "timeout"
        with pytest.raises(MessageError) as info:
            await client.get_sync("no-such-name.invalid", "/")
        assert str(info.value) == "send_fail"
        assert "no-such-name.invalid" in info.value.detail
        port = server.addresses[0].port
        hang.set()
    async with rttp.Endpoint() as client:
        with pytest.raises(MessageError) as info:
            await client.get_sync(f"127.0.0.1:{port}", "/")  # nobody listens now
        assert str(info.value) == "setup_fail"
        assert "refused" in info.value.detail
        failed = client.send(f"127.0.0.1:{port}", "/")
        with pytest.raises(MessageError) as info:
            await client.wait_for_msg(5)
        assert info.value.id == failed


@pytest.mark.parametrize(
    ("handler", "words"),
    [
        (None, b"Message handler not set"),
        (lambda m, h, b, msg: 1 / 0, b"the message handler failed"),
        (lambda m, h, b, msg: ("200", "text/plain", "x"), b"the message handler failed"),
        (lambda m, h, b, msg: (200, "text/plain", None), b"the message handler failed"),
        (lambda m, h, b, msg: (200, 5, "x"), b"the message handler failed"),
    ],
    ids=["no-handler", "raises", "str-code", "none-body", "int-type"],
)
async def test_a_broken_handler_gets_the_generic_500(handler, words, caplog):
    async with rttp.Endpoint() as server, rttp.Endpoint() as client:
        server.handle_msg(handler)
        await server.register_handler("rttp://127.0.0.1:0")
        reply = await client.get_sync(_where(server), "/")
        assert reply.header["code"] == 500
        assert words in reply.body.encode()
        assert "ZeroDivisionError" not in reply.body  # the traceback stays in the log


async def test_cookies_are_kept_per_destination_and_an_empty_value_deletes():
    cookies_seen: list[dict] = []

    def handler(method, head, body, msg):
        cookies_seen.append(head["cookies"])
        if head["path"] == "/login":
            return 200, "none", "", {"cookies": {"sid": "abc"}}
        if head["path"] == "/logout":
            return 200, "none", "", {"cookies": {"sid": ""}}
        return 200, "none", ""

    async with rttp.Endpoint() as one, rttp.Endpoint() as two, rttp.Endpoint() as client:
        one.handle_msg(handler)
        two.handle_msg(handler)
        await one.register_handler("rttp://127.0.0.1:0")
        await two.register_handler("rttp://127.0.0.1:0")
        await client.get_sync(_where(one), "/login")
        await client.get_sync(_where(one), "/page")
        await client.get_sync(_where(two), "/page")  # another destination: no cookie
        await client.get_sync(_where(one), "/logout")
        await client.get_sync(_where(one), "/page")
        assert cookies_seen == [{}, {"sid": "abc"}, {}, {"sid": "abc"}, {}]


async def test_reply_redirect_and_upgrade_fields_and_replying_from_the_handler():
    async def handler(method, head, body, msg):
        if head["path"] == "/moved":
            return 301, "none", "", {"redirect": "/new"}
        if head["path"] == "/upgrade":
            return 426, "text/plain", "upgrade first", {"upgrade": "rttp/2"}
        if head["path"] == "/seed-form":
            await server.reply(msg, 202, "POST", "text/plain", "the seed's form")
            return None
        await server.reply(msg, 201, "text/plain", "replied")
        return None

    async with rttp.Endpoint() as server, rttp.Endpoint() as client:
        server.handle_msg(handler)
        await server.register_handler("rttp://127.0.0.1:0")
        where = _where(server)
        moved = await client.get_sync(where, "/moved")
        assert (moved.header["code"], moved.header["redirect"]) == (301, "/new")
        upgrade = await client.get_sync(where, "/upgrade")
        assert upgrade.header["upgrade"] == "rttp/2"
        replied = await client.get_sync(where, "/other")
        assert (replied.header["code"], replied.body) == (201, "replied")
        seed = await client.get_sync(where, "/seed-form")
        assert (seed.header["code"], seed.body) == (202, "the seed's form")
        fake = rttp.Message("x", "y", 9, {"type": "rttp", "method": "GET", "path": "/"})
        with pytest.raises(RuntimeError, match="not being handled"):
            await server.reply(fake, 200, "none", "")


async def test_destinations_names_ints_and_rttps(cert_files):
    assert str(_destination(2130706433, {})) == "rttp://127.0.0.1/"  # the seed's int form
    assert _destination("10.0.0.1", {}).port == 10080
    assert _destination("[::1]", {}).host == "::1"
    assert _destination("rttps://h/", {}).port == 10081
    with pytest.raises(MessageError, match="send_fail"):
        _destination(1 << 40, {})
    async with rttp.Endpoint() as server:
        server.handle_msg(lambda m, h, b, msg: (200, "text/plain", "secure"))
        await server.register_handler(
            "rttps://127.0.0.1:0", certfile=cert_files["certfile"], keyfile=cert_files["keyfile"]
        )
        port = server.addresses[0].port
        names = {"home": f"rttps://localhost:{port}/"}
        async with rttp.Endpoint(names=names, verify=cert_files["ca"]) as client:
            reply = await client.get_sync("home", "/")
            assert reply.body == "secure"
            assert reply.header["rsp_domain"] == f"localhost:{port}"


async def test_plain_http_reaches_the_handler(tmp_path):
    def handler(method, head, body, msg):
        return 200, "table", {"method": method, "body": body}

    async with rttp.Endpoint() as server:
        server.handle_msg(handler)
        await server.register_handler("rttp://127.0.0.1:0")
        got = await curl(
            "-X",
            "POST",
            "-H",
            "Content-Type: table",
            "--data",
            '{"a":1}',
            f"http://{_where(server)}/path",
        )
        assert json.loads(got.stdout) == {"method": "POST", "body": {"a": 1}}


async def test_the_module_level_calls_on_the_default_endpoint(nursery):
    from rttp import messages

    messages.handle_msg(
        lambda method, head, body, msg: (200, "text/plain", f"default {head['path']}")
    )
    with pytest.raises(RuntimeError, match="not open"):
        messages.send("127.0.0.1:1", "/")
    addresses = await nursery.start(messages.run_server, "rttp://127.0.0.1:0")
    where = str(addresses[0]).split("://", 1)[1]
    async with rttp.Endpoint() as client:
        assert (await client.get_sync(where, "/x")).body == "default /x"
    nursery.cancel_scope.cancel()


async def test_two_endpoints_in_two_processes(tmp_path):
    """A server endpoint in its own process (the seed's module-level style), a client here."""
    script = tmp_path / "peer.py"
    script.write_text(
        "import sys, trio\n"
        "from rttp import messages\n"
        "def handler(method, head, body, msg):\n"
        "    return 200, 'table', {'pid_side': 'peer', 'body': body}\n"
        "messages.handle_msg(handler)\n"
        "async def main():\n"
        "    async with trio.open_nursery() as n:\n"
        "        addresses = await n.start(messages.run_server, 'rttp://127.0.0.1:0')\n"
        "        print(addresses[0], flush=True)\n"
        "trio.run(main)\n"
    )
    process = await trio.lowlevel.open_process(
        [sys.executable, str(script)], stdout=subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        line = b""
        with trio.fail_after(20):
            while not line.endswith(b"\n"):
                line += await process.stdout.receive_some(100)
        where = line.decode().strip().split("://", 1)[1]
        async with rttp.Endpoint() as client:
            reply = await client.post_sync(where, "/", "table", [1, 2])
        assert reply.body == {"pid_side": "peer", "body": [1, 2]}
    finally:
        process.kill()
        await process.wait()


async def test_rttp_send_prints_the_reply():
    def handler(method, head, body, msg):
        if head["path"] == "/missing":
            return 404, "text/plain", "no such thing"
        return 200, "table", {"method": method, "body": body}

    async with rttp.Endpoint() as server:
        server.handle_msg(handler)
        await server.register_handler("rttp://127.0.0.1:0")
        where = _where(server)

        async def rttp_send(*args: str) -> subprocess.CompletedProcess[bytes]:
            return await trio.run_process(
                [sys.executable, "-m", "rttp", "send", *args],
                capture_stdout=True,
                capture_stderr=True,
                check=False,
            )

        ok = await rttp_send(where, "/x", "-X", "post", "-t", "table", "-d", '{"a": 1}')
        assert ok.returncode == 0
        assert b"reply 200 okay (table)" in ok.stderr  # the summary, for the person
        assert json.loads(ok.stdout) == {"method": "POST", "body": {"a": 1}}  # no repr
        missing = await rttp_send(where, "/missing")
        assert missing.returncode == 4
        assert missing.stdout == b"no such thing\n"
        refused = await rttp_send("127.0.0.1:1", "/")
        assert refused.returncode == 2
        assert b"setup_fail" in refused.stderr
