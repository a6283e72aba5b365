"""One handler per op that runs on a socket: the real call, on the socket's actor.

A handler returns the step's result (a dict, or None for none), PENDING when the
call waits in the actor until the socket is ready, or RECORDED when it recorded its
step itself. An OSError it raises is the step's errno; anything else it raises is
recorded as the step's failure by the actor, which goes on.
"""

from __future__ import annotations

import errno
import os
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from workbench.core.options import lookup_option
from workbench.core.steps import RECV_FLAGS, SEND_FLAGS, SHUTDOWN_HOW, DataRef, flags_value
from workbench.io.capture import IN, OUT, NotKeptError
from workbench.io.engine import raw
from workbench.io.engine.events import Call, CallStarted
from workbench.io.engine.live import LiveSocket, Waker, ready
from workbench.io.inspectors import get_option, read_back, set_option

if TYPE_CHECKING:
    from workbench.io.engine.api import Engine

POLLIN = 0x001
PENDING = object()  # the call waits in the actor until the socket is ready
RECORDED = object()  # the handler recorded its step itself
SEND_PIECE = 1 << 20  # a blocking send goes out in pieces of this, so receiving goes on
LOG_SENDS_OVER = 4096  # bigger payloads go to the byte log once, and the step refers to them

Handler = Callable[["Engine", LiveSocket, Call], Any]


class Cancelled(OSError):
    def __init__(self) -> None:
        super().__init__(errno.EINTR, "interrupted: cancelled by the user")


# -- state and options -------------------------------------------------------------------


def op_close(eng: Engine, s: LiveSocket, call: Call) -> None:
    s.sock.close()


def op_shutdown(eng: Engine, s: LiveSocket, call: Call) -> None:
    s.sock.shutdown(SHUTDOWN_HOW[call.args["how"]])


def op_set_blocking(eng: Engine, s: LiveSocket, call: Call) -> None:
    s.blocking = bool(call.args["blocking"])
    s.sock.setblocking(s.blocking)


def op_set_auto(eng: Engine, s: LiveSocket, call: Call) -> None:
    s.auto = bool(call.args["auto"])


def op_set_inheritable(eng: Engine, s: LiveSocket, call: Call) -> None:
    s.sock.set_inheritable(bool(call.args["inheritable"]))


def op_setsockopt(eng: Engine, s: LiveSocket, call: Call) -> dict[str, Any] | None:
    """Set through the option's codec, then read back what the kernel kept (in the
    same step): {"effective", "why" when it differs from what was asked}."""
    spec = lookup_option(call.args["option"])
    if spec.name == "SO_ATTACH_FILTER":  # compiled for what this socket's packets start with
        raw.attach_filter(s.sock, spec, call.args["value"])
        return None
    set_option(s.sock, spec, call.args["value"])
    if spec.name == "IP_HDRINCL":  # a raw socket's sends now start with the IPv4 header
        s.hdrincl = bool(call.args["value"])
    return read_back(s.sock, spec, call.args["value"])


def op_getsockopt(eng: Engine, s: LiveSocket, call: Call) -> dict[str, Any]:
    return {"value": get_option(s.sock, lookup_option(call.args["option"]))}


def op_getsockname(eng: Engine, s: LiveSocket, call: Call) -> dict[str, Any]:
    return {"address": s.fmt(s.sock.getsockname())}


def op_getpeername(eng: Engine, s: LiveSocket, call: Call) -> dict[str, Any]:
    return {"address": s.fmt(s.sock.getpeername())}


# -- addresses ---------------------------------------------------------------------------


def op_bind(eng: Engine, s: LiveSocket, call: Call) -> dict[str, Any]:
    addr, extra = eng.resolve(s, call.args["address"])
    s.sock.bind(addr)
    # A port the user chose is kept for good; one the kernel picked (port 0) is given
    # back when a listener is shut down.
    s.user_bound = not isinstance(addr, tuple) or bool(addr[1])
    s.local = s.local_address()
    return {"local": s.local, **extra}


def op_listen(eng: Engine, s: LiveSocket, call: Call) -> dict[str, Any]:
    s.sock.listen(int(call.args["backlog"]))
    s.local = s.local_address()
    return {"local": s.local}


def op_connect(eng: Engine, s: LiveSocket, call: Call) -> Any:
    addr, extra = eng.resolve(s, call.args["address"])
    if not s.blocking:
        err = s.sock.connect_ex(addr)
        if err == errno.EINPROGRESS:
            # The call returns EINPROGRESS, as it really does; completion is recorded
            # later as the SO_ERROR read a program would make.
            eng.record(call, extra or None, eng.errno_error(err))
            return RECORDED
        if err:
            raise OSError(err, os.strerror(err))
    else:
        s.in_syscall = call
        eng.emit(CallStarted(call))
        try:
            s.sock.connect(addr)
        except OSError:
            if call.cancelled:
                raise Cancelled() from None
            raise
        finally:
            s.in_syscall = None
    return connected(s, extra)


def connected(s: LiveSocket, extra: dict[str, Any]) -> dict[str, Any]:
    s.local = s.local_address()
    s.peer = s.peer_address()
    return {"peer": s.peer, "local": s.local, **extra}


# -- sending -----------------------------------------------------------------------------


def op_send(eng: Engine, s: LiveSocket, call: Call) -> Any:
    return _send(eng, s, call, None)


def op_sendto(eng: Engine, s: LiveSocket, call: Call) -> Any:
    addr, _extra = eng.resolve(s, call.args["address"])
    return _send(eng, s, call, addr)


def _send(eng: Engine, s: LiveSocket, call: Call, addr: object) -> Any:
    _take_payload(eng, call)
    flags = flags_value(call.args["flags"], SEND_FLAGS)
    if not s.blocking or flags & socket.MSG_DONTWAIT or not s.connection:
        sent: dict[str, Any] = {"sent": send_once(eng, s, call, call.payload, flags, addr)}
        link = raw.sent_link(s.sock, s.hdrincl)
        return sent if link is None else {**sent, "link": link}  # what decodes it
    # Blocking stream send: progress while polling, so auto-receive keeps draining
    # (an echo peer would otherwise deadlock us) and the call stays cancellable.
    call.flags = flags | socket.MSG_DONTWAIT
    return continue_send(eng, s, call, first=True)


def _take_payload(eng: Engine, call: Call) -> None:
    """The bytes to send; a big payload goes to the byte log once, and both the step
    and the capture of what was sent refer to it there."""
    data = call.args["data"]
    call.payload = data.load() if isinstance(data, DataRef) else bytes(data)
    if len(call.payload) > LOG_SENDS_OVER:
        call.log_pos = eng.log.append(call.payload)
        call.args["data"] = DataRef(eng.log, call.log_pos, len(call.payload))


def send_once(eng: Engine, s: LiveSocket, call: Call, data: bytes, flags: int,
              addr: object) -> int:
    n = s.sock.send(data, flags) if addr is None else s.sock.sendto(data, flags, addr)
    peer = "" if addr is None else s.fmt(addr)
    if call.log_pos >= 0:
        s.capture.note(OUT, call.log_pos + call.sent, n, eng.now(), peer)
    else:
        s.capture.append(OUT, data[:n], eng.now(), peer)
    if not s.local:
        s.local = s.local_address()
    return n


def continue_send(eng: Engine, s: LiveSocket, call: Call, first: bool = False) -> Any:
    """Send what is left of a blocking send; PENDING (first time) while it waits."""
    data = call.payload
    while call.sent < len(data):
        try:
            piece = data[call.sent:call.sent + SEND_PIECE]
            call.sent += send_once(eng, s, call, piece, call.flags, None)
        except BlockingIOError:
            return PENDING if first else None
        except OSError as exc:
            if first:
                raise
            s.pending = None
            eng.finish(s, call, {"sent": call.sent} if call.sent else None, eng.error_of(exc))
            return None
    if first:
        return {"sent": call.sent}
    s.pending = None
    eng.finish(s, call, {"sent": call.sent}, None)
    return None


# -- receiving ---------------------------------------------------------------------------


def op_wait_read(eng: Engine, s: LiveSocket, call: Call) -> Any:
    """recv, recvfrom, accept: blocking mode waits (cancellably) until ready."""
    if s.blocking and not ready(s.sock, POLLIN):
        return PENDING
    return read_call(eng, s, call)


def read_call(eng: Engine, s: LiveSocket, call: Call) -> dict[str, Any]:
    if call.op == "accept":
        return accept_one(eng, s)
    flags = flags_value(call.args.get("flags", ()), RECV_FLAGS)
    size = int(call.args.get("size", 65536))
    if call.op == "recvfrom":
        data, addr = s.sock.recvfrom(size, flags)
        peer = s.fmt(addr) if addr else ""
    else:
        data, peer = s.sock.recv(size, flags), ""
    return received(eng, s, data, peer, peek=bool(flags & socket.MSG_PEEK))


def accept_one(eng: Engine, s: LiveSocket) -> dict[str, Any]:
    """accept(), with the new socket's waker made first: out of descriptors, the
    connection stays queued in the kernel (EMFILE) instead of being taken and lost."""
    waker = Waker()
    try:
        conn, addr = s.sock.accept()
    except BaseException:
        waker.close()
        raise
    child = eng.adopt(conn, auto=s.auto, connected=True, parent=s.id, peer=s.fmt(addr),
                      waker=waker)
    return {"sock": child.id, "peer": child.peer}


def received(eng: Engine, s: LiveSocket, data: bytes | memoryview, peer: str,
             peek: bool = False, droppable: bool = False) -> dict[str, Any]:
    if peek:
        return {"data": bytes(data), "peek": True}
    at, ref = eng.captured(s, IN, data, peer, droppable)
    result: dict[str, Any] = {"data": ref, "at": at}
    if peer:
        result["peer"] = peer
        if s.family == raw.AF_PACKET:
            result.update(raw.frame_info(peer))
    if not data and s.connection:
        result["eof"] = True
    return result


# -- expect ------------------------------------------------------------------------------


def op_expect(eng: Engine, s: LiveSocket, call: Call) -> Any:
    call.deadline = time.monotonic() + float(call.args["timeout"])
    found = find_expected(s, call)
    return found if found is not None else PENDING


def find_expected(s: LiveSocket, call: Call) -> dict[str, Any] | None:
    data = call.args["data"]
    want = data.load() if isinstance(data, DataRef) else bytes(data)
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


HANDLERS: dict[str, Handler] = {
    "close": op_close,
    "shutdown": op_shutdown,
    "set_blocking": op_set_blocking,
    "set_auto": op_set_auto,
    "set_inheritable": op_set_inheritable,
    "setsockopt": op_setsockopt,
    "getsockopt": op_getsockopt,
    "getsockname": op_getsockname,
    "getpeername": op_getpeername,
    "bind": op_bind,
    "listen": op_listen,
    "connect": op_connect,
    "send": op_send,
    "sendto": op_sendto,
    "recv": op_wait_read,
    "recvfrom": op_wait_read,
    "accept": op_wait_read,
    "expect": op_expect,
}
