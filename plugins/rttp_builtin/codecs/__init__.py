"""Built-in body codecs."""
