"""Export a session as a standalone Python program (standard library only).

The program makes the session's calls in the order they started, with the same bytes
(bytes literals), checks that each call ends as recorded (success or the same errno
name) and, at the end, that each socket received exactly the recorded bytes: exit 0
when all match, 1 when something differs, 2 for a bad command line. Peers and
targets are taken from `--peer NAME=ADDRESS` and `--target N=ADDRESS`, defaulting to
the recorded addresses. I/O models: blocking, selectors, asyncio.
"""

from __future__ import annotations

import socket
from typing import Any

from workbench.core.session import Session
from workbench.core.steps import RECV_FLAGS, SEND_FLAGS
from workbench.export.plan import (
    Call,
    Constants,
    ExportError,
    Plan,
    Sock,
    known_sock,
    make_plan,
)
from workbench.export.py_options import imports as py_imports
from workbench.export.py_options import option_value
from workbench.export.py_runtime import runtime

MODELS = ("blocking", "selectors", "asyncio")
INLINE = 60  # payloads whose literal is this short are written in the step itself
PER_LINE = 96  # the longest line of a longer literal
WIDTH = 92  # the longest step line (indented by 4, under 100 columns)
AWAITED = {"connect", "accept", "send", "sendto", "recv", "recv_datagram", "expect",
           "so_error", "pause"}
FAMILY = {"inet": "socket.AF_INET", "inet6": "socket.AF_INET6", "unix": "socket.AF_UNIX"}
TYPE = {"stream": "socket.SOCK_STREAM", "dgram": "socket.SOCK_DGRAM",
        "seqpacket": "socket.SOCK_SEQPACKET", "raw": "socket.SOCK_RAW"}
HOW = {"rd": "socket.SHUT_RD", "wr": "socket.SHUT_WR", "rdwr": "socket.SHUT_RDWR"}


def export_python(session: Session, model: str = "blocking") -> str:
    """The program's source text."""
    if model not in MODELS:
        raise ExportError(f"export: I/O model {model!r} does not fit Python: use one of "
                          f"{', '.join(MODELS)}")
    plan = make_plan(session)
    consts = Constants()
    body = [_step(plan, call, model, consts) for call in plan.calls]
    cuts = {sid: sock.cut for sid, sock in plan.sockets.items() if sock.cut}
    if cuts:
        consts.append(f"CUT = {cuts!r}  # raw and ping sockets: what of a datagram is "
                      "compared\n")
    return "\n".join([
        _header(plan, model),
        _data_tables(plan),
        *consts,
        "",
        runtime(model, "\n".join(body)).strip("\n"),
        *([PACKETS + ("" if model == "asyncio" else PACKETS_WAIT)] if cuts else []),
        "",
        "",
        _steps_function(body, model),
        "",
        "",
        _main(model),
    ])


# -- the parts of the file -----------------------------------------------------------------


PACKETS = '''

class Run(Run):
    """Raw and ping sockets see every packet of their protocol: of each datagram only
    part is compared ("ip": what follows the IPv4 header the kernel wrote; "ping": all
    but the ICMP identifier and checksum the kernel set), and a packet the recording
    did not have here is skipped."""

    def got_datagram(self, seq, sid, data):
        cut = CUT.get(sid)
        if cut == "ip" and data:
            data = data[(data[0] & 0x0F) * 4:]
        elif cut == "ping" and len(data) >= 6:
            data = data[:2] + bytes(4) + data[6:]
        if cut:
            sizes, count = DATAGRAMS.get(sid, []), self.datagrams.get(sid, 0)
            at = sum(sizes[:count])
            if count >= len(sizes) or data != RECEIVED[sid][at:at + sizes[count]]:
                self.say(seq, f"socket {sid}: skipped a packet of {len(data)} bytes the "
                              "recording did not have here")
                return
        super().got_datagram(seq, sid, data)'''
PACKETS_WAIT = '''

    def take(self, seq, what, sid, size, flags, datagram):
        if sid in CUT:  # a packet that never comes: the wait is bounded by --timeout
            self.wait(seq, self.socks[sid], selectors.EVENT_READ, sid)
        return super().take(seq, what, sid, size, flags, datagram)'''


def _header(plan: Plan, model: str) -> str:
    title = (plan.title or "a socket session").replace('"""', "'''").replace("\\", "/")
    imports = {"argparse", "contextlib", "errno", "socket", "sys"}
    imports |= {"asyncio"} if model == "asyncio" else {"selectors", "time"}
    imports |= {"os"} if model == "selectors" else set()
    imports |= py_imports({c.option.kind for c in plan.calls
                           if c.option is not None and c.op == "setsockopt"})
    peers = {p.name: p.default for p in plan.peers}
    lines = [
        "#!/usr/bin/env python3",
        f'"""{title}',
        "",
        "Exported from a Socket Workbench session: the same calls in the same order with the",
        "same bytes. It checks that each call ends as it did in the recording and that every",
        "socket receives the recorded bytes.",
        "",
        "usage: python3 PROGRAM [--peer NAME=ADDRESS] [--target N=ADDRESS] [--timeout SECONDS]",
        "ADDRESS: host:port, [v6]:port, unix:/path or unix:@name",
        "exit: 0 as recorded, 1 something differs (said on stderr), 2 a bad command line",
        f"I/O model: {model}",
        *plan.privileges(),
        '"""',
        "",
        *(f"import {name}" for name in sorted(imports)),
        "",
        f"PEERS = {peers!r}  # where each peer listened when recorded (None: not recorded)",
        f"TARGETS = {plan.targets!r}  # where each socket connected or sent to",
    ]
    return "\n".join(lines)


def _data_tables(plan: Plan) -> str:
    lines = ["RECEIVED = {  # what each socket received in the recording"]
    for sid, rx in plan.received.items():
        lines.append(f"    {sid}: {_bytes(bytes(rx.data), 8)},")
    lines.append("}")
    gaps = {sid: rx.gaps for sid, rx in plan.received.items() if rx.gaps}
    sizes = {sid: rx.lengths for sid, sock in plan.sockets.items()
             if not sock.stream and (rx := plan.received[sid]).lengths}
    lines.append(f"NOT_KEPT = {gaps!r}  # (offset, size) received but not kept: not compared")
    lines.append(f"DATAGRAMS = {sizes!r}  # sizes of the datagrams each socket received")
    return "\n".join(lines) + "\n"


def _steps_function(body: list[str], model: str) -> str:
    head = "async def steps(run):" if model == "asyncio" else "def steps(run):"
    doc = '    """The session\'s steps, in the order they started."""'
    lines = [head, doc]
    if any("s[" in chunk for chunk in body):
        lines.append("    s = run.socks")
    for chunk in body:
        lines += ["    " + line if line else "" for line in chunk.splitlines()]
    return "\n".join(lines)


def _main(model: str) -> str:
    run = "asyncio.run(steps(run))" if model == "asyncio" else "steps(run)"
    return f'''def main(argv=None):
    try:
        args = parse_args(argv)
    except Usage as exc:
        print(f"{{sys.argv[0]}}: {{exc}}", file=sys.stderr)
        return 2
    with contextlib.ExitStack() as stack:  # every socket is closed on every path
        run = Run(args, stack)
        try:
            {run}
        except Usage as exc:
            print(f"{{sys.argv[0]}}: {{exc}}", file=sys.stderr)
            return 2
        except Differs as exc:
            print(f"differs: {{exc}}", file=sys.stderr)
            return 1
        code = run.compare()
    if code == 0:
        print("as recorded: every call ended as it did and each socket received its bytes")
    return code


if __name__ == "__main__":
    sys.exit(main())
'''


# -- one step --------------------------------------------------------------------------------


def _step(plan: Plan, call: Call, model: str, consts: Constants) -> str:
    sock = plan.sockets.get(call.sock or 0)
    if call.skip:
        return f"# step {call.seq}: {call.title}: {call.skip}"
    method, args = _method(plan, call, sock, model, consts)
    if method is None:
        return f"# step {call.seq}: {call.title}: {args[0]}"
    head = "# the engine made this call on its own: here it is explicit\n" if call.auto else ""
    common = [str(call.seq), repr(call.title), repr(call.error)]
    await_ = "await " if model == "asyncio" and method in AWAITED else ""
    return head + _wrapped(f"{await_}run.{method}(", common + args)


def _wrapped(start: str, args: list[str]) -> str:
    """A call on one line if it fits the body's width, else its arguments filled into
    lines under it (so the program reads, and passes a 100-column linter)."""
    line = start + ", ".join(args) + ")"
    if len(line) <= WIDTH:
        return line
    lines, current = [start], ""
    for arg in args:
        piece = f"{current} {arg}," if current else f"{arg},"
        if current and len(piece) > WIDTH - 4:
            lines.append("    " + current)
            piece = f"{arg},"
        current = piece
    lines.append("    " + current.rstrip(",") + ")")
    return "\n".join(lines)


def _method(plan: Plan, call: Call, sock: Sock | None, model: str,
            consts: Constants) -> tuple[str | None, list[str]]:
    """The Run method for a call and its arguments after (seq, what, expect)."""
    s = f"s[{call.sock}]"
    sid = str(call.sock)
    op = call.op
    if op == "socket":
        a = call.args
        made = call.made[0] if call.made else None
        return "socket", [str(made), FAMILY[a["family"]], TYPE[a["type"]], str(a["proto"])]
    if op == "socketpair":
        a = call.args
        return "socketpair", [repr(call.made), FAMILY[a["family"]], TYPE[a["type"]],
                              str(a["proto"])]
    if op in ("bind", "connect", "sendto"):
        sock = known_sock(call, sock)
        assert call.address is not None
        where = "local" if op == "bind" else "address"
        lead = "" if op == "bind" else f"{sid}, "
        addr = (f"run.{where}({lead}{call.address.text!r}, {FAMILY[sock.family]}, "
                f"{TYPE['dgram' if sock.type == 'raw' else sock.type]})")  # no ports for raw
        if op == "bind":
            return "bind", [sid, addr]
        if op == "connect":
            return "connect", [sid, addr, f"blocking={call.blocking}"]
        return "sendto", [sid, _data(call, consts), _flags(call.args, SEND_FLAGS), addr]
    if op == "send":
        return "send", [sid, _data(call, consts), _flags(call.args, SEND_FLAGS)]
    if op in ("recv", "recvfrom"):
        return _receive(call, sock)
    if op == "expect":
        if call.error is not None or sock is None:
            return None, [f"the recording did not find these bytes ({call.error})"]
        count = "" if sock.stream else f", {call.total}"
        return "expect", [sid, str(call.at), _data(call, consts) + count]
    if op == "setsockopt":
        assert call.option is not None
        value = option_value(call.option, call.seq, lambda text: consts.append(text + "\n"))
        return "call", [f"{s}.setsockopt", *_level_name(call), value]
    return _plain(call, s, sid, model)


def _plain(call: Call, s: str, sid: str, model: str) -> tuple[str | None, list[str]]:
    op = call.op
    if op == "accept":
        new = str(call.made[0]) if call.made else "None"
        return "accept", [sid, new, f"blocking={call.blocking}"]
    if op == "listen":
        return "call", [f"{s}.listen", str(call.args["backlog"])]
    if op == "getsockopt":
        assert call.option is not None
        if call.so_error is not None and call.error is None:
            return "so_error", [sid, repr(call.so_error or None), f"settle={call.auto}"]
        if call.option.kind == "string":  # a name: said, and checked when the session set it
            return "read_name", [sid, *_level_name(call), repr(call.read)]
        size = ["256"] if call.option.kind == "raw" else []  # a struct: its bytes
        return "call", [f"{s}.getsockopt", *_level_name(call), *size]
    if op in ("getsockname", "getpeername"):
        return "call", [f"{s}.{op}"]
    if op == "shutdown":
        return "call", [f"{s}.shutdown", HOW[call.args["how"]]]
    if op == "close":
        return "close", [sid]
    if op == "set_blocking":
        if model == "blocking":
            return "call", [f"{s}.setblocking", str(bool(call.args["blocking"]))]
        return None, ["every socket is non-blocking here; waits are bounded"]
    if op == "set_inheritable":
        return "call", [f"{s}.set_inheritable", str(bool(call.args["inheritable"]))]
    if op == "wait":
        return "pause", [repr(call.args["seconds"])]
    raise ExportError(f"export: step {call.seq} ({op}) has no Python form yet")


def _receive(call: Call, sock: Sock | None) -> tuple[str, list[str]]:
    flags = call.args.get("flags", [])
    size = int(call.args.get("size", 65536))
    sid = str(call.sock)
    if "MSG_PEEK" in flags or sock is None:
        return "call", [f"s[{sid}].recv", str(size), _flags(call.args, RECV_FLAGS)]
    extra = [] if size == 65536 else [f"size={size}"]
    if flags:
        extra.append(f"flags={_flags(call.args, RECV_FLAGS)}")
    if not sock.stream:
        return "recv_datagram", [sid, str(call.total), *extra]
    if call.eof:
        extra.insert(0, "eof=True")
    return "recv", [sid, str(call.total), *extra]


def _level_name(call: Call) -> list[str]:
    """socket.NAME where this Python has it, else the number."""
    option = call.option
    assert option is not None
    level = f"socket.{option.level}" if hasattr(socket, option.level) else str(option.levelnum)
    name = f"socket.{option.name}" if hasattr(socket, option.name) else str(option.optname)
    return [level, name]


def _flags(args: dict[str, Any], table: dict[str, int]) -> str:
    names = [n for n in args.get("flags", []) if n in table]
    if not names:
        return "0"
    return " | ".join(f"socket.{n}" if hasattr(socket, n) else str(table[n]) for n in names)


def _data(call: Call, consts: Constants) -> str:
    if len(repr(call.data)) <= INLINE:
        return repr(call.data)
    data = call.data
    return consts.name(data, f"DATA_{call.seq}", lambda name: f"{name} = {_bytes(data, 4)}\n")


def _bytes(data: bytes, indent: int) -> str:
    """A bytes literal, cut into lines of at most PER_LINE characters when long."""
    if len(repr(data)) <= INLINE:
        return repr(data)
    pad = " " * indent
    lines = [repr(piece) for piece in _pieces(data, PER_LINE - indent - 3)]
    return "(\n" + "\n".join(pad + line for line in lines) + "\n" + pad[:-4] + ")"


def _pieces(data: bytes, width: int) -> list[bytes]:
    """The bytes cut where each piece's literal stays within `width` characters."""
    out, start, used = [], 0, 0
    for i, byte in enumerate(data):
        size = _LITERAL_SIZE[byte]
        if used + size > width:
            out.append(data[start:i])
            start, used = i, 0
        used += size
    out.append(data[start:])
    return out


# How many characters each byte takes in a bytes literal (at most: a quote may need none).
_LITERAL_SIZE = [len(repr(bytes([b]))) - 3 for b in range(256)]
_LITERAL_SIZE[ord("'")] = 2
