"""The built-in auth schemes: ``basic``, ``bearer``, ``digest`` and ``token``."""
