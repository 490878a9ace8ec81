"""Token-service processes for the auth tests.

``python token_services.py issuer`` runs a TokenService (users alice/wonderland and
bob/builder; bob may only have tokens for "chat") with ``POST /rotate`` (basic auth as
alice) to rotate its key. ``python token_services.py service NAME JWKS_URL ISSUER`` runs
a service that verifies tokens for audience NAME: ``GET /me`` answers the identity as
JSON. Each prints ``PORT <n>`` once listening.
"""

from __future__ import annotations

import json
import sys

import trio

import rttp

USERS = {"alice": "wonderland", "bob": "builder"}


def issuer_app() -> tuple[rttp.App, rttp.auth.TokenService]:
    app = rttp.App()
    service = rttp.auth.TokenService(
        "(set once bound)",
        users=USERS,
        audiences=lambda identity, audience: identity.name == "alice" or audience == "chat",
    )
    service.install(app)
    admin = rttp.auth.require("basic", users={"alice": USERS["alice"]})

    @app.post("/rotate")
    @admin
    async def rotate(request: rttp.Request) -> str:
        return service.rotate()

    return app, service


def service_app(name: str, jwks: str, issuer: str) -> rttp.App:
    app = rttp.App()
    verifier = rttp.auth.TokenVerifier(jwks, audience=name, issuer=issuer, min_refresh_interval=0)
    guard = rttp.auth.require(verify_token=verifier, realm=name)

    @app.get("/me")
    @guard
    async def me(request: rttp.Request) -> rttp.Response:
        identity = request.identity
        body = {
            "name": identity.name,
            "audiences": sorted(identity.audiences),
            "fetches": verifier.fetches,
        }
        return rttp.Response(200, {"Content-Type": "application/json"}, json.dumps(body))

    return app


async def main() -> None:
    service = None
    if sys.argv[1] == "issuer":
        app, service = issuer_app()
    else:
        app = service_app(sys.argv[2], sys.argv[3], sys.argv[4])
    async with trio.open_nursery() as nursery:
        addresses = await nursery.start(rttp.Server(app, "http://127.0.0.1:0").serve)
        if service is not None:
            service.issuer = str(addresses[0])
        print(f"PORT {addresses[0].port}", flush=True)


trio.run(main)
