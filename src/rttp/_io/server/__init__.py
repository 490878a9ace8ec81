"""``rttp.Server``: listeners, the accept loop, the sweeper, the per-connection serve
loop, graceful shutdown, the access log and trusted proxy headers."""
