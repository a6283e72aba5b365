"""The built-in demo: a loopback echo peer and a client with a first exchange."""

from __future__ import annotations

from typing import TextIO

from workbench.core.session import PeerSpec, Session
from workbench.io.engine import Engine

DEMO_PEER = PeerSpec("echo", "echo")
GREETING = b"hello from socket workbench\r\n"


def demo_session() -> Session:
    return Session(peers=[DEMO_PEER], title="demo: a TCP client talking to an echo peer")


def run_demo_steps(engine: Engine) -> int:
    """Create a client, connect it to the echo peer and say hello; returns its id."""
    sock = engine.call("socket", family="inet", type="stream").result["sock"]
    engine.call("connect", sock, address="peer:echo")
    engine.call("send", sock, data=GREETING)
    engine.call("expect", sock, data=GREETING, timeout=5.0)
    return sock


def run_headless_demo(out: TextIO) -> int:
    from workbench.io.peerset import started_peers

    session = demo_session()
    with started_peers(session.peers) as addresses:
        engine = Engine(session, peers=addresses)
        try:
            run_demo_steps(engine)
        finally:
            engine.shutdown()
        print(f"echo peer on {addresses['echo']}", file=out)
    for step in session.ordered():  # in the order the calls started
        mark = "auto " if step.auto else ""
        print(f"{step.t:9.6f}  {mark}{step.describe()} -> {step.outcome()}", file=out)
    return 0
