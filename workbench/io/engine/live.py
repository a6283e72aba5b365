"""One live socket as the engine holds it, and small helpers on real sockets."""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from workbench.core.endpoints import format_sockaddr
from workbench.core.packets.kinds import AF_PACKET
from workbench.core.packets.sockaddr import format_packet_sockaddr
from workbench.core.sockstate import Kind, Outcome, State, can_receive, next_state
from workbench.core.steps import family_name
from workbench.io.capture import CaptureStore
from workbench.io.engine.backoff import Pause
from workbench.io.engine.events import Call

KINDS = {socket.SOCK_STREAM: Kind.STREAM, socket.SOCK_SEQPACKET: Kind.SEQPACKET,
         socket.SOCK_DGRAM: Kind.DATAGRAM, socket.SOCK_RAW: Kind.RAW}

Inspection = tuple[Callable[[socket.socket], Any], Future]


class Waker:
    """Wakes a socket's actor from another thread: one eventfd (or a pipe elsewhere)."""

    def __init__(self) -> None:
        if hasattr(os, "eventfd"):
            self.fd = self._w = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        else:  # pragma: no cover - non-Linux
            self.fd, self._w = os.pipe()
            os.set_blocking(self._w, False)
        self._lock = threading.Lock()
        self._closed = False

    def wake(self) -> None:
        with self._lock, contextlib.suppress(OSError):  # full: the actor is awake already
            if not self._closed:
                os.write(self._w, (1).to_bytes(8, "little"))

    def clear(self) -> None:
        with contextlib.suppress(OSError):
            os.read(self.fd, 4096)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            os.close(self.fd)
            if self._w != self.fd:
                os.close(self._w)


def make_wakers(n: int) -> list[Waker]:
    """`n` wakers, or none (OSError) when the descriptors run out part way."""
    made: list[Waker] = []
    try:
        for _ in range(n):
            made.append(Waker())
    except OSError:
        for waker in made:
            waker.close()
        raise
    return made


@dataclass
class LiveSocket:
    id: int
    sock: socket.socket
    capture: CaptureStore
    kind: Kind
    state: State = State.NEW
    peer: str = ""
    local: str = ""
    blocking: bool = True
    auto: bool = True
    parent: int | None = None
    hup: bool = False  # poll reported a hang-up nobody consumes: stop watching
    user_bound: bool = False  # a bind to a chosen port succeeded: the kernel keeps it
    name_stale: bool = False  # getsockname names a port the socket no longer holds
    queue: deque[Call] = field(default_factory=deque)
    inspections: deque[Inspection] = field(default_factory=deque)
    pending: Call | None = None
    in_syscall: Call | None = None  # a real blocking call in progress
    expect_pos: int = 0
    accept_pause: Pause | None = None  # auto-accept waits for a descriptor to free
    waker: Waker = field(default_factory=Waker)
    thread: threading.Thread | None = None
    inode: int = 0  # fstat of the socket: how the connection table finds it
    hdrincl: bool = False  # IP_HDRINCL set: what it sends starts with the IPv4 header

    @cached_property
    def family(self) -> int:  # read once: each read makes an enum, several per datagram
        return self.sock.family

    @cached_property
    def type(self) -> int:
        return self.sock.type

    @property
    def connection(self) -> bool:
        """Connection-oriented (stream, seqpacket): a receive of 0 bytes is the end."""
        return self.kind.connected_kind

    @property
    def closed(self) -> bool:
        return self.state is State.CLOSED

    def advance(self, event: str, outcome: Outcome) -> None:
        before = self.state
        state = next_state(self.kind, self.state, event, outcome, family_name(self.family))
        if state is not before:
            self.state, self.hup = state, False  # a new state is watched afresh
            # A TCP listener shut down gives back a port the kernel picked, yet
            # getsockname still names it until the socket is bound again.
            self.name_stale = before is State.LISTENING and not self.user_bound
        if self.state is State.NEW and self.bound_after(event):
            # The call bound it on its own (an inet send or connect picks a port).
            self.state = next_state(self.kind, State.NEW, "autobind", Outcome.OK)
            self.local = self.local_address()

    def bound_after(self, event: str) -> bool:
        """Whether `event` left a NEW socket holding a local address."""
        if event.startswith("shutdown/"):
            return self.user_bound and not self.name_stale
        if event in ("send", "connect") and not self.name_stale:
            return self.has_address()
        return False

    def has_address(self) -> bool:
        try:
            name = self.sock.getsockname()
        except OSError:
            return False
        if self.type == socket.SOCK_RAW and isinstance(name, tuple):
            return name[0] not in ("0.0.0.0", "::", "")  # a raw IP socket's "port" is its protocol
        return bool(name[1]) if isinstance(name, tuple) else bool(name)

    def receiving(self) -> bool:
        """Auto-receive or auto-accept should watch this socket now."""
        if not self.auto or self.hup:
            return False
        if self.state is State.LISTENING:
            return self.accept_pause is None or self.accept_pause.due()
        return can_receive(self.kind, self.state)

    def fmt(self, addr: Any) -> str:
        if self.family == AF_PACKET:  # iface:lo with the frame's ethertype and type
            return format_packet_sockaddr(tuple(addr)) if isinstance(addr, tuple) else ""
        if self.type == socket.SOCK_RAW and isinstance(addr, tuple) and len(addr) > 1:
            addr = (addr[0], 0, *addr[2:])  # the "port" of a raw IP socket is its protocol
        return format_sockaddr(self.family, addr)

    def local_address(self) -> str:
        try:
            name = self.sock.getsockname()
        except OSError:
            return ""
        if self.family == AF_PACKET and isinstance(name, tuple):
            return format_packet_sockaddr(name[:2])  # its interface and protocol
        return self.fmt(name)

    def peer_address(self) -> str:
        try:
            return self.fmt(self.sock.getpeername())
        except OSError:
            return ""


def kind_of_socket(sock: socket.socket) -> Kind:
    return KINDS.get(sock.type, Kind.RAW)


def ready(sock: socket.socket, events: int) -> bool:
    p = select.poll()
    p.register(sock.fileno(), events)
    return bool(p.poll(0))


def datagram_size(s: LiveSocket) -> int:
    """How much the next datagram needs: Unix datagrams may exceed 64 KiB, UDP never does."""
    if s.family == AF_PACKET:
        return 1 << 18  # a frame on lo may carry a whole 64 KiB segment and its headers
    if s.family != socket.AF_UNIX:
        return 65536
    peek = socket.MSG_PEEK | socket.MSG_TRUNC | socket.MSG_DONTWAIT
    return max(1, s.sock.recv_into(bytearray(1), 1, peek))  # the real size, not 1
