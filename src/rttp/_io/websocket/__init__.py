"""WebSockets over the engine: the opening handshakes (both roles) and the
``rttp.WebSocket`` connection object over a framing backend."""
