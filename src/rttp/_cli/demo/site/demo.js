// The demo page: two WebSockets (the chat and the live statistics), a streamed
// answer read as it arrives, and a JSON route. It reports what worked to /report,
// which the test suite's headless browser waits for.
"use strict";
const $ = (id) => document.getElementById(id);
const wsURL = (path) => location.origin.replace(/^http/, "ws") + path;
const seen = { chat: false, stats: false };

function report() {
  if (seen.chat && seen.stats && !seen.reported) {
    seen.reported = true;
    fetch("/report?chat=1&stats=1&page=" + encodeURIComponent(location.pathname));
  }
}

function say(text, mine) {
  const item = document.createElement("li");
  item.textContent = text;
  if (mine) item.className = "me";
  $("log").appendChild(item);
  $("log").scrollTop = $("log").scrollHeight;
}

const chat = new WebSocket(wsURL("/chat"));
chat.onopen = () => { seen.chat = true; $("live-dot").classList.add("on"); $("live-text").textContent = "live"; report(); };
chat.onclose = () => { $("live-dot").classList.remove("on"); $("live-text").textContent = "disconnected"; };
chat.binaryType = "arraybuffer";
chat.onmessage = (event) => {
  if (typeof event.data !== "string") {  // a binary frame, relayed as it came
    say(`[a binary frame of ${event.data.byteLength} bytes]`);
    return;
  }
  const message = JSON.parse(event.data);
  if (message.presence !== undefined) $("presence").textContent = message.presence;
  if (message.text) say(message.text, message.mine);
};
$("chat-form").onsubmit = (event) => {
  event.preventDefault();
  const input = $("message");
  if (input.value && chat.readyState === WebSocket.OPEN) chat.send(input.value);
  input.value = "";
};

const stats = new WebSocket(wsURL("/stats"));
stats.onopen = () => {
  seen.stats = true;
  report();
  setInterval(() => { if (stats.readyState === WebSocket.OPEN) stats.send("?"); }, 1000);
};
stats.onmessage = (event) => {
  const s = JSON.parse(event.data);
  $("stat-requests").textContent = s.requests.toLocaleString();
  $("stat-sockets").textContent = s.sockets;
  $("stat-uptime").textContent = s.uptime;
  $("stat-memory").textContent = s.memory;
  $("stat-versions").textContent = s.versions;
};
const entry = performance.getEntriesByType("navigation")[0];
const protocols = { "http/1.1": "HTTP/1.1", h2: "HTTP/2", "h2c": "HTTP/2" };
const hop = entry && entry.nextHopProtocol;
$("stat-protocol").textContent = protocols[hop] || hop || "HTTP/1.1";

$("stream-start").onclick = async () => {
  const out = $("stream-out");
  out.textContent = "";
  const response = await fetch("/stream");
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    out.textContent += decoder.decode(value, { stream: true });
  }
};

$("json-fetch").onclick = async () => {
  const response = await fetch("/api/time");
  $("json-out").textContent = JSON.stringify(await response.json(), null, 2);
};
const origin = location.host;
$("json-cmd").textContent = `rttp get ${origin}/api/time`;
$("rtml-cmd").textContent = `rttp browse ${location.origin}/rtml`;
