"""What a session file's peers and waits may do: loopback peers unless allowed, waits
bounded by --max-wait, a finite --timeout; and started peers are journaled."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import HAS_IPV6, threads_end

from workbench.core.errors import InputError
from workbench.core.session import PeerSpec, Session, SessionFormatError
from workbench.core.steps import Step
from workbench.io.journal import STEPS, Journal, load_journal
from workbench.io.peerset import check_loopback, started_peers
from workbench.io.replay import check_limits, replay_session
from workbench.io.sessionfile import load_session
from workbench.io.workspace import Workspace

TIMEOUT = 30.0
PUBLIC = ["0.0.0.0:0", "[::]:0", "10.255.255.1:0", "192.0.2.1:7007", "[fe80::1%1]:0",
          "[2001:db8::1]:0", "[::ffff:10.0.0.1]:0"]
LOOPBACK = ["", "127.0.0.1:0", "127.0.0.2:0", "[::1]:0", "[::ffff:127.0.0.1]:0"]
UNREACHABLE = "192.0.2.1:0"  # TEST-NET-1: no host has it, so binding it fails
BIG = bytes(range(256)) * 20  # over the journal's inline limit: it goes to data.bin


def session_doc(peers: list[dict[str, str]], steps: list[dict[str, object]] | None = None
                ) -> dict[str, object]:
    return {"format": "socket-workbench-session", "version": 1, "peers": peers,
            "steps": steps or [{"op": "socket", "args": {"family": "inet", "type": "stream"},
                                "result": {"sock": 1}}]}


def write(path: Path, doc: dict[str, object]) -> Path:
    path.write_text(json.dumps(doc))
    return path


def workbench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True,
                          text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)


def bad_input(done: subprocess.CompletedProcess[str]) -> str:
    """The one error line of a run that must exit 2 with no traceback."""
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


# -- item 4: peers from files listen on loopback only -----------------------------------


@pytest.mark.parametrize("address", PUBLIC)
def test_a_peer_beyond_loopback_is_refused(address: str) -> None:
    with pytest.raises(InputError, match="--allow-public-peers") as info:
        check_loopback([PeerSpec("echo", "echo", "tcp", address)])
    assert "not loopback" in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("address", LOOPBACK)
def test_loopback_and_unix_peers_pass(address: str) -> None:
    check_loopback([PeerSpec("echo", "echo", "tcp", address),
                    PeerSpec("u", "echo", "unix-stream", "unix:/tmp/x.sock")])


def test_started_peers_refuses_before_starting_any(tmp_path: Path) -> None:
    first = tmp_path / "first.sock"
    specs = [PeerSpec("first", "echo", "unix-stream", f"unix:{first}"),
             PeerSpec("wide", "echo", "tcp", "0.0.0.0:0")]
    with pytest.raises(InputError, match=r"peer wide would listen on 0\.0\.0\.0:0"), \
            started_peers(specs):
        pytest.fail("peers started")
    assert not first.exists()  # the first peer never bound its path


def test_allowed_public_peers_are_not_refused() -> None:
    """With the flag the address is bound as declared (here one no host has)."""
    spec = PeerSpec("far", "echo", "tcp", UNREACHABLE)
    with pytest.raises(OSError) as info, started_peers([spec], allow_public=True):
        pass
    assert not isinstance(info.value, InputError)


def test_loopback_peers_start_and_listen_there() -> None:
    specs = [PeerSpec("v4", "echo", "tcp", "127.0.0.1:0")]
    if HAS_IPV6:
        specs.append(PeerSpec("v6", "echo", "tcp", "[::1]:0"))
    with started_peers(specs) as addresses:
        assert addresses["v4"].startswith("127.0.0.1:")
        assert not HAS_IPV6 or addresses["v6"].startswith("[::1]:")


def test_replay_refuses_public_peers_before_anything_starts(tmp_path: Path) -> None:
    session = load_session(write(tmp_path / "s.json", session_doc(
        [{"name": "echo", "kind": "echo", "address": "0.0.0.0:0"}])))
    journal = Journal(tmp_path / "journal")
    try:
        with pytest.raises(InputError, match="--allow-public-peers"):
            replay_session(session, journal=journal)
    finally:
        journal.close()
    assert (tmp_path / "journal" / STEPS).read_bytes() == b""  # not even a header


@pytest.mark.parametrize("address", ["0.0.0.0:0", "[::]:0"])
def test_replay_command_refuses_public_peers(tmp_path: Path, address: str) -> None:
    path = write(tmp_path / "wide.json",
                 session_doc([{"name": "echo", "kind": "echo", "address": address}]))
    line = bad_input(workbench("replay", str(path)))
    assert line == (f"workbench: peer echo would listen on {address}, which is not loopback: "
                    "declare 127.0.0.1 or [::1], or pass --allow-public-peers to listen there")
    line = bad_input(workbench("open", str(path)))  # before the screen opens
    assert "--allow-public-peers" in line


def test_replay_command_with_the_flag_binds_as_declared(tmp_path: Path) -> None:
    path = write(tmp_path / "far.json",
                 session_doc([{"name": "echo", "kind": "echo", "address": UNREACHABLE}]))
    done = workbench("replay", str(path), "--allow-public-peers")
    assert "not loopback" not in done.stderr and "usage:" not in done.stderr, done.stderr


def test_workspace_load_refuses_public_peers_unless_allowed(tmp_path: Path) -> None:
    path = write(tmp_path / "wide.json",
                 session_doc([{"name": "echo", "kind": "echo", "address": UNREACHABLE}]))
    ws = Workspace(journal=False)
    try:
        with pytest.raises(InputError, match="not loopback"):
            ws.load(path)
        assert ws.peer_addresses() == {} and ws.recorded is None
    finally:
        ws.close()
    ws = Workspace(journal=False, allow_public_peers=True)
    try:
        with pytest.raises(InputError, match=r"cannot start echo peer on 192\.0\.2\.1:0"):
            ws.load(path)
    finally:
        ws.close()
    threads_end()


def test_the_app_hands_the_flag_to_its_workspaces() -> None:
    from workbench.ui.app import WorkbenchApp

    for allow in (False, True):
        ws = WorkbenchApp(journal=False, allow_public_peers=allow)._make_workspace()
        try:
            assert ws.allow_public_peers is allow
        finally:
            ws.close()


# -- item 4: waits are bounded ----------------------------------------------------------


def wait_session(seconds: float, expect_timeout: float = 5) -> Session:
    from workbench.core.session import session_from_json

    return session_from_json(session_doc([], [
        {"op": "socket", "args": {"family": "inet", "type": "stream"}, "result": {"sock": 1}},
        {"op": "wait", "args": {"seconds": seconds}},
        {"op": "expect", "sock": 1, "args": {"data": {"text": "x"}, "timeout": expect_timeout}},
    ]))


def test_waits_up_to_max_wait_pass() -> None:
    check_limits(wait_session(60, 60))
    check_limits(wait_session(3, 2), max_wait=3)
    check_limits(wait_session(0, 0), max_wait=0)


def test_a_wait_over_max_wait_is_refused() -> None:
    with pytest.raises(InputError) as info:
        check_limits(wait_session(86400))
    assert str(info.value) == ("step 1: a wait of 86400 s is over --max-wait 60: "
                               "pass --max-wait 86400 to allow it, or shorten it")
    with pytest.raises(InputError, match="step 2: an expect timeout of 61 s is over"):
        check_limits(wait_session(0, 61))
    with pytest.raises(InputError, match=r"a wait of 0\.5 s is over --max-wait 0\.25"):
        check_limits(wait_session(0.5), max_wait=0.25)


@pytest.mark.parametrize("timeout", [0, -1, float("inf"), float("nan")])
def test_replay_session_checks_its_timeout(timeout: float) -> None:
    with pytest.raises(InputError, match="timeout"):
        replay_session(wait_session(0), timeout=timeout)


def test_replay_command_refuses_a_long_wait_at_once(tmp_path: Path) -> None:
    """It used to hold its peers open for the whole day the file asked for."""
    doc = json.loads((Path(__file__).parents[2] / "sessions" / "tcp-echo.json").read_text())
    doc["steps"].insert(2, {"op": "wait", "args": {"seconds": 86400}})
    path = write(tmp_path / "long.json", doc)
    line = bad_input(workbench("replay", str(path)))
    assert line == ("workbench: step 2: a wait of 86400 s is over --max-wait 60: "
                    "pass --max-wait 86400 to allow it, or shorten it")
    doc["steps"][2]["args"]["seconds"] = 0.01
    write(path, doc)
    done = workbench("replay", str(path), "--max-wait", "5")  # its expects wait up to 5 s
    assert done.returncode == 0, done.stdout + done.stderr


def test_replay_command_refuses_a_long_expect(tmp_path: Path) -> None:
    path = write(tmp_path / "expect.json", session_doc([], [
        {"op": "socket", "args": {"family": "inet", "type": "stream"}, "result": {"sock": 1}},
        {"op": "expect", "sock": 1, "args": {"data": {"text": "x"}, "timeout": 3600}},
    ]))
    line = bad_input(workbench("replay", str(path)))
    assert "an expect timeout of 3600 s is over --max-wait 60" in line


@pytest.mark.parametrize(("option", "value"), [
    ("--timeout", "inf"), ("--timeout", "nan"), ("--timeout", "1e300"), ("--timeout", "0"),
    ("--timeout", "-1"), ("--timeout", "x"), ("--timeout", "3601"),
    ("--max-wait", "inf"), ("--max-wait", "nan"), ("--max-wait", "-1"),
    ("--max-wait", "86401"),
])
def test_bad_timeouts_are_one_line_errors(option: str, value: str) -> None:
    sessions = Path(__file__).parents[2] / "sessions"
    line = bad_input(workbench("replay", str(sessions / "tcp-echo.json"), f"{option}={value}"))
    assert f"argument {option}: {value!r} is not a number of seconds" in line


def test_help_says_the_limits() -> None:
    text = " ".join(workbench("replay", "--help").stdout.split())
    assert "--max-wait SECONDS" in text and "(default 60)" in text
    assert "refused (exit 2)" in text and "--allow-public-peers" in text
    assert "up to 3600" in text
    assert "--allow-public-peers" in workbench("open", "--help").stdout


# -- item 5: started peers are journaled ------------------------------------------------


def test_a_workspace_journals_the_peers_it_starts(tmp_path: Path) -> None:
    ws = Workspace(journal_dir=tmp_path / "journal")
    try:
        ws.start_peer("echo", name="echo")
        ws.start_peer("discard", "udp", "127.0.0.1:0", name="sink")
        sock = ws.call("socket", family="inet", type="stream").result["sock"]
        assert ws.call("connect", sock, address="peer:echo").ok
    finally:
        ws.close()
    threads_end()
    lines = (tmp_path / "journal" / STEPS).read_text().splitlines()
    assert json.loads(lines[1]) == {"peer": {"name": "echo", "kind": "echo"}}
    assert json.loads(lines[2]) == {"peer": {"name": "sink", "kind": "discard",
                                             "transport": "udp", "address": "127.0.0.1:0"}}
    session = load_journal(tmp_path / "journal")
    try:
        assert session.peers == [PeerSpec("echo", "echo"),
                                 PeerSpec("sink", "discard", "udp", "127.0.0.1:0")]
        assert [s.op for s in session.steps][:2] == ["socket", "connect"]
    finally:
        session.close()


def journal_with(path: Path, header: dict[str, object], *lines: object) -> Path:
    path.mkdir()
    text = "".join(json.dumps(x) + "\n" for x in (header, *lines))
    (path / STEPS).write_text(text)
    return path


HEADER = {"format": "socket-workbench-journal", "version": 1}
SOCKET = {"op": "socket", "args": {"family": "inet", "type": "stream"}, "result": {"sock": 1}}


def test_header_and_line_peers_merge_and_old_journals_read(tmp_path: Path) -> None:
    old = journal_with(tmp_path / "old", dict(HEADER, peers=[{"name": "echo", "kind": "echo"}]),
                       SOCKET)
    session = load_journal(old)
    assert session.peers == [PeerSpec("echo", "echo")] and len(session.steps) == 1
    both = journal_with(tmp_path / "j", dict(HEADER, peers=[{"name": "echo", "kind": "echo"}]),
                        {"peer": {"name": "echo", "kind": "echo"}}, SOCKET,
                        {"peer": {"name": "day", "kind": "daytime", "transport": "udp"}})
    session = load_journal(both)
    assert session.peers == [PeerSpec("echo", "echo"), PeerSpec("day", "daytime", "udp")]
    assert [s.op for s in session.steps] == ["socket"]


def test_a_bad_peer_line_names_the_line(tmp_path: Path) -> None:
    path = journal_with(tmp_path / "j", HEADER, SOCKET, {"peer": {"name": "x"}})
    with pytest.raises(SessionFormatError, match=r"j line 3: peers\[0\]: needs name and kind"):
        load_journal(path)


def test_load_session_checks_journaled_peers(tmp_path: Path) -> None:
    path = journal_with(tmp_path / "j", HEADER, {"peer": {"name": "p", "kind": "ftp"}})
    with pytest.raises(InputError, match="unknown peer kind 'ftp'"):
        load_session(path)


def test_a_peer_line_keeps_its_place_after_a_step_that_waits_for_data(tmp_path: Path) -> None:
    """A peer line needs no bytes in data.bin, yet it is not written ahead of a step that
    does: the journal reads back in the order things happened."""
    journal = Journal(tmp_path / "journal")
    journal.start(Session())
    journal.append(Step(op="send", sock=1, args={"data": BIG, "flags": []},
                        result={"sent": len(BIG)}))
    journal.peer(PeerSpec("echo", "echo", "unix-stream"))
    journal.close()
    lines = [json.loads(x) for x in (tmp_path / "journal" / STEPS).read_text().splitlines()]
    assert [x.get("op", "peer") for x in lines[1:]] == ["send", "peer"]
    assert lines[2] == {"peer": {"name": "echo", "kind": "echo", "transport": "unix-stream"}}
    session = load_journal(tmp_path / "journal")
    try:
        assert session.peers == [PeerSpec("echo", "echo", "unix-stream")]
        assert session.steps[0].data == BIG
    finally:
        session.close()
