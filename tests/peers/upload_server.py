"""A server that streams the multipart field "file" to a counter (for the memory test).

Prints ``PORT <n>``; ``GET /rss`` answers this process's peak RSS in KiB (VmHWM).
"""

import trio

import rttp


def peak_rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


async def handler(request: rttp.Request):
    if request.path == "/rss":
        return {"peak_kib": peak_rss_kib()}
    received = 0

    def count(*args):
        nonlocal received
        if args:
            received += len(args[0])

    request.stream_post_param("file", count)
    await request.process_body()
    return {"received": received}


async def main():
    async with trio.open_nursery() as nursery:
        server = rttp.Server(handler, "http://127.0.0.1:0", max_body_size=512 << 20)
        addresses = await nursery.start(server.serve)
        print(f"PORT {addresses[0].port}", flush=True)


trio.run(main)
