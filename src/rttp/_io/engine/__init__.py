"""The engine: one HTTP connection over a ``trio.abc.Stream``, in either role.

- ``_base``: what every connection has (the stream, the parser backend, timed I/O
  through the one error map, ``detach``, closing and lingering);
- ``_clock``: the coarse clock, the phases and the sweeper that enforces deadlines;
- ``_server`` and ``_exchange``: the server side, a connection and the exchange it
  resets per request (the request, its body reader, the phase and deadline);
- ``_answering``: the answer, returned (a Response) or pushed (``request.respond``);
- ``_framing``: what a message becomes on the wire (head, compression, body framing);
- ``_client``: the client side, a connection and its exchange;
- ``_connection``: the public ``rttp.HTTPConnection`` façade over either side.

Every server, client and face runs on this package; it imports only ``net``.
"""
