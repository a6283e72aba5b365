"""Built-in peers: echo, discard, chargen and daytime servers (RFC 862, 863, 864, 867).

Each peer is a real server on a real socket, so sessions, tests and examples talk to
something that behaves like the services people already know. Stream transports get a
thread per connection; datagram transports one thread for the socket. Threads wait on
their socket and a wake-up socketpair, so stop() ends every one of them promptly.
"""

from __future__ import annotations

import contextlib
import os
import random
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import TextIO

from workbench.core.errors import InputError

TRANSPORTS = ("tcp", "udp", "unix-stream", "unix-dgram", "unix-seqpacket")
KINDS = ("echo", "discard", "chargen", "daytime")

# ("127.0.0.1", 0), ("::1", 0, 0, 0), "/path/to.sock" or "\0abstract-name"
PeerAddress = tuple[str, int] | tuple[str, int, int, int] | str
Reply = Callable[[memoryview], bytes | memoryview | None]

_SOCK_TYPES = {
    "tcp": socket.SOCK_STREAM,
    "udp": socket.SOCK_DGRAM,
    "unix-stream": socket.SOCK_STREAM,
    "unix-dgram": socket.SOCK_DGRAM,
    "unix-seqpacket": socket.SOCK_SEQPACKET,
}
_NOSIGNAL = getattr(socket, "MSG_NOSIGNAL", 0)  # EPIPE as an error, never a signal
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)
_RECV_SIZE = 256 * 1024  # larger than any UDP datagram and the default unix message limit
_DATAGRAM_BURST = 64  # datagrams handled per wake-up, so stop() is never starved
_BACKLOG = 128
_MAX_CONNECTIONS = 1024  # past this, new connections are closed at once
_JOIN_TIMEOUT = 2.0
_DAYTIME_LINGER = 2.0  # how long daytime waits for the client's close after its line
_CHARGEN_DATAGRAM_MAX = 512  # RFC 864: at most 512 bytes per datagram

# RFC 864: 95 printable characters, 72-character lines, each line one character on.
_PRINTABLE = bytes(range(0x20, 0x7F))
_LINE_WIDTH = 72
_CHARGEN_CYCLE = b"".join(
    (_PRINTABLE * 2)[start : start + _LINE_WIDTH] + b"\r\n" for start in range(len(_PRINTABLE))
)
_LINE_SIZE = _LINE_WIDTH + 2
# A send of _CHARGEN_CHUNK from any offset inside the first cycle stays inside the buffer,
# so the stream continues exactly where the last send stopped.
_CHARGEN_CHUNK = 256 * 1024
_CHARGEN_BUFFER = _CHARGEN_CYCLE * (_CHARGEN_CHUNK // len(_CHARGEN_CYCLE) + 2)
# Seqpacket sends whole messages, which must fit the socket's send buffer.
_SEQPACKET_CHUNK = len(_CHARGEN_CYCLE) * 9

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def parse_transport(name: str) -> str:
    """Return the canonical transport name, or raise InputError naming the valid ones."""
    return _parse_choice(name, TRANSPORTS, "transport")


def parse_kind(name: str) -> str:
    """Return the canonical peer kind, or raise InputError naming the valid ones."""
    return _parse_choice(name, KINDS, "peer kind")


def _parse_choice(name: str, choices: tuple[str, ...], what: str) -> str:
    canonical = name.strip().lower()
    if canonical not in choices:
        raise InputError(f"unknown {what} {name!r}: use one of {', '.join(choices)}")
    return canonical


def format_address(address: PeerAddress) -> str:
    """Address text for people: 127.0.0.1:PORT, [::1]:PORT, unix:/path, unix:@name."""
    if isinstance(address, str):
        return "unix:@" + address[1:] if address.startswith("\0") else "unix:" + address
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def daytime_line(now: float | None = None) -> bytes:
    """RFC 867 line in the ctime layout; English names whatever the process locale."""
    t = time.localtime(now)
    text = (
        f"{_DAYS[t.tm_wday]} {_MONTHS[t.tm_mon - 1]} {t.tm_mday:02d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} {t.tm_year}\r\n"
    )
    return text.encode("ascii")


@dataclass(frozen=True)
class PeerStats:
    """A consistent snapshot of a peer's counters."""

    connections: int = 0  # stream connections accepted since start
    active: int = 0  # stream connections open now
    datagrams: int = 0  # datagrams received
    bytes_in: int = 0
    bytes_out: int = 0


class _Counters:
    """PeerStats fields updated from many threads under one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values = {f.name: 0 for f in fields(PeerStats)}

    def add(self, **deltas: int) -> None:
        with self._lock:
            for name, delta in deltas.items():
                self._values[name] += delta

    def snapshot(self) -> PeerStats:
        with self._lock:
            return PeerStats(**self._values)


@dataclass
class _Link:
    """One accepted connection, as the stream handlers see it."""

    sock: socket.socket
    counters: _Counters
    stopping: threading.Event
    chunk: int  # the largest single send: a whole message on seqpacket

    def recv_into(self, buf: bytearray) -> int:
        n = self.sock.recv_into(buf)
        self.counters.add(bytes_in=n)
        return n

    def send(self, data: memoryview) -> int:
        n = self.sock.send(data, _NOSIGNAL)
        self.counters.add(bytes_out=n)
        return n

    def sendall(self, data: bytes | memoryview) -> None:
        self.sock.sendall(data, _NOSIGNAL)
        self.counters.add(bytes_out=len(data))


def _echo_stream(link: _Link) -> None:
    buf = bytearray(_RECV_SIZE)
    view = memoryview(buf)
    while not link.stopping.is_set() and (n := link.recv_into(buf)) > 0:
        link.sendall(view[:n])
    link.sock.shutdown(socket.SHUT_WR)


def _discard_stream(link: _Link) -> None:
    buf = bytearray(_RECV_SIZE)
    while not link.stopping.is_set() and link.recv_into(buf) > 0:
        pass


def _chargen_stream(link: _Link) -> None:
    # Runs until the client goes away (EPIPE, ECONNRESET) or stop() shuts the socket.
    view = memoryview(_CHARGEN_BUFFER)
    cycle = len(_CHARGEN_CYCLE)
    offset = 0
    while not link.stopping.is_set():
        offset = (offset + link.send(view[offset : offset + link.chunk])) % cycle


def _daytime_stream(link: _Link) -> None:
    link.sendall(daytime_line())
    link.sock.shutdown(socket.SHUT_WR)
    # Closing with unread client bytes would reset the line away; wait for the client.
    link.sock.settimeout(_DAYTIME_LINGER)
    deadline = time.monotonic() + _DAYTIME_LINGER
    buf = bytearray(4096)
    while time.monotonic() < deadline and link.recv_into(buf) > 0:
        pass


_STREAM_HANDLERS: dict[str, Callable[[_Link], None]] = {
    "echo": _echo_stream,
    "discard": _discard_stream,
    "chargen": _chargen_stream,
    "daytime": _daytime_stream,
}


def _chargen_reply() -> Reply:
    rng = random.Random()
    view = memoryview(_CHARGEN_BUFFER)
    lines = len(_PRINTABLE)
    position = 0

    def reply(_data: memoryview) -> memoryview:
        nonlocal position
        start = position * _LINE_SIZE  # each datagram starts one line further on
        position = (position + 1) % lines
        return view[start : start + rng.randint(0, _CHARGEN_DATAGRAM_MAX)]

    return reply


def _datagram_reply(kind: str) -> Reply:
    """What a datagram peer sends back for one datagram (None: nothing)."""
    if kind == "chargen":
        return _chargen_reply()
    return {
        "echo": lambda data: data,
        "discard": lambda _data: None,
        "daytime": lambda _data: daytime_line(),
    }[kind]


def _family_for(transport: str, address: object) -> int:
    if transport.startswith("unix"):
        if not isinstance(address, str):
            raise InputError(f"{transport} needs a path or '\\0name', not {address!r}")
        return socket.AF_UNIX
    if not (isinstance(address, tuple) and len(address) in (2, 4) and isinstance(address[0], str)):
        raise InputError(f"{transport} needs (host, port) or (host, port, flow, scope)")
    return socket.AF_INET6 if ":" in address[0] or len(address) == 4 else socket.AF_INET


class Peer:
    """A built-in server running on background threads."""

    def __init__(self, kind: str, transport: str, address: PeerAddress) -> None:
        self.kind = parse_kind(kind)
        self.transport = parse_transport(transport)
        self._family = _family_for(self.transport, address)
        self._requested = address
        self._bound: PeerAddress | None = None
        self._sock: socket.socket | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # guards _conns and _threads
        self._conns: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self._main: threading.Thread | None = None
        self._counters = _Counters()
        self._created_file: tuple[str, int] | None = None  # (path, inode) to remove at stop

    def __repr__(self) -> str:
        return f"<Peer {self.kind} {self.transport} {format_address(self.address)}>"

    def __enter__(self) -> Peer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def connection_oriented(self) -> bool:
        """True for connection-oriented transports (tcp, unix-stream, unix-seqpacket)."""
        return _SOCK_TYPES[self.transport] != socket.SOCK_DGRAM

    @property
    def running(self) -> bool:
        return self._sock is not None and not self._stopping.is_set()

    @property
    def address(self) -> PeerAddress:
        """The bound address once started (the real port when 0 was asked)."""
        return self._bound if self._bound is not None else self._requested

    @property
    def stats(self) -> PeerStats:
        return self._counters.snapshot()

    def start(self) -> Peer:
        """Bind (and listen) now, raising OSError on failure; then serve in daemon threads."""
        if self._sock is not None or self._stopping.is_set():
            raise RuntimeError(f"{self!r} was already started")
        sock = socket.socket(self._family, _SOCK_TYPES[self.transport])
        try:
            self._bind(sock)
            if self.connection_oriented:
                sock.listen(_BACKLOG)
        except BaseException:
            sock.close()
            raise
        sock.setblocking(False)
        self._sock = sock
        self._wake = socket.socketpair()
        loop = self._accept_loop if self.connection_oriented else self._datagram_loop
        with self._lock:
            self._main = self._spawn(loop)
        return self

    def stop(self) -> None:
        """Close the listener and every connection, join the threads, remove the socket file."""
        if self._sock is None or self._stopping.is_set():
            return
        self._stopping.set()
        assert self._wake is not None and self._main is not None
        with contextlib.suppress(OSError):
            self._wake[1].send(b"\0")
        with self._lock:
            for conn in self._conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv or send
        deadline = time.monotonic() + _JOIN_TIMEOUT
        self._main.join(_JOIN_TIMEOUT)  # after this no connection is admitted
        self._sock.close()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        for end in self._wake:
            end.close()
        self._remove_socket_file()

    def _bind(self, sock: socket.socket) -> None:
        if self._family != socket.AF_UNIX:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(self._requested)
        bound = sock.getsockname()
        self._bound = os.fsdecode(bound) if self._family == socket.AF_UNIX else bound
        path = self._bound
        if isinstance(path, str) and path and not path.startswith("\0"):
            self._created_file = (path, os.stat(path).st_ino)

    def _remove_socket_file(self) -> None:
        if self._created_file is None:
            return
        path, inode = self._created_file
        # Only our own socket file: the path may have been replaced since.
        with contextlib.suppress(OSError):
            if os.stat(path).st_ino == inode:
                os.unlink(path)

    def _spawn(self, target: Callable[..., None], *args: object) -> threading.Thread:
        """Start a daemon thread tracked for stop(); the caller holds self._lock."""
        thread = threading.Thread(
            target=self._run, args=(target, *args), daemon=True, name=f"peer-{self.kind}"
        )
        self._threads.add(thread)
        thread.start()
        return thread

    def _run(self, target: Callable[..., None], *args: object) -> None:
        try:
            target(*args)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _wakeups(self, sock: socket.socket) -> Iterator[None]:
        """Yield each time sock is readable, until stop() is called."""
        assert self._wake is not None
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        poller.register(self._wake[0], select.POLLIN)
        while not self._stopping.is_set():
            poller.poll()
            if not self._stopping.is_set():
                yield

    def _accept_loop(self) -> None:
        assert self._sock is not None
        for _ in self._wakeups(self._sock):
            try:
                conn, _addr = self._sock.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                continue
            except OSError:
                self._stopping.wait(0.05)  # e.g. EMFILE: back off instead of spinning
                continue
            self._admit(conn)

    def _admit(self, conn: socket.socket) -> None:
        conn.setblocking(True)
        with self._lock:
            if self._stopping.is_set() or len(self._conns) >= _MAX_CONNECTIONS:
                conn.close()
                return
            self._conns.add(conn)
            self._counters.add(connections=1, active=1)
            self._spawn(self._serve_connection, conn)

    def _serve_connection(self, conn: socket.socket) -> None:
        chunk = _SEQPACKET_CHUNK if self.transport == "unix-seqpacket" else _CHARGEN_CHUNK
        link = _Link(conn, self._counters, self._stopping, chunk)
        try:
            _STREAM_HANDLERS[self.kind](link)
        except OSError:
            pass  # reset, EPIPE, timeout or stop(): the connection simply ends
        finally:
            with self._lock:  # closed under the lock so stop() never shuts a reused fd
                self._conns.discard(conn)
                conn.close()
            self._counters.add(active=-1)

    def _datagram_loop(self) -> None:
        assert self._sock is not None
        reply = _datagram_reply(self.kind)
        buf = bytearray(_RECV_SIZE)
        view = memoryview(buf)
        for _ in self._wakeups(self._sock):
            for _ in range(_DATAGRAM_BURST):
                try:
                    n, sender = self._sock.recvfrom_into(buf)
                except OSError:
                    break  # EAGAIN: drained; others (e.g. a late ICMP error) are not ours
                self._counters.add(datagrams=1, bytes_in=n)
                self._answer(reply(view[:n]), sender)

    def _answer(self, data: bytes | memoryview | None, sender: object) -> None:
        assert self._sock is not None
        if data is None or not sender:  # an unbound unix-dgram client cannot get replies
            return
        try:
            # Never block on a client that does not read: drop, as UDP itself would.
            self._sock.sendto(data, _DONTWAIT | _NOSIGNAL, sender)
        except OSError:
            return
        self._counters.add(bytes_out=len(data))


def listening_line(peer: Peer) -> str:
    """The line a running peer announces: 'echo peer listening on tcp 127.0.0.1:40123'."""
    return f"{peer.kind} peer listening on {peer.transport} {format_address(peer.address)}"


def serve_forever(
    peer: Peer, stop_event: threading.Event | None = None, out: TextIO | None = None
) -> int:
    """Run peer until SIGINT, SIGTERM or stop_event; return exit code 0 once stopped."""
    stop = stop_event if stop_event is not None else threading.Event()
    restore = _stop_on_signals(stop)
    try:
        if not peer.running:
            peer.start()
        print(listening_line(peer), file=out if out is not None else sys.stdout, flush=True)
        while not stop.wait(0.5):  # wakes now and then so signal handlers get to run
            pass
    finally:
        peer.stop()
        restore()
    return 0


def _stop_on_signals(stop: threading.Event) -> Callable[[], None]:
    """Route SIGINT and SIGTERM to stop; return a function restoring the old handlers."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # only the main thread may install handlers
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda _signum, _frame: stop.set())

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)

    return restore
