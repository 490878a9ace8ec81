"""Trio I/O: the server, the client and its pool, TLS contexts, exception mapping."""
