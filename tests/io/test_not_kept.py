"""Bytes not kept: a flood faster than storage leaves explicit gaps, never silent ones.

A tiny ring makes storage "fall behind" on purpose; everything else is real: a real
socket flood, the real writer thread, journal and session files on disk.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

from workbench.core.session import Session
from workbench.core.steps import DataRef, NotKept, Step
from workbench.io.capture import IN, ByteLog
from workbench.io.engine import Engine
from workbench.io.journal import STEPS, Journal, load_journal
from workbench.io.sessionfile import load_session, save_session

BLOB = os.urandom(2 << 20)


def flood_engine(log: ByteLog) -> tuple[Engine, int]:
    """An engine socket that has received BLOB from a raw sender; its id."""
    engine = Engine(Session(), log=log)
    listener = engine.call("socket").result["sock"]  # type: ignore[index]
    engine.call("bind", listener, address="127.0.0.1:0")
    engine.call("listen", listener, backlog=1)
    port = int(engine.socket_info(listener).local.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sender:
        sender.sendall(BLOB)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        kids = [i for i in engine.sockets() if i.parent == listener]
        # The sender's EOF is recorded after every recv of the flood: all its steps are in.
        if kids and kids[0].bytes_in >= len(BLOB) and any(
                s.op == "recv" and s.sock == kids[0].id and s.result and s.result.get("eof")
                for s in list(engine.session.steps)):
            return engine, kids[0].id
        time.sleep(0.01)
    raise AssertionError("the flood did not arrive")


def test_a_flood_past_the_ring_keeps_counts_exact_and_marks_the_gaps() -> None:
    log = ByteLog(ring_size=4096, spill_threshold=0)  # storage "behind" at once
    engine, sid = flood_engine(log)
    try:
        store = engine.capture(sid)
        chunks = store.chunks(IN)
        assert store.totals[IN] == len(BLOB)
        assert store.lost[IN] == sum(c.size for c in chunks if not c.kept) > 0
        for c in chunks:  # what was kept is exact, at its true offset
            if c.kept:
                assert store.read(IN, c.offset, c.size) == BLOB[c.offset:c.offset + c.size]
        recvs = [s for s in engine.session.steps if s.op == "recv" and s.sock == sid
                 and s.result and s.result.get("data") is not None and len(s.result["data"])]
        dropped = [s.result["data"].size for s in recvs if isinstance(s.result["data"], NotKept)]
        assert sum(dropped) == store.lost[IN]
        assert [s.result["at"] for s in recvs] == [c.offset for c in chunks if c.size]
    finally:
        engine.shutdown()
        log.close()


def test_lossless_keeps_every_byte_of_the_same_flood() -> None:
    log = ByteLog(ring_size=64 << 10, spill_threshold=0, lossless=True)
    engine, sid = flood_engine(log)
    try:
        store = engine.capture(sid)
        assert store.lost == [0, 0] and store.stream(IN) == BLOB
    finally:
        engine.shutdown()
        log.close()


def test_not_kept_bytes_survive_save_and_load(tmp_path: Path) -> None:
    session = Session()
    session.add(Step("recv", 1, {"size": 10}, auto=True, result={"data": NotKept(5000), "at": 7}))
    path = save_session(session, tmp_path / "s.json")
    doc = json.loads(path.read_text())
    assert doc["steps"][0]["result"]["data"] == {"kept": False, "size": 5000}
    again = load_session(path).steps[0]
    assert again.result is not None and again.result["data"] == NotKept(5000)


def test_the_journal_writes_a_step_only_after_its_bytes(tmp_path: Path) -> None:
    """Storage held back on purpose: the step's line waits, then follows its bytes."""
    journal = Journal(tmp_path / "j")
    journal.start(Session())
    release = threading.Event()
    write_range = journal.log._write_range

    def slow_storage(start: int, end: int) -> None:
        release.wait(10)
        write_range(start, end)

    journal.log._write_range = slow_storage  # type: ignore[method-assign]
    try:
        pos = journal.log.append(b"payload!")
        step = Step("recv", 1, {"size": 8}, result={"data": DataRef(journal.log, pos, 8)})
        journal.append(step)
        lines = (tmp_path / "j" / STEPS).read_text().splitlines()
        assert len(lines) == 1  # the header only: the bytes are not in data.bin yet
        release.set()
        assert journal.log.flush(10)
    finally:
        release.set()
        journal.close()
    loaded = load_journal(tmp_path / "j")
    assert [s.data for s in loaded.steps] == [b"payload!"]


def test_journal_keeps_not_kept_steps(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j")
    journal.start(Session())
    journal.append(Step("recv", 1, {"size": 9}, auto=True, result={"data": NotKept(9)}))
    journal.close()
    step = load_journal(tmp_path / "j").steps[0]
    assert step.result is not None and step.result["data"] == NotKept(9)
