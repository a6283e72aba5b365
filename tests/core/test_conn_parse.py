"""Saved ss and netstat output, captured on this machine (tests/io/fixtures), read back
into the table: each row shows again as ss printed it, with its processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.core.conn_format import BASE, Context, render
from workbench.core.conn_parse import parse_table
from workbench.core.conn_rows import view
from workbench.core.errors import InputError

FIXTURES = Path(__file__).resolve().parents[1] / "io" / "fixtures"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def fields(text: str, skip_header: bool = True) -> list[list[str]]:
    lines = text.splitlines()[1:] if skip_header else text.splitlines()
    return [line.split() for line in lines if line.strip()]


@pytest.mark.parametrize(("name", "netid"), [("ss-tanp.txt", "tcp"), ("ss-uanp.txt", "udp"),
                                             ("ss-tanH.txt", "tcp")])
def test_ss_inet_rows_show_again_as_ss_printed_them(name: str, netid: str) -> None:
    text = fixture(name)
    parsed = parse_table(text)
    assert parsed.tool == "ss" and not parsed.skipped
    shown = render(parsed.rows, BASE, Context(ifnames=parsed.ifnames), header=False)
    theirs = fields(text, skip_header=not name.endswith("H.txt"))
    assert [line.split() for line in shown] == [[netid, *f[:5]] for f in theirs]


def test_ss_processes_ipv6_and_unix_rows() -> None:
    parsed = parse_table(fixture("ss-tanp.txt"))
    rows = [view(r, parsed.owners) for r in parsed.rows]
    v6 = [r for r in rows if r.local.startswith("[::1]:")]
    assert v6 and all(r.processes and r.processes[0].name == "python3" for r in v6)
    unix = parse_table(fixture("ss-xanp.txt"))
    rows = [view(r, unix.owners) for r in unix.rows]
    tmux = next(r for r in rows if r.local.startswith("/tmp/tmux-0/default"))
    assert tmux.state == "LISTEN" and tmux.processes[0].name == "tmux: server"
    assert {r.netid for r in rows} >= {"u_str", "u_dgr"}
    shown = render(unix.rows, BASE, Context(), header=False)
    assert [line.split() for line in shown] == [f[:8] for f in fields(fixture("ss-xanp.txt"))]


def test_netstat_agrees_with_ss_on_the_same_sockets() -> None:
    """Captured a moment apart: the listeners and connections held throughout agree."""
    ns = parse_table(fixture("netstat-an.txt"))
    ss = parse_table(fixture("ss-tanp.txt"))
    assert ns.tool == "netstat" and not ns.skipped

    def held(parsed: object) -> set[tuple[str, str, str]]:
        return {(v.state, v.local, v.peer) for v in (view(r) for r in parsed.rows)  # type: ignore[attr-defined]
                if v.netid == "tcp" and v.state in ("LISTEN", "ESTAB")}

    assert held(ss) <= held(ns) | {("LISTEN", "0.0.0.0:2024", "0.0.0.0:*")}
    unix = [view(r) for r in ns.rows if r[5] == 1]
    assert any(u.local == "/tmp/tmux-0/default 979209" and u.state == "LISTEN" for u in unix)
    assert any(u.netid == "u_dgr" for u in unix)


def test_netstat_with_programs() -> None:
    parsed = parse_table(fixture("netstat-tanp.txt"))
    rows = [view(r, parsed.owners) for r in parsed.rows]
    listener = next(r for r in rows if r.local == "127.0.0.1:38963" and r.state == "LISTEN")
    assert listener.processes[0].pid == 25409
    assert not next(r for r in rows if r.local == "0.0.0.0:2024").processes


def test_unreadable_lines_are_counted_and_other_text_refused() -> None:
    cut = "tcp6       0      0 2001:db8:zz::1:22  :::*   LISTEN\n"  # an address cut short
    lines = fixture("netstat-an.txt").splitlines(keepends=True)
    parsed = parse_table("".join([*lines[:3], cut, *lines[3:]]))
    assert parsed.skipped == [4]
    assert len(parsed.rows) == len(parse_table(fixture("netstat-an.txt")).rows)
    with pytest.raises(InputError) as info:
        parse_table("hello world\n")
    assert "not the output of ss or netstat" in str(info.value)
