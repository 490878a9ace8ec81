"""A handler that reads any body and answers with values; a client that sends each kind."""

import trio

import rttp
from rttp import rtml


async def handler(request: rttp.Request):
    if request.path == "/page":
        page = rtml.Page().add_text(1, 1, "Hello", color="yellow").add_link(1, 3, "Home", "/")
        return rttp.negotiate(request, rtml.representations(page))
    if request.path == "/upload":
        sizes = {}
        request.stream_post_param(
            "file",
            lambda *chunk: sizes.update(n=sizes.get("n", 0) + len(chunk[0])) if chunk else None,
        )
        form = await request.process_body()
        return {"title": form["title"], "file_bytes": sizes["n"]}
    value = await request.read_value()  # decoded by Content-Type
    return {"got": request.media_type, "type": type(value).__name__}


async def main() -> list:
    results = []
    async with trio.open_nursery() as nursery:
        addresses = await nursery.start(rttp.serve, handler, "http://127.0.0.1:0")
        base = str(addresses[0])
        async with rttp.Client() as client:
            results.append((await client.post(base, json={"a": 1})).value)
            results.append((await client.post(base, value=[1, 2], content_type="table")).value)
            results.append((await client.post(base, data={"q": "trio"})).value)
            results.append((await client.post(base, content="plain text")).value)
            upload = await client.post(
                base + "/upload", data={"title": "report"}, files={"file": ("r.bin", b"x" * 1000)}
            )
            results.append(upload.value)
            page = await client.get(base + "/page", headers={"Accept": "table/rtml"})
            results.append(page.value[0].text)
        nursery.cancel_scope.cancel()
    return results


if __name__ == "__main__":
    print(trio.run(main))
