"""The engine: executes steps on real sockets and records every outcome.

Each socket has an actor thread that owns it: steps on that socket run there in the
order they were submitted, so the caller (the UI's event loop, or replay) never
blocks. The actor also pumps the socket: auto-receive and auto-accept are recorded
as steps like any other. A call that would block in the socket's blocking mode waits
on poll() in the actor (so it can be cancelled) and then makes the real call; a
blocking connect is made for real and cancelled by shutting the socket down.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workbench.core.endpoints import Endpoint, format_sockaddr
from workbench.core.errnos import from_oserror
from workbench.core.errors import InputError
from workbench.core.options import lookup_option
from workbench.core.session import Session
from workbench.core.steps import (
    FAMILIES,
    RECV_FLAGS,
    SEND_FLAGS,
    SHUTDOWN_HOW,
    TYPES,
    DataRef,
    NotKept,
    Step,
    StepError,
    choose,
    family_name,
    flags_value,
    type_name,
    validate_op,
)
from workbench.io.addresses import check_family, endpoint_for, resolve
from workbench.io.capture import IN, OUT, ByteLog, CaptureStore, NotKeptError

READ_BUFFER = 1 << 20  # one auto-receive drain fills up to this much before recording a step
POLLIN, POLLOUT = select.POLLIN, select.POLLOUT
WAITING_READ = ("recv", "recvfrom", "accept")


# -- what the engine tells its listener --------------------------------------------------


@dataclass(frozen=True)
class StepDone:
    step: Step


@dataclass(frozen=True)
class CallStarted:
    """A call is in progress (it would block); it shows as such and can be cancelled."""

    call: Call


@dataclass(frozen=True)
class SocketChanged:
    sock: int


EngineEvent = StepDone | CallStarted | SocketChanged
Listener = Callable[[EngineEvent], None]


@dataclass
class Call:
    """A submitted step until it is recorded."""

    op: str
    sock: int | None
    args: dict[str, Any]
    started: float = 0.0
    step: Step | None = None
    done: threading.Event = field(default_factory=threading.Event)
    cancelled: bool = False
    sent: int = 0  # progress of a send that waits for room
    flags: int = 0
    deadline: float | None = None  # for expect

    def wait(self, timeout: float | None = None) -> Step | None:
        self.done.wait(timeout)
        return self.step


@dataclass
class SocketInfo:
    """A snapshot of one socket for views: safe to read on any thread."""

    id: int
    family: str
    type: str
    state: str
    local: str
    peer: str
    blocking: bool
    auto: bool
    parent: int | None
    bytes_in: int
    bytes_out: int
    pending: str


@dataclass
class _Sock:
    id: int
    sock: socket.socket
    capture: CaptureStore
    state: str = "new"
    peer: str = ""
    local: str = ""
    blocking: bool = True
    auto: bool = True
    parent: int | None = None
    eof: bool = False  # the peer finished sending (or we shut down reading)
    dead: bool = False  # an error ended the connection
    closed: bool = False
    queue: deque[Call] = field(default_factory=deque)
    pending: Call | None = None
    in_syscall: Call | None = None  # a real blocking call in progress
    buf: bytearray | None = None  # auto-receive buffer, allocated on first use
    expect_pos: int = 0
    wake_r: int = -1
    wake_w: int = -1
    thread: threading.Thread | None = None

    @property
    def family(self) -> int:
        return self.sock.family

    @property
    def type(self) -> int:
        return self.sock.type

    @property
    def stream(self) -> bool:
        return self.sock.type != socket.SOCK_DGRAM


def error_of(exc: OSError) -> StepError:
    info = from_oserror(exc)
    return StepError(info.name, info.number, info.message)


CANCELLED = StepError("EINTR", errno.EINTR, "interrupted: cancelled by the user")


class Engine:
    """Runs steps on real sockets; records them in `session` and tells `listener`."""

    def __init__(
        self,
        session: Session | None = None,
        listener: Listener | None = None,
        log: ByteLog | None = None,
        journal: Any = None,
        peers: dict[str, str] | None = None,
    ) -> None:
        self.session = session or Session()
        self.listener = listener
        self.journal = journal
        if log is None:  # not `log or`: an empty ByteLog is falsy
            log = journal.log if journal is not None else ByteLog()
        self.log = log
        self.peers: dict[str, str] = dict(peers or {})
        self._lock = threading.RLock()
        self._socks: dict[int, _Sock] = {}
        self._next_id = 1
        self._t0 = time.monotonic() - (self.session.steps[-1].t if self.session.steps else 0.0)
        self._timers: list[threading.Timer] = []

    # -- public API ----------------------------------------------------------------------

    clock: Callable[[], float] | None = None  # a frozen clock for stable screenshots

    def now(self) -> float:
        if self.clock is not None:
            return self.clock()
        return time.monotonic() - self._t0

    def submit(self, op: str, sock: int | None = None, **args: Any) -> Call:
        """Start a step; raises InputError (one line) for a mistake in the arguments."""
        validate_op(op)
        args = {k: v for k, v in args.items() if v is not None}
        call = Call(op, sock, args, started=self.now())
        if op in ("socket", "socketpair"):
            self._record(call, *self._attempt(lambda: self._create(call)))
            return call
        if op == "wait":
            self._start_wait(call)
            return call
        s = self._get(sock)
        self._check_args(s, call)
        if op == "close":
            for busy in (s.pending, s.in_syscall):
                if busy is not None:
                    self.cancel(busy)
        with self._lock:
            s.queue.append(call)
        self._wake(s)
        return call

    def call(self, op: str, sock: int | None = None, within: float | None = 10.0,
             **args: Any) -> Step:
        """Submit and wait up to `within` seconds (then cancel): for scripts and replay."""
        call = self.submit(op, sock, **args)
        if call.wait(within) is None:
            self.cancel(call)
            call.wait(2.0)
        if call.step is None:
            raise TimeoutError(f"{op} on #{sock} did not finish in {within} s")
        return call.step

    def cancel(self, call: Call) -> None:
        """Cancel a queued or in-progress call; it is recorded as interrupted (EINTR)."""
        call.cancelled = True
        s = self._socks.get(call.sock or -1)
        if s is None:
            return
        if s.in_syscall is call:
            # A real blocking connect: shutting the socket down aborts it.
            with contextlib.suppress(OSError):
                s.sock.shutdown(socket.SHUT_RDWR)
        self._wake(s)

    def sockets(self) -> list[SocketInfo]:
        with self._lock:
            return [self._info(s) for s in self._socks.values()]

    def socket_info(self, sock: int) -> SocketInfo:
        return self._info(self._get(sock, closed_ok=True))

    def capture(self, sock: int) -> CaptureStore:
        """A socket's captured bytes; still there after it closed, for the views."""
        return self._get(sock, closed_ok=True).capture

    def pending(self) -> list[Call]:
        """Calls in progress: waiting for readiness or in a real blocking syscall."""
        with self._lock:
            return [c for s in self._socks.values() for c in (s.pending, s.in_syscall)
                    if c is not None]

    def shutdown(self) -> None:
        """Close every socket and stop every thread (bounded)."""
        for timer in self._timers:
            timer.cancel()
        for s in list(self._socks.values()):
            if not s.closed:
                with contextlib.suppress(InputError):
                    self.submit("close", s.id)
        for s in list(self._socks.values()):
            if s.thread is not None:
                s.thread.join(2.0)

    # -- bookkeeping ---------------------------------------------------------------------

    def _get(self, sock: int | None, closed_ok: bool = False) -> _Sock:
        s = self._socks.get(sock) if sock is not None else None
        if s is None:
            known = ", ".join(f"#{i}" for i in self._socks) or "none yet"
            raise InputError(f"no socket #{sock} (sockets: {known}); create one first")
        if s.closed and not closed_ok:
            raise InputError(f"socket #{sock} is closed; create a new one")
        return s

    def _info(self, s: _Sock) -> SocketInfo:
        return SocketInfo(
            s.id, family_name(s.family), type_name(s.type), s.state, s.local, s.peer,
            s.blocking, s.auto, s.parent, s.capture.totals[IN], s.capture.totals[OUT],
            s.pending.op if s.pending else (s.in_syscall.op if s.in_syscall else ""),
        )

    def _emit(self, event: EngineEvent) -> None:
        if self.listener is not None:
            self.listener(event)

    def _record(self, call: Call, result: dict[str, Any] | None, error: StepError | None,
                auto: bool = False) -> Step:
        step = Step(call.op, call.sock, call.args, auto=auto, t=call.started,
                    dur=max(0.0, self.now() - call.started), result=result, error=error)
        with self._lock:
            self.session.add(step)
            if self.journal is not None:
                self.journal.append(step)
        call.step = step
        call.done.set()
        self._emit(StepDone(step))
        return step

    def _record_auto(self, op: str, s: _Sock, result: dict[str, Any] | None,
                     error: StepError | None = None) -> Step:
        return self._record(Call(op, s.id, {}, started=self.now()), result, error, auto=True)

    @staticmethod
    def _attempt(fn: Callable[[], dict[str, Any] | None]
                 ) -> tuple[dict[str, Any] | None, StepError | None]:
        try:
            return fn(), None
        except OSError as exc:
            return None, error_of(exc)

    def _changed(self, s: _Sock) -> None:
        self._emit(SocketChanged(s.id))

    # -- argument checks (before any syscall: mistakes are input errors) ----------------

    def _check_args(self, s: _Sock, call: Call) -> None:
        a = call.args
        if call.op in ("bind", "connect", "sendto"):
            if "address" not in a:
                raise InputError(f"{call.op} needs an address, e.g. 127.0.0.1:7 or unix:/tmp/x")
            check_family(self._endpoint(str(a["address"])), s.family, s.id)
        if call.op in ("send", "sendto", "expect") and not isinstance(a.get("data"), bytes):
            raise InputError(f"{call.op} needs data (bytes)")
        if call.op in ("setsockopt", "getsockopt"):
            lookup_option(str(a.get("option", "")))
            if call.op == "setsockopt" and not isinstance(a.get("value"), int):
                raise InputError("setsockopt needs an integer value")
        if call.op in ("recv", "recvfrom"):
            size = a.setdefault("size", 65536)
            if not isinstance(size, int) or not 0 <= size <= 1 << 26:
                raise InputError(f"recv size {size!r} out of range: use 0-67108864")
            flags_value(a.get("flags", ()), RECV_FLAGS)
        if call.op in ("send", "sendto"):
            flags_value(a.get("flags", ()), SEND_FLAGS)
        if call.op == "shutdown":
            choose("shutdown direction", str(a.setdefault("how", "rdwr")), SHUTDOWN_HOW)
        if call.op == "listen":
            a.setdefault("backlog", 128)

    # -- sockets -------------------------------------------------------------------------

    def _create(self, call: Call) -> dict[str, Any]:
        a = call.args
        family = choose("family", str(a.setdefault("family", "inet")), FAMILIES)
        sock_type = choose("type", str(a.setdefault("type", "stream")), TYPES)
        auto = bool(a.pop("auto", True))
        if call.op == "socketpair":
            pair = socket.socketpair(family, sock_type, int(a.get("proto", 0)))
            ids = [self._adopt(p, auto=auto, state="connected").id for p in pair]
            return {"socks": ids}
        sock = socket.socket(family, sock_type, int(a.get("proto", 0)))
        if not auto:
            a["auto"] = False
        return {"sock": self._adopt(sock, auto=auto).id}

    def _adopt(self, sock: socket.socket, auto: bool, state: str = "new",
               parent: int | None = None, peer: str = "") -> _Sock:
        with self._lock:
            sid = self._next_id
            self._next_id += 1
            s = _Sock(sid, sock, CaptureStore(self.log), state=state, auto=auto,
                      parent=parent, peer=peer, blocking=sock.getblocking())
            s.wake_r, s.wake_w = os.pipe()
            os.set_blocking(s.wake_w, False)
            self._socks[sid] = s
        s.local = _local(s)
        if state == "connected" and not peer:
            s.peer = _peer(s)
        s.thread = threading.Thread(target=self._actor, args=(s,), daemon=True,
                                    name=f"socket-{sid}")
        s.thread.start()
        self._changed(s)
        return s

    def _wake(self, s: _Sock) -> None:
        with self._lock:
            if s.wake_w < 0:
                return
            with contextlib.suppress(OSError):  # a full pipe: the actor is awake already
                os.write(s.wake_w, b"x")

    # -- the actor -----------------------------------------------------------------------

    def _actor(self, s: _Sock) -> None:
        poller = select.poll()
        poller.register(s.wake_r, POLLIN)
        mask = 0
        while True:
            self._run_queue(s)
            if s.closed:
                break
            want = self._interest(s)
            if want != mask:
                if mask:
                    poller.unregister(s.sock.fileno())
                if want:
                    poller.register(s.sock.fileno(), want)
                mask = want
            for fd, events in poller.poll(self._poll_timeout(s)):
                if fd == s.wake_r:
                    os.read(s.wake_r, 4096)
                elif not self._on_ready(s, events):
                    mask = self._quiet(poller, s, mask)
            self._check_deadline(s)
        self._retire(s)

    def _retire(self, s: _Sock) -> None:
        with self._lock:
            os.close(s.wake_r)
            os.close(s.wake_w)
            s.wake_r = s.wake_w = -1
            left, s.queue = list(s.queue), deque()
        for call in left:  # submitted before the close ran: the fd is gone
            self._record(call, None, error_of(OSError(errno.EBADF, "")))

    def _quiet(self, poller: select.poll, s: _Sock, mask: int) -> int:
        """Stop watching a socket whose readiness nobody consumes (e.g. POLLHUP)."""
        if mask:
            poller.unregister(s.sock.fileno())
        s.eof = s.eof or s.stream
        return 0

    def _interest(self, s: _Sock) -> int:
        if s.closed or s.dead:
            return 0
        want = 0
        p = s.pending
        if p is not None and p.op in WAITING_READ:
            want |= POLLIN
        if (p is not None and p.op in ("send", "sendto")) or s.state == "connecting":
            want |= POLLOUT
        if s.auto and self._auto_readable(s):
            want |= POLLIN
        return want

    def _auto_readable(self, s: _Sock) -> bool:
        if s.state == "listening":
            return True
        if s.stream:
            return s.state in ("connected", "shut-wr") and not s.eof
        return s.state in ("bound", "connected") and not s.eof

    def _poll_timeout(self, s: _Sock) -> int | None:
        p = s.pending
        if p is None or p.deadline is None:
            return None
        return max(0, int((p.deadline - time.monotonic()) * 1000) + 1)

    def _run_queue(self, s: _Sock) -> None:
        if s.pending is not None and s.pending.cancelled:
            call, s.pending = s.pending, None
            self._record(call, {"sent": call.sent} if call.sent else None, CANCELLED)
        while s.pending is None and not s.closed:
            with self._lock:
                if not s.queue:
                    return
                call = s.queue.popleft()
            if call.cancelled:
                self._record(call, None, CANCELLED)
                continue
            self._start(s, call)

    def _on_ready(self, s: _Sock, events: int) -> bool:
        """Serve readiness; False when nothing could use it."""
        p = s.pending
        if p is not None and p.op in ("send", "sendto") and events & (POLLOUT | select.POLLERR
                                                                         | select.POLLHUP):
            self._continue_send(s, p)
            return True
        if s.state == "connecting" and events & (POLLOUT | select.POLLERR | select.POLLHUP):
            self._finish_connect(s)
            return True
        if p is not None and p.op in WAITING_READ and events & (POLLIN | select.POLLERR
                                                                  | select.POLLHUP):
            s.pending = None
            self._finish(s, p, *self._attempt(lambda: self._read_call(s, p)))
            return True
        if s.auto and events & (POLLIN | select.POLLERR | select.POLLHUP):
            if s.state == "listening":
                self._auto_accept(s)
            else:
                self._auto_read(s)
            return True
        return False

    def _check_deadline(self, s: _Sock) -> None:
        p = s.pending
        if p is not None and p.op == "expect":
            self._check_expect(s, p)

    # -- running one call ----------------------------------------------------------------

    def _start(self, s: _Sock, call: Call) -> None:
        call.started = self.now()
        handler = getattr(self, f"_op_{call.op}")
        try:
            result = handler(s, call)
        except _Cancelled:
            self._finish(s, call, None, CANCELLED)
            return
        except OSError as exc:
            self._finish(s, call, None, error_of(exc))
            return
        if result is _RECORDED:
            self._changed(s)
        elif result is _PENDING:
            s.pending = call
            self._emit(CallStarted(call))
            self._changed(s)
        else:
            self._finish(s, call, result, None)

    def _finish(self, s: _Sock, call: Call, result: dict[str, Any] | None,
                error: StepError | None) -> None:
        self._record(call, result, error)
        self._changed(s)

    def _op_close(self, s: _Sock, call: Call) -> None:
        s.closed = True
        s.state = "closed"
        s.sock.close()
        return None

    def _op_shutdown(self, s: _Sock, call: Call) -> None:
        how = str(call.args["how"])
        s.sock.shutdown(SHUTDOWN_HOW[how])
        if how in ("rd", "rdwr"):
            s.eof = True
        s.state = {"rd": "shut-rd", "wr": "shut-wr", "rdwr": "shut"}[how] \
            if s.state == "connected" else s.state
        return None

    def _op_set_blocking(self, s: _Sock, call: Call) -> None:
        s.blocking = bool(call.args.get("blocking", True))
        s.sock.setblocking(s.blocking)
        return None

    def _op_set_auto(self, s: _Sock, call: Call) -> None:
        s.auto = bool(call.args.get("auto", True))
        return None

    def _op_setsockopt(self, s: _Sock, call: Call) -> None:
        spec = lookup_option(str(call.args["option"]))
        s.sock.setsockopt(spec.level, spec.optname, int(call.args["value"]))
        return None

    def _op_getsockopt(self, s: _Sock, call: Call) -> dict[str, Any]:
        spec = lookup_option(str(call.args["option"]))
        return {"value": s.sock.getsockopt(spec.level, spec.optname)}

    def _endpoint(self, text: str) -> Endpoint:
        return endpoint_for(text, self.peers, lambda sid: self._get(sid).local)

    def _address(self, s: _Sock, call: Call) -> tuple[object, dict[str, Any]]:
        endpoint = self._endpoint(str(call.args["address"]))
        addr, resolved = resolve(endpoint, s.family, s.type)
        return addr, ({"resolved": resolved} if resolved else {})

    def _op_bind(self, s: _Sock, call: Call) -> dict[str, Any]:
        addr, extra = self._address(s, call)
        s.sock.bind(addr)
        s.local = _local(s)
        if s.state == "new":
            s.state = "bound"
        return {"local": s.local, **extra}

    def _op_listen(self, s: _Sock, call: Call) -> dict[str, Any]:
        s.sock.listen(int(call.args["backlog"]))
        s.state = "listening"
        s.local = _local(s)
        return {"local": s.local}

    def _op_connect(self, s: _Sock, call: Call) -> Any:
        addr, extra = self._address(s, call)
        if not s.blocking:
            err = s.sock.connect_ex(addr)
            if err == errno.EINPROGRESS:
                # The call returns EINPROGRESS, as it really does; completion is
                # recorded later as the SO_ERROR read a program would make.
                s.state = "connecting"
                self._record(call, extra or None, error_of(OSError(err, "")))
                return _RECORDED
            if err:
                s.state = "failed" if s.stream else s.state
                raise OSError(err, os.strerror(err))
        else:
            s.in_syscall = call
            self._emit(CallStarted(call))
            try:
                s.sock.connect(addr)
            except OSError:
                if call.cancelled:
                    s.state = "aborted"
                    raise _Cancelled() from None
                if s.stream and s.state in ("new", "bound"):
                    s.state = "failed"  # shown in the tree; Linux allows another connect
                raise
            finally:
                s.in_syscall = None
        return self._connected(s, extra)

    def _connected(self, s: _Sock, extra: dict[str, Any]) -> dict[str, Any]:
        s.state = "connected"
        s.local = _local(s)
        s.peer = _peer(s)
        return {"peer": s.peer, "local": s.local, **extra}

    def _finish_connect(self, s: _Sock) -> None:
        started = self.now()
        err = s.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err == 0:
            self._connected(s, {})
        else:
            s.state = "failed"
        result = {"value": err, "peer": s.peer} if not err else {"value": err}
        if err:
            result["errno"] = errno.errorcode.get(err, str(err))
        self._record(Call("getsockopt", s.id, {"option": "SO_ERROR"}, started=started),
                     result, None, auto=True)
        self._changed(s)

    # -- data ----------------------------------------------------------------------------

    def _op_send(self, s: _Sock, call: Call) -> Any:
        return self._send(s, call, None)

    def _op_sendto(self, s: _Sock, call: Call) -> Any:
        addr, _extra = self._address(s, call)
        return self._send(s, call, addr)

    def _send(self, s: _Sock, call: Call, addr: object) -> Any:
        flags = flags_value(call.args.get("flags", ()), SEND_FLAGS)
        data = call.args["data"]
        if not s.blocking or flags & socket.MSG_DONTWAIT or not s.stream:
            n = self._send_once(s, data, flags, addr)
            return {"sent": n}
        # Blocking stream send: progress while polling, so auto-receive keeps draining
        # (an echo peer would otherwise deadlock us) and the call stays cancellable.
        call.flags = flags | socket.MSG_DONTWAIT
        return self._continue_send(s, call, first=True)

    def _send_once(self, s: _Sock, data: bytes, flags: int, addr: object) -> int:
        n = s.sock.send(data, flags) if addr is None else s.sock.sendto(data, flags, addr)
        self._captured(s, OUT, data[:n], "" if addr is None else _fmt(s, addr))
        if not s.local:
            s.local = _local(s)
        return n

    def _continue_send(self, s: _Sock, call: Call, first: bool = False) -> Any:
        data = call.args["data"]
        flags = call.flags
        while call.sent < len(data):
            try:
                call.sent += self._send_once(s, data[call.sent:call.sent + (1 << 20)], flags, None)
            except BlockingIOError:
                return _PENDING if first else None
            except OSError as exc:
                if first:
                    raise
                s.pending = None
                self._finish(s, call, {"sent": call.sent} if call.sent else None, error_of(exc))
                return None
        if first:
            return {"sent": call.sent}
        s.pending = None
        self._finish(s, call, {"sent": call.sent}, None)
        return None

    def _captured(self, s: _Sock, direction: int, data: bytes | memoryview, peer: str = "",
                  droppable: bool = False) -> tuple[int, DataRef | NotKept]:
        chunk = s.capture.append(direction, data, self.now(), peer, droppable)
        if not chunk.kept:
            return chunk.offset, NotKept(chunk.size)
        return chunk.offset, DataRef(self.log, chunk.pos, chunk.size)

    def _op_recv(self, s: _Sock, call: Call) -> Any:
        return self._maybe_wait(s, call)

    def _op_recvfrom(self, s: _Sock, call: Call) -> Any:
        return self._maybe_wait(s, call)

    def _op_accept(self, s: _Sock, call: Call) -> Any:
        return self._maybe_wait(s, call)

    def _maybe_wait(self, s: _Sock, call: Call) -> Any:
        """Blocking mode waits (cancellably) until ready; non-blocking calls at once."""
        if s.blocking and not _ready(s.sock, POLLIN):
            return _PENDING
        return self._read_call(s, call)

    def _read_call(self, s: _Sock, call: Call) -> dict[str, Any]:
        if call.op == "accept":
            conn, addr = s.sock.accept()
            child = self._adopt(conn, auto=s.auto, state="connected", parent=s.id,
                                peer=_fmt(s, addr))
            return {"sock": child.id, "peer": child.peer}
        flags = flags_value(call.args.get("flags", ()), RECV_FLAGS)
        size = int(call.args["size"])
        if call.op == "recvfrom":
            data, addr = s.sock.recvfrom(size, flags)
            peer = _fmt(s, addr) if addr else ""
        else:
            data, peer = s.sock.recv(size, flags), ""
        return self._received(s, data, peer, peek=bool(flags & socket.MSG_PEEK))

    def _received(self, s: _Sock, data: bytes | memoryview, peer: str, peek: bool = False,
                  droppable: bool = False) -> dict[str, Any]:
        if peek:
            return {"data": bytes(data), "peek": True}
        at, ref = self._captured(s, IN, data, peer, droppable)
        result: dict[str, Any] = {"data": ref, "at": at}
        if peer:
            result["peer"] = peer
        if not data and s.stream:
            result["eof"] = True
            s.eof = True
        return result

    # -- the pump: auto-receive and auto-accept ------------------------------------------

    def _auto_accept(self, s: _Sock) -> None:
        result, error = self._attempt(
            lambda: self._read_call(s, Call("accept", s.id, {}))
        )
        if error is not None and error.name == "EAGAIN":
            return
        self._record_auto("accept", s, result, error)
        self._changed(s)

    def _auto_read(self, s: _Sock) -> None:
        if not s.stream:
            self._auto_datagram(s)
            return
        if s.buf is None:
            s.buf = bytearray(READ_BUFFER)
        view = memoryview(s.buf)
        filled, end, error = 0, False, None
        while filled < READ_BUFFER:
            try:
                n = s.sock.recv_into(view[filled:], READ_BUFFER - filled, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            except OSError as exc:
                error = error_of(exc)
                break
            if n == 0:
                end = True
                break
            filled += n
            if s.type == socket.SOCK_SEQPACKET:
                break  # one message per step, so record boundaries stay visible
        if filled:  # a flood's drain may go unkept rather than slow the stream
            self._record_auto("recv", s, self._received(s, view[:filled], "", droppable=True))
        if end:
            self._record_auto("recv", s, self._received(s, b"", ""))
            s.state = "peer-closed" if s.state == "connected" else s.state
        if error is not None:
            s.dead = True
            s.state = "reset" if error.name == "ECONNRESET" else "error"
            self._record_auto("recv", s, None, error)
        self._changed(s)

    def _auto_datagram(self, s: _Sock) -> None:
        for _ in range(64):  # bounded, so commands still get their turn in a flood
            try:
                data, addr = s.sock.recvfrom(_datagram_size(s), socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            except OSError as exc:
                # e.g. ECONNREFUSED from an ICMP error on a connected UDP socket
                self._record_auto("recvfrom", s, None, error_of(exc))
                break
            peer = _fmt(s, addr) if addr else ""
            self._record_auto("recvfrom", s, self._received(s, data, peer))
        self._changed(s)

    # -- session steps: wait and expect --------------------------------------------------

    def _start_wait(self, call: Call) -> None:
        seconds = call.args.get("seconds", 0)
        if not isinstance(seconds, int | float) or not 0 <= seconds <= 86400:
            raise InputError(f"wait seconds {seconds!r} out of range: use 0-86400")
        timer = threading.Timer(float(seconds), lambda: self._record(call, None, None))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _op_expect(self, s: _Sock, call: Call) -> Any:
        call.deadline = time.monotonic() + float(call.args.get("timeout", 5.0))
        found = self._find_expected(s, call)
        if found is not None:
            return found
        return _PENDING

    def _find_expected(self, s: _Sock, call: Call) -> dict[str, Any] | None:
        want = call.args["data"]
        while True:
            start, end = s.expect_pos, s.capture.totals[IN]
            try:
                hay, gap = s.capture.read(IN, start, end - start), None
            except NotKeptError as exc:  # search what was kept before it, then go past it
                gap = exc
                hay = s.capture.read(IN, start, exc.offset - start) if exc.offset > start else b""
            idx = hay.find(want)
            if idx >= 0:
                s.expect_pos = start + idx + len(want)
                return {"at": start + idx}
            if gap is None:
                return None
            s.expect_pos = gap.offset + gap.size

    def _check_expect(self, s: _Sock, p: Call) -> None:
        found = self._find_expected(s, p)
        if found is not None:
            s.pending = None
            self._finish(s, p, found, None)
        elif p.deadline is not None and time.monotonic() >= p.deadline:
            s.pending = None
            self._finish(s, p, None, StepError("ETIMEDOUT", errno.ETIMEDOUT,
                                               "expected bytes did not arrive in time"))


class _Cancelled(OSError):
    def __init__(self) -> None:
        super().__init__(errno.EINTR, CANCELLED.message)


_PENDING = object()  # the call waits in the actor until the socket is ready
_RECORDED = object()  # the handler recorded its step itself


def _datagram_size(s: _Sock) -> int:
    """How much the next datagram needs: Unix datagrams may exceed 64 KiB, UDP never does."""
    if s.family != socket.AF_UNIX:
        return 65536
    peek = socket.MSG_PEEK | socket.MSG_TRUNC | socket.MSG_DONTWAIT
    return max(1, s.sock.recv_into(bytearray(1), 1, peek))  # the real size, not 1


def _ready(sock: socket.socket, events: int) -> bool:
    p = select.poll()
    p.register(sock.fileno(), events)
    return bool(p.poll(0))


def _fmt(s: _Sock, addr: Any) -> str:
    return format_sockaddr(s.family, addr)


def _local(s: _Sock) -> str:
    try:
        return _fmt(s, s.sock.getsockname())
    except OSError:
        return ""


def _peer(s: _Sock) -> str:
    try:
        return _fmt(s, s.sock.getpeername())
    except OSError:
        return ""
