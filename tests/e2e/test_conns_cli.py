"""`workbench conns` as a user runs it: the table like ss, filters, processes, JSON,
the summary, and bad input as one line with exit 2."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

TIMEOUT = 30.0


def workbench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True,
                          text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(3)
        yield srv


def test_the_table_has_our_listener_like_ss(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    done = workbench("conns", "tcp", "listen", f":{port}")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:4] == ["Netid", "State", "Recv-Q", "Send-Q"]
    assert [line.split() for line in lines[1:]] == [
        ["tcp", "LISTEN", "0", "3", f"127.0.0.1:{port}", "0.0.0.0:*"]]
    if shutil.which("ss"):
        ss = subprocess.run(["ss", "-tlnH", f"sport = :{port}"], capture_output=True,
                            text=True, timeout=TIMEOUT).stdout.split()
        assert ss == lines[1].split()[1:]


def test_processes_json_and_no_header(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    done = workbench("conns", f"sport:{port}", "-p", "--json", "-o", "inode,uid,timer")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["source"] == "netlink"
    [row] = report["rows"]
    assert row["state"] == "LISTEN" and row["local"] == f"127.0.0.1:{port}"
    assert row["inode"] == os.fstat(listener.fileno()).st_ino
    assert {"pid": os.getpid(), "name": row["processes"][0]["name"]} in row["processes"]
    plain = workbench("conns", f"sport:{port}", "-p", "-H")
    assert plain.stdout.count("\n") == 1 and f"pid={os.getpid()}" in plain.stdout


def test_summary_line(listener: socket.socket) -> None:
    done = workbench("conns", "tcp", "-s", "-H")
    assert done.returncode == 0, done.stderr
    summary = [line for line in done.stdout.splitlines() if " sockets; TCP " in line]
    assert summary and "listen" in summary[0] and "ephemeral ports" in summary[0]


def test_sort_by_local_address(listener: socket.socket) -> None:
    done = workbench("conns", "tcp", "listen", "v4", "--sort", "local", "-H")
    assert done.returncode == 0, done.stderr
    ports = [int(line.split()[4].rsplit(":", 1)[1]) for line in done.stdout.splitlines()]
    hosts = [line.split()[4].rsplit(":", 1)[0] for line in done.stdout.splitlines()]
    keys = [(socket.inet_aton(h), p) for h, p in zip(hosts, ports, strict=True)]
    assert keys == sorted(keys) and listener.getsockname()[1] in ports


@pytest.mark.parametrize(("args", "says"), [
    (["bogus"], "unknown filter 'bogus'"),
    ([":99999"], "ports go from 0 to 65535"),
    (["mine"], "works in the Conns pane"),
    (["--sort", "colour"], "cannot sort by 'colour'"),
    (["-o", "bogus"], "unknown column 'bogus'"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], says: str) -> None:
    done = workbench("conns", *args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert says in done.stderr and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


def test_headless_path_does_not_import_textual() -> None:
    code = ("import sys\nfrom workbench.cli import main\nrc = main(['conns', 'tcp'])\n"
            "assert rc == 0, rc\nprint('textual' in sys.modules, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "False"


FIXTURES = Path(__file__).resolve().parents[1] / "io" / "fixtures"


def test_saved_ss_output_reads_into_the_same_table() -> None:
    done = workbench("conns", "--from", str(FIXTURES / "ss-tanp.txt"), "listen", "v6", "-p",
                     "-H")
    assert done.returncode == 0, done.stderr
    assert [line.split() for line in done.stdout.splitlines()] == [
        ["tcp", "LISTEN", "0", "8", "[::1]:35017", "[::]:*", '("python3",pid=32048)']]


def test_saved_netstat_from_stdin_with_a_summary() -> None:
    text = (FIXTURES / "netstat-an.txt").read_text()
    done = subprocess.run([sys.executable, "-m", "workbench", "conns", "--from", "-", "-s",
                           "--json"], input=text, capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["source"] == "netstat output" and report["at"] is None
    assert report["summary"]["tcp_states"]["TIME-WAIT"] == 10
    assert report["summary"]["trouble"] == {}  # no kernel counters for a file


def test_lines_it_cannot_read_are_said_once(tmp_path: Path) -> None:
    saved = tmp_path / "cut.txt"
    lines = (FIXTURES / "netstat-an.txt").read_text().splitlines(keepends=True)
    saved.write_text("".join([*lines[:3], "tcp6  0  0 2001:db8:zz::1:22  :::*  LISTEN\n",
                              *lines[3:]]))
    done = workbench("conns", "--from", str(saved), "-H")
    assert done.returncode == 0
    assert done.stderr.count("\n") == 1 and "1 line(s)" in done.stderr and "line 4" in done.stderr


@pytest.mark.parametrize(("target", "says"), [
    ("/nonexistent/saved.txt", "cannot read /nonexistent/saved.txt: No such file"),
    ("/dev/null", "not a regular file"),
    (str(Path(__file__)), "not the output of ss or netstat"),
])
def test_bad_saved_files_are_one_line_and_exit_2(target: str, says: str) -> None:
    done = workbench("conns", "--from", target)
    assert done.returncode == 2 and says in done.stderr and done.stderr.count("\n") == 1


def test_summary_spots_a_pile_up(tmp_path: Path) -> None:
    rows = "".join(f"CLOSE-WAIT 1 0 127.0.0.1:8080 127.0.0.1:{50000 + i} "
                   'users:(("app",pid=77,fd=9))\n' for i in range(12))
    saved = tmp_path / "ss.txt"
    saved.write_text("State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n" + rows)
    done = workbench("conns", "--from", str(saved), "-s", "-H")
    assert done.returncode == 0, done.stderr
    assert '  12 CLOSE-WAIT held by ("app",pid=77): a program that never closes' in done.stdout


def test_a_table_of_many_datagrams_streams_the_same_rows_as_json(listener: socket.socket
                                                                 ) -> None:
    """600 sockets take several netlink datagrams: the table made while they arrive has
    the rows the JSON (made after the dump) has, hosts right-aligned to one colon as ss
    aligns them."""
    port = listener.getsockname()[1]
    held = []
    try:
        for _ in range(300):
            client = socket.create_connection(("127.0.0.1", port))
            held += [client, listener.accept()[0]]
        table = workbench("conns", "tcp", f":{port}")
        rows = json.loads(workbench("conns", "tcp", f":{port}", "--json").stdout)["rows"]
    finally:
        for sock in held:
            sock.close()
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert sorted(line.split()[4:6] for line in lines[1:]) == sorted(
        [r["local"], r["peer"]] for r in rows)
    assert len(rows) == 601
    colons = {line.index(":", len(" ".join(line.split()[:4]))) for line in lines}
    assert len(colons) == 1, "the local column's colons line up"


def test_in_process_the_command_leaves_the_collector_and_switch_interval_as_they_were(
        listener: socket.socket, capsys: pytest.CaptureFixture[str]) -> None:
    """The command turns the collector off and shortens the switch interval while it
    builds the table; a caller in the same process gets both back."""
    import gc

    from workbench.cli import main

    interval = sys.getswitchinterval()
    assert gc.isenabled()
    assert main(["conns", "tcp", f":{listener.getsockname()[1]}"]) == 0
    assert gc.isenabled() and sys.getswitchinterval() == interval
    assert "LISTEN" in capsys.readouterr().out
