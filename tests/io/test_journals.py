"""Journals as a whole: listed, pruned when saved and old, capped together on disk.

Real journals in a private $XDG_STATE_HOME: written by real workspaces and journals,
aged by setting their files' times, and flooded over loopback for the cap.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest
from support import threads_end, wait_until

from workbench.core.session import Session
from workbench.core.steps import Step
from workbench.io.journal import DATA, Journal, journals_root
from workbench.io.journals import (
    SAVED,
    count_steps,
    list_journals,
    mark_saved,
    prune,
    tidy_at_start,
    usage,
)
from workbench.io.workspace import Workspace

MIB = 1 << 20
DAY = 86400.0
WITHIN = 60.0


@pytest.fixture(autouse=True)
def private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def settings(**values: object) -> None:
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "socket-workbench"
    config.mkdir(parents=True, exist_ok=True)
    (config / "settings.json").write_text(json.dumps(values))


def journal(name: str, steps: int, saved: int | None = None, age_days: float = 30.0,
            after_save: int = 0) -> Path:
    """A closed journal under the journals folder: `steps` socket steps, a save after
    `saved` of them (if given), `after_save` more; its files aged `age_days`."""
    path = journals_root() / name
    j = Journal(path)
    j.start(Session())
    for n in range(steps):
        j.append(Step("socket", None, {"family": "inet", "type": "stream"}, t=float(n),
                      result={"sock": n + 1}))
    j.close()
    if saved is not None:
        mark_saved(path, path.parent / f"{name}.json", saved)
    if after_save:
        time.sleep(0.01)  # a later line: after the marker, whatever the clock's grain
        with open(path / "steps.jsonl", "ab") as f:
            f.write(b'{"op":"close","sock":1}\n' * after_save)
    age(path, age_days)
    return path


def age(path: Path, days: float) -> None:
    when = time.time() - days * DAY
    for entry in path.iterdir():
        os.utime(entry, (when, when), follow_symlinks=False)


# -- listing --------------------------------------------------------------------------------


def test_journals_are_listed_with_their_steps_size_and_whether_saved() -> None:
    journal("20240101-120000-11", steps=3, saved=3, age_days=10)
    journal("20240102-120000-22", steps=4, saved=2, age_days=5)
    journal("20240103-120000-33", steps=0, age_days=1)
    journal("20240104-120000-44", steps=2, saved=2, after_save=1, age_days=0)
    found = {j.path.name: j for j in list_journals(journals_root())}
    assert [j.path.name for j in list_journals(journals_root())] == [
        "20240104-120000-44", "20240103-120000-33", "20240102-120000-22", "20240101-120000-11"]
    assert {name: (j.status, j.unsaved) for name, j in found.items()} == {
        "20240101-120000-11": ("saved", 0),
        "20240102-120000-22": ("unsaved (2 steps)", 2),
        "20240103-120000-33": ("empty", 0),
        "20240104-120000-44": ("unsaved (1 steps)", 1),
    }
    first = found["20240101-120000-11"]
    assert first.started == "2024-01-01 12:00:00" and first.steps == 3
    assert first.saved_to.endswith("20240101-120000-11.json")
    assert first.size == sum(p.stat().st_size for p in first.path.iterdir())
    assert usage(journals_root()) == sum(j.size for j in found.values())


def test_a_running_journal_is_in_use() -> None:
    running = Journal(journals_root() / "20240101-000000-1")
    try:
        (info,) = list_journals(journals_root())
        assert info.in_use and info.status == "in use"
    finally:
        running.close()
    (info,) = list_journals(journals_root())
    assert not info.in_use


def test_symlinks_and_strangers_in_the_folder_are_left_alone(tmp_path: Path) -> None:
    outside = journal("20240101-000000-1", steps=1, saved=1)
    os.rename(outside, tmp_path / "outside")
    (journals_root() / "link").symlink_to(tmp_path / "outside")
    (journals_root() / "notes.txt").write_text("mine")
    (journals_root() / "folder").mkdir()
    assert list_journals(journals_root()) == []
    assert prune(journals_root(), 0).removed == []
    assert (tmp_path / "outside" / "steps.jsonl").exists()
    assert (journals_root() / "notes.txt").exists() and (journals_root() / "folder").exists()


# -- pruning ---------------------------------------------------------------------------------


def test_prune_never_deletes_a_journal_with_unsaved_steps() -> None:
    saved = journal("20240101-000000-1", steps=3, saved=3)
    empty = journal("20240101-000000-2", steps=0)
    never = journal("20240101-000000-3", steps=2)
    partly = journal("20240101-000000-4", steps=3, saved=1)
    later = journal("20240101-000000-5", steps=2, saved=2, after_save=2)
    fresh = journal("20240101-000000-6", steps=1, saved=1, age_days=1)
    running = Journal(journals_root() / "20240101-000000-7")
    age(running.dir, 30)
    try:
        dry = prune(journals_root(), 7, dry_run=True)
        assert {j.path for j in dry.removed} == {saved, empty} and saved.exists()
        done = prune(journals_root(), 7)
        assert {j.path for j in done.removed} == {saved, empty}
        assert {j.path for j in done.unsaved} == {never, partly, later}
        assert not saved.exists() and not empty.exists()
        for kept in (never, partly, later, fresh, running.dir):
            assert kept.exists()
        again = prune(journals_root(), 0)  # any age: unsaved steps still stay
        assert {j.path for j in again.removed} == {fresh}
        assert {j.path for j in again.unsaved} == {never, partly, later}
    finally:
        running.close()


def test_prune_keeps_the_newest_n() -> None:
    paths = [journal(f"2024010{n}-000000-1", steps=1, saved=1, age_days=30 - n)
             for n in range(1, 6)]
    done = prune(journals_root(), 7, keep=2)
    assert {j.path for j in done.removed} == set(paths[:3])
    assert [p.exists() for p in paths] == [False, False, False, True, True]


def test_at_start_old_saved_journals_go_and_old_unsaved_ones_are_named(tmp_path: Path) -> None:
    old_saved = journal("20240101-000000-1", steps=2, saved=2)
    old_unsaved = journal("20240101-000000-2", steps=2, saved=1)
    new_saved = journal("20240101-000000-3", steps=1, saved=1, age_days=2)
    ws = Workspace()  # in the default journals folder
    try:
        assert not old_saved.exists() and old_unsaved.exists() and new_saved.exists()
        assert len(ws.notices) == 2, ws.notices
        assert ws.notices[0].startswith("removed 1 saved journals older than 7 days")
        assert ws.notices[1].startswith("1 journals older than 7 days hold unsaved steps")
        assert "workbench journals" in ws.notices[1]
        assert all("\n" not in n for n in ws.notices)
    finally:
        ws.close()
    assert tidy_at_start(journals_root()) == [ws.notices[1]]


def test_a_saved_workspace_stays_saved_through_its_closing(tmp_path: Path) -> None:
    ws = Workspace()
    try:
        ws.call("socket")
        ws.save(tmp_path / "s.json")
        directory = ws.journal.dir  # type: ignore[union-attr]
    finally:
        ws.close()  # closes the socket: a step no file holds, but nothing the user did
    assert json.loads((directory / SAVED).read_text())["steps"] == 2
    assert count_steps(directory) == 2
    (info,) = list_journals(journals_root())
    assert info.status == "saved" and info.saved_to == str(tmp_path / "s.json")

    ws = Workspace()
    try:
        sock = ws.call("socket").result["sock"]  # type: ignore[index]
        ws.save(tmp_path / "t.json")
        ws.call("close", sock)  # after the save: unsaved
    finally:
        ws.close()
    threads_end()
    newest = list_journals(journals_root())[0]
    assert newest.path != directory and newest.unsaved == 1


# -- the cap on the journals folder ----------------------------------------------------------


def flood(ws: Workspace, total: int) -> None:
    sid = ws.call("socket").result["sock"]  # type: ignore[index]
    ws.call("bind", sid, address="127.0.0.1:0")
    ws.call("listen", sid, backlog=1)
    port = int(ws.socket_info(sid).local.rsplit(":", 1)[1])  # type: ignore[union-attr]
    with socket.create_connection(("127.0.0.1", port)) as sender:
        sender.sendall(os.urandom(total))

    def received() -> bool:
        kids = [i for i in ws.sockets() if i.parent == sid]
        return bool(kids) and kids[0].bytes_in >= total

    wait_until(received, f"a flood of {total} bytes", WITHIN)
    assert ws.engine.log.flush(WITHIN)


def test_the_journals_cap_holds_with_several_journals() -> None:
    cap = 20 * MIB
    settings(journals_cap="20M")
    budgets, notices = [], []
    for _ in range(4):
        ws = Workspace(lossless=True)  # every byte it may keep, it keeps: the worst case
        try:
            budgets.append(ws.engine.log.budget)
            notices += ws.notices
            flood(ws, 8 * MIB)
        finally:
            ws.close()
        threads_end()
        total = sum(j.size for j in list_journals(journals_root()))
        assert total <= cap, f"journals take {total} bytes, over the {cap}-byte cap"
    data = [(j.path / DATA).stat().st_size for j in list_journals(journals_root())][::-1]
    assert data[0] == data[1] == 8 * MIB and 0 < data[2] < 4 * MIB and data[3] == 0
    assert budgets[3] == 0 and "cap" in notices[-1] and "journals prune" in notices[-1]
