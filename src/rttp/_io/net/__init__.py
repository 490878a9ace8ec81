"""Below HTTP: direct socket I/O, the one map from OS and TLS errors to ``rttp.errors``,
TLS contexts, and the name resolvers. Nothing here knows HTTP."""
