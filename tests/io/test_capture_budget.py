"""A capture budget: received bytes kept on disk stop at the budget, counted on exactly.

Everything is real: a raw sender floods a workspace's listener over loopback, the
journal writes `data.bin` and `steps.jsonl` on disk, and a killed run is a real process
killed with SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from support import stop_process, threads_end, wait_until

from workbench.core.session import Session
from workbench.core.sizes import AUTO
from workbench.core.steps import DataRef, NotKept, Step
from workbench.io import capture as capture_module
from workbench.io.capture import IN, OUT, ByteLog, CaptureStore, NotKeptError
from workbench.io.capture_files import free_space
from workbench.io.capture_limits import BUDGET_MAX, capture_limits
from workbench.io.engine.discard import SLICE
from workbench.io.journal import DATA, STEPS, Journal, load_journal
from workbench.io.peers import Peer, format_address
from workbench.io.replay import replay_session
from workbench.io.sessionfile import load_session, save_session
from workbench.io.settings import Settings
from workbench.io.workspace import Workspace

MIB = 1 << 20
BUDGET = 64 * MIB
PATTERN = bytes(range(256)) * 4096  # 1 MiB; the byte at stream offset k is k % 256
WITHIN = 60.0
SCHEMA = Path(__file__).resolve().parents[2] / "sessions" / "session.schema.json"


@pytest.fixture(autouse=True)
def private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user settings or journals leak in, and none are touched."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def pattern(offset: int, size: int) -> bytes:
    start = offset % 256
    return (PATTERN * (1 + (start + size) // len(PATTERN) + 1))[start:start + size]


def listener(ws: Workspace) -> tuple[int, int]:
    sid = ws.call("socket").result["sock"]  # type: ignore[index]
    assert ws.call("bind", sid, address="127.0.0.1:0").ok
    assert ws.call("listen", sid, backlog=1).ok
    return sid, int(ws.socket_info(sid).local.rsplit(":", 1)[1])  # type: ignore[union-attr]


def flood(ws: Workspace, total: int) -> int:
    """Send `total` pattern bytes to a new listener of `ws`; the accepted socket's id once
    every byte and the end are recorded."""
    sid, port = listener(ws)
    with socket.create_connection(("127.0.0.1", port)) as sender:
        for at in range(0, total, len(PATTERN)):
            sender.sendall(memoryview(PATTERN)[:min(len(PATTERN), total - at)])
    child: list[int] = []

    def ended() -> bool:
        kids = [i for i in ws.sockets() if i.parent == sid]
        child[:] = [kids[0].id] if kids else []
        return bool(kids) and kids[0].bytes_in >= total and any(
            s.op == "recv" and s.sock == kids[0].id and s.result and s.result.get("eof")
            for s in ws.steps())

    wait_until(ended, f"the flood of {total} bytes and its end", WITHIN)
    return child[0]


def received_payloads(steps: list[Step], sock: int) -> list[DataRef | NotKept | bytes]:
    return [s.result["data"] for s in steps if s.op in ("recv", "recvfrom") and s.sock == sock
            and s.ok and s.result and not s.result.get("eof")]


@pytest.fixture
def budgeted(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace(journal_dir=tmp_path / "journal", lossless=True, capture_budget=BUDGET)
    try:
        yield ws
    finally:
        ws.close()
    threads_end()


# -- the budget ------------------------------------------------------------------------------


def test_a_flood_with_a_64_mib_budget_stops_keeping_at_64_mib(budgeted: Workspace,
                                                              tmp_path: Path) -> None:
    total = BUDGET + 40 * MIB + 12345
    sock = flood(budgeted, total)
    store = budgeted.engine.capture(sock)
    assert store.totals == [total, 0]  # counted exactly, kept or not
    kept = [c for c in store.chunks(IN) if c.kept]
    gaps = [c for c in store.chunks(IN) if not c.kept and c.size]
    assert sum(c.size for c in kept) == BUDGET  # the head, to the byte
    assert store.lost[IN] == total - BUDGET == sum(c.size for c in gaps)
    assert max(c.offset + c.size for c in kept) == BUDGET == min(c.offset for c in gaps)
    assert {c.why for c in gaps} == {"budget"}
    assert store.read(IN, BUDGET - 100, 100) == pattern(BUDGET - 100, 100)
    with pytest.raises(NotKeptError, match="capture budget was reached"):
        store.read(IN, BUDGET - 1, 2)
    assert budgeted.capture_full() == "capture full (64.0M kept of 64.0M budget)"

    payloads = received_payloads(budgeted.steps(), sock)
    assert {p.why for p in payloads if isinstance(p, NotKept)} == {"budget"}
    assert sum(len(p) for p in payloads if not isinstance(p, NotKept)) == BUDGET
    assert budgeted.engine.log.flush(WITHIN)
    assert (tmp_path / "journal" / DATA).stat().st_size == BUDGET


def test_keeping_up_with_a_budget_never_keeps_more_and_counts_exactly(tmp_path: Path) -> None:
    ws = Workspace(journal_dir=tmp_path / "journal", capture_budget=16 * MIB)
    try:
        total = 48 * MIB
        sock = flood(ws, total)
        store = ws.engine.capture(sock)
        assert store.totals[IN] == total
        kept = sum(c.size for c in store.chunks(IN) if c.kept)
        assert kept + store.lost[IN] == total and kept <= 16 * MIB
        whys = [c.why for c in store.chunks(IN) if not c.kept and c.size]
        assert whys[-1] == "budget" and set(whys) <= {"storage", "budget"}
        first = whys.index("budget")  # once the budget is reached, every gap is its
        assert set(whys[first:]) == {"budget"}
        assert ws.engine.log.flush(WITHIN)
        assert (tmp_path / "journal" / DATA).stat().st_size == kept
    finally:
        ws.close()
    threads_end()


def test_datagrams_past_the_budget_are_counted_not_kept(tmp_path: Path) -> None:
    ws = Workspace(journal=False, capture_budget=10_000)
    try:
        sid = ws.call("socket", type="dgram").result["sock"]  # type: ignore[index]
        assert ws.call("bind", sid, address="127.0.0.1:0").ok
        port = int(ws.socket_info(sid).local.rsplit(":", 1)[1])  # type: ignore[union-attr]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for n in range(30):
                sender.sendto(bytes([n]) * 1000, ("127.0.0.1", port))
                wait_until(lambda n=n: ws.engine.capture(sid).totals[IN] == 1000 * (n + 1),
                           f"datagram {n}")
        store = ws.engine.capture(sid)
        chunks = store.chunks(IN)
        assert [c.kept for c in chunks] == [True] * 10 + [False] * 20
        assert {c.why for c in chunks[10:]} == {"budget"}
        assert store.read(IN, 9000, 1000) == bytes([9]) * 1000
        payloads = received_payloads(ws.steps(), sid)
        assert payloads[10:] == [NotKept(1000, "budget")] * 20
    finally:
        ws.close()
    threads_end()


def test_sends_are_kept_past_the_budget_and_stored_once(tmp_path: Path) -> None:
    """data.bin holds the 1 MiB sent once, and the first 256 KiB of its echo."""
    budget, payload = 256 << 10, bytes(PATTERN)
    ws = Workspace(journal_dir=tmp_path / "journal", lossless=True, capture_budget=budget)
    try:
        with Peer("echo", "tcp", ("127.0.0.1", 0)) as peer:
            sid = ws.call("socket").result["sock"]  # type: ignore[index]
            assert ws.call("connect", sid, address=format_address(peer.address)).ok
            assert ws.call("send", sid, within=WITHIN, data=payload).result == {"sent": MIB}
            wait_until(lambda: ws.engine.capture(sid).totals[IN] == MIB, "the echo", WITHIN)
            assert ws.call("close", sid).ok
        store = ws.engine.capture(sid)
        assert store.lost == [MIB - budget, 0]
        assert store.stream(OUT) == payload
        assert store.read(IN, 0, budget) == payload[:budget]
    finally:
        ws.close()
    threads_end()
    assert (tmp_path / "journal" / DATA).stat().st_size == MIB + budget
    again = load_journal(tmp_path / "journal")
    try:
        sends = [s for s in again.steps if s.op == "send"]
        assert len(sends) == 1 and sends[0].data == payload
        kept = [p for p in received_payloads(again.steps, sid) if not isinstance(p, NotKept)]
        assert sum(len(p) for p in kept) == budget
    finally:
        again.close()


def test_past_the_budget_a_long_flood_adds_a_few_journal_lines_a_second(
        tmp_path: Path) -> None:
    """A step per drain would journal thousands of lines a second past the budget; one
    step per slice keeps the folder within the budget and a little more."""
    budget, total = MIB, 512 * MIB
    ws = Workspace(journal_dir=tmp_path / "journal", capture_budget=budget)
    try:
        started = time.monotonic()
        sock = flood(ws, total)
        seconds = time.monotonic() - started
        store = ws.engine.capture(sock)
        assert store.totals[IN] == total and store.lost[IN] == total - budget
        gaps = [c for c in store.chunks(IN) if not c.kept and c.size]
        assert {c.why for c in gaps} == {"budget"}
        assert len(gaps) <= seconds / SLICE + 5, f"{len(gaps)} gap steps in {seconds:.2f} s"
        assert ws.engine.log.flush(WITHIN)
    finally:
        ws.close()
    threads_end()
    folder = sum(p.stat().st_size for p in (tmp_path / "journal").iterdir())
    assert folder <= budget + 64 * 1024, f"the journal takes {folder} bytes"


def test_datagrams_past_the_budget_replay_by_length(tmp_path: Path) -> None:
    ws = Workspace(journal=False, capture_budget=2500)
    try:
        ws.start_peer("echo", "udp", name="echo")
        sid = ws.call("socket", type="dgram").result["sock"]  # type: ignore[index]
        assert ws.call("connect", sid, address="peer:echo").ok
        for n in range(5):
            assert ws.call("send", sid, data=bytes([n]) * 1000).ok
            wait_until(lambda n=n: ws.engine.capture(sid).totals[IN] == 1000 * (n + 1),
                       f"echo {n}")
        assert ws.call("close", sid).ok
        path = save_session(ws.session, tmp_path / "udp.json")
    finally:
        ws.close()
    threads_end()
    recorded = load_session(path)
    kinds = [type(p).__name__ for p in received_payloads(recorded.steps, sid)]
    assert kinds == ["bytes", "bytes", "NotKept", "NotKept", "NotKept"]
    try:
        report = replay_session(recorded, timeout=10)
    finally:
        recorded.close()
    threads_end()
    assert report.ok, [m.message for m in report.mismatches]
    assert report.live is not None
    report.live.close()


def test_a_zero_budget_keeps_nothing_received(tmp_path: Path) -> None:
    log = ByteLog()
    log.budget = 0
    store = CaptureStore(log)
    try:
        assert not store.append(IN, b"x" * 10, 0.0).kept
        assert store.append(OUT, b"y" * 10, 0.0).kept
        assert log.reserve(1 << 20) is None and log.full == "budget"
    finally:
        log.close()


# -- the free-space floor -----------------------------------------------------------------


def test_below_the_floor_nothing_received_is_kept_and_free_space_is_looked_at_rarely(
        monkeypatch: pytest.MonkeyPatch) -> None:
    looks: list[str] = []
    free = [10 * MIB]

    def fake_free(folder: str) -> int:
        looks.append(folder)
        return free[0]

    monkeypatch.setattr(capture_module, "free_space", fake_free)
    log = ByteLog()
    log.floor = 4 * MIB
    store = CaptureStore(log)
    piece = b"z" * (64 << 10)
    try:
        chunks = [store.append(IN, piece, 0.0) for _ in range(256)]  # 16 MiB
        assert len(looks) == 1  # not once per append
        kept = [c for c in chunks if c.kept]
        assert 0 < sum(c.size for c in kept) <= 6 * MIB  # no more than it had room for
        assert {c.why for c in chunks if not c.kept} == {"disk"} and log.full == "disk"
        free[0] = 1 << 40  # space came back: seen within the next look
        later = [store.append(IN, piece, 0.0) for _ in range(1100)]  # 68.75 MiB
        assert len(looks) == 2 and later[-1].kept and log.full == ""
        assert store.append(OUT, piece, 0.0).kept  # sends never wait on the floor
    finally:
        log.close()


# -- the reason, on disk -------------------------------------------------------------------


def test_the_reason_survives_journal_and_session_file(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j")
    session = Session()
    journal.start(session)
    for why, size in (("storage", 5), ("budget", 7), ("disk", 9)):
        journal.append(Step("recv", 1, {}, auto=True, result={"data": NotKept(size, why)}))
    journal.close()
    lines = [json.loads(x) for x in (tmp_path / "j" / STEPS).read_text().splitlines()[1:]]
    assert [x["result"]["data"] for x in lines] == [  # storage says nothing: old files agree
        {"kept": False, "size": 5}, {"kept": False, "size": 7, "why": "budget"},
        {"kept": False, "size": 9, "why": "disk"}]
    loaded = load_journal(tmp_path / "j")
    whys = [s.result["data"] for s in loaded.steps]  # type: ignore[index]
    assert whys == [NotKept(5), NotKept(7, "budget"), NotKept(9, "disk")]
    path = save_session(loaded, tmp_path / "s.json")
    loaded.close()
    doc = json.loads(path.read_text())
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    assert not list(validator.iter_errors(doc))
    again = load_session(path)
    assert [s.result["data"] for s in again.steps] == whys  # type: ignore[index]
    doc["steps"][0]["result"]["data"]["why"] = "cosmic rays"
    assert list(validator.iter_errors(doc))


# -- limits: defaults, settings, the command line -----------------------------------------


def test_the_default_budget_is_the_smaller_of_1g_and_a_tenth_of_free_space(
        tmp_path: Path) -> None:
    free = free_space(str(tmp_path))
    assert free is not None
    limits = capture_limits(tmp_path)
    want = min(BUDGET_MAX, free // 10)
    assert limits.budget is not None and abs(limits.budget - want) <= max(want // 100, MIB)
    assert limits.floor == 512 * MIB
    assert capture_limits(tmp_path, None).budget is None
    assert capture_limits(tmp_path, 5).budget == 5
    assert capture_limits(tmp_path, AUTO, Settings(capture_budget=123)).budget == 123
    assert capture_limits(tmp_path, AUTO, at_least=1 << 50).budget == 1 << 50
    assert capture_limits(tmp_path, AUTO, Settings(free_space_floor=1 << 60)).notices


def test_the_settings_file_sets_the_budget_and_a_bad_one_is_a_warning(tmp_path: Path) -> None:
    config = tmp_path / "config" / "socket-workbench"
    config.mkdir(parents=True)
    (config / "settings.json").write_text('{"capture_budget": "3M"}')
    ws = Workspace(journal=False)
    try:
        assert ws.engine.log.budget == 3 * MIB and ws.notices == []
    finally:
        ws.close()
    ws = Workspace(journal=False, capture_budget=None)  # the command line wins
    try:
        assert ws.engine.log.budget is None
    finally:
        ws.close()
    for text, words in (("{", "ignored"), ('{"capture_budget": "lots"}', "not a size"),
                        ('{"capture_bugdet": "1G"}', "unknown setting"), ("[]", "object")):
        (config / "settings.json").write_text(text)
        ws = Workspace(journal=False)
        try:
            assert len(ws.notices) == 1 and "\n" not in ws.notices[0], ws.notices
            assert "settings.json: ignored" in ws.notices[0] and words in ws.notices[0]
            assert ws.engine.log.budget is not None  # the default
        finally:
            ws.close()
    threads_end()


# -- a killed run ---------------------------------------------------------------------------

KILLED = """
import sys
from pathlib import Path
from workbench.io.workspace import Workspace

ws = Workspace(journal_dir=Path(sys.argv[1]), lossless=True, capture_budget=int(sys.argv[2]))
sock = ws.call("socket").result["sock"]
ws.call("bind", sock, address="127.0.0.1:0")
ws.call("listen", sock, backlog=1)
print(ws.socket_info(sock).local.rsplit(":", 1)[1], flush=True)
sys.stdin.read()
"""


def budget_gaps(journal: Path) -> int:
    """`budget` gaps the journal's steps hold so far (read as a file, not loaded)."""
    return (journal / STEPS).read_bytes().count(b'"why":"budget"')


def test_a_run_killed_mid_flood_past_its_budget_reads_back_whole(tmp_path: Path) -> None:
    journal, budget = tmp_path / "journal", 8 * MIB + 4321
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(journal), str(budget)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    stop = threading.Event()
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        sender = socket.create_connection(("127.0.0.1", port))

        def send() -> None:
            at = 0
            while not stop.is_set() and at < 4096 * MIB:  # bounded: the kill comes first
                try:
                    sender.sendall(PATTERN)
                except OSError:
                    return  # the receiver was killed
                at += len(PATTERN)

        thread = threading.Thread(target=send, daemon=True)
        thread.start()
        wait_until(lambda: budget_gaps(journal) >= 3, "budget gaps in the journal", WITHIN)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(WITHIN) == -signal.SIGKILL
        stop.set()
        sender.close()
        thread.join(WITHIN)
    finally:
        stop.set()
        stop_process(proc)
    assert (journal / DATA).stat().st_size <= budget
    session = load_journal(journal)  # whole: every line's bytes are in data.bin
    try:
        sock = max(s.result["sock"] for s in session.steps if s.op == "accept" and s.ok)
        payloads = received_payloads(session.steps, sock)
        kept = [p for p in payloads if not isinstance(p, NotKept)]
        gaps = [p for p in payloads if isinstance(p, NotKept)]
        assert len(gaps) >= 3 and {g.why for g in gaps} == {"budget"}
        assert payloads.index(gaps[0]) == len(kept)  # the head was kept, then only gaps
        assert b"".join(p.load() for p in kept) == pattern(0, budget)
    finally:
        session.close()


def test_a_huge_gap_loads_but_stepping_through_refuses_it(tmp_path: Path) -> None:
    """A flood past the budget is one big not-kept step: the file loads, and the
    workspace refuses to step through what replay would have to hold in memory."""
    from workbench.core.errors import InputError
    from workbench.io.sessionfile import load_session, save_session
    from workbench.io.workspace import Workspace

    session = Session()
    session.add(Step("socket", None, {"family": "inet", "type": "stream", "proto": 0,
                                      "auto": True}, result={"sock": 1}))
    session.add(Step("recv", 1, auto=True, t=0.1,
                     result={"data": NotKept(1 << 40, "budget"), "at": 0}))
    path = save_session(session, tmp_path / "flood.json")
    assert load_session(path).steps[1].result["data"].size == 1 << 40
    ws = Workspace(journal=False)
    try:
        with pytest.raises(InputError, match="over the 4 GiB"):
            ws.load(path)
    finally:
        ws.close()
