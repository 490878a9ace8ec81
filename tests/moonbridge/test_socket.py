"""The Moonbridge socket object and I/O library against raw peers on loopback."""

from __future__ import annotations

import socket

import pytest
import trio

from rttp import moonbridge
from rttp.errors import BindError, ConnectError, SocketClosed, WriteError


async def _pair() -> tuple[moonbridge.Socket, trio.SocketStream, moonbridge.Listener]:
    """A Moonbridge socket accepted from a listener, and the raw peer connected to it."""
    listener = moonbridge.tcplisten("127.0.0.1", 0)
    peer = await trio.open_tcp_stream("127.0.0.1", listener.port)
    ours = await listener.accept()
    return ours, peer, listener


async def test_reads_stop_at_the_terminator_maxlen_or_eof():
    ours, peer, listener = await _pair()
    async with peer:
        await peer.send_all(b"GET / HTTP/1.1\r\nrest of it")
        assert await ours.read(terminator=b"\n") == (b"GET / HTTP/1.1\r\n", "term")
        assert await ours.read(4) == (b"rest", "maxlen")
        assert await ours.read(100, " ") == (b" ", "term")
        assert ours.read_nb() == (b"of it", "block")  # what is there, without waiting
        assert ours.read_nb(10) == (b"", "block")
        await peer.send_all(b"last")
        await peer.send_eof()
        assert await ours.read(100, "\n") == (b"last", "eof")
        assert await ours.read() == (b"", "eof")
        assert ours.read_nb() == (b"", "eof")
    await ours.close()
    listener.close()


async def test_a_terminator_past_maxlen_is_not_searched_for():
    ours, peer, listener = await _pair()
    async with peer:
        await peer.send_all(b"abcdef\n")
        assert await ours.read(3, "\n") == (b"abc", "maxlen")
        assert await ours.drain(terminator="\n") == (4, "term")
        await peer.send_all(b"12345")
        await peer.send_eof()
        assert await ours.drain() == (5, "eof")
        assert ours.drain_nb() == (0, "eof")
    await ours.close()
    listener.close()


async def test_write_is_buffered_until_flush_and_write_nb_sends_at_once():
    ours, peer, listener = await _pair()
    async with peer:
        await ours.write("buffered ", b"bytes")
        raw = peer.socket
        with pytest.raises(BlockingIOError):  # nothing went out yet
            raw._sock.recv(100, socket.MSG_DONTWAIT)
        await ours.flush(" and flushed")
        assert await peer.receive_some(100) == b"buffered bytes and flushed"
        assert ours.write_nb(b"now") == 0
        assert ours.flush_nb() == 0
        assert await peer.receive_some(100) == b"now"
    await ours.close()
    listener.close()


async def test_a_big_write_does_not_grow_the_buffer_without_bound():
    ours, peer, listener = await _pair()
    received = bytearray()

    async def reader():
        while chunk := await peer.receive_some(1 << 16):
            received.extend(chunk)

    async with peer, trio.open_nursery() as nursery:
        nursery.start_soon(reader)
        for _ in range(40):
            await ours.write(b"x" * 65536)  # passes 256 KiB: sent before write returns
            assert len(ours._out) <= 256 * 1024 + 65536
        await ours.close()
    assert len(received) == 40 * 65536
    listener.close()


async def test_finish_is_a_half_close_reads_still_work():
    ours, peer, listener = await _pair()
    async with peer:
        await ours.write(b"answer")
        await ours.finish()
        got = b""
        while chunk := await peer.receive_some(100):
            got += chunk
        assert got == b"answer"  # then EOF, while our reading side stays open
        await peer.send_all(b"late words")
        assert await ours.read(10) == (b"late words", "maxlen")
        with pytest.raises(WriteError, match="after finish"):
            await ours.flush(b"more")
    await ours.close()
    listener.close()


async def test_reset_is_seen_by_the_peer_as_a_connection_reset():
    ours, peer, listener = await _pair()
    async with peer:
        await ours.write(b"dropped")
        ours.reset()
        with pytest.raises(trio.BrokenResourceError) as info:
            await peer.receive_some(100)
        assert isinstance(info.value.__cause__, ConnectionResetError)
    listener.close()


async def test_a_closed_socket_refuses_every_use():
    ours, peer, listener = await _pair()
    await peer.aclose()
    await ours.close()
    assert ours.closed
    for use in (ours.read_nb, ours.write_nb, ours.reset):
        with pytest.raises(SocketClosed, match="already closed"):
            use()
    with pytest.raises(SocketClosed):
        await ours.read()
    with pytest.raises(SocketClosed):
        await ours.close()
    listener.close()
    with pytest.raises(SocketClosed, match="listener was already closed"):
        listener.accept_nb()


async def test_raw_addresses_and_ports():
    ours, peer, listener = await _pair()
    async with peer:
        assert ours.local_ip4 == b"\x7f\x00\x00\x01"
        assert ours.remote_ip4 == b"\x7f\x00\x00\x01"
        assert ours.local_ip6 is None  # an IPv4 socket
        assert ours.local_tcpport == listener.port
        assert ours.remote_tcpport == peer.socket.getsockname()[1]
        assert ours.remote_address == ("127.0.0.1", ours.remote_tcpport)
        assert ours.interval is None
    await ours.close()
    listener.close()
    six = moonbridge.tcplisten("::", 0)  # dual stack: IPv4 peers arrive v4-mapped
    peer = await trio.open_tcp_stream("127.0.0.1", six.port)
    async with peer:
        mapped = await six.accept()
        assert mapped.remote_ip6 == b"\0" * 10 + b"\xff\xff\x7f\x00\x00\x01"
        assert mapped.remote_ip4 == b"\x7f\x00\x00\x01"
        await mapped.close()
    six.close()


async def test_accept_nb_and_tcpconnect_both_forms():
    listener = moonbridge.tcplisten("127.0.0.1", 0)
    assert listener.accept_nb() is False
    client = await moonbridge.tcpconnect("127.0.0.1", listener.port)
    with trio.fail_after(5):
        assert await moonbridge.poll([listener], None, 5) is True
    server = listener.accept_nb()
    assert isinstance(server, moonbridge.Socket)
    await client.flush(b"ping")
    assert await server.read(4) == (b"ping", "maxlen")
    started = moonbridge.tcpconnect_nb("127.0.0.1", listener.port)  # returns at once
    await started.flush(b"nb")
    other = await listener.accept()
    assert await other.read(2) == (b"nb", "maxlen")
    for sock in (client, server, started, other):
        await sock.close()
    port = listener.port
    listener.close()
    with pytest.raises(ConnectError, match="refused"):
        await moonbridge.tcpconnect("127.0.0.1", port)


async def test_local_sockets_listen_connect_and_finish(tmp_path):
    path = str(tmp_path / "mb.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)  # a socket file left behind: replaced
    stale.close()
    listener = moonbridge.locallisten(path)
    client = await moonbridge.localconnect(path)
    server = await listener.accept()
    assert server.local_tcpport is None
    await server.write(b"bye")
    await server.finish()  # on a local socket: closed, and reads see EOF
    assert await server.read() == (b"", "eof")
    assert await client.read() == (b"bye", "eof")
    await client.close()
    await server.close()
    nb = moonbridge.localconnect_nb(path)
    await nb.close()
    listener.close()
    assert (tmp_path / "mb.sock").is_socket()  # not unlinked on close, as in the seed
    regular = tmp_path / "file"
    regular.write_text("x")
    with pytest.raises(BindError, match="not a socket"):
        moonbridge.locallisten(str(regular))
    with pytest.raises(ConnectError):
        await moonbridge.localconnect(str(tmp_path / "nobody.sock"))


async def test_poll_waits_for_input_output_or_the_timeout():
    ours, peer, listener = await _pair()
    async with peer:
        assert await moonbridge.poll([ours], None, 0.05) == (False, "timeout")
        assert await moonbridge.poll(None, [ours], 1) is True  # writable at once
        await peer.send_all(b"x")
        with trio.fail_after(5):
            assert await moonbridge.poll({ours: True}, None, None) is True
        # a handle whose table value is false is not in the set (readable or not)
        assert await moonbridge.poll({ours: False}, None, 0.05) == (False, "timeout")
        assert await moonbridge.poll(None, {ours: False}, 0.05) == (False, "timeout")
        assert ours.read_nb(1) == (b"x", "maxlen")
        await peer.send_all(b"yz")
        await ours.read(1)  # "z" stays buffered: poll sees it without the socket
        assert await moonbridge.poll([ours], None, 0) is True
        with pytest.raises(ValueError, match="wait for ever"):
            await moonbridge.poll(None, None, None)
    await ours.close()
    listener.close()
