"""`workbench replay` of sessions that create raw sockets, as a user runs it: refused in
one line without --allow-raw, run with it, and explained (CAP_NET_RAW) when the
process lacks the capability.

The session files are written here, not kept in sessions/: every example there is
replayed and exported by other tests without --allow-raw."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.core.packets import icmp

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60
needs_root = pytest.mark.skipif(os.geteuid() != 0 or not sys.platform.startswith("linux"),
                                reason="raw sockets need root on Linux")


def run(argv: list[str], prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*prefix, sys.executable, "-m", "workbench", *argv], text=True,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=TIMEOUT,
                          cwd=ROOT)


def raw_session(tmp_path: Path, approved: bool = True) -> Path:
    """A raw ICMP socket (no auto-receive: other programs' ICMP would differ) sending one
    echo request to 127.0.0.1, then closed."""
    args: dict[str, object] = {"family": "inet", "type": "raw", "proto": 1, "auto": False}
    if approved:
        args["approved"] = True
    echo = icmp.echo(os.getpid() & 0xFFFF, 1, b"replayed").hex()
    steps = [
        {"op": "socket", "args": args, "result": {"sock": 1}},
        {"op": "sendto", "sock": 1, "args": {"data": {"hex": echo}, "address": "127.0.0.1:0"},
         "result": {"sent": len(echo) // 2, "link": "icmp"}},
        {"op": "close", "sock": 1},
    ]
    path = tmp_path / "raw-echo.json"
    path.write_text(json.dumps({"format": "socket-workbench-session", "version": 1,
                                "steps": steps}))
    return path


def test_replay_refuses_raw_steps_without_allow_raw(tmp_path: Path) -> None:
    done = run(["replay", str(raw_session(tmp_path))])
    assert done.returncode == 2, done.stderr
    err = done.stderr
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert "step 0 creates a raw IPv4 socket for ICMP (1)" in err
    assert "--allow-raw" in err
    assert done.stdout == ""


@needs_root
@pytest.mark.parametrize("approved", [True, False])
def test_replay_with_allow_raw_runs_the_raw_steps(tmp_path: Path, approved: bool) -> None:
    """--allow-raw approves even a socket step whose file carries no approval."""
    done = run(["replay", "--allow-raw", "--json", str(raw_session(tmp_path, approved))])
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "match" and report["artifacts"][0]["steps_run"] == 3


@needs_root
@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs setpriv (util-linux)")
def test_replay_without_cap_net_raw_explains_the_refusal(tmp_path: Path) -> None:
    drop = ("setpriv", "--inh-caps=-net_raw", "--bounding-set=-net_raw")
    done = run(["replay", "--allow-raw", str(raw_session(tmp_path))], prefix=drop)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "EPERM" in done.stdout
    assert "needs CAP_NET_RAW" in done.stdout and "ping socket" in done.stdout


def packet_session(tmp_path: Path, address: str = "iface:lo") -> Path:
    """A packet socket on lo with a capture filter, bound, named, closed."""
    steps = [
        {"op": "socket", "args": {"family": "packet", "type": "raw", "proto": 3,
                                  "auto": False, "approved": True}, "result": {"sock": 1}},
        {"op": "setsockopt", "sock": 1,
         "args": {"option": "SO_ATTACH_FILTER", "value": "udp port 9"}},
        {"op": "bind", "sock": 1, "args": {"address": address},
         "result": {"local": "iface:lo,ethertype=0x0003"}},
        {"op": "getsockname", "sock": 1, "result": {"address": "iface:lo,ethertype=0x0003"}},
        {"op": "close", "sock": 1},
    ]
    path = tmp_path / "packet-lo.json"
    path.write_text(json.dumps({"format": "socket-workbench-session", "version": 1,
                                "steps": steps}))
    return path


@needs_root
def test_replay_of_a_packet_socket_bound_to_lo_matches(tmp_path: Path) -> None:
    done = run(["replay", "--allow-raw", str(packet_session(tmp_path))])
    assert done.returncode == 0, done.stdout + done.stderr
    assert ": match (5 steps" in done.stdout


def test_a_bad_interface_address_in_a_file_is_one_line(tmp_path: Path) -> None:
    done = run(["replay", "--allow-raw", str(packet_session(tmp_path, "iface:lo,mac=zz"))])
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "steps[2] bind" in done.stderr and "mac" in done.stderr
