"""A handler that pushes its answer: server-sent events, a download streamed as it is
produced, and the returned-Response style beside them for comparison."""

import json

import trio
import trio.lowlevel

import rttp

app = rttp.App()


@app.get("/events")
async def events(request: rttp.Request) -> None:
    # the head goes out with the first piece; each piece leaves as soon as it is sent
    async with request.respond(200, {"Content-Type": "text/event-stream"}) as answer:
        for n in range(3):
            await answer.send(f"data: tick {n}\n\n")
            await trio.lowlevel.checkpoint()  # a real feed would wait for its next event here


@app.get("/rows.ndjson")
async def rows(request: rttp.Request) -> None:
    answer = request.respond(200, {"Content-Type": "application/x-ndjson"})
    total = 0
    for n in range(1, 4):
        await answer.send(json.dumps({"row": n}) + "\n")
        total += n
    # trailers ride after a chunked body (no Content-Length)
    await answer.finish(trailers={"X-Row-Sum": str(total)})


@app.get("/hello")
async def hello(request: rttp.Request) -> rttp.Response:
    return rttp.Response(200, body="returned, not pushed")  # the simple path, unchanged


async def main() -> list[str]:
    async with trio.open_nursery() as nursery:
        served = await nursery.start(app.serve(0).run)
        base = str(served.url)
        async with rttp.Client() as client:
            text = ""
            async with client.stream("GET", base + "/events") as response:
                async for piece in response.stream():
                    text += piece.decode()
            seen = [event for event in text.split("\n\n") if event]
            rows = await client.get(base + "/rows.ndjson")
            seen.append(rows.text.replace("\n", " ").strip())
            seen.append((await client.get(base + "/hello")).text)
        await served.stop()
    return seen


if __name__ == "__main__":
    for line in trio.run(main):
        print(line)
