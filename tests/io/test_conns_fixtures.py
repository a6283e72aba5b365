"""The ground-truth reader of `ss` output, on output captured from `ss` on this machine."""

from __future__ import annotations

from pathlib import Path

from ss_text import inet_key, parse, unix_inode

FIXTURES = Path(__file__).parent / "fixtures"


def test_ss_rows_split_into_fields_with_ipv6_and_listeners() -> None:
    rows = parse((FIXTURES / "ss-tanH.txt").read_text())
    assert rows and all(len(r) == 5 for r in rows)
    keys = [inet_key(r) for r in rows]
    assert any(local.startswith("[::1]:") for local, _ in keys)
    assert any(peer == "0.0.0.0:*" for _, peer in keys)
    assert {r[0] for r in rows} >= {"LISTEN", "ESTAB"}


def test_unix_rows_give_their_inode_and_peer() -> None:
    rows = parse((FIXTURES / "ss-xanp.txt").read_text())[1:]  # past the header
    stream = [r for r in rows if r[0] == "u_str" and r[1] == "ESTAB"]
    assert stream and all(unix_inode(r) > 0 and r[6] == "*" and r[7].isdecimal()
                          for r in stream)
    assert any(r[0] == "u_dgr" for r in rows)
