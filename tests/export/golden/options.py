#!/usr/bin/env python3
"""struct and name options, raw sockets

Exported from a Socket Workbench session: the same calls in the same order with the
same bytes. It checks that each call ends as it did in the recording and that every
socket receives the recorded bytes.

usage: python3 PROGRAM [--peer NAME=ADDRESS] [--target N=ADDRESS] [--timeout SECONDS]
ADDRESS: host:port, [v6]:port, unix:/path or unix:@name
exit: 0 as recorded, 1 something differs (said on stderr), 2 a bad command line
I/O model: blocking
needs CAP_NET_RAW (run as root) for its raw sockets
"""

import argparse
import contextlib
import ctypes
import errno
import selectors
import socket
import struct
import sys
import time

PEERS = {}  # where each peer listened when recorded (None: not recorded)
TARGETS = {}  # where each socket connected or sent to
RECEIVED = {  # what each socket received in the recording
    1: b'',
    2: b'',
    3: b'',
    4: b'',
}
NOT_KEPT = {}  # (offset, size) received but not kept: not compared
DATAGRAMS = {}  # sizes of the datagrams each socket received

# a set bit blocks that ICMPv6 type; these pass: 129
ICMP6_FILTER_8 = struct.pack(
    "=8I", 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
    0xfffffffd, 0xffffffff, 0xffffffff, 0xffffffff)

# the filter 'icmp host 127.0.0.1', compiled as the workbench did: struct sock_filter[11]
FILTER_10 = ctypes.create_string_buffer(bytes.fromhex(
    '3000000000000000740000000400000015000007040000003000000009000000'
    '1500000501000000200000000c000000150002000100007f2000000010000000'
    '150000010100007f06000000000004000600000000000000'
), 88)

CUT = {3: 'raw6', 4: 'ip'}  # raw and ping sockets: what of a datagram is compared


class Differs(Exception):
    """This run differs from the recording: the message says where and how."""


class Usage(Exception):
    """A bad command line: the message says what to give instead."""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, as every mistake on the command line
        raise Usage(f"{message}; --help lists the options")


def parse_args(argv):
    parser = Parser(description=__doc__.splitlines()[0],
                    epilog="ADDRESS: host:port, [v6]:port, unix:/path or unix:@name")
    parser.add_argument("--peer", action="append", default=[], metavar="NAME=ADDRESS",
                        help="where a peer of the session listens; recorded: " + (", ".join(
                            f"{n}={a or 'not recorded, required'}" for n, a in PEERS.items())
                            or "none"))
    parser.add_argument("--target", action="append", default=[], metavar="N=ADDRESS",
                        help="where socket N connects or sends; recorded: " + (", ".join(
                            f"{n}={a}" for n, a in TARGETS.items()) or "none"))
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="the longest any wait for a socket lasts (default 10)")
    args = parser.parse_args(argv)
    if not 0 < args.timeout <= 86400:
        raise Usage("--timeout takes seconds over 0, e.g. 5")
    args.peers = dict(PEERS)
    for item in args.peer:
        name, _, address = item.partition("=")
        if name not in PEERS or not address:
            raise Usage(f"--peer {item!r}: write NAME=ADDRESS with NAME one of "
                        f"{', '.join(PEERS) or 'none'}")
        args.peers[name] = address
    args.targets = {}
    for item in args.target:
        number, _, address = item.partition("=")
        if not number.isdigit() or int(number) not in TARGETS or not address:
            raise Usage(f"--target {item!r}: write N=ADDRESS with N one of "
                        f"{', '.join(map(str, TARGETS)) or 'none'}")
        args.targets[int(number)] = address
    for name, address in args.peers.items():
        if address is None:
            raise Usage(f"peer {name}: the session did not record where it listens; "
                        f"give --peer {name}=HOST:PORT (or unix:/path)")
    return args


def sockaddr(text, family, kind):
    """A socket address from host:port, [v6]:port, unix:/path, unix:@name or unix:."""
    if text.startswith("unix:") or text.startswith("/"):
        path = text[5:] if text.startswith("unix:") else text
        return "\0" + path[1:] if path.startswith("@") else path
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise Usage(f"address {text!r}: write host:port, [v6]:port, unix:/path or unix:@name")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return socket.getaddrinfo(host, int(port), family, kind)[0][4]
    except socket.gaierror as exc:
        raise Usage(f"address {text!r}: {exc.strerror}") from None


def show(result):
    """A call's result for the log: sockets say ok, addresses and numbers as they are."""
    if isinstance(result, tuple) and result and isinstance(result[0], socket.socket):
        return "ok" if isinstance(result[-1], socket.socket) else f"ok, from {result[-1]!r}"
    return "ok" if result is None or isinstance(result, socket.socket) else repr(result)


def show_address(address):
    """An address as the workbench writes it: host:port, [v6]:port, unix:/path, unix:@name."""
    if isinstance(address, tuple):
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if isinstance(address, bytes):
        address = address.decode("utf-8", "backslashreplace")
    return "unix:@" + address[1:] if address.startswith("\0") else "unix:" + address


def errno_name(number):
    return errno.errorcode.get(number, f"E{number}") if number else "no error"


class Base:
    def __init__(self, args, stack):
        self.args, self.stack = args, stack
        self.socks = {}
        self.rx = {sid: bytearray() for sid in RECEIVED}
        self.datagrams = {sid: 0 for sid in RECEIVED}
        self.stopped = set()  # sockets whose end of stream or error awaits its own step

    def say(self, seq, text):
        print(f"step {seq}: {text}", flush=True)

    def address(self, sid, recorded, family, kind):
        """Where socket `sid` connects or sends: --target, --peer, own socket, as recorded."""
        text = self.args.targets.get(sid, recorded)
        if text.startswith("peer:"):
            if text[5:] not in self.args.peers:
                raise Usage(f"{text}: no such peer; the session has {', '.join(PEERS) or 'none'}")
            text = self.args.peers[text[5:]]
        elif text.startswith("sock:"):
            own = self.socks.get(int(text[5:])) if text[5:].isdigit() else None
            if own is None:
                raise Usage(f"{text}: no such socket of this program")
            return own.getsockname()
        return sockaddr(text, family, kind)

    def local(self, text, family, kind):
        return sockaddr(text, family, kind)

    def outcome(self, seq, what, expect, exc):
        """None when the call ended as recorded; Differs when it did not."""
        got = errno_name(exc.errno) if exc is not None else None
        if exc is not None and exc.errno is None:
            got = type(exc).__name__
        if expect is not None and exc is not None and exc.errno == getattr(errno, expect, -1):
            self.say(seq, f"{what}: {expect}, as recorded")
            return None
        if exc is None and expect is None:
            return None
        why = f"failed: {got} ({exc.strerror or exc})" if exc is not None else "succeeded"
        return Differs(f"step {seq}: {what} {why}; the recording: {expect or 'success'}")

    def call(self, seq, what, expect, fn, *args):
        try:
            result = fn(*args)
        except OSError as exc:
            differs = self.outcome(seq, what, expect, exc)
            if differs:
                raise differs from None
            return None
        differs = self.outcome(seq, what, expect, None)
        if differs:
            raise differs
        self.say(seq, f"{what}: {show(result)}")
        return result

    def read_name(self, seq, what, expect, sid, level, name, recorded):
        """getsockopt of a name (TCP_CONGESTION): said, and compared when recorded."""
        raw = self.call(seq, what, expect, self.socks[sid].getsockopt, level, name, 256)
        if raw is None or recorded is None:
            return
        got = raw.split(b"\0", 1)[0].decode("ascii", "replace")
        if got != recorded:
            raise Differs(f"step {seq}: {what}: {got!r}; the recording: {recorded!r}")
        self.say(seq, f"{what}: {got!r}, as recorded")

    def bind(self, seq, what, expect, sid, address):
        """bind, and say where: a port 0 or an autobound name is chosen now."""
        sock = self.socks[sid]
        try:
            sock.bind(address)
        except OSError as exc:
            differs = self.outcome(seq, what, expect, exc)
            if differs:
                raise differs from None
            return
        differs = self.outcome(seq, what, expect, None)
        if differs:
            raise differs
        self.say(seq, f"{what}: ok, bound to {show_address(sock.getsockname())}")

    def add(self, sid, sock):
        if sock is not None:
            self.stack.callback(sock.close)
            self.socks[sid] = sock
            self.prepare(sock)
        return sock

    def socket(self, seq, what, expect, sid, family, kind, proto):
        self.add(sid, self.call(seq, what, expect, socket.socket, family, kind, proto))

    def socketpair(self, seq, what, expect, sids, family, kind, proto):
        pair = self.call(seq, what, expect, socket.socketpair, family, kind, proto)
        for i, sock in enumerate(pair or ()):
            self.add(sids[i], sock)

    def got_bytes(self, seq, sid, data):
        self.rx.setdefault(sid, bytearray()).extend(data)

    def got_datagram(self, seq, sid, data):
        sizes = DATAGRAMS.get(sid, [])
        count = self.datagrams.get(sid, 0)
        if count >= len(sizes) or len(data) != sizes[count]:
            want = sizes[count] if count < len(sizes) else "none"
            raise Differs(f"step {seq}: socket {sid} received a datagram of {len(data)} "
                          f"bytes; the recording: {want}")
        self.datagrams[sid] = count + 1
        self.got_bytes(seq, sid, data)

    def owed(self, sid, sock):
        """Whether a stream socket has yet to take bytes the recording says it received."""
        return (sid not in self.stopped and sock.fileno() >= 0
                and sock.type == socket.SOCK_STREAM and len(self.rx[sid]) < len(RECEIVED[sid]))

    def drain(self, sid, sock, data):
        """Bytes a socket took while the program waited for another: an end of stream
        (or an error) is left for the step that meets it."""
        if data:
            self.got_bytes(None, sid, data)
        else:
            self.stopped.add(sid)

    def failed(self, seq, what, exc):
        return Differs(f"step {seq}: {what} failed: {errno_name(exc.errno)} "
                       f"({exc.strerror or exc}); the recording: success")

    def close(self, seq, what, expect, sid):
        sock = self.socks.get(sid)
        if sock is not None:
            sock.close()
        self.say(seq, f"{what}: ok")

    def check_expect(self, seq, what, sid, at, data):
        if bytes(self.rx[sid][at:at + len(data)]) != data:
            raise Differs(f"step {seq}: {what}: socket {sid} did not receive the expected "
                          f"{len(data)} bytes at offset {at}")
        self.say(seq, f"{what}: found at {at}")

    def compare(self):
        """0 when every socket received the recorded bytes, else 1 with what differs."""
        code = 0
        for sid, want in RECEIVED.items():
            got = bytes(self.rx.get(sid, b""))
            skip = NOT_KEPT.get(sid, [])
            if len(got) != len(want) or _differs(got, want, skip) is not None:
                at = _differs(got, want, skip)
                where = f"; first difference at offset {at}" if at is not None else ""
                print(f"socket {sid}: received {len(got)} bytes, the recording "
                      f"{len(want)}{where}", file=sys.stderr)
                code = 1
        return code


def _differs(got, want, skip):
    """The first offset where got and want differ outside the not-kept stretches."""
    for at in range(min(len(got), len(want))):
        if got[at] != want[at] and not any(a <= at < a + n for a, n in skip):
            return at
    return None if len(got) == len(want) else min(len(got), len(want))

class Run(Base):
    """Blocking sockets, as the session had them; a socket the session made
    non-blocking is waited for with select when a call would block."""

    def prepare(self, sock):
        pass

    def wait(self, seq, sock, events, sid):
        """Wait until the socket is ready, at most --timeout. While it waits to write,
        the program's other stream sockets take the bytes the recording says they
        received, as the workbench's auto-receive did: a send to one of the program's
        own sockets never waits for a reader that is itself waiting."""
        with selectors.DefaultSelector() as sel:
            sel.register(sock, events, None)
            for other, peer in self.socks.items():
                if events == selectors.EVENT_WRITE and peer is not sock and self.owed(other, peer):
                    sel.register(peer, selectors.EVENT_READ, other)
            while True:
                ready = sel.select(self.args.timeout)
                if not ready:
                    what = "readable" if events == selectors.EVENT_READ else "writable"
                    raise Differs(f"step {seq}: socket {sid} was not {what} within "
                                  f"{self.args.timeout:g} s")
                if any(key.data is None for key, _ in ready):
                    return
                for key, _ in ready:
                    self.take_owed(key.data, key.fileobj)
                    if not self.owed(key.data, key.fileobj):
                        sel.unregister(key.fileobj)

    def settle(self, seq, sid, expect):
        """Before a receive the recording saw fail: an error (a reset, a refusal) makes
        the socket readable when it comes; only EAGAIN is met at once."""
        if expect not in ("EAGAIN", "EWOULDBLOCK"):
            self.wait(seq, self.socks[sid], selectors.EVENT_READ, sid)

    def take_owed(self, sid, sock):
        want = min(65536, len(RECEIVED[sid]) - len(self.rx[sid]))
        try:
            self.drain(sid, sock, sock.recv(want, getattr(socket, "MSG_DONTWAIT", 0)))
        except BlockingIOError:
            pass
        except OSError:
            self.stopped.add(sid)

    def connect(self, seq, what, expect, sid, address, blocking):
        self.call(seq, what, expect, self.socks[sid].connect, address)

    def accept(self, seq, what, expect, sid, new, blocking):
        made = self.call(seq, what, expect, self.socks[sid].accept)
        if made is not None:
            self.add(new, made[0])

    def send(self, seq, what, expect, sid, data, flags):
        if expect is not None:
            self.call(seq, what, expect, self.socks[sid].send, data, flags)
            return
        sock, view, sent = self.socks[sid], memoryview(data), 0
        while True:  # at least one call: an empty send is an empty datagram
            try:
                sent += sock.send(view[sent:], flags)
            except BlockingIOError:
                self.wait(seq, sock, selectors.EVENT_WRITE, sid)
                continue
            except OSError as exc:
                raise self.failed(seq, what, exc) from None
            if sent >= len(data):
                break
        self.say(seq, f"{what}: {sent} bytes sent")

    def sendto(self, seq, what, expect, sid, data, flags, address):
        sent = self.call(seq, what, expect, self.socks[sid].sendto, data, flags, address)
        if sent is not None and sent != len(data):
            raise Differs(f"step {seq}: {what} sent {sent} of {len(data)} bytes")

    def take(self, seq, what, sid, size, flags, datagram):
        sock = self.socks[sid]
        while True:
            try:
                return sock.recvfrom(size, flags)[0] if datagram else sock.recv(size, flags)
            except BlockingIOError:
                self.wait(seq, sock, selectors.EVENT_READ, sid)
            except OSError as exc:
                raise self.failed(seq, what, exc) from None

    def recv(self, seq, what, expect, sid, total, eof=False, size=65536, flags=0):
        if expect is not None:
            self.settle(seq, sid, expect)
            self.call(seq, what, expect, self.socks[sid].recv, size, flags)
            return
        got = self.rx[sid]
        while len(got) < total:
            chunk = self.take(seq, what, sid, min(size, total - len(got)), flags, False)
            if not chunk:
                raise Differs(f"step {seq}: {what}: socket {sid} reached end of stream "
                              f"after {len(got)} bytes; the recording had {total}")
            self.got_bytes(seq, sid, chunk)
        if eof:
            chunk = self.take(seq, what, sid, size, flags, False)
            if chunk:
                self.got_bytes(seq, sid, chunk)
                raise Differs(f"step {seq}: {what}: socket {sid} received {len(chunk)} "
                              "more bytes where the recording read end of stream")
        self.say(seq, f"{what}: {'end of stream' if eof else f'{len(got)} bytes in all'}")

    def recv_datagram(self, seq, what, expect, sid, count, size=65536, flags=0):
        if expect is not None:
            self.settle(seq, sid, expect)
            self.call(seq, what, expect, self.socks[sid].recvfrom, size, flags)
            return
        while self.datagrams[sid] < count:
            self.got_datagram(seq, sid, self.take(seq, what, sid, size, flags, True))
        self.say(seq, f"{what}: datagram {count} received")

    def expect(self, seq, what, error, sid, at, data, count=None):
        if count is None:
            self.recv(seq, what, None, sid, at + len(data))
        else:
            self.recv_datagram(seq, what, None, sid, count)
        self.check_expect(seq, what, sid, at, data)

    def so_error(self, seq, what, error, sid, expect, settle):
        sock = self.socks[sid]
        if settle:  # the recording read it once the connect completed
            self.wait(seq, sock, selectors.EVENT_WRITE, sid)
        got = errno_name(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
        if got != (expect or "no error"):
            raise Differs(f"step {seq}: {what}: {got}; the recording: {expect or 'no error'}")
        self.say(seq, f"{what}: {got}, as recorded")

    def pause(self, seq, what, expect, seconds):
        time.sleep(seconds)
        self.say(seq, f"waited {seconds:g} s")


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
        super().got_datagram(seq, sid, data)

    def take(self, seq, what, sid, size, flags, datagram):
        if sid in CUT:  # a packet that never comes: the wait is bounded by --timeout
            self.wait(seq, self.socks[sid], selectors.EVENT_READ, sid)
        return super().take(seq, what, sid, size, flags, datagram)


def steps(run):
    """The session's steps, in the order they started."""
    s = run.socks
    run.socket(
        0, 'socket(family=inet, type=dgram)', None, 1, socket.AF_INET, socket.SOCK_DGRAM, 0)
    run.call(
        1, 'setsockopt(#1, option=IP_ADD_MEMBERSHIP, value=239.255.0.1 on 127.0.0.1)', None,
        s[1].setsockopt, socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
        struct.pack("@4s4si", socket.inet_aton('239.255.0.1'), socket.inet_aton('127.0.0.1'), 0))
    run.call(
        2, 'setsockopt(#1, option=IP_MULTICAST_IF, value=127.0.0.1)', None, s[1].setsockopt,
        socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton('127.0.0.1'))
    run.socket(
        3, 'socket(family=inet, type=stream)', None, 2, socket.AF_INET, socket.SOCK_STREAM, 0)
    run.call(
        4, 'setsockopt(#2, option=TCP_CONGESTION, value=reno)', None, s[2].setsockopt,
        socket.IPPROTO_TCP, socket.TCP_CONGESTION, b'reno')
    run.read_name(
        5, 'getsockopt(#2, option=TCP_CONGESTION)', None, 2, socket.IPPROTO_TCP,
        socket.TCP_CONGESTION, 'reno')
    run.call(
        6, 'setsockopt(#2, option=IP_OPTIONS, value=01 01 01 00)', None, s[2].setsockopt,
        socket.IPPROTO_IP, socket.IP_OPTIONS, b'\x01\x01\x01\x00')
    run.socket(
        7, 'socket(family=inet6, type=raw, proto=58, approved=True)', None, 3, socket.AF_INET6,
        socket.SOCK_RAW, 58)
    run.call(
        8, 'setsockopt(#3, option=ICMP6_FILTER, value=pass 129)', None, s[3].setsockopt,
        socket.IPPROTO_ICMPV6, 1, ICMP6_FILTER_8)
    run.socket(
        9, 'socket(family=inet, type=raw, proto=1, approved=True)', None, 4, socket.AF_INET,
        socket.SOCK_RAW, 1)
    run.call(
        10, 'setsockopt(#4, option=SO_ATTACH_FILTER, value=icmp host 127.0.0.1)', None,
        s[4].setsockopt, socket.SOL_SOCKET, 26,
        struct.pack("HP", 11, ctypes.addressof(FILTER_10)))
    run.close(11, 'close(#1)', None, 1)
    run.close(12, 'close(#2)', None, 2)
    run.close(13, 'close(#3)', None, 3)
    run.close(14, 'close(#4)', None, 4)


def main(argv=None):
    try:
        args = parse_args(argv)
    except Usage as exc:
        print(f"{sys.argv[0]}: {exc}", file=sys.stderr)
        return 2
    with contextlib.ExitStack() as stack:  # every socket is closed on every path
        run = Run(args, stack)
        try:
            steps(run)
        except Usage as exc:
            print(f"{sys.argv[0]}: {exc}", file=sys.stderr)
            return 2
        except Differs as exc:
            print(f"differs: {exc}", file=sys.stderr)
            return 1
        code = run.compare()
    if code == 0:
        print("as recorded: every call ended as it did and each socket received its bytes")
    return code


if __name__ == "__main__":
    sys.exit(main())
