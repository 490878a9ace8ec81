"""A peer client we did not write: aiohttp (asyncio). Prints a JSON report for the test.

Usage: python aiohttp_client.py BASE_URL
"""

import asyncio
import json
import sys

import aiohttp


async def main(base: str) -> dict:
    report = {}
    async with aiohttp.ClientSession() as session:
        async with session.get(base + "/text") as response:
            report["get"] = [
                response.status,
                await response.text(),
                response.headers.get("Content-Encoding"),
            ]
        async with session.get(base + "/big") as response:  # aiohttp asks for gzip and decodes it
            body = await response.read()
            report["gzip"] = [
                response.headers.get("Content-Encoding"),
                len(body),
                body[:9].decode(),
            ]

        async def chunks():
            for part in (b"up", b"load"):
                yield part

        async with session.post(base + "/echo", data=chunks()) as response:
            report["chunked_post"] = [response.status, await response.text()]
        async with session.post(base + "/echo", json={"x": 1}) as response:
            report["json_post"] = [response.status, await response.json()]
        async with session.get(base + "/stream") as response:
            report["stream"] = [response.status, await response.text()]
    return report


print(json.dumps(asyncio.run(main(sys.argv[1]))))
