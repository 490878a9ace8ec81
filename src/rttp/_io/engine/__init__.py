"""The engine: one HTTP connection over a ``trio.abc.Stream``, in either role.

``_base`` owns the stream, the parser backend's state, timed I/O and ``detach``;
``_reading`` and ``_answering`` are the server side (requests in, answers out);
``_client`` is the client side; ``_connection`` is the public ``rttp.HTTPConnection``
façade over them. Every server, client and face runs on this package.
"""
