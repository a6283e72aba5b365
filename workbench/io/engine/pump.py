"""The pump: auto-accept and auto-receive, recorded as steps like any other call."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from workbench.core.steps import DataRef, StepError
from workbench.io.capture import IN
from workbench.io.engine.backoff import accepted, end_pause, exhausted, pause_accept
from workbench.io.engine.discard import count_only
from workbench.io.engine.handlers import accept_one, received
from workbench.io.engine.live import LiveSocket, datagram_size

if TYPE_CHECKING:
    from workbench.io.engine.api import Engine

READ_BUFFER = 1 << 20  # one auto-receive drain fills up to this much before recording a step
SMALL_BUFFER = 64 << 10  # a drain's buffer while every full-size one is in use
DATAGRAM_BURST = 64  # datagrams per turn, so queued calls still get theirs in a flood


def auto_accept(eng: Engine, s: LiveSocket) -> None:
    result, error = eng.attempt(lambda: accept_one(eng, s))
    if exhausted(error):  # out of descriptors: pause, never spin (see backoff)
        pause_accept(eng, s, error)  # type: ignore[arg-type]
        return
    if error is not None and error.name == "EAGAIN":
        end_pause(eng, s)  # descriptors to spare and none waiting: the pause is over
        return
    accepted(s)
    eng.record_auto("accept", s, result, error)
    eng.changed(s)


def auto_read(eng: Engine, s: LiveSocket) -> None:
    if not s.connection:
        auto_datagrams(eng, s)
        return
    room = eng.log.reserve(READ_BUFFER)
    if room is not None:  # straight into the capture's ring: one copy, kernel to ring
        filled, end, error = _drain_into_log(eng, s, *room)
    elif eng.log.full and s.type == socket.SOCK_STREAM:  # past the budget: counted only
        filled, end, error = count_only(eng, s)
    else:
        with eng.buffers.take() as buf:
            view = memoryview(buf)
            filled, end, error = _drain(eng, s, view)
            if filled:  # a flood's drain may go unkept rather than slow the stream
                eng.record_auto("recv", s, received(eng, s, view[:filled], "", droppable=True))
            view.release()
    if end:
        eng.record_auto("recv", s, received(eng, s, b"", ""))
    if error is not None:
        eng.record_auto("recv", s, None, error)
    eng.changed(s)


def _drain_into_log(eng: Engine, s: LiveSocket, pos: int, view: memoryview
                    ) -> tuple[int, bool, StepError | None]:
    """Drain into room the byte log reserved at `pos`, then index and record what came."""
    filled = 0
    try:
        filled, end, error = _drain(eng, s, view)
    finally:
        view.release()
        eng.log.commit(filled)
    if filled:
        chunk = s.capture.note(IN, pos, filled, eng.now())
        eng.record_auto("recv", s, {"data": DataRef(eng.log, pos, filled), "at": chunk.offset})
    return filled, end, error


def _drain(eng: Engine, s: LiveSocket, view: memoryview) -> tuple[int, bool, StepError | None]:
    """Read what is queued into `view`: (bytes read, the end came, the error that came)."""
    filled = 0
    while (want := len(view) - filled) > 0:
        try:
            n = s.sock.recv_into(view[filled:], want, socket.MSG_DONTWAIT)
        except BlockingIOError:
            break
        except OSError as exc:
            return filled, False, eng.error_of(exc)
        if n == 0:
            return filled, True, None
        filled += n
        if s.type == socket.SOCK_SEQPACKET:
            break  # one message per step, so record boundaries stay visible
        # A short read emptied the queue, but in a flood more has come meanwhile: asking
        # again (EAGAIN when not) makes drains larger and fewer, and a flood 15% faster.
    return filled, False, None


class BufferPool:
    """Receive buffers shared by every socket: a drain borrows one and gives it back, so
    thousands of connections do not each hold a megabyte. At most `keep` full-size
    buffers ever exist; a drain that finds none free uses a small one for that drain,
    so memory stays bounded however many sockets drain at once."""

    def __init__(self, size: int = READ_BUFFER, keep: int = 4, small: int = SMALL_BUFFER
                 ) -> None:
        self.size, self.small, self._keep = size, small, keep
        self._free: list[bytearray] = []
        self._made = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def take(self) -> Iterator[bytearray]:
        with self._lock:
            buf = self._free.pop() if self._free else None
            full = buf is not None or self._made < self._keep
            if buf is None and full:
                self._made += 1
        if buf is None:
            buf = bytearray(self.size if full else self.small)
        try:
            yield buf
        finally:
            if full:
                with self._lock:
                    self._free.append(buf)


def auto_datagrams(eng: Engine, s: LiveSocket) -> None:
    seen: tuple[object, str] = (None, "")  # a flood comes from one peer: named once a turn
    for _ in range(DATAGRAM_BURST):
        try:
            data, addr = s.sock.recvfrom(datagram_size(s), socket.MSG_DONTWAIT)
        except BlockingIOError:
            break
        except OSError as exc:
            # e.g. ECONNREFUSED from an ICMP error on a connected UDP socket
            eng.record_auto("recvfrom", s, None, eng.error_of(exc))
            break
        if addr != seen[0]:
            seen = (addr, s.fmt(addr) if addr else "")
        eng.record_auto("recvfrom", s, received(eng, s, data, seen[1]))
    eng.changed(s)
