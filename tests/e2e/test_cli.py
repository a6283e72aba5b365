"""The `workbench` command as a user runs it: replay, errors, errno, peer, demo."""

from __future__ import annotations

import json
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import stop_process

from workbench import __version__

ROOT = Path(__file__).resolve().parents[2]
SESSIONS = ROOT / "sessions"
EXAMPLES = sorted(p for p in SESSIONS.glob("*.json") if not p.name.endswith(".schema.json"))
TIMEOUT = 30.0


def workbench(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True,
                          text=True, timeout=TIMEOUT, cwd=cwd, stdin=subprocess.DEVNULL)


def tampered_tcp_echo(tmp_path: Path) -> Path:
    """tcp-echo with one byte of a recorded auto recv changed: 0xff becomes 0xfe."""
    document = json.loads((SESSIONS / "tcp-echo.json").read_text())
    recvs = [s for s in document["steps"] if s["op"] == "recv" and "hex" in s["result"]["data"]]
    assert recvs, "tcp-echo.json should record a binary auto recv"
    data = recvs[0]["result"]["data"]
    assert data["hex"].startswith("00 ff ")
    data["hex"] = "00 fe " + data["hex"][len("00 ff "):]
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(document, indent=1))
    return path


def test_there_are_example_sessions() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_session_replays(path: Path) -> None:
    done = workbench("replay", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.fullmatch(rf"{re.escape(str(path))}: match \(\d+ steps, \d+ calls run, "
                        r"in [\d.]+ s\)\n",
                        done.stdout)
    assert done.stderr == ""


def test_tampered_session_exits_1_with_a_diff(tmp_path: Path) -> None:
    path = tampered_tcp_echo(tmp_path)
    done = workbench("replay", str(path), "--timeout", "2")
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert out.startswith(f"{path}: 1 mismatch(es)\n")
    assert "socket #1: bytes differ (first difference at offset 14)" in out
    expected = re.search(r"expected: (\w+)\s+(.*?)\s+\|", out)
    received = re.search(r"received: (\w+)\s+(.*?)\s+\|", out)
    assert expected and received, out
    assert expected.group(1) == received.group(1) == "00000000"  # the offset of the line
    assert expected.group(2).split()[13:16] == ["00", "fe", "7f"]
    assert received.group(2).split()[13:16] == ["00", "ff", "7f"]
    assert done.stderr == ""


def test_tampered_session_json_report(tmp_path: Path) -> None:
    path = tampered_tcp_echo(tmp_path)
    done = workbench("replay", str(path), "--json", "--timeout", "2")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["operation"] == "replay" and report["target"] == str(path)
    assert report["status"] == "mismatch"
    [finding] = report["findings"]
    assert finding["kind"] == "bytes" and finding["sock"] == 1
    assert (finding["offset"], finding["context_offset"]) == (14, 0)  # as the message says
    assert finding["expected_hex"].split()[13:15] == ["00", "fe"]
    assert finding["received_hex"].split()[13:15] == ["00", "ff"]
    assert report["recommendations"]


def test_matching_session_json_report() -> None:
    done = workbench("replay", str(SESSIONS / "udp-echo.json"), "--json")
    assert done.returncode == 0
    report = json.loads(done.stdout)
    assert (report["status"], report["findings"]) == ("match", [])
    assert report["artifacts"][0]["steps_run"] > 0


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def test_broken_json_exits_2_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    text = (SESSIONS / "tcp-echo.json").read_text()
    path.write_text(text[: len(text) // 2])
    line = one_line_error(workbench("replay", str(path)))
    assert line.startswith(f"workbench: {path}: not valid JSON at line ")


@pytest.mark.parametrize(("content", "words"), [
    ('{"format": "pcap", "version": 1, "steps": []}', ["format is 'pcap'"]),
    ('{"format": "socket-workbench-session", "version": 7, "steps": []}', ["version 7"]),
    ('{"format": "socket-workbench-session", "version": 1, "steps": [{"op": "dance"}]}',
     ["steps[0]", "unknown op 'dance'"]),
    ('{"format": "socket-workbench-session", "version": 1, '
     '"steps": [{"op": "send", "sock": 1, "args": {"data": {"hex": "00 zz"}}}]}',
     ["steps[0].args", "bad hex character 'z' at position 4"]),
    ('{"format": "socket-workbench-session", "version": 1, '
     '"steps": [{"op": "recv", "error": {"errno": "EPIPE", "number": "x"}}]}',
     ["error number must be an integer"]),
    ('{"format": "socket-workbench-session", "version": 1, '
     '"peers": [{"name": "p", "kind": "ftp"}], "steps": []}',
     ["peers[0]", "unknown peer kind 'ftp'"]),
    ('{"format": "socket-workbench-session", "version": 1, '
     '"peers": [{"name": "p", "kind": "echo", "transport": "sctp"}], "steps": []}',
     ["peers[0]", "unknown transport 'sctp'"]),
], ids=["format", "version", "op", "hex", "errno-number", "peer-kind", "transport"])
def test_bad_session_files_exit_2_naming_the_file(tmp_path: Path, content: str,
                                                  words: list[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    line = one_line_error(workbench("replay", str(path)))
    assert str(path) in line
    for word in words:
        assert word in line


def test_missing_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.json"
    line = one_line_error(workbench("replay", str(path)))
    assert line == f"workbench: {path}: no such file"


def test_bad_timeout_exits_2() -> None:
    line = one_line_error(workbench("replay", str(SESSIONS / "tcp-echo.json"), "--timeout", "0"))
    assert "timeout" in line


def test_journal_and_recover_paths_are_checked(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    done = workbench("replay", str(SESSIONS / "unix-stream.json"), "--journal", str(journal))
    assert done.returncode == 0, done.stderr
    line = one_line_error(workbench("replay", str(SESSIONS / "unix-stream.json"),
                                    "--journal", str(journal)))
    assert f"{journal} already holds a journal" in line
    (tmp_path / "file").write_text("a file, not a directory")
    line = one_line_error(workbench("replay", str(SESSIONS / "unix-stream.json"),
                                    "--journal", str(tmp_path / "file" / "x")))
    assert line.startswith(f"workbench: cannot write a journal in {tmp_path / 'file' / 'x'}")
    line = one_line_error(workbench("recover", str(tmp_path), "-o", str(tmp_path / "o.json")))
    assert line == f"workbench: {tmp_path}: not a journal directory (no steps.jsonl)"
    out = tmp_path / "missing-dir" / "out.json"
    line = one_line_error(workbench("recover", str(journal), "-o", str(out)))
    assert line.startswith(f"workbench: cannot write {out}: No such file or directory")
    done = workbench("recover", str(journal), "-o", str(tmp_path / "out.json"))
    assert done.returncode == 0 and done.stdout.endswith("steps recovered\n")
    assert workbench("replay", str(journal)).returncode == 0  # a journal replays as is


def test_version_and_help() -> None:
    done = workbench("--version")
    assert (done.returncode, done.stdout) == (0, f"workbench {__version__}\n")
    done = workbench("--help")
    assert done.returncode == 0 and done.stdout.startswith("usage: workbench")
    for command in ("replay", "peer", "errno", "demo", "recover"):
        assert command in done.stdout
    done = workbench("replay", "--help")
    assert done.returncode == 0 and "--timeout" in done.stdout and "--json" in done.stdout


def test_errno_by_name_and_number() -> None:
    done = workbench("errno", "ECONNREFUSED")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[0] == "ECONNREFUSED (111): Connection refused"
    assert lines[1].startswith("  meaning: ") and lines[2].startswith("  try: ")
    assert workbench("errno", "111").stdout == done.stdout
    assert workbench("errno", "econnrefused").stdout == done.stdout


def test_errno_json() -> None:
    done = workbench("errno", "ECONNRESET", "--json")
    assert done.returncode == 0
    [info] = json.loads(done.stdout)["findings"]
    assert (info["errno"], info["number"], info["message"]) == (
        "ECONNRESET", 104, "Connection reset by peer")
    assert info["meaning"] and info["hint"]
    everything = json.loads(workbench("errno", "--json").stdout)["findings"]
    assert {"EPIPE", "EAGAIN", "EINPROGRESS"} <= {i["errno"] for i in everything}


def test_unknown_errno_exits_2() -> None:
    line = one_line_error(workbench("errno", "EWHATEVER"))
    assert "'EWHATEVER'" in line


@pytest.fixture
def echo_peer_process() -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "peer", "echo", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        stop_process(proc)


def test_peer_echo_serves_until_sigterm(echo_peer_process: subprocess.Popen[str]) -> None:
    proc = echo_peer_process
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
    assert ready, "the peer printed no listening line"
    line = proc.stdout.readline()
    match = re.fullmatch(r"echo peer listening on tcp 127\.0\.0\.1:(\d+)\n", line)
    assert match, line
    with socket.create_connection(("127.0.0.1", int(match.group(1))), timeout=5) as client:
        client.sendall(b"\x00\xffecho me")
        got = b""
        deadline = time.monotonic() + 5
        while len(got) < 9 and time.monotonic() < deadline:
            got += client.recv(64)
        assert got == b"\x00\xffecho me"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(TIMEOUT) == 0
    assert proc.stderr is not None and proc.stderr.read() == ""


def test_peer_with_a_bad_address_exits_2() -> None:
    line = one_line_error(workbench("peer", "echo", "peer:echo"))
    assert "peer:echo" in line
    line = one_line_error(workbench("peer", "telnet", "127.0.0.1:0"))
    assert "telnet" in line


def test_demo_headless_shows_the_exchange() -> None:
    done = workbench("demo", "--headless")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert re.fullmatch(r"echo peer on 127\.0\.0\.1:\d+", lines[0])
    body = "\n".join(lines[1:])
    for pattern in (r"socket\(family=inet, type=stream\) -> sock=1",
                    r"connect\(#1, address=peer:echo\) -> peer=127\.0\.0\.1:\d+",
                    r"send\(#1, <29 bytes>\) -> sent=29",
                    r"auto recv\(#1\) -> 29 bytes, at=0",
                    r"expect\(#1, <29 bytes>, timeout=5\.0\) -> at=0"):
        assert re.search(pattern, body), f"{pattern} not in\n{done.stdout}"
    times = [float(line.split()[0]) for line in lines[1:]]
    assert times == sorted(times)  # in the order the calls started
