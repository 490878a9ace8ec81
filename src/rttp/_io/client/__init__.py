"""``rttp.Client``: the connection pool, redirects, cookies, the auth flow, the request
verbs and the in-memory transports for tests."""
