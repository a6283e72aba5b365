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
