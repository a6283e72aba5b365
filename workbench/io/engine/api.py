"""The engine: runs steps on real sockets and records every outcome.

Each socket has an actor thread that owns it (see `actor`): steps on that socket run
there in the order they were submitted, so the caller (the UI's event loop, or
replay) never blocks. Arguments are normalised through the op table before a step
runs, so what is recorded holds every argument explicitly; the socket's state moves
only through the state machine in `core/sockstate`, driven from `record`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from workbench.core.endpoints import Endpoint
from workbench.core.errnos import from_oserror
from workbench.core.errors import InputError
from workbench.core.ops import get_op, normalise
from workbench.core.session import Session
from workbench.core.sockstate import State, event_of, outcome_of
from workbench.core.steps import (
    DataRef,
    NotKept,
    Step,
    StepError,
    family_name,
    type_name,
)
from workbench.io.addresses import check_family, endpoint_for, resolve
from workbench.io.capture import IN, OUT, ByteLog, CaptureStore
from workbench.io.engine import raw
from workbench.io.engine.actor import Actor
from workbench.io.engine.events import (
    Call,
    EngineEvent,
    Listener,
    SocketChanged,
    SocketInfo,
    StepDone,
    Subscribers,
)
from workbench.io.engine.live import LiveSocket, Waker, kind_of_socket, make_wakers
from workbench.io.engine.pump import BufferPool

ERRORS_LOG = "errors.log"  # internal errors, with tracebacks, beside the journal
SWITCH_INTERVAL = 0.0002  # seconds a thread may keep the interpreter's lock from another


class Engine:
    """Runs steps on real sockets; records them in `session` and tells subscribers."""

    clock: Callable[[], float] | None = None  # a frozen clock for stable screenshots
    so_error = (socket.SOL_SOCKET, socket.SO_ERROR)

    def __init__(self, session: Session | None = None, listener: Listener | None = None,
                 log: ByteLog | None = None, journal: Any = None,
                 peers: dict[str, str] | None = None, ready_ring: bool = False) -> None:
        """`ready_ring`: have the byte log ready its ring at the first socket (see
        `ByteLog.prepare`), for a session someone watches, where a flood may come any
        time; a replay or a script leaves it to the first bytes that need it."""
        self.session = session or Session()
        self.ready_ring = ready_ring
        self.journal = journal
        self.owns_log = log is None and journal is None  # then shutdown closes it
        if log is None:  # not `log or`: an empty ByteLog is falsy
            log = journal.log if journal is not None else ByteLog()
        self.log = log
        self.peers: dict[str, str] = dict(peers or {})
        self.lock = threading.RLock()  # the socket registry and queues
        self._record_lock = threading.Lock()  # session order == journal order
        self._subscribers = Subscribers()
        if listener is not None:
            self._subscribers.add(listener)
        self._socks: dict[int, LiveSocket] = {}
        self._next_id = 1
        self._t0 = time.monotonic() - (self.session.steps[-1].t if self.session.steps else 0.0)
        self._timers: set[threading.Timer] = set()
        self.buffers = BufferPool()
        self.paused: dict[int, LiveSocket] = {}  # listeners out of descriptors (backoff)
        self.internal_errors: deque[str] = deque(maxlen=20)  # tracebacks, newest last
        # A socket's thread waits for the interpreter's lock after every recv; at the
        # default 5 ms switch interval a busy thread (the UI drawing) holds it up that
        # long each time, and a flood's sender stalls on a full window meanwhile.
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))

    # -- public API ----------------------------------------------------------------------

    def subscribe(self, callback: Listener) -> Callable[[], None]:
        """Feed `callback` every event (on engine threads); returns the unsubscribe."""
        return self._subscribers.add(callback)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def now(self) -> float:
        if self.clock is not None:
            return self.clock()
        return time.monotonic() - self._t0

    def submit(self, op: str, sock: int | None = None, **args: Any) -> Call:
        """Start a step; raises InputError (one line) for a mistake in the arguments."""
        spec = get_op(op)
        call = Call(op, sock, normalise(op, {k: v for k, v in args.items() if v is not None}),
                    started=self.now())
        if not spec.needs_socket:
            if op == "wait":
                self._start_wait(call)
            else:
                if op == "socket":
                    raw.check_approval(call.args)  # no raw or packet socket without a yes
                result, error = self.attempt(lambda: self._create(call))
                self.record(call, result, raw.explain_refusal(call.args, error))
            return call
        s = self._get(sock)
        self._check_address(s, call)
        if op == "close":
            for busy in (s.pending, s.in_syscall):
                if busy is not None:
                    self.cancel(busy)
        with self.lock:
            if s.closed:
                raise InputError(f"socket #{s.id} is closed; create a new one")
            s.queue.append(call)
        s.waker.wake()
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
        s.waker.wake()

    def pending(self, sock: int | None = None) -> list[Call]:
        """Calls in progress (waiting for readiness or in a real blocking syscall)."""
        with self.lock:
            return [c for s in self._socks.values() for c in (s.pending, s.in_syscall)
                    if c is not None and (sock is None or s.id == sock)]

    def cancel_pending(self, sock: int) -> int:
        """Cancel what is in progress on one socket; how many calls that was."""
        calls = self.pending(sock)
        for call in calls:
            self.cancel(call)
        return len(calls)

    def inspect(self, sock: int, look: Callable[[socket.socket], Any]) -> Future:
        """Run `look(real_socket)` on the socket's actor, between its calls: a read that
        is not a step (option sweeps, TCP_INFO). The future fails if the socket closes."""
        s = self._get(sock)
        future: Future = Future()
        with self.lock:
            if s.closed:
                raise InputError(f"socket #{sock} is closed")
            s.inspections.append((look, future))
        s.waker.wake()
        return future

    def sockets(self) -> list[SocketInfo]:
        with self.lock:
            return [self._info(s) for s in self._socks.values()]

    def socket_info(self, sock: int) -> SocketInfo:
        return self._info(self._get(sock, closed_ok=True))

    def capture(self, sock: int) -> CaptureStore:
        """A socket's captured bytes; still there after it closed, for the views."""
        return self._get(sock, closed_ok=True).capture

    def steps(self) -> list[Step]:
        """A copy of the steps recorded so far, in the order they finished."""
        with self._record_lock:
            return list(self.session.steps)

    def shutdown(self) -> None:
        """Close every socket and stop every thread (bounded)."""
        for timer in list(self._timers):
            timer.cancel()
        for s in list(self._socks.values()):
            if not s.closed:
                with contextlib.suppress(InputError):
                    self.submit("close", s.id)
        for s in list(self._socks.values()):
            if s.thread is not None:
                s.thread.join(2.0)

    # -- for the actor, handlers and pump ------------------------------------------------

    def record(self, call: Call, result: dict[str, Any] | None, error: StepError | None,
               auto: bool = False, event: str | None = None) -> Step:
        step = Step(call.op, call.sock, call.args, auto=auto, t=call.started,
                    dur=max(0.0, self.now() - call.started), result=result, error=error)
        self._add(step, self._socks.get(call.sock) if call.sock is not None else None, event)
        call.step = step
        call.done.set()
        self.emit(StepDone(step))
        return step

    def record_auto(self, op: str, s: LiveSocket, result: dict[str, Any] | None,
                    error: StepError | None = None) -> Step:
        """A step nobody asked for (no arguments, no Call to wait on): a flood records
        thousands a second, so none of a Call's machinery is made for it."""
        started = self.now()
        step = Step(op, s.id, {}, auto=True, t=started, dur=max(0.0, self.now() - started),
                    result=result, error=error)
        self._add(step, s, None)
        self.emit(StepDone(step))
        return step

    def _add(self, step: Step, s: LiveSocket | None, event: str | None) -> None:
        """Into the session and the journal, in one order; the socket's state moves."""
        line = self.journal.encode(step) if self.journal is not None else None
        with self._record_lock:  # encoding and storage waits happen outside
            self.session.add(step)
            if line is not None:
                self.journal.enqueue(*line)
        if s is not None:
            event = event or event_of(step.op, step.args)
            s.advance(event, outcome_of(step, event))

    def finish(self, s: LiveSocket, call: Call, result: dict[str, Any] | None,
               error: StepError | None) -> None:
        self.record(call, result, error)
        self.changed(s)

    def emit(self, event: EngineEvent) -> None:
        self._subscribers.emit(event)

    def changed(self, s: LiveSocket) -> None:
        self.emit(SocketChanged(s.id))

    def attempt(self, fn: Callable[[], dict[str, Any] | None]
                ) -> tuple[dict[str, Any] | None, StepError | None]:
        try:
            return fn(), None
        except OSError as exc:
            return None, self.error_of(exc)

    @staticmethod
    def error_of(exc: OSError) -> StepError:
        info = from_oserror(exc)
        return StepError(info.name, info.number, info.message)

    def errno_error(self, number: int, message: str = "") -> StepError:
        return self.error_of(OSError(number, message or os.strerror(number)))

    @staticmethod
    def input_error(exc: InputError) -> StepError:
        """A mistake found only when the call ran: recorded, never reached the kernel."""
        return StepError("INPUT", 0, str(exc))

    def internal_error(self, exc: BaseException, call: Call | None) -> StepError:
        """A bug: the traceback goes to the errors log, the step gets one line."""
        text = "".join(traceback.format_exception(exc))
        self.internal_errors.append(text)
        where = self._log_internal(call, text)
        detail = " ".join(str(exc).split())[:200]
        return StepError("INTERNAL", 0, f"internal error: {type(exc).__name__}: {detail}"
                         + (f" (traceback in {where})" if where else ""))

    def _log_internal(self, call: Call | None, text: str) -> str:
        if self.journal is None:
            return ""
        path = Path(self.journal.dir) / ERRORS_LOG
        head = f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {call.op if call else 'actor'}\n"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "a") as out:
                out.write(head + text)
        except OSError:
            return ""
        return str(path)

    def adopt(self, sock: socket.socket, auto: bool, connected: bool = False,
              parent: int | None = None, peer: str = "", waker: Waker | None = None
              ) -> LiveSocket:
        """Register `sock` and start its actor. Pass a `waker` made before the socket
        (see `read_call`) so running out of descriptors never loses a connection."""
        try:
            waker = waker if waker is not None else Waker()
        except OSError:
            sock.close()  # out of descriptors: the socket cannot be watched
            raise
        inode = 0
        with contextlib.suppress(OSError):
            inode = os.fstat(sock.fileno()).st_ino
        if self.ready_ring:
            self.log.prepare()
        with self.lock:
            sid = self._next_id
            self._next_id += 1
            s = LiveSocket(sid, sock, CaptureStore(self.log), kind_of_socket(sock),
                           state=State.CONNECTED if connected else State.NEW, auto=auto,
                           parent=parent, peer=peer, blocking=sock.getblocking(), waker=waker,
                           inode=inode)
            self._socks[sid] = s
        s.local = s.local_address()
        if connected and not peer:
            s.peer = s.peer_address()
        s.thread = threading.Thread(target=Actor(self, s).run, daemon=True,
                                    name=f"socket-{sid}")
        try:
            s.thread.start()
        except RuntimeError as exc:  # out of threads or memory: said, never silent
            self._abandon(s)
            raise OSError(errno.ENOMEM, f"cannot start a thread for socket #{sid} "
                          f"({exc}); it was closed") from None
        self.changed(s)
        return s

    def _abandon(self, s: LiveSocket) -> None:
        with self.lock:
            del self._socks[s.id]
        s.sock.close()
        s.waker.close()

    def freed(self) -> None:
        """A socket of the engine closed: listeners waiting for a descriptor try now."""
        with self.lock:
            waiting = list(self.paused.values())
        for s in waiting:
            pause = s.accept_pause
            if pause is not None:
                pause.retry_at = 0.0
            s.waker.wake()

    def resolve(self, s: LiveSocket, text: str) -> tuple[object, dict[str, Any]]:
        if s.family == raw.AF_PACKET:
            return raw.packet_sockaddr(s.sock, text), {}
        addr, resolved = resolve(self._endpoint(text), s.family, s.type)
        return addr, ({"resolved": resolved} if resolved else {})

    def captured(self, s: LiveSocket, direction: int, data: bytes | memoryview, peer: str = "",
                 droppable: bool = False) -> tuple[int, DataRef | NotKept]:
        chunk = s.capture.append(direction, data, self.now(), peer, droppable)
        if not chunk.kept:  # storage fell behind, or the budget or disk floor was reached
            return chunk.offset, NotKept(chunk.size, chunk.why)
        return chunk.offset, DataRef(self.log, chunk.pos, chunk.size)

    # -- bookkeeping ---------------------------------------------------------------------

    def _get(self, sock: int | None, closed_ok: bool = False) -> LiveSocket:
        s = self._socks.get(sock) if isinstance(sock, int) else None
        if s is None:
            known = ", ".join(f"#{i}" for i in self._socks) or "none yet"
            raise InputError(f"no socket #{sock} (sockets: {known}); create one first")
        if s.closed and not closed_ok:
            raise InputError(f"socket #{sock} is closed; create a new one")
        return s

    def _info(self, s: LiveSocket) -> SocketInfo:
        busy = s.pending or s.in_syscall
        return SocketInfo(
            s.id, family_name(s.family), type_name(s.type), str(s.state), s.local, s.peer,
            s.blocking, s.auto, s.parent, s.capture.totals[IN], s.capture.totals[OUT],
            busy.op if busy else "", str(s.kind), s.inode,
        )

    def _endpoint(self, text: str) -> Endpoint:
        return endpoint_for(text, self.peers, lambda sid: self._get(sid).local)

    def _check_address(self, s: LiveSocket, call: Call) -> None:
        """An address of the wrong family is an input error, before any syscall."""
        if "address" in call.args and s.family == raw.AF_PACKET:
            raw.check_packet_address(call.args["address"], s.id)
        elif "address" in call.args:
            check_family(self._endpoint(call.args["address"]), s.family, s.id)

    def _create(self, call: Call) -> dict[str, Any]:
        a = call.args
        family, sock_type, proto = raw.socket_args(a)
        wakers = make_wakers(2 if call.op == "socketpair" else 1)
        try:  # wakers first: out of descriptors, no socket is made and left behind
            made = (socket.socketpair(family, sock_type, proto) if len(wakers) == 2
                    else (socket.socket(family, sock_type, proto),))
        except BaseException:
            for waker in wakers:
                waker.close()
            raise
        ids: list[int] = []
        try:
            for m, w in zip(made, wakers, strict=True):
                ids.append(self.adopt(m, auto=a["auto"], connected=len(made) == 2, waker=w).id)
        except OSError:  # no thread for one: it is closed, and so is what was not adopted
            for m, w in list(zip(made, wakers, strict=True))[len(ids) + 1:]:
                m.close()
                w.close()
            raise
        return {"socks": ids} if call.op == "socketpair" else {"sock": ids[0]}

    def _start_wait(self, call: Call) -> None:
        def fire() -> None:
            self._timers.discard(timer)
            self.record(call, None, None)

        timer = threading.Timer(float(call.args["seconds"]), fire)
        timer.daemon = True
        self._timers.add(timer)
        timer.start()

