"""FastAPI on Trio, served by rttp: in your own nursery, and tested in memory."""

import trio
import trio.lowlevel
from fastapi import FastAPI, WebSocket

import rttp

api = FastAPI()


@api.get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None) -> dict:
    await trio.lowlevel.checkpoint()  # FastAPI runs on Trio here (through anyio)
    return {"item_id": item_id, "q": q}


@api.websocket("/echo")
async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(f"echo: {text}")


async def main() -> list[object]:
    seen: list[object] = []
    # 1. in memory, through the real engine (as httpx's ASGITransport)
    async with rttp.Client(app=api) as client:
        seen.append((await client.get("/items/7?q=trio")).value)
    # 2. on a socket, inside this program's nursery
    async with trio.open_nursery() as nursery:
        addresses = await nursery.start(rttp.serve, rttp.asgi(api), "http://127.0.0.1:0")
        url = str(addresses[0])
        async with rttp.Client() as client:
            seen.append((await client.get(f"{url}/items/1")).value)
        async with await rttp.connect_websocket(url.replace("http", "ws") + "/echo") as ws:
            await ws.send("hi")
            seen.append((await ws.receive()).data)
        nursery.cancel_scope.cancel()
    return seen


if __name__ == "__main__":
    print(trio.run(main))
