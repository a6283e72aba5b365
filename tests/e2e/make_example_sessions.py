"""Record the example sessions in sessions/ by running them on live sockets.

Run `python tests/e2e/make_example_sessions.py` after changing the step format; then
review the diff of sessions/ before committing it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from workbench.core.session import PeerSpec, Session
from workbench.io.engine import Engine
from workbench.io.peerset import started_peers
from workbench.io.sessionfile import save_session

OUT = Path(__file__).resolve().parents[2] / "sessions"
BINARY = bytes([0x00, 0xFF, 0x7F, 0x80, 0x0D, 0x0A]) + bytes(range(16))


def tcp_echo(e: Engine) -> None:
    s = e.call("socket", family="inet", type="stream").result["sock"]
    e.call("setsockopt", s, option="TCP_NODELAY", value=1)
    e.call("connect", s, address="peer:echo")
    e.call("send", s, data=b"hello, echo\r\n")
    e.call("expect", s, data=b"hello, echo\r\n", timeout=5)
    e.call("send", s, data=BINARY)
    e.call("expect", s, data=BINARY, timeout=5)
    e.call("shutdown", s, how="wr")
    e.call("wait", seconds=0.2)
    e.call("close", s)


def udp_echo(e: Engine) -> None:
    s = e.call("socket", family="inet", type="dgram").result["sock"]
    e.call("bind", s, address="127.0.0.1:0")
    e.call("sendto", s, data=b"first datagram", address="peer:echo")
    e.call("sendto", s, data=BINARY, address="peer:echo")
    e.call("sendto", s, data=b"", address="peer:echo")
    e.call("wait", seconds=0.2)
    e.call("close", s)


def unix_stream(e: Engine) -> None:
    s = e.call("socket", family="unix", type="stream").result["sock"]
    e.call("connect", s, address="peer:echo")
    e.call("send", s, data=b"over a unix stream\n")
    e.call("expect", s, data=b"over a unix stream\n", timeout=5)
    e.call("close", s)


def unix_dgram(e: Engine) -> None:
    s = e.call("socket", family="unix", type="dgram").result["sock"]
    e.call("bind", s, address="unix:")  # autobind: the echo peer needs a return address
    e.call("sendto", s, data=b"one", address="peer:echo")
    e.call("sendto", s, data=b"two\x00three", address="peer:echo")
    e.call("wait", seconds=0.2)
    e.call("close", s)


def connect_refused(e: Engine) -> None:
    # A listener bound but not listening: its port is closed, whatever machine this runs on.
    closed = e.call("socket", family="inet", type="stream").result["sock"]
    e.call("bind", closed, address="127.0.0.1:0")
    s = e.call("socket", family="inet", type="stream").result["sock"]
    e.call("connect", s, address=f"sock:{closed}")
    n = e.call("socket", family="inet", type="stream").result["sock"]
    e.call("set_blocking", n, blocking=False)
    e.call("connect", n, address=f"sock:{closed}")
    e.call("wait", seconds=0.1)
    for sock in (closed, s, n):
        e.call("close", sock)


def listener(e: Engine) -> None:
    srv = e.call("socket", family="inet", type="stream").result["sock"]
    e.call("setsockopt", srv, option="SO_REUSEADDR", value=1)
    e.call("bind", srv, address="127.0.0.1:0")
    e.call("listen", srv, backlog=16)
    cli = e.call("socket", family="inet", type="stream").result["sock"]
    e.call("connect", cli, address=f"sock:{srv}")
    e.call("wait", seconds=0.1)
    child = next(s.result["sock"] for s in e.session.steps if s.op == "accept" and s.ok)
    e.call("send", cli, data=b"ping\n")
    e.call("expect", child, data=b"ping\n", timeout=5)
    e.call("send", child, data=b"pong\n")
    e.call("expect", cli, data=b"pong\n", timeout=5)
    e.call("close", cli)
    e.call("wait", seconds=0.1)
    e.call("close", child)
    e.call("close", srv)


EXAMPLES: dict[str, tuple[str, list[PeerSpec], Callable[[Engine], None]]] = {
    "tcp-echo": ("TCP client and an echo peer, text and binary", [PeerSpec("echo", "echo")],
                 tcp_echo),
    "udp-echo": ("UDP datagrams to an echo peer", [PeerSpec("echo", "echo", "udp")], udp_echo),
    "unix-stream": ("Unix stream client and an echo peer",
                    [PeerSpec("echo", "echo", "unix-stream")], unix_stream),
    "unix-dgram": ("Unix datagrams with an autobound client",
                   [PeerSpec("echo", "echo", "unix-dgram")], unix_dgram),
    "connect-refused": ("connect to a closed port: ECONNREFUSED, blocking and not", [],
                        connect_refused),
    "tcp-listener": ("a listener, a client, auto-accept and a ping-pong", [], listener),
}


def record(name: str) -> Path:
    title, peers, script = EXAMPLES[name]
    session = Session(peers=peers, title=title)
    with started_peers(peers) as addresses:
        engine = Engine(session, peers=addresses)
        try:
            script(engine)
        finally:
            engine.shutdown()
    return save_session(session, OUT / f"{name}.json")


if __name__ == "__main__":
    for example in sys.argv[1:] or EXAMPLES:
        print(record(example))
