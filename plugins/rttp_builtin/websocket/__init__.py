"""WebSocket framing backends: websockets' sans-I/O core, and wsproto."""
