"""``rttp browse``: the browser's state without a terminal, then the real command
driven through a pty against an Endpoint serving RTML."""

from __future__ import annotations

import os
import sys

import pytest
import trio

import rttp
from rttp import rtml
from rttp._cli._browse import Browser

pytestmark = pytest.mark.peer


def _form(greeting: str) -> rtml.Page:
    return (
        rtml.Page()
        .add_text(1, 1, greeting)
        .add_input(1, 3, "name", 8)
        .add_button(1, 5, "Go", href="/greet")
        .add_button(10, 5, "Ping", action="PUSH", id="p1")
        .add_link(1, 7, "Home", "/")
    )


def test_keys_move_the_focus_fill_inputs_and_press_buttons():
    browser = Browser("rttp://example:10080/start")
    browser.show(_form("Who?"), "200")
    assert browser.focused() is None  # nothing until Tab
    assert browser.key("x") is None
    assert browser.key("\t") is None
    for key in "Ada":
        assert browser.key(key) is None
    assert browser.key("\x7f") is None  # backspace
    assert browser.key("a") is None
    assert browser.values == {"name": "Ada"}
    assert browser.key("q") is None  # typed into the input: q is a letter here
    assert browser.values == {"name": "Adaq"}
    browser.key("\x7f")
    assert browser.key("\t") is None
    action, (url, body) = browser.key("\r")
    assert action == "post"
    assert url == "rttp://example/greet"  # (10080 is the default port)
    assert body == rtml.ButtonSubmit({"name": "Ada"})
    browser.key("\t")
    assert browser.key("\r")[1][1] == rtml.ButtonPush("p1")
    browser.key("\t")
    assert browser.key("\r") == ("get", "rttp://example/")  # a link on the same domain
    browser.key("\x1b[Z")  # Shift-Tab goes back
    assert isinstance(browser.focused(), rtml.Button)
    assert browser.key("q") == ("quit", None)
    assert "[Go]" in browser.render(color=False)
    browser.show("not a page", "415")
    assert "not a page" in browser.render(color=False)


async def test_rttp_browse_through_a_pty(nursery):
    def handler(method, head, body, msg):
        if method == "POST" and isinstance(body, rtml.ButtonSubmit):
            return 200, rtml.MEDIA_TYPE, _form(f"Hello, {body.vals['name']}!")
        return 200, rtml.MEDIA_TYPE, _form("Who are you?")

    async with rttp.Endpoint() as server:
        server.handle_msg(handler)
        await server.register_handler("rttp://127.0.0.1:0")
        url = f"rttp://127.0.0.1:{server.addresses[0].port}/"
        master, slave = os.openpty()
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "rttp", "browse", url],
            stdin=slave,
            stdout=slave,
            stderr=slave,
        )
        os.close(slave)
        screen = trio.lowlevel.FdStream(master)
        seen = bytearray()

        async def until(text: bytes) -> None:
            with trio.move_on_after(15):
                while text not in seen:
                    seen.extend(await screen.receive_some(65536))
            assert text in seen, bytes(seen[-600:])

        try:
            await until(b"Who are you?")
            await screen.send_all(b"\tAda")  # Tab to the input, type
            await until(b"Ada")
            await screen.send_all(b"\t\r")  # to the Go button, press it
            await until(b"Hello, Ada!")
            await screen.send_all(b"q")
            with trio.fail_after(10):
                assert await process.wait() == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            await screen.aclose()
