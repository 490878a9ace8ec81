"""Take the docs' screenshots of ``rttp demo`` with headless Chromium, at a desktop and
a phone width: ``python docs/screenshots.py`` (needs ``chromium``: apt-get install
chromium). Writes ``docs/_static/demo-desktop.png`` and ``demo-phone.png``."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = {"desktop": (1280, 1000), "phone": (390, 1400)}
OUT = Path(__file__).parent / "_static"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def main() -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    port, rttp_port = _free_port(), _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "rttp", "demo", "--bind", url, "--log-level", "warning"]
    demo = subprocess.Popen([*command, "--rttp-bind", f"rttp://127.0.0.1:{rttp_port}"])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        for name, (width, height) in SIZES.items():
            with tempfile.TemporaryDirectory() as profile:
                subprocess.run(
                    [
                        chromium,
                        "--headless=new",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--hide-scrollbars",
                        "--no-first-run",
                        "--disable-background-networking",
                        f"--user-data-dir={profile}",
                        f"--window-size={width},{height}",
                        "--virtual-time-budget=4000",
                        f"--screenshot={OUT / f'demo-{name}.png'}",
                        f"{url}/",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    check=True,
                    timeout=60,
                )
            print(f"wrote {OUT / f'demo-{name}.png'}")
    finally:
        demo.terminate()
        demo.wait(timeout=10)


if __name__ == "__main__":
    main()
