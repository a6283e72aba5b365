"""Export a session as one C11 program for POSIX (and Windows, with Winsock 2).

The program makes the session's calls in the order they started with the same
bytes (escaped literals), checks every return value against the recording (a
message names the call and strerror(errno)), sends in loops that take partial
writes, receives until each socket has what the recording had, closes every socket
on every path, and at the end compares each socket's bytes with the recording:
exit 0 when all match, 1 when something differs, 2 for a bad command line. It
builds with `cc -std=c11 -Wall -Wextra -Werror -pedantic`, and for Windows with
mingw-w64 and `-lws2_32` (see c_platform.py). I/O models: blocking, or poll (every
socket non-blocking, waits in poll()).
"""

from __future__ import annotations

import errno

from workbench.core.session import Session
from workbench.core.steps import RECV_FLAGS, SEND_FLAGS
from workbench.export.c_options import extra_includes, setsockopt_lines
from workbench.export.c_platform import err
from workbench.export.c_runtime import INCLUDES, helpers
from workbench.export.plan import (
    Call,
    Constants,
    ExportError,
    Plan,
    Sock,
    known_sock,
    make_plan,
)

MODELS = ("blocking", "poll")
WIDTH = 100  # the columns a line of the program takes at most, where it can be cut
LITERAL_MAX = 4000  # longer payloads are arrays: ISO C compilers need take only 4095
FAMILY = {"inet": "AF_INET", "inet6": "AF_INET6", "unix": "AF_UNIX"}
TYPE = {"stream": "SOCK_STREAM", "dgram": "SOCK_DGRAM", "seqpacket": "SOCK_SEQPACKET",
        "raw": "SOCK_RAW"}
CUTS = {"ip": "CUT_IP_HEADER", "ping": "CUT_ICMP_IDENT", "raw6": "CUT_NOTHING"}
HOW = {"rd": "SHUT_RD", "wr": "SHUT_WR", "rdwr": "SHUT_RDWR"}
ESCAPES = {ord("\\"): "\\\\", ord('"'): '\\"', ord("?"): "\\?", ord("\n"): "\\n",
           ord("\r"): "\\r", ord("\t"): "\\t"}
COMMON_ERRNOS = ("EAGAIN", "EWOULDBLOCK", "EINPROGRESS", "EALREADY", "EINTR", "ECONNREFUSED",
                 "ECONNRESET", "ECONNABORTED", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH",
                 "ENETUNREACH", "EADDRINUSE", "EADDRNOTAVAIL", "EACCES", "EPERM", "EBADF",
                 "EINVAL", "ENOTCONN", "EISCONN", "ENOENT", "EMSGSIZE", "ENOBUFS", "EMFILE",
                 "ENOPROTOOPT", "EAFNOSUPPORT", "EPROTONOSUPPORT", "EOPNOTSUPP", "ENOTSOCK",
                 "EDESTADDRREQ", "ESHUTDOWN")


def export_c(session: Session, model: str = "blocking") -> str:
    """The program's source text."""
    if model not in MODELS:
        raise ExportError(f"export: I/O model {model!r} does not fit C: use one of "
                          f"{', '.join(MODELS)}")
    plan = make_plan(session)
    consts = Constants()
    body = [_step(plan, call, model, consts) for call in plan.calls]
    run = _run_function(body)
    return "\n".join([
        _header(plan, model),
        INCLUDES,
        *extra_includes({c.option.kind for c in plan.calls if c.option is not None}),
        *_defines(plan, model),
        _errno_names(plan),
        _tables(plan),
        *consts,
        helpers(run).strip("\n") + "\n",
        run,
    ])


# -- the parts of the file -----------------------------------------------------------------


def _header(plan: Plan, model: str) -> str:
    title = (plan.title or "a socket session").replace("*/", "* /")
    return "\n".join([
        f"/* {title}",
        " *",
        " * Exported from a Socket Workbench session: the same calls in the same order with",
        " * the same bytes. It checks that each call ends as it did in the recording and that",
        " * every socket receives the recorded bytes.",
        " *",
        " * build: cc -std=c11 -Wall -Wextra -Werror -pedantic -o program program.c",
        " * usage: ./program [--peer NAME=ADDRESS] [--target N=ADDRESS] [--timeout SECONDS]",
        " * ADDRESS: host:port, [v6]:port, unix:/path or unix:@name",
        " * exit: 0 as recorded, 1 something differs (said on stderr), 2 a bad command line",
        f" * I/O model: {model}",
        *(f" * {need}" for need in plan.privileges()),
        " */",
    ])


def _defines(plan: Plan, model: str) -> list[str]:
    lines = [f"#define IO_POLL {1 if model == 'poll' else 0} /* 1: non-blocking sockets, "
             "waits in poll() */",
             f"#define NSOCKS {max(plan.sockets, default=0)} /* sockets are numbered from 1 */",
             f"#define NPEERS {len(plan.peers)}", ""]
    missing: dict[str, int] = {}
    for call in plan.calls:
        if call.option is not None:
            missing[call.option.name] = call.option.optname
        for name in call.args.get("flags", []) if call.op not in ("recv", "recvfrom") else []:
            missing[name] = SEND_FLAGS[name]
        for name in call.args.get("flags", []) if call.op in ("recv", "recvfrom") else []:
            missing[name] = RECV_FLAGS[name]
    for name, number in missing.items():  # names some systems spell only with other macros
        lines += [f"#ifndef {name}", f"#define {name} {number}", "#endif", ""]
    return lines


def _errno_names(plan: Plan) -> str:
    used = [c.error for c in plan.calls if c.error] + [c.so_error for c in plan.calls
                                                       if c.so_error]
    names = [n for n in dict.fromkeys([*used, *COMMON_ERRNOS]) if hasattr(errno, n)]
    rows = [f'        {{{err(n)}, "{n}"}},' for n in names]
    return "\n".join([
        "static const char *errno_name(int e)", "{",
        "    static const struct { int code; const char *name; } names[] = {", *rows, "    };",
        "    static char number[32]; /* one the table does not name */",
        "    size_t i;",
        "    for (i = 0; i < sizeof names / sizeof names[0]; i++)",
        "        if (names[i].code == e)",
        "            return names[i].name;",
        '    snprintf(number, sizeof number, "error %d", e);',
        "    return number;", "}", ""])


def _tables(plan: Plan) -> str:
    count = max(plan.sockets, default=0)
    names = [f'"{p.name}"' for p in plan.peers] + ["NULL"]
    recorded = [_c_text(p.default) if p.default else "NULL" for p in plan.peers] + ["NULL"]
    targets = ["NULL"] + [_c_text(plan.targets[i]) if i in plan.targets else "NULL"
                          for i in range(1, count + 1)]
    lines = [f"static const char *const peer_names[NPEERS + 1] = {{{', '.join(names)}}};",
             "/* where each peer listened when recorded (NULL: give --peer) */",
             f"static const char *const peer_recorded[NPEERS + 1] = {{{', '.join(recorded)}}};",
             "/* where each socket connected or sent to */",
             f"static const char *const target_recorded[NSOCKS + 1] = {{{', '.join(targets)}}};",
             "", "/* what each socket received in the recording */",
             "struct expected {",
             "    const unsigned char *data;",
             "    size_t len;",
             "    const size_t (*gaps)[2]; /* (offset, size) received but not kept */",
             "    size_t ngaps;",
             "    int stream; /* bytes without boundaries (not datagrams) */",
             "};"]
    rows = ["    {NULL, 0, NULL, 0, 0},"]
    for sid in range(1, count + 1):
        rx = plan.received.get(sid)
        if rx is None or not rx.data:
            rows.append("    {NULL, 0, NULL, 0, 0},")
            continue
        lines.append(_array(f"received_{sid}", bytes(rx.data)))
        gaps = "NULL"
        if rx.gaps:
            pairs = ", ".join(f"{{{a}, {n}}}" for a, n in rx.gaps)
            lines.append(f"static const size_t gaps_{sid}[][2] = {{{pairs}}}; /* not kept */")
            gaps = f"gaps_{sid}"
        stream = int(sid in plan.sockets and plan.sockets[sid].stream)
        rows.append(f"    {{received_{sid}, {len(rx.data)}, {gaps}, {len(rx.gaps)}, {stream}}},")
    for sid, sock in plan.sockets.items():
        sizes = plan.received[sid].lengths
        if not sock.stream and sizes:
            lines.append(f"static const size_t sizes_{sid}[] = {{{', '.join(map(str, sizes))}}};")
    lines += ["static const struct expected received[NSOCKS + 1] = {", *rows, "};", ""]
    return "\n".join(lines)


def _run_function(body: list[str]) -> str:
    uses_addr = any("&a" in chunk for chunk in body)
    lines = ["/* The session's steps, in the order they started: 0 as recorded, 1 something",
             "   differs, 2 an address that cannot be used. */",
             "static int run(void)", "{"]
    if uses_addr:
        lines.append("    struct addr a;")
    if any("rc = " in chunk for chunk in body):
        lines.append("    int rc;")
    lines.append("")
    for chunk in body:
        lines += [line if not line or line.startswith("#") else "    " + line
                  for line in chunk.splitlines()]  # directives stay in column 0
    lines += ["    return 0;", "}", ""]
    return "\n".join(lines)


# -- one step --------------------------------------------------------------------------------


def _step(plan: Plan, call: Call, model: str, consts: Constants) -> str:
    sock = plan.sockets.get(call.sock or 0)
    what = _c_text(call.title)
    note = " (the engine made it on its own: here it is explicit)" if call.auto else ""
    head = f"/* step {call.seq}: {call.title.replace('*/', '* /')}{note} */"
    if call.skip:
        return f"/* step {call.seq}: {call.title.replace('*/', '* /')}: {call.skip} */\n"
    lines = _statements(plan, call, sock, model, consts, what)
    return "\n".join([head, *lines, ""])


def _check(expr: str, code: int = 1) -> list[str]:
    """`if (expr < 0) return code;`, its arguments wrapped when the line is long."""
    return [*_wrapped(f"if ({expr} < 0)"), f"    return {code};"]


def _wrapped(line: str, width: int = WIDTH - 8) -> list[str]:
    """A call too long for a line cut after its last comma that fits, outside string
    literals, the rest aligned under the call's first argument."""
    if len(line) <= width:
        return [line]
    cuts, quoted, escaped = [], False, False
    for i, char in enumerate(line[:width]):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            cuts.append(i)
    opening = line.find("(", 4)
    if not cuts or opening < 0 or cuts[-1] < opening:
        return [line]
    return [line[:cuts[-1] + 1], " " * (opening + 1) + line[cuts[-1] + 1:].lstrip()]


def _statements(plan: Plan, call: Call, sock: Sock | None, model: str, consts: Constants,
                what: str) -> list[str]:
    seq, sid, expect = call.seq, call.sock, _errno(call.error)
    op = call.op
    lead = f"{seq}, {what}, {expect}"
    if op == "socket":
        a = call.args
        made = call.made[0] if call.made else 0
        return _check(f"do_socket({lead}, {made}, {FAMILY[a['family']]}, {TYPE[a['type']]}, "
                      f"{a['proto']})")
    if op == "socketpair":
        a = call.args
        first, second = (*call.made, 0, 0)[:2]
        return _check(f"do_socketpair({lead}, {first}, {second}, {FAMILY[a['family']]}, "
                      f"{TYPE[a['type']]}, {a['proto']})")
    if op in ("bind", "connect", "sendto"):
        sock = known_sock(call, sock)
        assert call.address is not None
        # getaddrinfo knows no ports for SOCK_RAW: a raw socket's address is a datagram one's
        kinds = f"{FAMILY[sock.family]}, {TYPE['dgram' if sock.type == 'raw' else sock.type]}"
        if op == "bind":
            out = _check(f"to_addr({_c_text(call.address.text)}, {kinds}, &a)", 2)
            return [*out, *_check(f"do_bind({lead}, {sid}, &a)")]
        out = _check(f"destination({sid}, {_c_text(call.address.text)}, {kinds}, &a)", 2)
        if op == "connect":
            return out + _check(f"do_connect({lead}, {sid}, &a, {int(call.blocking)})")
        data, size = _payload(call, consts)
        return out + _check(f"send_to({lead}, {sid}, {data}, {size}, "
                            f"{_flags(call, SEND_FLAGS)}, &a)")
    if op == "send":
        data, size = _payload(call, consts)
        return _check(f"send_all({lead}, {sid}, {data}, {size}, {_flags(call, SEND_FLAGS)})")
    if op in ("recv", "recvfrom"):
        return _receive(call, sock, lead)
    if op == "expect":
        return _expect(call, sock, consts, what)
    return _plain(call, model, lead, what)


def _plain(call: Call, model: str, lead: str, what: str) -> list[str]:
    seq, sid, op = call.seq, call.sock, call.op
    done = _check(f"outcome({seq}, {what}, rc, {_errno(call.error)})")
    if op == "accept":
        new = call.made[0] if call.made else 0
        return _check(f"do_accept({lead}, {sid}, {new}, {int(call.blocking)})")
    if op == "listen":
        return [f"rc = listen(fds[{sid}], {call.args['backlog']});", *done]
    if op == "setsockopt":
        assert call.option is not None and call.sock is not None
        lines = setsockopt_lines(call.option, call.sock)
        return ["{", *(line if line.startswith("#") else "    " + line for line in lines), "}",
                *done]
    if op == "getsockopt":
        assert call.option is not None
        if call.so_error is not None and call.error is None:
            return _check(f"so_error({seq}, {what}, {sid}, {_errno(call.so_error)}, "
                          f"{int(call.auto)})")
        if call.option.kind == "string":
            return _read_name(call, what, done)
        raw = call.option.kind == "raw"  # a struct: its bytes, however long
        return ["{", "    unsigned char v[256];" if raw else "    int v = 0;",
                "    socklen_t n = sizeof v;",
                f"    rc = getsockopt(fds[{sid}], {call.option.level}, {call.option.name}, "
                f"(char *){'' if raw else '&'}v, &n);", *("    " + line for line in done),
                "    if (rc >= 0) /* not after an error the recording met too */",
                f"        show_bytes({seq}, v, n);" if raw else
                f'        printf("step {seq}: value %d\\n", v);', "}"]
    if op in ("getsockname", "getpeername"):
        return ["{", "    struct addr got;", "    got.len = sizeof got.ss;",
                f"    rc = {op}(fds[{sid}], (struct sockaddr *)&got.ss, &got.len);", "}", *done]
    if op == "shutdown":
        return [f"rc = shutdown(fds[{sid}], {HOW[call.args['how']]});", *done]
    if op == "close":
        return [f"do_close({seq}, {what}, {sid});"]
    if op == "set_blocking":
        if model == "poll":
            return ["/* every socket is non-blocking here; waits are bounded by --timeout */"]
        return [f"rc = set_blocking(fds[{sid}], {int(bool(call.args['blocking']))});", *done]
    if op == "set_inheritable":
        return [f"rc = set_inheritable(fds[{sid}], {int(bool(call.args['inheritable']))});",
                *done]
    if op == "wait":
        return [f"pause_for({seq}, {float(call.args['seconds'])!r});"]
    raise ExportError(f"export: step {call.seq} ({op}) has no C form yet")


def _read_name(call: Call, what: str, done: list[str]) -> list[str]:
    """getsockopt of a name (TCP_CONGESTION): said, and compared when the session set it."""
    assert call.option is not None
    seq, option = call.seq, call.option
    recorded = _c_text(call.read) if call.read is not None else "NULL"
    check = [f"    if (rc >= 0 && check_name({seq}, {what}, v, {recorded}) < 0)",
             "        return 1;"]
    return ["{", "    char v[256];", "    socklen_t n = sizeof v - 1;",
            f"    rc = getsockopt(fds[{call.sock}], {option.level}, {option.name}, v, &n);",
            *("    " + line for line in done), "    v[rc < 0 ? 0 : n] = '\\0';",
            *check, "}"]


def _receive(call: Call, sock: Sock | None, lead: str) -> list[str]:
    size = int(call.args.get("size", 65536))
    flags = _flags(call, RECV_FLAGS)
    if "MSG_PEEK" in call.args.get("flags", []) or sock is None:
        return _check(f"do_peek({lead}, {call.sock}, {size}, {flags})")
    if sock.stream:
        return _check(f"recv_until({lead}, {call.sock}, {call.total}, {int(call.eof)}, {size}, "
                      f"{flags})")
    sizes = f"sizes_{call.sock}" if call.error is None and call.total else "NULL"
    if sock.cut:
        return _check(f"recv_packets({lead}, {call.sock}, {call.total}, {sizes}, {size}, "
                      f"{flags}, {CUTS[sock.cut]})")
    return _check(f"recv_datagrams({lead}, {call.sock}, {call.total}, {sizes}, {size}, {flags})")


def _expect(call: Call, sock: Sock | None, consts: Constants, what: str) -> list[str]:
    if call.error is not None or sock is None:
        return [f"/* the recording did not find these bytes ({call.error}) */"]
    data, size = _payload(call, consts)
    seq, sid = call.seq, call.sock
    if sock.stream:
        read = f"recv_until({seq}, {what}, 0, {sid}, {call.total}, 0, 65536, 0)"
    elif sock.cut:
        read = (f"recv_packets({seq}, {what}, 0, {sid}, {call.total}, sizes_{sid}, 65536, 0, "
                f"{CUTS[sock.cut]})")
    else:
        read = f"recv_datagrams({seq}, {what}, 0, {sid}, {call.total}, sizes_{sid}, 65536, 0)"
    return [*_check(read), *_check(f"check_expect({seq}, {what}, {sid}, {call.at}, {data}, "
                                   f"{size})")]


def _errno(name: str | None) -> str:
    if not name:
        return "0"
    return err(name) if hasattr(errno, name) else f"-1 /* {name} */"


def _flags(call: Call, table: dict[str, int]) -> str:
    names = [n for n in call.args.get("flags", []) if n in table]
    return " | ".join(names) if names else "0"


def _payload(call: Call, consts: Constants) -> tuple[str, int]:
    data = call.data
    return consts.name(data, f"data_{call.seq}", lambda name: _array(name, data)), len(data)


def _array(name: str, data: bytes) -> str:
    """A static array of the bytes: an escaped string literal, or numbers when long."""
    if len(data) <= LITERAL_MAX:
        pieces = [_c_bytes(data[i:i + 16]) for i in range(0, len(data), 16)] or ['""']
        if len(pieces) == 1:
            return f"static const unsigned char {name}[] = {pieces[0]};"
        return f"static const unsigned char {name}[] =\n    " + "\n    ".join(pieces) + ";"
    rows = [", ".join(f"0x{b:02x}" for b in data[i:i + 12]) for i in range(0, len(data), 12)]
    return f"static const unsigned char {name}[] = {{\n    " + ",\n    ".join(rows) + "\n};"


def _c_bytes(data: bytes) -> str:
    """A C string literal of exactly these bytes (octal escapes never run into digits)."""
    out = []
    for byte in data:
        if byte in ESCAPES:
            out.append(ESCAPES[byte])
        elif 32 <= byte < 127:
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def _c_text(text: str) -> str:
    """Text as a C literal: the bytes a name stood for; an odd surrogate escaped."""
    try:
        return _c_bytes(text.encode("utf-8", "surrogateescape"))
    except UnicodeEncodeError:
        return _c_bytes(text.encode("utf-8", "backslashreplace"))
