"""One token service, two services verifying its tokens (the Auth page's example)."""

from __future__ import annotations

import trio

import rttp

USERS = {"alice": "wonderland"}


def token_service() -> tuple[rttp.App, rttp.auth.TokenService]:
    app = rttp.App()
    service = rttp.auth.TokenService("http://id.example", users=USERS)
    service.install(app)  # POST /token, GET /.well-known/jwks.json
    return app, service


def audience_service(name: str, jwks_url: str) -> rttp.App:
    app = rttp.App()
    verifier = rttp.auth.TokenVerifier(jwks_url, audience=name, issuer="http://id.example")
    app.any("*", rttp.auth.require(verify_token=verifier, realm=name))

    @app.get("/hello")
    async def hello(request: rttp.Request) -> str:
        return f"{name} says hello to {request.identity.name}"

    return app


async def main() -> list[str]:
    async with trio.open_nursery() as nursery:
        id_app, _ = token_service()
        (id_url,) = await nursery.start(rttp.Server(id_app, "http://127.0.0.1:0").serve)
        jwks = f"{id_url}/.well-known/jwks.json"
        urls = {}
        for name in ("chat", "files"):
            app = audience_service(name, jwks)
            (urls[name],) = await nursery.start(rttp.Server(app, "http://127.0.0.1:0").serve)
        said = []
        async with rttp.Client(token_service=id_url, auth=("alice", "wonderland")) as client:
            # the seed's way: a handle, finished with (token, 200)
            token, _status = await client.get_auth_token("chat").finish()
            said.append((await client.get(f"{urls['chat']}/hello", auth=token)).text)
            # or let the client fetch, cache and send tokens itself
            files = rttp.auth.token(str(id_url), "files", ("alice", "wonderland"))
            said.append((await client.get(f"{urls['files']}/hello", auth=files)).text)
            # a chat token is no good at files: 401, and the challenge says why
            refused = await client.get(f"{urls['files']}/hello", auth=token)
            said.append(rttp.auth.challenge_error(refused).description)
        nursery.cancel_scope.cancel()
    return said


if __name__ == "__main__":
    for line in trio.run(main):
        print(line)
