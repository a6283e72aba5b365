"""Ground truth: the netlink table equals what `ss` prints at the same moment.

A known set of sockets is held open (TCP listening with a connection waiting and
established with unread bytes, UDP bound and connected with a datagram queued, Unix
stream and datagram, IPv4 and IPv6). `ss` runs before and after one dump: the known
rows must equal ss's field for field, and every row ss printed the same both times
must be in the dump.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from ss_text import SS, inet_key, ss_lines, unix_inode
from support import HAS_IPV6, wait_until

from workbench.core.conn_format import BASE, Context, render
from workbench.core.conn_rows import view
from workbench.core.conntable import KIND_TCP, KIND_UDP, KIND_UNIX
from workbench.io.conns.netlink import dump

pytestmark = pytest.mark.skipif(SS is None, reason="ss (iproute2) is not installed")


@dataclass
class Known:
    socks: list[socket.socket] = field(default_factory=list)
    tcp: set[tuple[str, str]] = field(default_factory=set)  # (local, peer) as ss writes them
    udp: set[tuple[str, str]] = field(default_factory=set)
    unix: set[int] = field(default_factory=set)

    def keep(self, *socks: socket.socket) -> None:
        self.socks.extend(socks)


def _text(family: int, addr: tuple[str, int] | None) -> str:
    if not addr:
        return "0.0.0.0:*" if family == socket.AF_INET else "[::]:*"
    host, port = addr[0], addr[1]
    return f"{host}:{port}" if family == socket.AF_INET else f"[{host}]:{port}"


def _key(s: socket.socket) -> tuple[str, str]:
    peer = None
    with contextlib.suppress(OSError):
        peer = s.getpeername()
    return _text(s.family, s.getsockname()), _text(s.family, peer)


def _tcp(known: Known, family: int, host: str) -> None:
    lst = socket.socket(family, socket.SOCK_STREAM)
    lst.bind((host, 0))
    lst.listen(8)
    client = socket.create_connection(lst.getsockname()[:2], timeout=5)
    server, _ = lst.accept()
    waiting = socket.create_connection(lst.getsockname()[:2], timeout=5)  # not accepted
    client.sendall(b"hello")  # unread: the server's Recv-Q
    assert server.recv(5, socket.MSG_PEEK | socket.MSG_WAITALL) == b"hello"  # arrived
    assert select.select([lst], [], [], 5)[0], "the waiting connection never queued"
    known.keep(lst, client, server, waiting)
    known.tcp |= {_key(s) for s in (lst, client, server, waiting)}


def _udp(known: Known, family: int, host: str) -> None:
    bound = socket.socket(family, socket.SOCK_DGRAM)
    bound.bind((host, 0))
    connected = socket.socket(family, socket.SOCK_DGRAM)
    connected.connect(bound.getsockname()[:2])
    connected.send(b"queued")  # unread: the bound socket's Recv-Q
    assert select.select([bound], [], [], 5)[0], "the datagram never arrived"
    known.keep(bound, connected)
    known.udp |= {_key(s) for s in (bound, connected)}


def _unix(known: Known, tmp: Path) -> None:
    lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lst.bind(str(tmp / "s.sock"))
    lst.listen(4)
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(str(tmp / "s.sock"))
    server, _ = lst.accept()
    client.sendall(b"unread")
    dgram = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dgram.bind(str(tmp / "d.sock"))
    pair = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    known.keep(lst, client, server, dgram, *pair)
    known.unix |= {os.fstat(s.fileno()).st_ino for s in (lst, client, server, dgram, *pair)}


@pytest.fixture
def known(tmp_path: Path) -> Iterator[Known]:
    k = Known()
    try:
        _tcp(k, socket.AF_INET, "127.0.0.1")
        _udp(k, socket.AF_INET, "127.0.0.1")
        if HAS_IPV6:
            _tcp(k, socket.AF_INET6, "::1")
            _udp(k, socket.AF_INET6, "::1")
        _unix(k, tmp_path)
        yield k
    finally:
        for s in k.socks:
            s.close()


def _ours(kind: int, netid: bool) -> list[tuple[str, ...]]:
    from workbench.io.conns.source import _ifnames

    rows = dump((kind,))
    columns = BASE if netid else BASE[1:]
    return [tuple(line.split()) for line in render(rows, columns, Context(ifnames=_ifnames()),
                                                   header=False)]


def _compare(flags: str, kind: int, netid: bool, key, wanted) -> None:  # type: ignore[no-untyped-def]
    before = ss_lines(flags)
    ours = _ours(kind, netid)
    after = ss_lines(flags)
    mine = sorted(r for r in ours if key(r) in wanted)
    assert mine == sorted(r for r in before if key(r) in wanted)
    assert mine == sorted(r for r in after if key(r) in wanted)
    assert len({key(r) for r in mine}) == len(wanted), "a known socket is missing"
    # Every socket ss printed both times was there during the dump too. Other sockets'
    # queues may move in between (other programs run), so they are compared by their
    # state and addresses; the known sockets above are compared field for field.
    def ident(rows: list[tuple[str, ...]]) -> set[tuple[str, ...]]:
        skip = 2 if netid else 1  # past Netid and State: Recv-Q and Send-Q
        return {r[:skip] + r[skip + 2:] for r in rows}

    steady = ident(before) & ident(after)
    missed = steady - ident(ours)
    assert not missed, f"sockets ss printed twice but the dump missed: {sorted(missed)[:5]}"


def test_tcp_rows_equal_ss(known: Known) -> None:
    _compare("ta", KIND_TCP, False, inet_key, known.tcp)


def test_udp_rows_equal_ss(known: Known) -> None:
    _compare("ua", KIND_UDP, False, inet_key, known.udp)


def test_unix_rows_equal_ss(known: Known) -> None:
    _compare("xa", KIND_UNIX, True, unix_inode, known.unix)


def test_queues_and_states_are_the_kernels(known: Known) -> None:
    """Spot checks that would catch a swapped field: unread bytes, a waiting connection."""
    rows = {(r[3], r[4]): r for r in _ours(KIND_TCP, False)}
    listeners = [r for k, r in rows.items() if k in known.tcp and r[0] == "LISTEN"]
    assert listeners and all(r[1] == "1" and r[2] == "8" for r in listeners)
    assert any(r[0] == "ESTAB" and r[1] == "5" for k, r in rows.items() if k in known.tcp)


def test_the_workbench_sockets_are_marked_mine(engine) -> None:  # type: ignore[no-untyped-def]
    from support import ok

    sid = ok(engine.call("socket", family="inet", type="stream")).result["sock"]
    ok(engine.call("bind", sid, address="127.0.0.1:0"))
    ok(engine.call("listen", sid))
    usid = ok(engine.call("socket", family="inet6" if HAS_IPV6 else "inet",
                          type="dgram")).result["sock"]
    ok(engine.call("bind", usid, address="[::1]:0" if HAS_IPV6 else "127.0.0.1:0"))
    infos = {i.id: i for i in engine.sockets()}
    inodes = {infos[sid].inode, infos[usid].inode}
    assert all(inodes)
    wait_until(lambda: infos[sid].inode in {r[19] for r in dump((KIND_TCP,))}, "the listener")
    rows = [view(r, mine=inodes) for r in dump((KIND_TCP, KIND_UDP))]
    marked = {r.inode for r in rows if r.mine}
    assert marked == inodes
    listener = next(r for r in rows if r.inode == infos[sid].inode)
    assert listener.state == "LISTEN" and listener.local == infos[sid].local
