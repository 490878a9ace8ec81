"""Uploads SIZE bytes of zeros as multipart field "file" to PORT with our client; prints JSON."""

import json
import sys

import trio

import rttp

PORT, SIZE = int(sys.argv[1]), int(sys.argv[2])


class Zeros:
    """An async file-like object producing SIZE zero bytes without holding them."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.block = bytes(65536)

    async def read(self, n: int = 65536) -> bytes:
        if self.left <= 0:
            return b""
        take = min(n, self.left, len(self.block))
        self.left -= take
        return self.block[:take]


async def main() -> None:
    base = f"http://127.0.0.1:{PORT}"
    async with rttp.Client(timeout=60) as client:
        await client.post(base + "/warm", files={"file": ("w.bin", b"w" * 100_000)})
        before = (await client.get(base + "/rss")).value["peak_kib"]
        response = await client.post(base + "/upload", files={"file": ("big.bin", Zeros(SIZE))})
        response.raise_for_status()
        after = (await client.get(base + "/rss")).value["peak_kib"]
    print(
        json.dumps(
            {
                "received": response.value["received"],
                "peak_before_kib": before,
                "peak_after_kib": after,
            }
        )
    )


trio.run(main)
