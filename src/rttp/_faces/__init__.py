"""The seed-shaped faces: thin layers over the one core (routing app, sockets, callbacks)."""
