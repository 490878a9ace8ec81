"""rttp.HTTPConnection driven by hand: over a memory stream pair, a socketpair and TLS."""

import ssl

import trio
import trio.testing
import trustme

import rttp


async def serve_one(stream: trio.abc.Stream) -> None:
    """The server role: read requests until the peer is done, answer each."""
    async with rttp.HTTPConnection(stream) as conn:
        while (request := await conn.read_request("bytes")) is not None:
            answer = conn.make_response(
                request,
                content=f"{request.method} {request.path}: {len(request.body)} bytes",
                content_type="text/plain",
                allowed_methods={"GET", "POST"},
            )
            await conn.send_response(answer)


async def ask(conn: rttp.HTTPConnection, method: str, uri: str, content: bytes = b"") -> str:
    """The client role: one exchange (the connection is kept for the next)."""
    request = conn.make_request(host="example.org", method=method, uri=uri, content=content)
    await conn.send_request(request)
    response = await conn.read_response(request)
    return f"{response.status} {(await response.read()).decode()}"


async def over(client_stream: trio.abc.Stream, server_stream: trio.abc.Stream) -> list[str]:
    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve_one, server_stream)
        async with rttp.HTTPConnection(client_stream) as conn:
            answers = [
                await ask(conn, "POST", "/upload", b"x" * 10),
                await ask(conn, "GET", "/"),
                await ask(conn, "DELETE", "/"),  # not in allowed_methods: 405
            ]
    return answers


async def main() -> list[list[str]]:
    results = []
    # 1. memory streams: no sockets at all
    results.append(await over(*trio.testing.memory_stream_pair()))
    # 2. a socketpair: real sockets, no listener
    left, right = trio.socket.socketpair()
    results.append(await over(trio.SocketStream(left), trio.SocketStream(right)))
    # 3. TLS over memory streams, with a throwaway CA
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("example.org").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    a, b = trio.testing.memory_stream_pair()
    results.append(
        await over(
            trio.SSLStream(a, client_context, server_hostname="example.org", https_compatible=True),
            trio.SSLStream(b, server_context, server_side=True, https_compatible=True),
        )
    )
    return results


if __name__ == "__main__":
    for answers in trio.run(main):
        print(answers)
