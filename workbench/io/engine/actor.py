"""The actor: one thread per socket that runs its calls in order and pumps it.

The actor polls the socket and its waker. Calls queued on the socket run one at a
time; a call that would block waits here (so it can be cancelled) until the socket
is ready. Between calls it serves readiness: auto-receive and auto-accept, the rest
of a blocking send, the completion of a non-blocking connect. It never dies: an
exception anywhere becomes the failure of the step that raised it (or, outside a
call, is logged and the socket stops being watched), and the loop goes on.
"""

from __future__ import annotations

import errno
import select
import time
from typing import TYPE_CHECKING

from workbench.core.errors import InputError
from workbench.core.ops import OPS
from workbench.core.sockstate import State
from workbench.core.steps import CANCELLED
from workbench.io.engine.backoff import end_pause, settle
from workbench.io.engine.events import Call, CallStarted
from workbench.io.engine.handlers import (
    HANDLERS,
    PENDING,
    RECORDED,
    Cancelled,
    connected,
    continue_send,
    find_expected,
    read_call,
)
from workbench.io.engine.live import LiveSocket
from workbench.io.engine.pump import auto_accept, auto_read

if TYPE_CHECKING:
    from workbench.io.engine.api import Engine

POLLIN, POLLOUT = select.POLLIN, select.POLLOUT
TROUBLE = select.POLLERR | select.POLLHUP
WAIT_READ = frozenset(name for name, op in OPS.items() if op.waits == "read")
SENDS = frozenset({"send", "sendto"})
QUEUE_BURST = 32  # queued calls per turn before readiness is served again (fairness)
ENDS_PAUSE = frozenset({"close", "shutdown", "set_auto", "listen"})  # see backoff


class Actor:
    def __init__(self, eng: Engine, s: LiveSocket) -> None:
        self.eng, self.s = eng, s
        self.poller = select.poll()
        self.poller.register(s.waker.fd, POLLIN)
        self.mask = 0

    def run(self) -> None:
        s = self.s
        while not s.closed:
            try:
                self.turn()
            except Exception as exc:  # a bug outside any call: log it, stop watching, go on
                error = self.eng.internal_error(exc, s.pending)
                s.hup = True
                if s.pending is not None:
                    call, s.pending = s.pending, None
                    self.eng.finish(s, call, None, error)
        self.retire()

    def turn(self) -> None:
        more = self.run_queue()
        if self.s.closed:
            return
        self.watch(self.interest())
        timeout = 0 if more else self.poll_timeout()
        for fd, events in self.poller.poll(timeout):
            if fd == self.s.waker.fd:
                self.s.waker.clear()
            elif not self.on_ready(events):
                self.s.hup = True  # readiness nobody consumes (e.g. POLLHUP): stop watching
        if self.s.accept_pause is not None:
            settle(self.eng, self.s)
        self.check_deadline()

    def watch(self, want: int) -> None:
        if want == self.mask:
            return
        fd = self.s.sock.fileno()
        if self.mask:
            self.poller.unregister(fd)
        if want:
            self.poller.register(fd, want)
        self.mask = want

    def retire(self) -> None:
        s, eng = self.s, self.eng
        with eng.lock:
            s.waker.close()
            left, inspections = list(s.queue), list(s.inspections)
            s.queue.clear()
            s.inspections.clear()
            eng.paused.pop(s.id, None)
        eng.freed()  # its descriptors are free: a listener waiting for one may go on
        for call in left:  # submitted before the close ran: the descriptor is gone
            eng.record(call, None, eng.error_of(OSError(errno.EBADF, "")))
        for _fn, future in inspections:
            if future.set_running_or_notify_cancel():
                future.set_exception(InputError(f"socket #{s.id} is closed"))

    # -- what to wait for --------------------------------------------------------------

    def interest(self) -> int:
        s, want, p = self.s, 0, self.s.pending
        if p is not None and p.op in WAIT_READ:
            want |= POLLIN
        if (p is not None and p.op in SENDS) or s.state is State.CONNECTING:
            want |= POLLOUT
        if s.receiving():
            want |= POLLIN
        return want

    def poll_timeout(self) -> int | None:
        p, pause = self.s.pending, self.s.accept_pause
        wake = pause.wake_ms() if pause is not None else None
        waits = [] if wake is None else [wake]
        if p is not None and p.deadline is not None:
            waits.append(max(0, int((p.deadline - time.monotonic()) * 1000) + 1))
        return min(waits, default=None)

    # -- calls ---------------------------------------------------------------------------

    def run_queue(self) -> bool:
        """Run queued calls; True if some are left for the next turn."""
        s, eng = self.s, self.eng
        self.run_inspections()
        if s.pending is not None and s.pending.cancelled:
            call, s.pending = s.pending, None
            eng.record(call, {"sent": call.sent} if call.sent else None, CANCELLED)
        for _ in range(QUEUE_BURST):
            if s.pending is not None or s.closed:
                return False
            with eng.lock:
                if not s.queue:
                    return False
                call = s.queue.popleft()
            if call.cancelled:
                eng.record(call, None, CANCELLED)
                continue
            self.start(call)
            self.run_inspections()
        return bool(s.queue)

    def run_inspections(self) -> None:
        """Reads that only look (not steps): run between calls, on this thread."""
        s = self.s
        while s.inspections and not s.closed:
            fn, future = s.inspections.popleft()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(s.sock))
                except Exception as exc:  # the caller gets it, the actor goes on
                    future.set_exception(exc)

    def start(self, call: Call) -> None:
        s, eng = self.s, self.eng
        if s.accept_pause is not None and call.op in ENDS_PAUSE:
            end_pause(eng, s, f"the pause ended at a {call.op}")
        call.started = eng.now()
        try:
            result = HANDLERS[call.op](eng, s, call)
        except Cancelled:
            eng.finish(s, call, None, CANCELLED)
            return
        except OSError as exc:
            eng.finish(s, call, None, eng.error_of(exc))
            return
        except InputError as exc:  # e.g. sock:N names a socket closed since it was queued
            eng.finish(s, call, None, eng.input_error(exc))
            return
        except Exception as exc:
            eng.finish(s, call, None, eng.internal_error(exc, call))
            return
        if result is RECORDED:
            eng.changed(s)
        elif result is PENDING:
            s.pending = call
            eng.emit(CallStarted(call))
            eng.changed(s)
        else:
            eng.finish(s, call, result, None)

    # -- readiness -----------------------------------------------------------------------

    def on_ready(self, events: int) -> bool:
        """Serve readiness; False when nothing could use it."""
        s, eng, p = self.s, self.eng, self.s.pending
        if p is not None and p.op in SENDS and events & (POLLOUT | TROUBLE):
            continue_send(eng, s, p)
        elif s.state is State.CONNECTING and events & (POLLOUT | TROUBLE):
            self.finish_connect()
        elif p is not None and p.op in WAIT_READ and events & (POLLIN | TROUBLE):
            s.pending = None
            eng.finish(s, p, *eng.attempt(lambda: read_call(eng, s, p)))
        elif s.receiving() and events & (POLLIN | TROUBLE):
            if s.state is State.LISTENING:
                auto_accept(eng, s)
            else:
                auto_read(eng, s)
        else:
            return False
        return True

    def finish_connect(self) -> None:
        """A non-blocking connect ends: recorded as the SO_ERROR read a program makes."""
        s, eng = self.s, self.eng
        started = eng.now()
        err = s.sock.getsockopt(*eng.so_error)
        result: dict[str, object] = {"value": err}
        if err == 0:
            result["peer"] = connected(s, {})["peer"]
        else:
            result["errno"] = errno.errorcode.get(err, str(err))
        call = Call("getsockopt", s.id, {"option": "SO_ERROR"}, started=started)
        eng.record(call, result, None, auto=True, event="connect-done")
        eng.changed(s)

    def check_deadline(self) -> None:
        s, eng, p = self.s, self.eng, self.s.pending
        if p is None or p.op != "expect":
            return
        found = find_expected(s, p)
        if found is not None:
            s.pending = None
            eng.finish(s, p, found, None)
        elif p.deadline is not None and time.monotonic() >= p.deadline:
            s.pending = None
            eng.finish(s, p, None, eng.errno_error(errno.ETIMEDOUT,
                                                   "expected bytes did not arrive in time"))
