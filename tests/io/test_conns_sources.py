"""The sources behind the table, on real loopback sockets: TCP_INFO and skmem when asked,
owners from /proc, the psutil fallback, the kernel counters for the summary."""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Iterator

import pytest

from workbench.core.conn_rows import view
from workbench.core.conntable import F_INODE, KIND_RAW, KIND_TCP, KIND_UNIX, TI_CWND, TI_RTT
from workbench.io.conns import summary
from workbench.io.conns.netlink import NLMSG_DONE, DiagError, Dumper, dump
from workbench.io.conns.owners import OwnerCache, scan_owners
from workbench.io.conns.procnet import parse
from workbench.io.conns.source import (
    WANT_INFO,
    WANT_SKMEM,
    NetlinkSource,
    PsutilSource,
    bind_warning,
)


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket, socket.socket]]:
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(4)
    client = socket.create_connection(lst.getsockname(), timeout=5)
    server, _ = lst.accept()
    client.sendall(b"x" * 100)
    assert server.recv(100, socket.MSG_PEEK | socket.MSG_WAITALL)  # it has arrived
    try:
        yield lst, client, server
    finally:
        for s in (lst, client, server):
            s.close()


def inode(s: socket.socket) -> int:
    return os.fstat(s.fileno()).st_ino


def test_tcp_info_and_skmem_only_when_asked(pair: tuple[socket.socket, ...]) -> None:
    _, client, server = pair
    source = NetlinkSource()
    try:
        plain = source.fetch((KIND_TCP,))
        assert plain.extras == {}
        rich = source.fetch((KIND_TCP,), WANT_INFO | WANT_SKMEM)
    finally:
        source.close()
    rows = {r[F_INODE]: r for r in rich.rows}
    row = view(rows[inode(client)], extras=rich.extras)
    assert row.extras is not None and row.extras.info is not None
    assert row.extras.info[TI_CWND] >= 1 and row.extras.info[TI_RTT] > 0
    assert row.uid == os.getuid() and row.inode == inode(client)
    srv = view(rows[inode(server)], extras=rich.extras)
    assert srv.recv_q == 100 and srv.extras is not None and srv.extras.skmem is not None
    assert srv.extras.skmem[0] > 0  # rmem_alloc: the 100 unread bytes use memory


def test_a_dump_given_each_hands_over_every_row_and_keeps_none(
        pair: tuple[socket.socket, ...]) -> None:
    kept = dump((KIND_TCP, KIND_UNIX))
    batches: list[list[tuple[object, ...]]] = []
    assert dump((KIND_TCP, KIND_UNIX), each=batches.append) == []
    handed = [row for batch in batches for row in batch]
    ours = {inode(s) for s in pair}
    assert {r[F_INODE] for r in handed} & ours == ours == {r[F_INODE] for r in kept} & ours
    assert all(batches) and len(handed) == len(set(handed))  # none empty, none twice
    source = NetlinkSource()
    try:
        assert source.fetch((KIND_TCP,), each=batches.append).rows == []
    finally:
        source.close()


def test_owners_name_this_process(pair: tuple[socket.socket, ...]) -> None:
    lst, client, _ = pair
    owners = scan_owners()
    for s in (lst, client):
        assert os.getpid() in [o.pid for o in owners[inode(s)]]
    cache = OwnerCache(max_age=3600)
    first = cache.refresh()
    assert cache.refresh() is first  # not rescanned while fresh
    assert cache.refresh(force=True) is not first


def test_psutil_fallback_sees_the_same_sockets(pair: tuple[socket.socket, ...]) -> None:
    lst, client, server = pair
    netlink = NetlinkSource()
    try:
        ours = {(view(r).local, view(r).peer, view(r).state)
                for r in netlink.fetch((KIND_TCP,)).rows}
    finally:
        netlink.close()
    snap = PsutilSource().fetch((KIND_TCP,), owners=True)
    theirs = {(view(r).local, view(r).peer, view(r).state): r for r in snap.rows}
    for s in (lst, client, server):
        peer = s.getpeername() if s is not lst else None
        key = (f"127.0.0.1:{s.getsockname()[1]}",
               f"127.0.0.1:{peer[1]}" if peer else "0.0.0.0:*",
               "ESTAB" if peer else "LISTEN")
        assert key in ours and key in theirs
        owners = snap.owners[theirs[key][F_INODE]]
        assert owners[0].pid == os.getpid()


def test_unix_rows_name_their_peer(tmp_path) -> None:  # type: ignore[no-untyped-def]
    a, b = socket.socketpair()
    try:
        source = NetlinkSource()
        try:
            rows = {r[F_INODE]: view(r) for r in source.fetch((KIND_UNIX,)).rows}
        finally:
            source.close()
        assert rows[inode(a)].peer == f"* {inode(b)}"
        assert rows[inode(a)].netid == "u_str" and rows[inode(a)].state == "ESTAB"
    finally:
        a.close()
        b.close()


def test_kernel_counters_for_the_summary() -> None:
    stat = summary.sockstat()
    assert "TCP" in stat and "inuse" in stat["TCP"]
    assert "ListenOverflows" in summary.netstat()
    low, high = summary.port_range() or (0, 0)
    assert 0 < low <= high <= 65535


def test_raw_sockets_found_with_or_without_raw_diag() -> None:
    """Many kernels have no raw_diag: the dump ends with -ENOENT in its DONE message,
    and the rows come from /proc/net/raw, as with ss."""
    try:
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    except PermissionError:
        pytest.skip("raw sockets need CAP_NET_RAW")
    with raw:
        rows = {r[F_INODE]: view(r) for r in dump((KIND_RAW,))}
        row = rows[inode(raw)]
        assert (row.netid, row.state, row.local, row.peer) == ("raw", "UNCONN", "0.0.0.0:1",
                                                               "0.0.0.0:*")


def test_done_with_an_error_is_a_diag_error() -> None:
    done = struct.pack("=IHHIIi", 20, NLMSG_DONE, 2, 1, 0, -errno.ENOENT)
    with pytest.raises(DiagError) as info:
        Dumper._end(bytearray(done), 0, NLMSG_DONE)
    assert info.value.errno == errno.ENOENT
    Dumper._end(bytearray(struct.pack("=IHHIIi", 20, NLMSG_DONE, 2, 1, 0, 0)), 0, NLMSG_DONE)


def test_proc_net_lines_read_as_rows() -> None:
    text = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid"
            "  timeout inode\n"
            "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000002 00:00000000 00000000  1000"
            "        0 4242 1 0000000000000000 100 0 0 10 0\n")
    [row] = parse(text, KIND_TCP, socket.AF_INET)
    shown = view(row)
    assert (shown.state, shown.local, shown.peer, shown.recv_q, shown.uid, shown.inode) == (
        "LISTEN", "127.0.0.1:8080", "0.0.0.0:*", 2, 1000, 4242)


def test_bind_warning_before_a_bind(pair: tuple[socket.socket, ...], tmp_path) -> None:  # type: ignore[no-untyped-def]
    lst, _, _ = pair
    port = lst.getsockname()[1]
    said = bind_warning(f"127.0.0.1:{port}")
    assert said is not None and "held by a listener" in said
    assert f"pid={os.getpid()}" in said
    assert bind_warning(f"127.0.0.1:{port}", "udp") is None
    with socket.socket(socket.AF_UNIX) as unix_sock:
        unix_sock.bind(str(tmp_path / "held.sock"))
        said = bind_warning(f"unix:{tmp_path / 'held.sock'}")
        assert said is not None and "already bound" in said
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    free_port = free.getsockname()[1]
    free.close()  # nothing holds it now (a bind that never listened leaves no TIME_WAIT)
    assert bind_warning(f"127.0.0.1:{free_port}") is None


def test_psutil_when_netlink_does_not_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kernel that refuses sock_diag (a sandbox) leaves the table to psutil."""
    from workbench.io.conns import netlink, source

    def refuse(self: object, *args: object, **kwargs: object) -> list[object]:
        raise netlink.DiagError(errno.EPERM, "Operation not permitted")

    usual = source.default_source()
    usual.close()
    assert isinstance(usual, NetlinkSource)
    monkeypatch.setattr(netlink.Dumper, "inet", refuse)
    chosen = source.default_source()
    assert isinstance(chosen, PsutilSource)
    assert chosen.fetch((KIND_TCP,)).source == "psutil"
