"""A seed-style app: routes, a WebSocket chat path with broadcast, and a page for browsers.

Serve it with ``rttp serve docs.examples.chat:app --bind http://127.0.0.1:8000`` (from
the repository root) and open http://127.0.0.1:8000/ in two browser tabs.
"""

import rttp

app = rttp.App()

PAGE = """<!doctype html>
<title>rttp chat</title>
<ul id="log"></ul>
<form id="f"><input id="msg" autocomplete="off"><button>send</button></form>
<script>
const ws = new WebSocket(location.origin.replace(/^http/, "ws") + "/chat");
const log = document.getElementById("log");
ws.onmessage = (event) => {
  const item = document.createElement("li");
  item.textContent = event.data;
  log.appendChild(item);
};
document.getElementById("f").onsubmit = (event) => {
  event.preventDefault();
  ws.send(document.getElementById("msg").value);
  document.getElementById("msg").value = "";
};
</script>
"""


@app.get("/")
def index(req):
    return rttp.Response(200, {"Content-Type": "text/html; charset=utf-8"}, PAGE)


@app.get("/users/{id:int}")
def user(req):
    return {"id": req.parameters["id"], "from": req.ip}


@app.post("/notes")
def add_note(req, res):  # the seed's (req, res) form
    res.status = 201
    res.body = {"saved": req.value}


@app.socket("/chat")
async def chat(conn, opcode, data, extra):
    if opcode == rttp.Opcode.open:
        await conn.text(f"welcome, {conn.id[:6]}")
    elif opcode == rttp.Opcode.text:
        for other in app.sockets("/chat"):  # broadcast
            await other.text(f"{conn.id[:6]}: {data}")
    elif opcode == rttp.Opcode.close:
        for other in app.sockets("/chat"):
            await other.text(f"{conn.id[:6]} left ({data})")
