"""The journal survives SIGKILL; session files are written atomically, mode 0600."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import stop_process

from workbench.core.session import PeerSpec, Session, SessionFormatError
from workbench.core.steps import DataRef, Step
from workbench.io.engine import Engine
from workbench.io.journal import DATA, STEPS, Journal, load_journal
from workbench.io.peerset import started_peers
from workbench.io.sessionfile import load_session, save_session

BIG = bytes(range(256)) * 40 + b"\x00\xff" * 100  # 10,440 bytes: goes to data.bin
HELLO = b"hello\x00journal\xff\r\n"
TIMEOUT = 20.0


def payload(data: bytes) -> dict[str, str]:
    return {"hex": data.hex()}


def long_session() -> dict[str, object]:
    """Socket, connect, two exchanges, then a 30 s wait the test kills the process in."""
    return {
        "format": "socket-workbench-session",
        "version": 1,
        "title": "killed mid-way",
        "peers": [{"name": "echo", "kind": "echo"}],
        "steps": [
            {"op": "socket", "args": {"family": "inet", "type": "stream"}, "result": {"sock": 1}},
            {"op": "connect", "sock": 1, "args": {"address": "peer:echo"}},
            {"op": "send", "sock": 1, "args": {"data": payload(HELLO)}},
            {"op": "expect", "sock": 1, "args": {"data": payload(HELLO), "timeout": 5}},
            {"op": "send", "sock": 1, "args": {"data": payload(BIG)}},
            {"op": "expect", "sock": 1, "args": {"data": payload(BIG[-64:]), "timeout": 5}},
            {"op": "wait", "args": {"seconds": 30}},
            {"op": "send", "sock": 1, "args": {"data": {"text": "never sent"}}},
            {"op": "close", "sock": 1},
        ],
    }


def journal_ops(directory: Path) -> list[str]:
    path = directory / STEPS
    if not path.exists():
        return []
    ops = []
    for line in path.read_bytes().split(b"\n")[1:]:
        try:
            ops.append(json.loads(line)["op"])
        except (ValueError, KeyError):
            continue
    return ops


@pytest.fixture
def killed_journal(tmp_path: Path) -> Path:
    """A journal directory of a replay killed with SIGKILL after both exchanges, as it
    goes into its 30 s wait."""
    session_file = tmp_path / "long.json"
    session_file.write_text(json.dumps(long_session()))
    journal = tmp_path / "journal"
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench", "replay", str(session_file), "--journal",
         str(journal)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + TIMEOUT
        while journal_ops(journal).count("expect") < 2:
            if proc.poll() is not None:
                pytest.fail(f"replay exited early with {proc.returncode}: "
                            f"{proc.communicate()[1].decode()}")
            if time.monotonic() >= deadline:
                pytest.fail(f"the journal did not reach the wait step: {journal_ops(journal)}")
            time.sleep(0.01)
        # Both exchanges are journaled; only the 30 s wait is left, so it is still running.
        assert proc.poll() is None
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(TIMEOUT) == -signal.SIGKILL
    finally:
        stop_process(proc)
    return journal


def check_recovered(session: Session) -> None:
    ops = [(s.op, s.auto) for s in session.steps if not s.auto]
    assert ops == [("socket", False), ("connect", False), ("send", False), ("expect", False),
                   ("send", False), ("expect", False)]
    assert all(s.ok for s in session.steps), [str(s.error) for s in session.steps]
    sends = [s for s in session.steps if s.op == "send"]
    assert [s.data for s in sends] == [HELLO, BIG]
    assert [s.result for s in sends] == [{"sent": len(HELLO)}, {"sent": len(BIG)}]
    received = b"".join(s.data for s in session.steps if s.op == "recv" and s.auto)
    assert received == HELLO + BIG
    assert not [s for s in session.steps if s.op in ("wait", "close")]
    assert session.title == "killed mid-way"
    assert session.peers == [PeerSpec("echo", "echo")]


def test_sigkill_loses_no_completed_step(killed_journal: Path) -> None:
    assert (killed_journal / DATA).stat().st_size >= len(BIG)
    session = load_session(killed_journal)
    check_recovered(session)
    big_send = [s for s in session.steps if s.op == "send"][1]
    assert isinstance(big_send.args["data"], DataRef)  # it lives in data.bin, not the line


def test_recover_command_writes_a_session_that_replays(killed_journal: Path,
                                                       tmp_path: Path) -> None:
    out = tmp_path / "recovered.json"
    done = subprocess.run([sys.executable, "-m", "workbench", "recover", str(killed_journal),
                           "-o", str(out)], capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    steps = len(load_session(killed_journal).steps)
    assert done.stdout.strip() == f"{out}: {steps} steps recovered"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    check_recovered(load_session(out))
    replay = subprocess.run([sys.executable, "-m", "workbench", "replay", str(out)],
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "match" in replay.stdout


def test_a_line_cut_short_is_skipped(killed_journal: Path, tmp_path: Path) -> None:
    whole = load_session(killed_journal)
    cut = tmp_path / "cut"
    shutil.copytree(killed_journal, cut)
    with open(cut / STEPS, "ab") as steps:
        steps.write(b'{"op":"send","sock":1,"args":{"data":{"te')  # a kill mid-write
    session = load_session(cut)
    assert [s.op for s in session.steps] == [s.op for s in whole.steps]
    check_recovered(session)


def test_a_damaged_middle_line_is_an_error(killed_journal: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(killed_journal, broken)
    lines = (broken / STEPS).read_bytes().split(b"\n")
    lines[2] = lines[2][:10]
    (broken / STEPS).write_bytes(b"\n".join(lines))
    with pytest.raises(SessionFormatError) as info:
        load_session(broken)
    message = str(info.value)
    assert "line 3 is not valid JSON" in message and str(broken) in message
    assert "\n" not in message


def test_journal_of_an_engine_reopens_in_process(tmp_path: Path) -> None:
    directory = tmp_path / "j"
    journal = Journal(directory)
    session = Session(peers=[PeerSpec("echo", "echo")], title="in process")
    journal.start(session)
    try:
        with started_peers(session.peers) as addresses:
            engine = Engine(session, peers=addresses, journal=journal)
            try:
                sid = engine.call("socket").result["sock"]  # type: ignore[index]
                engine.call("connect", sid, address="peer:echo")
                engine.call("send", sid, data=BIG)
                assert engine.call("expect", sid, data=BIG, timeout=5).ok
            finally:
                engine.shutdown()
        # Each line follows its bytes into data.bin: once they are all there, so are the lines.
        assert journal.log.flush(TIMEOUT)
        again = load_journal(directory)  # while the writer still has it open
        assert [(s.op, s.sock, s.auto, s.data) for s in again.steps] == [
            (s.op, s.sock, s.auto, s.data) for s in session.steps]
        assert b"".join(s.data for s in again.steps if s.op == "recv") == BIG
    finally:
        journal.close()
    assert stat.S_IMODE((directory / STEPS).stat().st_mode) == 0o600
    assert stat.S_IMODE((directory / DATA).stat().st_mode) == 0o600
    first_recv = next(s for s in session.steps if s.op == "recv")
    with pytest.raises(ValueError, match="closed"):
        first_recv.data  # noqa: B018 - the journal's bytes went with it, loudly
    reopened = load_journal(directory)  # the files keep them
    assert b"".join(s.data for s in reopened.steps if s.op == "recv") == BIG


def test_empty_or_foreign_journals_are_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / STEPS).write_bytes(b"")
    with pytest.raises(SessionFormatError, match="journal is empty"):
        load_session(tmp_path / "empty")
    (tmp_path / "plain").mkdir()
    with pytest.raises(SessionFormatError, match="not a journal"):
        load_session(tmp_path / "plain")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / STEPS).write_text('{"format": "socket-workbench-session", '
                                            '"version": 1}\n')
    with pytest.raises(SessionFormatError, match="expected 'socket-workbench-journal'"):
        load_session(tmp_path / "other")


# -- session files ------------------------------------------------------------------------


@pytest.fixture
def big_session() -> Iterator[Session]:
    session = Session(title="big")
    session.add(Step("send", 1, {"data": b"small"}, t=0.1, result={"sent": 5}))
    session.add(Step("recv", 1, auto=True, t=0.2, result={"data": os.urandom(100_000), "at": 0}))
    yield session


def test_save_is_mode_0600_with_a_sidecar(tmp_path: Path, big_session: Session) -> None:
    path = save_session(big_session, tmp_path / "big.json")
    side = tmp_path / "big.data"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(side.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.data", "big.json"]  # no temps
    document = json.loads(path.read_text())
    assert document["steps"][0]["args"]["data"] == {"text": "small"}
    assert document["steps"][1]["result"]["data"] == {"file": "big.data", "at": 0,
                                                      "size": 100_000}
    again = load_session(path)
    assert [s.data for s in again.steps] == [s.data for s in big_session.steps]


def test_save_replaces_an_existing_file(tmp_path: Path, big_session: Session) -> None:
    path = tmp_path / "s.json"
    path.write_text("old contents")
    path.chmod(0o644)
    save_session(Session(title="new"), path)
    assert load_session(path).title == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_load_errors_name_the_file(tmp_path: Path, big_session: Session) -> None:
    path = save_session(big_session, tmp_path / "big.json")
    (tmp_path / "big.data").unlink()
    with pytest.raises(SessionFormatError) as info:
        load_session(path)
    assert str(info.value).startswith(f"{path}: ") and "big.data" in str(info.value)
    with pytest.raises(SessionFormatError, match="no such file"):
        load_session(tmp_path / "missing.json")
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SessionFormatError, match="not a text file"):
        load_session(tmp_path / "binary.json")


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_loading_many_sidecar_payloads_opens_the_sidecar_once(tmp_path: Path) -> None:
    session = Session()
    blobs = [bytes([n]) * 70_000 for n in range(40)]  # each above the inline limit
    for n, blob in enumerate(blobs):
        session.add(Step("send", 1, {"data": blob}, t=n, result={"sent": len(blob)}))
    path = save_session(session, tmp_path / "many.json")
    before = len(os.listdir("/proc/self/fd"))
    again = load_session(path)
    assert len(os.listdir("/proc/self/fd")) - before <= 1
    assert [s.data for s in again.steps] == blobs
