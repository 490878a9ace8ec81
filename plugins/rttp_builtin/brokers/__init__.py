"""The built-in brokers: ``memory`` (one process) and ``redis`` (coredis)."""
