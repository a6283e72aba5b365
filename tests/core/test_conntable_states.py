"""Explanations of rows and the port check before a bind."""

from __future__ import annotations

import pytest
from conn_samples import inet, unix

from workbench.core.conn_rows import view
from workbench.core.conn_states import explain, port_check
from workbench.core.conntable import (
    CLOSE,
    CLOSE_WAIT,
    ESTABLISHED,
    FIN_WAIT2,
    KIND_TCP,
    KIND_UDP,
    KIND_UNIX,
    LISTEN,
    SYN_RECV,
    TIME_WAIT,
    Owner,
)

OWNERS = {11: (Owner(7, "nginx"),), 21: (Owner(8, "app"),)}


@pytest.mark.parametrize(("state", "words"), [
    (TIME_WAIT, ["TIME-WAIT: the connection is over", "SO_REUSEADDR", "ephemeral ports"]),
    (CLOSE_WAIT, ["the peer closed", "must read to EOF", "descriptor leak"]),
    (FIN_WAIT2, ["we wait for the peer's FIN"]),
    (SYN_RECV, ["half-open", "SYN flood"]),
    (ESTABLISHED, ["Recv-Q 3: bytes received that the program has not read"]),
])
def test_states_are_explained(state: int, words: list[str]) -> None:
    row = inet(KIND_TCP, state, "127.0.0.1", 40000, "127.0.0.1", 80, rq=3, inode=12)
    text = "\n".join(explain(view(row)))
    for word in words:
        assert word in text


def test_a_listeners_queues_are_the_accept_queue() -> None:
    row = inet(KIND_TCP, LISTEN, "0.0.0.0", 80, rq=2, wq=511, inode=11)
    lines = explain(view(row, OWNERS, {11}), "+")
    assert lines[0] == 'tcp LISTEN 0.0.0.0:80 → 0.0.0.0:* — ("nginx",pid=7) (this workbench) ' \
                       "[new since the last refresh]"
    assert "Recv-Q 2: connections waiting to be accepted; Send-Q 511: the largest accept " \
           "queue (the listen() backlog)" in lines


def test_udp_and_unix_rows() -> None:
    udp = "\n".join(explain(view(inet(KIND_UDP, CLOSE, "0.0.0.0", 53, inode=1))))
    assert "UNCONN: not connected" in udp and "datagrams received" in udp
    connected = "\n".join(explain(view(inet(KIND_UDP, ESTABLISHED, "127.0.0.1", 5000,
                                            "127.0.0.1", 53, inode=2))))
    assert "connected datagram socket" in connected
    sock = "\n".join(explain(view(unix(KIND_UNIX, ESTABLISHED, b"", 22, 23)), "-"))
    assert "Peer shows the inode" in sock and "[gone since the last refresh]" in sock


ROWS = [
    inet(KIND_TCP, LISTEN, "127.0.0.1", 8080, inode=11),
    inet(KIND_TCP, ESTABLISHED, "127.0.0.1", 8080, "127.0.0.1", 40000, inode=12),
    inet(KIND_TCP, TIME_WAIT, "127.0.0.1", 9090, "127.0.0.1", 40001, cookie=5),
    inet(KIND_TCP, LISTEN, "::", 7070, inode=13),
    inet(KIND_UDP, CLOSE, "0.0.0.0", 5353, inode=14),
    unix(KIND_UNIX, LISTEN, b"/tmp/app.sock", 21),
    unix(KIND_UNIX, LISTEN, b"\0hidden", 22),
]


@pytest.mark.parametrize(("address", "transport", "says"), [
    ("127.0.0.1:8080", "tcp", 'held by a listener by ("nginx",pid=7)'),
    ("0.0.0.0:8080", "tcp", "held by a listener"),
    ("[::]:8080", "tcp", "held by a listener"),
    ("127.0.0.2:8080", "tcp", None),
    ("127.0.0.1:9090", "tcp", "held only by 1 TIME_WAIT connection(s)"),
    ("127.0.0.1:7070", "tcp", "held by a listener"),  # the v6 wildcard holds v4 too
    ("127.0.0.1:8081", "tcp", None),
    ("127.0.0.1:0", "tcp", None),
    ("127.0.0.1:5353", "udp", "held by a bound socket"),
    ("127.0.0.1:5353", "tcp", None),
    ("unix:/tmp/app.sock", "tcp", 'unix:/tmp/app.sock is already bound by ("app",pid=8)'),
    ("unix:@hidden", "tcp", "unix:@hidden is already bound"),
    ("unix:/tmp/other.sock", "tcp", None),
    ("not an address", "tcp", None),
])
def test_port_check(address: str, transport: str, says: str | None) -> None:
    found = port_check(address, ROWS, OWNERS, transport)
    if says is None:
        assert found is None
    else:
        assert found is not None and says in found and "\n" not in found


def test_only_time_wait_says_so_reuseaddr_would_do() -> None:
    found = port_check("127.0.0.1:9090", ROWS)
    assert found is not None and "SO_REUSEADDR" in found and "EADDRINUSE" in found
