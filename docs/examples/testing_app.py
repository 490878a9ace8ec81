"""Testing an App three ways (the Testing page's example; it runs as a test)."""

from __future__ import annotations

import rttp
import rttp.testing

app = rttp.App()


@app.get("/users/{id:int}")
async def user(request: rttp.Request) -> dict[str, int]:
    return {"id": request.parameters["id"]}


async def called_directly() -> dict[str, int]:
    # 1. the App is an async callable: no server, no HTTP
    answer = await app(rttp.Request("GET", "/users/7"))
    return answer.json()  # type: ignore[no-any-return]


async def in_memory() -> dict[str, int]:
    # 2. the whole HTTP/1.1 engine, over the memory transport: no sockets
    async with rttp.testing.app_client(app) as client:
        return (await client.get("/users/8")).json()  # type: ignore[no-any-return]


# 3. on a real loopback socket, with the pytest fixture the package registers:
#
#     async def test_user(rttp_server):
#         url = await rttp_server(app)
#         async with rttp.Client(base_url=url) as client:
#             assert (await client.get("/users/9")).json() == {"id": 9}
