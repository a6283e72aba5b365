"""The connection table's pure parts: ss-style addresses, filters, sorting, diffs, summary."""

from __future__ import annotations

import pytest
from conn_samples import inet, unix

from workbench.core.conn_filter import parse_filter
from workbench.core.conn_format import BASE, Context, Gathered, blocks, cells, lay_out, render
from workbench.core.conn_rows import view
from workbench.core.conn_summary import parse_netstat, parse_sockstat, summarize
from workbench.core.conntable import (
    CLOSE,
    ESTABLISHED,
    KIND_TCP,
    KIND_UDP,
    KIND_UNIX,
    KIND_UNIX_DGRAM,
    LISTEN,
    TIME_WAIT,
    Owner,
    address,
    diff,
    ms_text,
    sort_rows,
)
from workbench.core.errors import InputError

ROWS = [
    inet(KIND_TCP, LISTEN, "127.0.0.1", 8080, wq=128, inode=11),
    inet(KIND_TCP, ESTABLISHED, "127.0.0.1", 8080, "127.0.0.1", 40000, rq=5, inode=12),
    inet(KIND_TCP, TIME_WAIT, "127.0.0.1", 40001, "127.0.0.1", 8080, cookie=99,
         timer=3, expires=53956),
    inet(KIND_TCP, LISTEN, "::1", 443, inode=13),
    inet(KIND_UDP, CLOSE, "0.0.0.0", 53, inode=14),
    inet(KIND_UDP, ESTABLISHED, "::ffff:127.0.0.1", 5353, "::ffff:127.0.0.2", 53, inode=15),
    unix(KIND_UNIX, LISTEN, b"/tmp/s.sock", 21),
    unix(KIND_UNIX, ESTABLISHED, b"", 22, 23),
    unix(KIND_UNIX_DGRAM, CLOSE, b"\0abstract", 24),
]


def test_addresses_are_written_as_ss_writes_them() -> None:
    assert address(ROWS[0], True) == "127.0.0.1:8080"
    assert address(ROWS[0], False) == "0.0.0.0:*"
    assert address(ROWS[3], True) == "[::1]:443" and address(ROWS[3], False) == "[::]:*"
    assert address(ROWS[5], True) == "[::ffff:127.0.0.1]:5353"
    assert address(ROWS[6], True) == "/tmp/s.sock 21" and address(ROWS[6], False) == "* 0"
    assert address(ROWS[7], True) == "* 22" and address(ROWS[7], False) == "* 23"
    assert address(ROWS[8], True) == "@abstract 24"
    bound = inet(KIND_TCP, LISTEN, "127.0.0.1", 80, ifindex=1)
    assert address(bound, True, {1: "lo"}) == "127.0.0.1%lo:80"


def test_rendered_like_ss_with_columns_as_wide_as_their_cells() -> None:
    lines = render(ROWS[:3], BASE, Context())
    assert lines[0].split() == ["Netid", "State", "Recv-Q", "Send-Q", "Local", "Address:Port",
                                "Peer", "Address:Port"]
    assert lines[2].split() == ["tcp", "ESTAB", "5", "0", "127.0.0.1:8080", "127.0.0.1:40000"]
    assert len({line.index("127.0.0.1:") for line in lines[1:]}) <= 2
    assert not any(line.endswith(" ") for line in lines)


@pytest.mark.parametrize("count", [0, 1, 2047, 2048, 2049, 5000])
@pytest.mark.parametrize("columns", [BASE, (*BASE, "process")], ids=["base", "process"])
@pytest.mark.parametrize("header", [True, False])
def test_blocks_hold_the_lines_of_lay_out(count: int, columns: tuple[str, ...],
                                          header: bool) -> None:
    rows = [ROWS[i % len(ROWS)] for i in range(count)]
    ctx = Context(owners={11: (Owner(7, "srv"),)})
    cols = cells(rows, columns, ctx)
    lines = lay_out(cols, columns, header)
    text = "".join(blocks(cols, columns, header))
    assert text == "".join(line + "\n" for line in lines)
    assert len(lines) == count + header
    gathered = Gathered(columns, ctx)
    for at in range(0, count, 700):  # as a dump hands them over: a datagram at a time
        gathered.add(rows[at:at + 700])
    assert "".join(gathered.blocks(header)) == text


def test_timer_as_ss_o_writes_it() -> None:
    assert ms_text(53956) == "53sec"
    assert ms_text(5123) == "5.123ms"
    assert ms_text(125_000) == "2min5sec"
    assert ms_text(900) == "900ms"
    assert view(ROWS[2]).timer == "timer:(timewait,53sec,0)"


@pytest.mark.parametrize(("words", "inodes"), [
    ("tcp", {11, 12, 0, 13}),
    ("tcp listen", {11, 13}),
    ("udp unix", {14, 15, 21, 22, 24}),
    ("v6", {13, 15}),
    (":8080", {11, 12, 0}),
    ("sport:8080", {11, 12}),
    ("dport:8080", {0}),
    (":400-500", {13}),
    (":40000-40001", {12, 0}),
    ("time-wait", {0}),
    ("TIME_WAIT", {0}),
    ("unconn", {14, 24}),
    ("connected tcp", {12, 0}),
    ("127.0.0.0/8", {11, 12, 0, 15}),
    ("dst:127.0.0.2", {15}),
    ("::1", {13}),
    ("[::1]", {13}),
    ("u_dgr", {24}),
])
def test_filters(words: str, inodes: set[int]) -> None:
    assert {r[19] for r in parse_filter(words).apply(ROWS)} == inodes


def test_process_and_mine_filters() -> None:
    owners = {11: (Owner(7, "nginx"),), 21: (Owner(8, "tmux: server"),)}
    assert {r[19] for r in parse_filter("proc:NGINX").apply(ROWS, owners)} == {11}
    assert {r[19] for r in parse_filter("pid:8").apply(ROWS, owners)} == {21}
    assert {r[19] for r in parse_filter("mine").apply(ROWS, owners, {12, 22})} == {12, 22}


@pytest.mark.parametrize(("words", "says"), [
    ("bogus", "unknown filter 'bogus'"),
    (":70000", "ports go from 0 to 65535"),
    (":http", "a port is a number"),
    ("pid:abc", "a pid is a number"),
    ("proc:", "names no process"),
    ("300.1.1.1", "unknown filter"),
])
def test_bad_filters_are_one_line_input_errors(words: str, says: str) -> None:
    with pytest.raises(InputError) as info:
        parse_filter(words)
    assert says in str(info.value) and "\n" not in str(info.value)


def test_sort_by_any_column() -> None:
    by_port = sort_rows(ROWS[:4], "local")
    assert [address(r, True) for r in by_port] == [
        "127.0.0.1:8080", "127.0.0.1:8080", "127.0.0.1:40001", "[::1]:443"]
    assert sort_rows(ROWS, "recv-q", reverse=True)[0][16] == 5
    owners = {13: (Owner(1, "a"),), 11: (Owner(2, "b"),)}
    assert [r[19] for r in sort_rows(ROWS, "process", owners=owners)][:2] == [13, 11]
    assert sort_rows(ROWS, "") is ROWS


def test_diff_by_cookie() -> None:
    before, after = ROWS[:4], ROWS[1:5]
    changes = diff(before, after)
    assert changes.appeared == {after[-1][14]}
    assert changes.vanished == (ROWS[0],)


def test_diff_with_the_cookies_kept_says_the_same() -> None:
    from workbench.core.conntable import cookies

    before, after = ROWS[:4], ROWS[1:5]
    kept = diff(before, after, cookies(before), cookies(after))
    assert (kept.appeared, kept.vanished) == ({after[-1][14]}, (ROWS[0],))
    assert diff(after, after, cookies(after)).vanished == ()


def test_view_marks_mine_and_names_owners() -> None:
    row = view(ROWS[0], {11: (Owner(7, "nginx"),)}, {11})
    assert row.mine and row.process == '("nginx",pid=7)'
    assert row.to_json()["processes"] == [{"pid": 7, "name": "nginx"}]
    assert not view(ROWS[2], mine={0}).mine  # TIME_WAIT has no inode: never "mine"


SOCKSTAT = """sockets: used 182
TCP: inuse 5 orphan 2 tw 1 alloc 7 mem 1
UDP: inuse 0 mem 0
"""
NETSTAT = """TcpExt: SyncookiesSent ListenOverflows ListenDrops TCPAbortOnTimeout
TcpExt: 0 256 256 0
IpExt: InNoRoutes
IpExt: 0
"""


def test_summary_counts_and_kernel_counters() -> None:
    stat = parse_sockstat(SOCKSTAT)
    assert stat["TCP"] == {"inuse": 5, "orphan": 2, "tw": 1, "alloc": 7, "mem": 1}
    counters = parse_netstat(NETSTAT)
    assert counters["ListenOverflows"] == 256 and counters["InNoRoutes"] == 0
    s = summarize(ROWS, stat, counters, (32768, 60999))
    assert s.total == len(ROWS)
    assert s.tcp_states == {"LISTEN": 2, "ESTAB": 1, "TIME-WAIT": 1}
    assert s.ephemeral_used == 1 and s.orphans == 2
    line = s.line()
    assert line.startswith("9 sockets; TCP 4 (listen 2, ")
    assert "u_str 2" in line and "udp 2" in line and "ephemeral ports 1/28232" in line
    assert [t.split(":")[0] for t in s.trouble_lines()] == ["ListenOverflows 256",
                                                            "ListenDrops 256"]


def joined_column(rows: list, local: bool, ifnames: dict | None = None) -> list[str]:  # type: ignore[type-arg]
    from workbench.core.conntable import address_column

    hosts, ports = address_column(rows, local, ifnames)
    return [h + p for h, p in zip(hosts, ports, strict=True)]


def test_bulk_addresses_equal_row_by_row() -> None:
    """The headless path's column-at-once formatting says exactly what `address` says."""
    rows = [*ROWS, inet(KIND_TCP, LISTEN, "127.0.0.1", 80, ifindex=1)]
    for local in (True, False):
        assert joined_column(rows, local, {1: "lo"}) == [
            address(r, local, {1: "lo"}) for r in rows]
    v4_only = ROWS[:3]
    assert joined_column(v4_only, True) == [address(r, True) for r in v4_only]


def test_bulk_addresses_split_where_ss_aligns_them() -> None:
    """The host keeps its separator (`:`, or a space for a Unix name), the port is the rest."""
    from workbench.core.conntable import address_column

    rows = [inet(KIND_TCP, LISTEN, "127.0.0.1", 80, ifindex=1),
            inet(KIND_TCP, ESTABLISHED, "::1", 80, "::1", 40000),
            inet(KIND_TCP, LISTEN, "0.0.0.0", 22), inet(KIND_TCP, LISTEN, "::", 22),
            unix(KIND_UNIX, ESTABLISHED, b"/tmp/a b", 7)]
    assert address_column(rows, True, {1: "lo"}) == (
        ["127.0.0.1%lo:", "[::1]:", "0.0.0.0:", "[::]:", "/tmp/a b "],
        ["80", "80", "22", "22", "7"])
    assert address_column(rows, False)[1][:4] == ["*", "40000", "*", "*"]


def test_a_unix_name_with_an_addresses_bytes_does_not_hide_the_address() -> None:
    """Found by the property test: a Unix name holding the 16 bytes of ::1."""
    rows = [inet(KIND_TCP, ESTABLISHED, "::1", 80, "::1", 40000),
            unix(KIND_UNIX, ESTABLISHED, b"\0" * 15 + b"\x01", 1)]
    assert joined_column(rows, True) == ["[::1]:80", "@" + "@" * 14 + "\x01 1"]
