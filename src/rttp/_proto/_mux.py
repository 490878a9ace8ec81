"""The contract of a *multiplexing* protocol backend (HTTP/2): several exchanges at once
on one connection, each a stream with its own id and flow-control window.

An HTTP/1.1 backend (:class:`~rttp.plugin.ServerProtocol`) returns the bytes of each
answer for the caller to write. A multiplexed one cannot: its frames interleave, share
one header-compression state and may only be sent as far as the peer's windows allow.
So it keeps its output itself (:meth:`MultiplexedServerProtocol.data_to_send`) and the
engine's one writer task per connection sends it; handlers ask how much a stream may
send now (:meth:`~MultiplexedServerProtocol.send_window`) and wait for a
:class:`WindowOpened` event when it is nothing. It never does I/O either.

The engine (``rttp._io.engine._mux``) turns each stream into an ordinary exchange, so
handlers, the App, hosted ASGI/WSGI apps and the access log run unchanged.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import ClassVar, Final, Union

from ..errors import RemoteProtocolError
from ._events import (
    EndOfMessage,
    ProtocolLimits,
    RawHeaders,
    RequestHead,
    ResponseHead,
    Sentinel,
    StreamData,
)
from ._head import make_request_head
from ._streamfields import check_stream_fields

__all__ = [
    "GoAway",
    "MultiplexLimits",
    "MultiplexedBackend",
    "MultiplexedClientProtocol",
    "MultiplexedProtocol",
    "MultiplexedServerProtocol",
    "MuxClientEvent",
    "MuxEvent",
    "MuxServerEvent",
    "StreamReset",
    "WindowOpened",
    "stream_request_head",
]


@dataclass(frozen=True)
class MultiplexLimits:
    """What a multiplexing connection allows its peer, announced in its settings and
    enforced (each crossing closes the connection or refuses the stream, see
    ``docs/http2.rst``)."""

    #: streams the peer may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS); a
    #: stream counts until its handler has returned, even after the peer reset it
    max_concurrent_streams: int = 100
    #: bytes of one stream's request body the peer may send before the handler reads
    #: them (SETTINGS_INITIAL_WINDOW_SIZE): the memory a stream may hold
    stream_window: int = 256 << 10
    #: the same for all streams together (the connection's window)
    connection_window: int = 1 << 20
    #: the largest frame the peer may send (SETTINGS_MAX_FRAME_SIZE)
    max_frame_size: int = 16384
    #: streams the peer may reset (or have refused) beyond those it let finish, in a
    #: burst; the budget refills by ``reset_refill`` a second. Past it the connection
    #: ends with ENHANCE_YOUR_CALM: the rapid-reset attack (CVE-2023-44487)
    max_resets: int = 200
    reset_refill: float = 50.0
    #: frames that cost the server work and carry no request (PING, SETTINGS,
    #: PRIORITY, empty DATA, WINDOW_UPDATE, RST_STREAM) the peer may send in a burst,
    #: refilled by ``control_refill`` a second (CVE-2019-9512/-9513/-9515/-9518)
    max_control_frames: int = 1000
    control_refill: float = 200.0
    #: bytes of frames waiting to be written before the connection stops reading and
    #: handlers stop framing (a peer that does not read cannot grow our memory)
    max_output: int = 256 << 10


class StreamReset:
    """A stream was reset (RST_STREAM): its exchange is abandoned. The peer reset it,
    or the backend did, for a malformed field block: ``reason`` then says why."""

    __slots__ = ("error_code", "reason", "stream_id")

    def __init__(self, stream_id: int, error_code: int, reason: str = "") -> None:
        self.stream_id: int = stream_id
        self.error_code: int = error_code
        self.reason: str = reason

    def __repr__(self) -> str:
        return f"StreamReset({self.stream_id}, error_code={self.error_code})"


class WindowOpened:
    """The peer opened a flow-control window: stream ``stream_id`` (0: every stream) may
    send more."""

    __slots__ = ("stream_id",)

    def __init__(self, stream_id: int) -> None:
        self.stream_id: int = stream_id

    def __repr__(self) -> str:
        return f"WindowOpened({self.stream_id})"


MuxServerEvent = Union[
    RequestHead, StreamData, EndOfMessage, StreamReset, WindowOpened, "GoAway", Sentinel
]
MuxClientEvent = Union[
    ResponseHead, StreamData, EndOfMessage, StreamReset, WindowOpened, "GoAway", Sentinel
]
MuxEvent = Union[MuxServerEvent, MuxClientEvent]


class GoAway:
    """The peer's GOAWAY: it processes no stream above ``last_stream_id`` (a request
    on one of those was not processed and may be sent again elsewhere), and nothing
    more can be sent on this connection."""

    __slots__ = ("error_code", "last_stream_id")

    def __init__(self, last_stream_id: int, error_code: int) -> None:
        self.last_stream_id: int = last_stream_id
        self.error_code: int = error_code

    def __repr__(self) -> str:
        return f"GoAway(last_stream_id={self.last_stream_id}, error_code={self.error_code})"


class MultiplexedProtocol(abc.ABC):
    """What both halves of a multiplexing connection (HTTP/2) do, without I/O.

    :meth:`receive_data` raises :class:`~rttp.errors.RemoteProtocolError` for a
    connection error (its GOAWAY is queued in the output); a stream error resets that
    stream and the connection goes on. :meth:`next_event` returns, per stream, a head
    (:class:`~rttp.plugin.RequestHead` on a server, :class:`~rttp.plugin.ResponseHead`
    on a client, ``stream_id`` set, ``http_version`` ``b"2"``),
    :class:`~rttp.plugin.StreamData`, an :class:`~rttp.plugin.EndOfMessage`, or a
    :class:`StreamReset`; :class:`WindowOpened` when the peer lets more be sent;
    :class:`GoAway` when the peer ends the connection; ``NEED_DATA`` once everything
    received is consumed.
    """

    __slots__ = ()

    multiplexed: ClassVar[bool] = True

    @abc.abstractmethod
    def initiate(self) -> None:
        """Queue the connection preface (and our SETTINGS)."""

    @abc.abstractmethod
    def receive_data(self, data: bytes | bytearray) -> None:
        """Feed received bytes; ``b""`` means the peer closed its side."""

    @abc.abstractmethod
    def next_event(self) -> MuxEvent:
        """The next event (see the class)."""

    @abc.abstractmethod
    def data_to_send(self) -> bytes:
        """Every byte queued for the peer, taken (empty when there is none)."""

    @property
    @abc.abstractmethod
    def output_size(self) -> int:
        """Bytes queued and not yet taken by :meth:`data_to_send`."""

    @abc.abstractmethod
    def send_window(self, stream_id: int) -> int:
        """Bytes of body stream ``stream_id`` may send now (0: wait for WindowOpened)."""

    @abc.abstractmethod
    def send_data(self, stream_id: int, data: bytes | memoryview, end_stream: bool = False) -> None:
        """Queue ``data`` (at most :meth:`send_window` bytes), in as many frames as it
        takes; ``end_stream`` ends the body."""

    @abc.abstractmethod
    def send_trailers(self, stream_id: int, trailers: RawHeaders) -> None:
        """End the body with a trailer section."""

    @abc.abstractmethod
    def acknowledge(self, stream_id: int, size: int) -> None:
        """``size`` bytes of the stream's body were consumed: the peer may send more."""

    @abc.abstractmethod
    def reset_stream(self, stream_id: int, error_code: int = 0) -> None:
        """Abandon a stream (RST_STREAM; 0 is NO_ERROR, 8 CANCEL)."""

    @abc.abstractmethod
    def goaway(self, error_code: int = 0, last_stream_id: int | None = None) -> None:
        """Tell the peer no more streams will be processed after ``last_stream_id`` (the
        highest it opened, by default); streams at or below it still finish."""

    @abc.abstractmethod
    def stream_open(self, stream_id: int) -> bool:
        """Whether stream ``stream_id`` can still carry our side of the exchange."""


class MultiplexedServerProtocol(MultiplexedProtocol):
    """The server half of a multiplexing connection (see :class:`MultiplexedProtocol`)."""

    __slots__ = ()

    @abc.abstractmethod
    def send_headers(
        self, stream_id: int, status: int, headers: RawHeaders, end_stream: bool = False
    ) -> None:
        """Queue a response head (1xx included). The core has validated ``headers``;
        connection-specific fields (Connection, Transfer-Encoding, Keep-Alive, Upgrade)
        are the backend's to drop."""


class MultiplexedClientProtocol(MultiplexedProtocol):
    """The client half of a multiplexing connection (see :class:`MultiplexedProtocol`)."""

    __slots__ = ()

    @abc.abstractmethod
    def send_request(
        self, method: bytes, scheme: bytes, target: bytes, headers: RawHeaders, end_stream: bool
    ) -> int:
        """Open the next stream with a request head and return its id. ``headers`` hold
        ``Host`` (sent as ``:authority``); the core has validated them;
        connection-specific fields are the backend's to drop."""

    @property
    @abc.abstractmethod
    def peer_max_streams(self) -> int:
        """The streams the peer allows open at once (its
        SETTINGS_MAX_CONCURRENT_STREAMS); the engine counts its own."""


class MultiplexedBackend(abc.ABC):
    """A multiplexing protocol (HTTP/2), registered through
    ``rttp_register_protocol_backends`` beside the HTTP/1.1 backends and chosen by
    ALPN (``alpn``) or, on cleartext, by the connection preface (``preface``)."""

    name: ClassVar[str]
    priority: ClassVar[int] = 0
    #: the ALPN protocol id it speaks (``"h2"``)
    alpn: ClassVar[str]
    #: the bytes a client opens a cleartext connection with (prior knowledge, h2c)
    preface: ClassVar[bytes] = b""

    @abc.abstractmethod
    def server(self, limits: ProtocolLimits, mux: MultiplexLimits) -> MultiplexedServerProtocol:
        """A protocol object for one server-side connection."""

    @abc.abstractmethod
    def client(self, limits: ProtocolLimits, mux: MultiplexLimits) -> MultiplexedClientProtocol:
        """A protocol object for one client-side connection."""


_PSEUDO_REQUIRED: Final = (b":method", b":scheme", b":path")


def stream_request_head(fields: RawHeaders, stream_id: int, ended: bool) -> RequestHead:
    """The :class:`RequestHead` of a request received on a multiplexed stream, under
    the rules HTTP/1.1 requests meet (Host, Content-Length, Expect, Content-Encoding:
    :func:`~rttp.plugin.make_request_head`'s checks) and RFC 9113 §8.3.1's: the
    ``:method``, ``:scheme`` and ``:path`` pseudo-fields once each, ``:authority``
    standing for Host (a Host that names another authority is refused), no
    pseudo-field after a regular one, and every field as
    :func:`~rttp.plugin.check_stream_fields` checks it (RFC 9113 §8.2: the protocol
    library's own checks are off). ``ended``: the head ended the stream (no body).
    An extended CONNECT for ``websocket`` (RFC 8441) becomes HTTP/1.1's handshake: a
    GET with ``Upgrade: websocket``, its head's ``upgrade`` set, and no body.

    Raises :class:`~rttp.errors.RemoteProtocolError` for a malformed request (the
    backend resets the stream)."""
    pseudo = check_stream_fields(fields)
    regular: RawHeaders = [(n, v) for n, v in fields[len(pseudo) :]]  # (pseudo-fields first)
    method = pseudo.get(b":method", b"")
    protocol = pseudo.get(b":protocol")
    if protocol is not None and method != b"CONNECT":
        raise RemoteProtocolError(f":protocol {protocol[:40]!r} in a {method[:40]!r} request")
    if method == b"CONNECT":
        if protocol != b"websocket":
            what = "CONNECT" if protocol is None else f"CONNECT for {protocol!r}"
            raise RemoteProtocolError(f"{what} is not supported by this server", 501)
        # RFC 8441: a WebSocket over this stream, presented as HTTP/1.1's upgrade
        method = b"GET"
        regular += [(b"upgrade", b"websocket"), (b"connection", b"upgrade")]
    for name in _PSEUDO_REQUIRED:
        if not pseudo.get(name):
            raise RemoteProtocolError(f"request without the {name.decode()} pseudo-field")
    authority = pseudo.get(b":authority")
    if authority is not None:
        hosts = [v for n, v in regular if n == b"host"]
        if hosts and hosts != [authority]:
            raise RemoteProtocolError("Host does not match :authority")
        if not hosts:
            regular.insert(0, (b"host", authority))
    head = make_request_head(method, pseudo[b":path"], regular, b"1.1")
    head.http_version = b"2"
    head.stream_id = stream_id
    head.keep_alive = True
    head.upgrade = None
    if protocol is not None:
        # the stream carries the WebSocket's frames, not a request body: the engine
        # ends the request at its head (``upgrade`` marks it)
        head.upgrade = b"websocket"
        head.chunked = False
        head.content_length = None
        return head
    # the body is framed by the stream: it follows unless the head ended the stream
    head.chunked = not ended
    if ended:
        head.content_length = None
    return head
