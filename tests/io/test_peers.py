"""Built-in peers against real sockets on loopback and Unix paths, and against socat."""

from __future__ import annotations

import io
import os
import re
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support import HAS_IPV6

from workbench.core.errors import InputError
from workbench.io.peers import (
    KINDS,
    TRANSPORTS,
    Peer,
    PeerAddress,
    format_address,
    listening_line,
    parse_kind,
    parse_transport,
    serve_forever,
)

ROOT = Path(__file__).resolve().parents[2]
SOCAT = shutil.which("socat")
needs_socat = pytest.mark.skipif(SOCAT is None, reason="socat is not installed")
TIMEOUT = 5.0
DAYTIME = re.compile(rb"^[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d \d{4}\r\n$")




# --- expected RFC 864 stream, built independently of the module -----------------------


def chargen_line(n: int) -> bytes:
    return bytes(0x20 + (n + i) % 95 for i in range(72)) + b"\r\n"


CYCLE = b"".join(chargen_line(n) for n in range(95))


def chargen_expected(size: int) -> bytes:
    return (CYCLE * (size // len(CYCLE) + 1))[:size]


# --- fixtures and helpers --------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_thread_errors(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test ends with no uncaught thread exception and no peer thread left."""
    errors: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", errors.append)
    yield
    assert not errors, [f"{e.exc_type.__name__}: {e.exc_value}" for e in errors]
    assert not [t for t in threading.enumerate() if t.name.startswith("peer-")]


@pytest.fixture
def short_dir() -> Iterator[str]:
    """A short temporary directory: Unix socket paths are limited to 107 bytes."""
    path = tempfile.mkdtemp(prefix="wb-peer-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def abstract_name() -> str:
    return "\0wb-test-" + secrets.token_hex(8)


def address_for(transport: str, where: str, short_dir: str) -> PeerAddress:
    if where == "ipv4":
        return ("127.0.0.1", 0)
    if where == "ipv6":
        if not HAS_IPV6:
            pytest.skip("no IPv6 loopback here")
        return ("::1", 0, 0, 0)
    if where == "path":
        return os.path.join(short_dir, f"{transport}-{secrets.token_hex(4)}.sock")
    return abstract_name()


def family_of(address: PeerAddress) -> int:
    if isinstance(address, str):
        return socket.AF_UNIX
    return socket.AF_INET6 if ":" in address[0] else socket.AF_INET


def connect(peer: Peer) -> socket.socket:
    kind = socket.SOCK_SEQPACKET if peer.transport == "unix-seqpacket" else socket.SOCK_STREAM
    sock = socket.socket(family_of(peer.address), kind)
    sock.settimeout(TIMEOUT)
    sock.connect(peer.address)
    return sock


def datagram_client(peer: Peer, short_dir: str, bind: bool = True) -> socket.socket:
    sock = socket.socket(family_of(peer.address), socket.SOCK_DGRAM)
    sock.settimeout(TIMEOUT)
    if peer.transport == "udp":
        sock.bind((peer.address[0], 0))
    elif bind:  # a unix-dgram client needs an address of its own to get replies
        sock.bind(os.path.join(short_dir, f"client-{secrets.token_hex(4)}.sock"))
    return sock


def recv_until_eof(sock: socket.socket, limit: int = 64 * 1024 * 1024) -> bytes:
    chunks = bytearray()
    while len(chunks) < limit:
        data = sock.recv(256 * 1024)
        if not data:
            break
        chunks += data
    return bytes(chunks)


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    buf = bytearray(size)
    view = memoryview(buf)
    got = 0
    while got < size:
        n = sock.recv_into(view[got:])
        assert n, f"EOF after {got} of {size} bytes"
        got += n
    return bytes(buf)


def stream_echo(peer: Peer, payload: bytes) -> bytes:
    """Send payload while reading the echo on another thread, so neither side stalls."""
    with connect(peer) as sock:
        sender = threading.Thread(target=lambda: (sock.sendall(payload), sock.shutdown(1)))
        sender.start()
        try:
            return recv_until_eof(sock, limit=len(payload) + 1)
        finally:
            sender.join(TIMEOUT)


def wait_for(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def run_socat(args: list[str], data: bytes = b"", timeout: float = 10.0) -> bytes:
    assert SOCAT is not None
    with subprocess.Popen(
        [SOCAT, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        try:
            out, err = proc.communicate(data, timeout=timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
    assert proc.returncode == 0, err.decode(errors="replace")
    return out


# --- names, addresses and validation ---------------------------------------------------


def test_parse_transport_and_kind_accept_known_names() -> None:
    assert [parse_transport(t.upper()) for t in TRANSPORTS] == list(TRANSPORTS)
    assert [parse_kind(f" {k} ") for k in KINDS] == list(KINDS)


@pytest.mark.parametrize(("parse", "choices"), [(parse_transport, TRANSPORTS), (parse_kind, KINDS)])
def test_unknown_names_raise_one_line_input_error(
    parse: Callable[[str], str], choices: tuple[str, ...]
) -> None:
    with pytest.raises(InputError) as raised:
        parse("sctp")
    message = str(raised.value)
    assert "\n" not in message and "'sctp'" in message
    assert all(choice in message for choice in choices)


def test_peer_rejects_bad_input_before_touching_the_os() -> None:
    with pytest.raises(InputError):
        Peer("http", "tcp", ("127.0.0.1", 0))
    with pytest.raises(InputError):
        Peer("echo", "tcp", "/tmp/not-an-ip-address")
    with pytest.raises(InputError):
        Peer("echo", "unix-stream", ("127.0.0.1", 0))


def test_format_address() -> None:
    assert format_address(("127.0.0.1", 40123)) == "127.0.0.1:40123"
    assert format_address(("::1", 40123, 0, 0)) == "[::1]:40123"
    assert format_address("/run/wb.sock") == "unix:/run/wb.sock"
    assert format_address("\0wb-echo") == "unix:@wb-echo"


def test_bind_errors_reach_the_caller(short_dir: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            Peer("echo", "tcp", taken.getsockname()).start()
    path = os.path.join(short_dir, "exists.sock")
    Path(path).touch()
    with pytest.raises(OSError):
        Peer("echo", "unix-stream", path).start()
    assert os.path.exists(path), "a file the peer did not create is left alone"


def test_start_twice_is_an_error_and_stop_is_idempotent() -> None:
    peer = Peer("echo", "tcp", ("127.0.0.1", 0))
    peer.stop()  # before start: nothing to do
    with peer, pytest.raises(RuntimeError):
        peer.start()
    peer.stop()
    assert not peer.running


# --- echo (RFC 862) --------------------------------------------------------------------

WHERE = [
    ("tcp", "ipv4"),
    ("tcp", "ipv6"),
    ("unix-stream", "path"),
    ("unix-stream", "abstract"),
    ("unix-seqpacket", "path"),
    ("unix-seqpacket", "abstract"),
]
DGRAM_WHERE = [("udp", "ipv4"), ("udp", "ipv6"), ("unix-dgram", "path"), ("unix-dgram", "abstract")]
PAYLOADS = [b"hello\r\n", b"\x00\xff", bytes(range(256)) * 16]


@pytest.mark.parametrize(("transport", "where"), WHERE)
def test_echo_over_connected_transports(transport: str, where: str, short_dir: str) -> None:
    with Peer("echo", transport, address_for(transport, where, short_dir)) as peer:
        if transport == "unix-seqpacket":  # message boundaries are kept: one reply each
            with connect(peer) as sock:
                for payload in PAYLOADS:
                    sock.sendall(payload)
                    assert sock.recv(1 << 16) == payload
        else:
            for payload in PAYLOADS:
                assert stream_echo(peer, payload) == payload
        assert wait_for(lambda: peer.stats.active == 0)
        total = sum(map(len, PAYLOADS))
        assert peer.stats.bytes_in == peer.stats.bytes_out == total


@pytest.mark.parametrize(("transport", "where"), DGRAM_WHERE)
def test_echo_over_datagram_transports(transport: str, where: str, short_dir: str) -> None:
    with (
        Peer("echo", transport, address_for(transport, where, short_dir)) as peer,
        datagram_client(peer, short_dir) as sock,
    ):
        for payload in [*PAYLOADS, b""]:  # empty datagrams are echoed too
            sock.sendto(payload, peer.address)
            assert sock.recv(1 << 17) == payload
        assert peer.stats.datagrams == len(PAYLOADS) + 1


@pytest.mark.parametrize("where", ["ipv4", "ipv6"])
def test_udp_echo_of_the_largest_datagram(where: str, short_dir: str) -> None:
    with (
        Peer("echo", "udp", address_for("udp", where, short_dir)) as peer,
        datagram_client(peer, short_dir) as sock,
    ):
        payload = secrets.token_bytes(65507)
        sock.sendto(payload, peer.address)
        assert sock.recv(1 << 17) == payload


def test_unix_dgram_echo_drops_replies_to_unbound_senders(short_dir: str) -> None:
    with Peer("echo", "unix-dgram", address_for("unix-dgram", "path", short_dir)) as peer:
        with datagram_client(peer, short_dir, bind=False) as unbound:
            unbound.sendto(b"lost", peer.address)
            assert wait_for(lambda: peer.stats.datagrams == 1)
            assert peer.stats.bytes_out == 0
        with datagram_client(peer, short_dir) as bound:
            bound.sendto(b"kept", peer.address)
            assert bound.recv(64) == b"kept"


def test_tcp_echo_of_one_mebibyte() -> None:
    payload = secrets.token_bytes(1 << 20)
    with Peer("echo", "tcp", ("127.0.0.1", 0)) as peer:
        assert stream_echo(peer, payload) == payload
        assert wait_for(lambda: peer.stats.bytes_out == len(payload))


def test_echo_serves_clients_concurrently() -> None:
    payloads = [secrets.token_bytes(256 * 1024) for _ in range(8)]
    results: dict[int, bytes] = {}
    barrier = threading.Barrier(len(payloads), timeout=TIMEOUT)

    def client(i: int, peer: Peer) -> None:
        with connect(peer) as sock:
            barrier.wait()  # all connected before anyone finishes
            sender = threading.Thread(target=lambda: (sock.sendall(payloads[i]), sock.shutdown(1)))
            sender.start()
            results[i] = recv_until_eof(sock, limit=len(payloads[i]) + 1)
            sender.join(TIMEOUT)

    with Peer("echo", "tcp", ("127.0.0.1", 0)) as peer:
        clients = [threading.Thread(target=client, args=(i, peer)) for i in range(len(payloads))]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join(TIMEOUT * 2)
        assert results == dict(enumerate(payloads))
        assert peer.stats.connections == len(payloads)


# --- discard (RFC 863) -----------------------------------------------------------------


@pytest.mark.parametrize(("transport", "where"), [WHERE[0], WHERE[2], WHERE[4]])
def test_discard_counts_and_drops_stream_bytes(transport: str, where: str, short_dir: str) -> None:
    with (
        Peer("discard", transport, address_for(transport, where, short_dir)) as peer,
        connect(peer) as sock,
    ):
        size = 0
        for _ in range(16):
            size += len(chunk := secrets.token_bytes(32 * 1024))
            sock.sendall(chunk)
        sock.shutdown(socket.SHUT_WR)
        assert recv_until_eof(sock) == b""
        assert wait_for(lambda: peer.stats.bytes_in == size)
        assert peer.stats.bytes_out == 0


@pytest.mark.parametrize(("transport", "where"), [DGRAM_WHERE[0], DGRAM_WHERE[3]])
def test_discard_counts_datagrams(transport: str, where: str, short_dir: str) -> None:
    with (
        Peer("discard", transport, address_for(transport, where, short_dir)) as peer,
        datagram_client(peer, short_dir) as sock,
    ):
        for size in (0, 1, 1000):
            sock.sendto(b"x" * size, peer.address)
        assert wait_for(lambda: peer.stats.datagrams == 3)
        assert peer.stats.bytes_in == 1001
        # The peer serves one datagram at a time: once it has taken a fourth, it has
        # answered the first three if it ever will, and an answer would be queued here.
        sock.sendto(b"marker", peer.address)
        assert wait_for(lambda: peer.stats.datagrams == 4)
        assert peer.stats.bytes_out == 0
        assert select.select([sock], [], [], 0)[0] == []  # nothing queued for us


# --- chargen (RFC 864) -----------------------------------------------------------------


def test_chargen_first_lines_follow_rfc_864() -> None:
    with Peer("chargen", "tcp", ("127.0.0.1", 0)) as peer, connect(peer) as sock:
        data = recv_exactly(sock, 3 * 74)
    assert data.split(b"\r\n")[:3] == [
        b" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg",
        b"!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh",
        b"\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghi",
    ]


@pytest.mark.parametrize(("transport", "where"), [WHERE[0], WHERE[3], WHERE[5]])
def test_chargen_stream_stays_continuous(transport: str, where: str, short_dir: str) -> None:
    size = 16 * 1024 * 1024 + 12345  # many sends, ending mid-line
    with Peer("chargen", transport, address_for(transport, where, short_dir)) as peer:
        with connect(peer) as sock:
            data = recv_exactly(sock, size)
        assert data == chargen_expected(size)
        assert wait_for(lambda: peer.stats.active == 0), "the peer notices the client left"


def test_chargen_datagrams_are_short_pieces_of_the_pattern(short_dir: str) -> None:
    with Peer("chargen", "udp", ("127.0.0.1", 0)) as peer, datagram_client(peer, short_dir) as sock:
        replies = []
        for _ in range(40):
            sock.sendto(b"?", peer.address)
            replies.append(sock.recv(4096))
    assert all(len(reply) <= 512 for reply in replies)
    assert len({len(reply) for reply in replies}) > 1, "lengths are random"
    twice = CYCLE * 2
    assert all(reply in twice for reply in replies)


# --- daytime (RFC 867) -----------------------------------------------------------------


@pytest.mark.parametrize(("transport", "where"), [WHERE[0], WHERE[1], WHERE[2], WHERE[4]])
def test_daytime_stream_sends_one_line_and_closes(
    transport: str, where: str, short_dir: str
) -> None:
    with (
        Peer("daytime", transport, address_for(transport, where, short_dir)) as peer,
        connect(peer) as sock,
    ):
        line = recv_until_eof(sock)
    assert DAYTIME.match(line), line
    sent = time.mktime(time.strptime(line.decode().strip(), "%a %b %d %H:%M:%S %Y"))
    assert abs(sent - time.time()) < 5


@pytest.mark.parametrize(("transport", "where"), [DGRAM_WHERE[0], DGRAM_WHERE[2]])
def test_daytime_datagram_replies_one_line_each(transport: str, where: str, short_dir: str) -> None:
    with (
        Peer("daytime", transport, address_for(transport, where, short_dir)) as peer,
        datagram_client(peer, short_dir) as sock,
    ):
        for _ in range(3):
            sock.sendto(b"", peer.address)
            assert DAYTIME.match(sock.recv(256))


def test_daytime_line_survives_unread_client_bytes() -> None:
    with Peer("daytime", "tcp", ("127.0.0.1", 0)) as peer, connect(peer) as sock:
        sock.sendall(b"x" * 10000)  # bytes the peer never asked for
        assert DAYTIME.match(sock.recv(256))


# --- stopping --------------------------------------------------------------------------


@pytest.mark.parametrize(("transport", "where"), [*WHERE, *DGRAM_WHERE], ids=lambda v: str(v))
def test_stop_releases_the_address_and_threads(transport: str, where: str, short_dir: str) -> None:
    before = threading.active_count()
    peer = Peer("echo", transport, address_for(transport, where, short_dir))
    with peer:
        address = peer.address
    assert threading.active_count() == before
    if isinstance(address, str) and not address.startswith("\0"):
        assert not os.path.exists(address), "the socket file is removed"
    kind = socket.SOCK_DGRAM if transport in ("udp", "unix-dgram") else socket.SOCK_STREAM
    kind = socket.SOCK_SEQPACKET if transport == "unix-seqpacket" else kind
    with socket.socket(family_of(address), kind) as sock:
        if kind == socket.SOCK_DGRAM:  # no listener to refuse; rebinding the address works
            sock.bind(address)
        else:
            with pytest.raises((ConnectionRefusedError, FileNotFoundError)):
                sock.connect(address)


def test_stop_ends_busy_and_idle_connections_quickly(capfd: pytest.CaptureFixture[str]) -> None:
    before = threading.active_count()
    with (
        Peer("chargen", "tcp", ("127.0.0.1", 0)) as chargen,
        Peer("echo", "unix-stream", abstract_name()) as echo,
    ):
        clients = [connect(chargen) for _ in range(3)] + [connect(echo) for _ in range(3)]
        # chargen now blocks in send (nobody reads); echo blocks in recv.
        assert wait_for(lambda: chargen.stats.active == 3 and echo.stats.active == 3)
        started = time.monotonic()
        chargen.stop()
        echo.stop()
        assert time.monotonic() - started < 2.0
    assert threading.active_count() == before
    for sock in clients:
        with sock:
            sock.settimeout(TIMEOUT)
            try:  # the peer closed: the client sees EOF or a reset, never silence
                while sock.recv(1 << 20):
                    pass
            except ConnectionResetError:
                pass
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("kind", ["chargen", "echo", "daytime"])
def test_client_resets_end_connections_quietly(
    kind: str, capfd: pytest.CaptureFixture[str]
) -> None:
    with Peer(kind, "tcp", ("127.0.0.1", 0)) as peer:
        for _ in range(5):
            sock = connect(peer)
            sock.sendall(b"data that may or may not be read")
            sock.recv(10)
            # SO_LINGER 0: close sends RST instead of FIN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            sock.close()
        assert wait_for(lambda: peer.stats.active == 0)
        assert peer.stats.connections == 5
    assert capfd.readouterr().err == ""


# --- serve_forever ---------------------------------------------------------------------


def test_serve_forever_announces_and_stops_on_event(short_dir: str) -> None:
    out = io.StringIO()
    stop = threading.Event()
    peer = Peer("echo", "unix-stream", os.path.join(short_dir, "served.sock"))
    codes: list[int] = []
    runner = threading.Thread(target=lambda: codes.append(serve_forever(peer, stop, out)))
    runner.start()
    try:
        assert wait_for(lambda: out.getvalue().endswith("\n"))
        assert out.getvalue() == f"echo peer listening on unix-stream unix:{peer.address}\n"
        assert stream_echo(peer, b"ping") == b"ping"
    finally:
        stop.set()
        runner.join(TIMEOUT)
    assert codes == [0] and not peer.running
    assert not os.path.exists(os.path.join(short_dir, "served.sock"))


def test_listening_line_formats() -> None:
    with Peer("daytime", "udp", ("127.0.0.1", 0)) as peer:
        port = peer.address[1]
        assert listening_line(peer) == f"daytime peer listening on udp 127.0.0.1:{port}"
    name = abstract_name()
    with Peer("chargen", "unix-seqpacket", name) as peer:
        assert listening_line(peer) == f"chargen peer listening on unix-seqpacket unix:@{name[1:]}"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_forever_process_exits_cleanly_on_signal(sig: signal.Signals) -> None:
    code = (
        "import sys; from workbench.io.peers import Peer, serve_forever;"
        "sys.exit(serve_forever(Peer('echo', 'tcp', ('127.0.0.1', 0))))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    ) as proc:
        try:
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], 20)
            assert ready, "the peer announced itself"
            line = proc.stdout.readline().decode()
            match = re.fullmatch(r"echo peer listening on tcp 127\.0\.0\.1:(\d+)\n", line)
            assert match, line
            with socket.create_connection(("127.0.0.1", int(match[1])), timeout=TIMEOUT) as s:
                s.sendall(b"hi")
                assert s.recv(16) == b"hi"
            proc.send_signal(sig)
            _, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
    assert proc.returncode == 0
    assert err == b""


# --- socat as an independent client ----------------------------------------------------


@needs_socat
def test_socat_tcp_echo_is_byte_exact() -> None:
    payload = bytes(range(256)) * 1024 + b"\x00\xff"
    with Peer("echo", "tcp", ("127.0.0.1", 0)) as peer:
        out = run_socat(["-t", "5", "-", f"TCP:127.0.0.1:{peer.address[1]}"], payload)
    assert out == payload


@needs_socat
def test_socat_tcp6_echo() -> None:
    if not HAS_IPV6:
        pytest.skip("no IPv6 loopback here")
    with Peer("echo", "tcp", ("::1", 0, 0, 0)) as peer:
        out = run_socat(["-t", "5", "-", f"TCP6:[::1]:{peer.address[1]}"], b"six\x00\xff")
    assert out == b"six\x00\xff"


@needs_socat
def test_socat_udp_echo() -> None:
    with Peer("echo", "udp", ("127.0.0.1", 0)) as peer:
        out = run_socat(["-t", "1", "-", f"UDP:127.0.0.1:{peer.address[1]}"], b"dgram\x00\xff")
    assert out == b"dgram\x00\xff"


@needs_socat
def test_socat_unix_echo(short_dir: str) -> None:
    path = os.path.join(short_dir, "echo.sock")
    name = abstract_name()
    with Peer("echo", "unix-stream", path), Peer("echo", "unix-stream", name):
        assert run_socat(["-t", "5", "-", f"UNIX-CONNECT:{path}"], b"p\x00\xff") == b"p\x00\xff"
        out = run_socat(["-t", "5", "-", f"ABSTRACT-CONNECT:{name[1:]}"], b"a\x00\xff")
        assert out == b"a\x00\xff"


@needs_socat
def test_socat_unix_dgram_echo(short_dir: str) -> None:
    path = os.path.join(short_dir, "dgram.sock")
    client = os.path.join(short_dir, "socat-client.sock")
    with Peer("echo", "unix-dgram", path):
        out = run_socat(["-t", "1", "-", f"UNIX-SENDTO:{path},bind={client}"], b"u\x00\xff")
    assert out == b"u\x00\xff"


@needs_socat
def test_socat_discard_counts_bytes() -> None:
    payload = secrets.token_bytes(1 << 20)
    with Peer("discard", "tcp", ("127.0.0.1", 0)) as peer:
        assert run_socat(["-t", "5", "-", f"TCP:127.0.0.1:{peer.address[1]}"], payload) == b""
        assert wait_for(lambda: peer.stats.bytes_in == len(payload))


@needs_socat
def test_socat_reads_chargen_and_daytime() -> None:
    size = 5 * len(CYCLE) + 7
    with Peer("chargen", "tcp", ("127.0.0.1", 0)) as chargen:
        target = f"TCP:127.0.0.1:{chargen.address[1]},readbytes={size}"
        assert run_socat(["-u", target, "-"]) == chargen_expected(size)
        assert wait_for(lambda: chargen.stats.active == 0)
    with Peer("daytime", "tcp", ("127.0.0.1", 0)) as daytime:
        assert DAYTIME.match(run_socat(["-u", f"TCP:127.0.0.1:{daytime.address[1]}", "-"]))
