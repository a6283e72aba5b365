"""Pile-ups spotted in the table: each rule on the threshold and just under it."""

from __future__ import annotations

from conn_samples import inet

from workbench.core.conn_summary import summarize
from workbench.core.conn_trouble import pileups
from workbench.core.conntable import (
    CLOSE_WAIT,
    ESTABLISHED,
    KIND_TCP,
    LISTEN,
    SYN_RECV,
    TIME_WAIT,
    Owner,
    RawRow,
)

RANGE = (40000, 40099)  # 100 ephemeral ports


def found(rows: list[RawRow], owners: dict | None = None) -> list[str]:  # type: ignore[type-arg]
    return pileups(rows, summarize(rows).tcp_states, owners, RANGE)


def test_close_wait_held_by_one_program() -> None:
    owners = {i: (Owner(9, "app"),) for i in range(1, 11)}
    rows = [inet(KIND_TCP, CLOSE_WAIT, "127.0.0.1", 8080, "127.0.0.1", 50000 + i, inode=i)
            for i in range(1, 11)]
    [line] = found(rows, owners)
    assert line.startswith('10 CLOSE-WAIT held by ("app",pid=9): a program that never closes')
    assert found(rows[:9], owners) == []


def test_a_full_accept_queue() -> None:
    rows = [inet(KIND_TCP, LISTEN, "0.0.0.0", 80, rq=129, wq=128, inode=5),
            inet(KIND_TCP, LISTEN, "0.0.0.0", 81, rq=2, wq=128, inode=6)]
    [line] = found(rows, {5: (Owner(1, "nginx"),)})
    assert line.startswith('the accept queue of 0.0.0.0:80 is full (129 of 128): '
                           '("nginx",pid=1) accepts too slowly')


def test_half_open_connections_at_a_port() -> None:
    rows = [inet(KIND_TCP, SYN_RECV, "127.0.0.1", 443, "10.0.0.1", 1000 + i, cookie=i + 1)
            for i in range(100)]
    assert found(rows)[0].startswith("100 half-open connections on port 443")
    assert found(rows[:99]) == []


def test_time_wait_eating_the_ephemeral_ports() -> None:
    rows = [inet(KIND_TCP, TIME_WAIT, "127.0.0.1", 40000 + i, "127.0.0.1", 80, cookie=i + 1)
            for i in range(50)]
    assert found(rows) == ["TIME-WAIT holds 50 of the 100 ephemeral ports: new connections "
                           "may fail with EADDRNOTAVAIL; reuse connections (keep-alive, pools)"]
    assert found(rows[:49]) == []


def test_a_quiet_table_has_nothing() -> None:
    rows = [inet(KIND_TCP, ESTABLISHED, "127.0.0.1", 40000, "127.0.0.1", 80, inode=1),
            inet(KIND_TCP, LISTEN, "127.0.0.1", 80, wq=128, inode=2)]
    assert found(rows) == []
