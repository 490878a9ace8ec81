"""Serve a handler on a free port and call it with the client, in one nursery."""

import trio

import rttp


async def handler(request: rttp.Request) -> rttp.Response:
    name = request.params.get("name", "world")
    return rttp.Response(200, body=f"hello, {name}")


async def main() -> str:
    async with trio.open_nursery() as nursery:
        addresses = await nursery.start(rttp.serve, handler, "http://127.0.0.1:0")
        async with rttp.Client() as client:
            response = await client.get(f"{addresses[0]}/", params={"name": "trio"})
        nursery.cancel_scope.cancel()  # stop serving
    return response.text


if __name__ == "__main__":
    print(trio.run(main))
