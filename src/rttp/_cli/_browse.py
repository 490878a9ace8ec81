"""``rttp browse URL``: a terminal RTML browser over RTTP (or HTTP).

The page is drawn with :func:`rttp.rtml.to_terminal`. Tab (and Shift-Tab) move between
inputs, links and buttons (nothing has the focus when a page arrives); typing fills the
focused input; Enter follows a link or
presses a button (a SUBMIT posts the inputs as the seed's ``object/lua`` body, a PUSH
its id); ``q`` quits (Ctrl-C too). The browser's state is a plain object
(:class:`Browser`), so it is tested without a terminal as well as through a pty.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from collections.abc import Iterator
from typing import Any

import trio

from .. import rtml
from .._faces._endpoint import Endpoint
from .._model import URL
from ..errors import MessageError

__all__ = ["Browser", "browse"]

_FOCUSABLE = (rtml.Input, rtml.Link, rtml.DomLink, rtml.Button)
_CLEAR = "\x1b[H\x1b[2J"
_FOCUS = "\x1b[7m"  # reverse video
_RESET = "\x1b[0m"


class Browser:
    """What the browser shows and what a key does (no I/O)."""

    def __init__(self, url: str) -> None:
        self.url = URL(url)
        self.page: rtml.Page = rtml.Page()
        self.values: dict[str, str] = {}
        self.focus = 0
        self.status = ""

    @property
    def focusable(self) -> list[rtml.Element]:
        """The elements Tab moves between, in page order."""
        return [e for e in self.page if isinstance(e, _FOCUSABLE)]

    def show(self, page: Any, status: str) -> None:
        """A new page (an RTML page, or anything else, shown as text)."""
        if isinstance(page, rtml.Page):
            self.page = page
        else:
            self.page = rtml.Page().add_text(1, 1, str(page))
        self.values = {e.name: e.text or "" for e in self.page if isinstance(e, rtml.Input)}
        self.focus = -1  # nothing until Tab: q quits, letters go nowhere
        self.status = status

    def focused(self) -> rtml.Element | None:
        """The element with the focus, if the page has any."""
        elements = self.focusable
        if not elements or self.focus < 0:
            return None
        return elements[self.focus % len(elements)]

    def key(self, key: str) -> tuple[str, Any] | None:
        """Apply one key; what to do next: ``("get", url)``, ``("post", (url, body))``,
        ``("quit", None)`` or None (only redraw)."""
        focused = self.focused()
        if key in ("\x03", "\x11") or (key == "q" and not isinstance(focused, rtml.Input)):
            return ("quit", None)
        if key in ("\t", "\x1b[Z") and self.focusable:
            if self.focus < 0:
                self.focus = 0 if key == "\t" else len(self.focusable) - 1
            else:
                step = 1 if key == "\t" else -1
                self.focus = (self.focus + step) % len(self.focusable)
            return None
        if isinstance(focused, rtml.Input) and key not in ("\r", "\n"):
            text = self.values.get(focused.name, "")
            if key in ("\x7f", "\b"):
                self.values[focused.name] = text[:-1]
            elif key.isprintable() and len(text) < focused.len:
                self.values[focused.name] = text + key
            return None
        if key in ("\r", "\n") and focused is not None:
            return self._activate(focused)
        return None

    def _activate(self, element: rtml.Element) -> tuple[str, Any] | None:
        if isinstance(element, rtml.DomLink):
            return ("get", element.href)
        if isinstance(element, rtml.Link):
            return ("get", str(self.url.copy_with(path=element.href, query="")))
        if isinstance(element, rtml.Button):
            target = str(self.url.copy_with(path=element.href or self.url.path, query=""))
            if element.action == "PUSH":
                return (
                    "post",
                    (target, rtml.ButtonPush(element.id if element.id is not None else "")),
                )
            return ("post", (target, rtml.ButtonSubmit(dict(self.values))))
        if isinstance(element, rtml.Input):
            self.focus = (self.focus + 1) % len(self.focusable)  # Enter moves on
        return None

    def render(self, color: bool = True) -> str:
        """The screen: the page (inputs filled, the focus in reverse video), a status line."""
        focused = self.focused()
        shown = []
        for element in self.page:
            if isinstance(element, rtml.Input):
                element = dataclasses.replace(element, text=self.values.get(element.name, ""))
            if element is focused or (
                isinstance(focused, rtml.Input)
                and isinstance(element, rtml.Input)
                and element.name == focused.name
            ):
                element = dataclasses.replace(element, bg_color="white", color="black")
            shown.append(element)
        body = rtml.to_terminal(rtml.Page(shown), color=color)
        return f"{body}\n{self.status}  (Tab: next, Enter: follow/press, q: quit)\n"


async def _fetch(endpoint: Endpoint, browser: Browser, action: str, argument: Any) -> None:
    if action == "get":
        url, body, method, content_type = str(argument), None, "GET", "none"
    else:
        url, body = argument
        method, content_type = "POST", rtml.SUBMISSION_MEDIA_TYPE
    try:
        reply = await endpoint.send_sync(url, "", method, content_type, body, timeout=10)
    except MessageError as exc:
        browser.status = f"{exc.kind}: {exc.detail}"
        return
    browser.url = URL(url)
    browser.show(reply.body, f"{reply.header['code']} {url}")


def _keys(data: bytes) -> Iterator[str]:
    """Keys from terminal input (escape sequences kept whole)."""
    text = data.decode("utf-8", errors="replace")
    index = 0
    while index < len(text):
        if text.startswith("\x1b[", index) and index + 2 < len(text):
            yield text[index : index + 3]
            index += 3
        else:
            yield text[index]
            index += 1


@contextlib.contextmanager
def _raw_terminal(fd: int) -> Iterator[None]:
    try:
        import termios
        import tty
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    if not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd, termios.TCSANOW)  # TCSANOW: typed-ahead keys are not thrown away
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


async def browse(url: str) -> int:
    """Run the browser on the terminal until ``q``."""
    browser = Browser(url)
    out = sys.stdout
    color = out.isatty()

    def draw() -> None:
        out.write(_CLEAR + browser.render(color).replace("\n", "\r\n"))
        out.flush()

    # raw mode first: keys typed while the first page loads are kept, not echoed
    with _raw_terminal(sys.stdin.fileno()):
        async with Endpoint() as endpoint:
            await _fetch(endpoint, browser, "get", url)
            draw()
            stdin = trio.lowlevel.FdStream(os.dup(sys.stdin.fileno()))
            async with stdin:
                while data := await stdin.receive_some(64):
                    for key in _keys(data):
                        action = browser.key(key)
                        if action is not None and action[0] == "quit":
                            out.write("\r\n")
                            return 0
                        if action is not None:
                            await _fetch(endpoint, browser, *action)
                    draw()
    return 0
