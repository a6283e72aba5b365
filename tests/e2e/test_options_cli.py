"""`workbench options` as a user runs it: the catalog, this machine's availability and
fresh TCP and UDP values, in 80 columns or as JSON; a bad filter is one line, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.core.options import all_options

TIMEOUT = 30.0


def workbench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True,
                          text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)


def test_the_table_lists_every_option_in_80_columns() -> None:
    done = workbench("options")
    assert done.returncode == 0 and done.stderr == ""
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    names = {line.split()[0] for line in lines if line[:1].isupper()}
    assert {s.name for s in all_options()} <= names
    assert lines[0].split() == ["OPTION", "RW", "TYPE", "FRESH", "TCP", "FRESH", "UDP"]
    row = {line.split()[0]: line for line in lines}
    assert row["TCP_NODELAY"].split()[1:4] == ["rw", "bool", "off"]
    assert row["SO_BROADCAST"].split()[1:5] == ["rw", "bool", "-", "off"]
    assert "write-only" in row["IP_ADD_MEMBERSHIP"] and "ENOTCONN" in row["IP_MTU"]
    assert "KiB" in row["SO_RCVBUF"]
    assert lines[-1].startswith(f"{len(all_options())} options, ")


def test_json_holds_every_field_and_fresh_values() -> None:
    done = workbench("options", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    rows = {row["name"]: row for row in doc["options"]}
    assert set(rows) == {s.name for s in all_options()}
    linger = rows["SO_LINGER"]
    assert linger["codec"] == "linger" and linger["access"] == "rw"
    assert linger["defaults"]["tcp"] == {"on": False, "seconds": 0}
    assert "udp" not in linger["defaults"]  # not for datagram sockets
    assert linger["c"] == {"level": "SOL_SOCKET", "name": "SO_LINGER", "type": "struct linger"}
    assert rows["SO_TYPE"]["defaults"] == {"tcp": 1, "udp": 2}
    assert rows["IP_MTU"]["defaults"]["udp"] == {"errno": "ENOTCONN"}
    assert rows["IP_ADD_MEMBERSHIP"]["access"] == "wo"
    assert rows["IP_ADD_MEMBERSHIP"]["defaults"] == {}
    for row in rows.values():
        assert row["available"] in (True, False, None)
        assert row["summary"] and row["when"] and row["pitfalls"]
    if sys.platform.startswith("linux"):
        assert rows["TCP_NODELAY"]["available"] is True
        assert "net.core.rmem_max" in doc["limits"]


def test_a_level_filter() -> None:
    done = workbench("options", "udp")
    assert done.returncode == 0
    names = [line.split()[0] for line in done.stdout.splitlines() if line.startswith("UDP_")]
    assert names == ["UDP_CORK", "UDP_SEGMENT"]
    assert "TCP_" not in done.stdout


def test_one_option_shows_in_full() -> None:
    done = workbench("options", "so_linger")
    assert done.returncode == 0
    text = done.stdout
    assert text.startswith("SO_LINGER (SOL_SOCKET, 13): ")
    for word in ("value:", "access:", "when:", "pitfalls:", "C:", "Python:", "fresh:"):
        assert word in text
    assert "struct linger" in text and "socket.SOL_SOCKET, socket.SO_LINGER" in text
    assert max(len(line) for line in text.splitlines()) <= 120


@pytest.mark.parametrize("word", ["nope", "x" * 300, "SO_ LINGER"])
def test_a_filter_matching_nothing_is_one_line_exit_2(word: str) -> None:
    done = workbench("options", word)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert "no socket option matches" in lines[0] and "tcp" in lines[0]


def test_the_command_imports_no_textual() -> None:
    code = ("import sys\nfrom workbench.cli import main\nrc = main(['options', '--json'])\n"
            "sys.stderr.write(str(sorted(m for m in sys.modules if m.startswith('textual'))))\n"
            "sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert done.returncode == 0 and done.stderr.endswith("[]"), done.stderr[-300:]


def test_a_session_with_typed_option_values_replays(tmp_path: Path) -> None:
    """Values as a person types them load as the normal values, and the calls run."""
    steps = [
        {"op": "socket", "args": {"family": "inet", "type": "stream"}, "result": {"sock": 1}},
        {"op": "setsockopt", "sock": 1, "args": {"option": "SO_LINGER", "value": "on 0"}},
        {"op": "setsockopt", "sock": 1, "args": {"option": "SO_RCVBUF", "value": "64k"}},
        {"op": "setsockopt", "sock": 1, "args": {"option": "TCP_NODELAY", "value": 1}},
        {"op": "set_inheritable", "sock": 1, "args": {"inheritable": True}},
        {"op": "socket", "args": {"family": "inet", "type": "dgram"}, "result": {"sock": 2}},
        {"op": "setsockopt", "sock": 2,
         "args": {"option": "IP_ADD_MEMBERSHIP", "value": "239.255.0.1 127.0.0.1"}},
        {"op": "getsockopt", "sock": 1, "args": {"option": "SO_LINGER"},
         "result": {"value": {"on": True, "seconds": 0}}},
    ]
    path = tmp_path / "typed.json"
    path.write_text(json.dumps({"format": "socket-workbench-session", "version": 1,
                                "steps": steps}))
    done = workbench("replay", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "match (8 steps" in done.stdout


def test_a_session_with_a_value_unfit_for_its_option_is_one_line_exit_2(
        tmp_path: Path) -> None:
    steps = [
        {"op": "socket", "args": {"family": "inet", "type": "stream"}, "result": {"sock": 1}},
        {"op": "setsockopt", "sock": 1, "args": {"option": "SO_LINGER", "value": 5}},
    ]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"format": "socket-workbench-session", "version": 1,
                                "steps": steps}))
    done = workbench("replay", str(path))
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1
    assert "steps[1]" in done.stderr and "SO_LINGER takes" in done.stderr
