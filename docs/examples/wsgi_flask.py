"""Flask served by rttp: the app runs in worker threads, everything else on Trio."""

import trio
from flask import Flask, request

import rttp

app = Flask(__name__)


@app.post("/size")
def size() -> dict:
    return {"bytes": len(request.get_data()), "type": request.content_type}


async def main() -> list[object]:
    seen: list[object] = []
    async with rttp.Client(app=app) as client:  # in memory, through the real engine
        seen.append((await client.post("/size", json={"a": 1})).value)
    async with trio.open_nursery() as nursery:
        handler = rttp.wsgi(app, threads=8)  # at most 8 worker threads
        addresses = await nursery.start(rttp.serve, handler, "http://127.0.0.1:0")
        async with rttp.Client() as client:
            answer = await client.post(f"{addresses[0]}/size", content=b"x" * 100_000)
            seen.append(answer.value)
        nursery.cancel_scope.cancel()
    return seen


if __name__ == "__main__":
    print(trio.run(main))
