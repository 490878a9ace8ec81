"""CORS from a real browser: headless Chromium loads a page from one rttp server whose
script fetches from two others: one whose CORS middleware allows the page's origin (a
preflighted POST with a custom header, and a GET with credentials), one whose does not.
The page reports what the browser let it read. (Chromium is installed with apt-get
where it can be; the test is skipped, saying so, where it cannot.)"""

from __future__ import annotations

import json

import trio

import rttp
from tests.conftest import browse_until

PAGE = """<!doctype html>
<html><body><script>
async function attempt(url, options) {
  try {
    const answer = await fetch(url, options);
    return `${answer.status} ${await answer.text()}`;
  } catch (error) {
    return "blocked";
  }
}
(async () => {
  const results = {
    preflighted: await attempt("ALLOWED/api/items",
      {method: "POST", headers: {"X-Token": "t", "Content-Type": "application/json"},
       body: "{}"}),
    credentialed: await attempt("ALLOWED/private", {credentials: "include"}),
    refused: await attempt("REFUSED/private"),
  };
  await fetch("/report", {method: "POST", body: JSON.stringify(results)});
})();
</script></body></html>
"""


async def test_chromium_reads_only_what_cors_allows(nursery, tmp_path):
    reports: list[dict] = []
    reported = trio.Event()

    async def start(app: rttp.App) -> str:
        server = rttp.Server(app, "http://127.0.0.1:0", access_log=False)
        return str((await nursery.start(server.serve))[0])

    def api(cors: rttp.CORS, preflights: list[str]) -> rttp.App:
        app = rttp.App()

        @app.post("/api/items")
        async def add(request):
            return {"added": request.headers.get("x-token")}

        @app.options("/api/items")
        async def never(request):  # the CORS middleware answers preflights first
            preflights.append("reached the route")
            return rttp.Response(204)

        @app.get("/private")
        async def private(request):
            return "secret"

        app.middleware(cors)
        return app

    home = rttp.App()
    home_url = await start(home)
    preflights: list[str] = []
    allowed = await start(
        api(
            rttp.CORS(
                allow_origins=[home_url],
                allow_methods=["GET", "POST"],
                allow_headers=["X-Token", "Content-Type"],
                allow_credentials=True,
            ),
            preflights,
        )
    )
    refused = await start(api(rttp.CORS(allow_origins=["https://elsewhere.example"]), []))

    @home.get("/")
    async def page(request):
        body = PAGE.replace("ALLOWED", allowed).replace("REFUSED", refused)
        return rttp.Response(200, {"Content-Type": "text/html; charset=utf-8"}, body)

    @home.post("/report")
    async def report(request):
        reports.append(json.loads(await request.read()))
        reported.set()
        return "thanks"

    await browse_until(f"{home_url}/", tmp_path / "profile", reported)
    assert reports == [
        {
            "preflighted": '200 {"added":"t"}',
            "credentialed": "200 secret",
            "refused": "blocked",
        }
    ]
    assert preflights == []
