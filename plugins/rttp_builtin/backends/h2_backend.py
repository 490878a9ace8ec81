"""The HTTP/2 protocol backend, on the python-hyper ``h2`` library (sans-IO framing,
HPACK, flow control and the stream state machine; none of it is written here).

What this module adds is the translation to rttp's multiplexed contract
(:class:`~rttp.plugin.MultiplexedServerProtocol` and
:class:`~rttp.plugin.MultiplexedClientProtocol`) and the limits a hardened peer needs
beyond h2's own (the shared half is in ``_h2common``):

- a request head goes through the same rules as HTTP/1.1's
  (:func:`~rttp.plugin.stream_request_head`): Host, Content-Length, Expect and the
  pseudo-header fields of RFC 9113 §8.3.1;
- ``max_header_list_size`` is the ``max_header_size`` limit: a larger decoded header
  list (an HPACK bomb) ends the connection before it is held in memory;
- frames that carry no request (PING, SETTINGS, PRIORITY, empty DATA, WINDOW_UPDATE,
  RST_STREAM) are counted against a refilling budget, and so are the streams a peer
  resets: past either, GOAWAY with ENHANCE_YOUR_CALM (the rapid-reset and flood
  attacks of CVE-2023-44487 and CVE-2019-9512/-9513/-9515/-9516/-9518). h2 already
  bounds CONTINUATION frames (64 per header block). A client holds a hostile server
  to the same budgets.

h2 is optional: without it this plugin registers nothing and rttp speaks HTTP/1.1.
"""

from __future__ import annotations

from typing import Any

from rttp.errors import RemoteProtocolError
from rttp.plugin import (
    MultiplexedBackend,
    MultiplexedClientProtocol,
    MultiplexedServerProtocol,
    MultiplexLimits,
    ProtocolLimits,
    RawHeaders,
    ResponseHead,
    hookimpl,
    stream_request_head,
    stream_response_status,
)

from ._h2common import HOP_BY_HOP, PROTOCOL_ERROR, H2Common, h2

__all__ = ["H2Backend", "H2Client", "H2Server"]


class H2Server(H2Common, MultiplexedServerProtocol):
    """One server-side HTTP/2 connection (see the module)."""

    __slots__ = ()

    def __init__(self, limits: ProtocolLimits, mux: MultiplexLimits) -> None:
        super().__init__(limits, mux, client=False)

    def _translate_head(self, event: Any) -> None:
        if type(event) is h2.events.RequestReceived:
            ended = event.stream_ended is not None
            try:
                head = stream_request_head(event.headers, event.stream_id, ended)
            except RemoteProtocolError as exc:
                self._malformed(event.stream_id, exc, notify=False)  # (no exchange yet)
                return
            self._events.append(head)

    def send_headers(
        self, stream_id: int, status: int, headers: RawHeaders, end_stream: bool = False
    ) -> None:
        fields = [(b":status", b"%d" % status)]
        fields += [(low, v) for n, v in headers if (low := n.lower()) not in HOP_BY_HOP]
        self._conn.send_headers(stream_id, fields, end_stream=end_stream)


class H2Client(H2Common, MultiplexedClientProtocol):
    """One client-side HTTP/2 connection (see the module)."""

    __slots__ = ()

    def __init__(self, limits: ProtocolLimits, mux: MultiplexLimits) -> None:
        super().__init__(limits, mux, client=True)

    def _translate_head(self, event: Any) -> None:
        ev = h2.events
        kind = type(event)
        if kind is ev.ResponseReceived or kind is ev.InformationalResponseReceived:
            try:
                status = stream_response_status(event.headers)
            except RemoteProtocolError as exc:
                self._malformed(event.stream_id, exc, notify=True)
                return
            fields = [(n, v) for n, v in event.headers[1:]]  # (after :status, its one pseudo)
            self._events.append(ResponseHead(status, b"", fields, b"2", stream_id=event.stream_id))
        elif kind is ev.PushedStreamReceived:  # refused in our SETTINGS; reset if sent
            self.reset_stream(event.pushed_stream_id, PROTOCOL_ERROR)

    def send_request(
        self, method: bytes, scheme: bytes, target: bytes, headers: RawHeaders, end_stream: bool
    ) -> int:
        conn = self._conn
        stream_id: int = conn.get_next_available_stream_id()
        authority = b""
        fields: RawHeaders = []
        for name, value in headers:
            lower = name.lower()
            if lower == b"host":
                authority = value
            elif lower not in HOP_BY_HOP and lower != b"te":
                fields.append((lower, value))
        pseudo = [(b":method", method), (b":scheme", scheme), (b":authority", authority)]
        pseudo.append((b":path", target))
        conn.send_headers(stream_id, pseudo + fields, end_stream=end_stream)
        return stream_id

    @property
    def peer_max_streams(self) -> int:
        return int(self._conn.remote_settings.max_concurrent_streams)


class H2Backend(MultiplexedBackend):
    """HTTP/2 on h2: ALPN ``h2``, and prior-knowledge h2c on cleartext."""

    name = "h2"
    priority = 0
    alpn = "h2"
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

    def server(self, limits: ProtocolLimits, mux: MultiplexLimits) -> H2Server:
        return H2Server(limits, mux)

    def client(self, limits: ProtocolLimits, mux: MultiplexLimits) -> H2Client:
        return H2Client(limits, mux)


@hookimpl
def rttp_register_protocol_backends(register: Any) -> None:
    """Register the HTTP/2 backend when h2 is installed."""
    if h2 is not None:
        register(H2Backend())
