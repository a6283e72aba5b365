"""`workbench journals`, `journals prune` and `--capture-budget` as a user runs them.

Journals are real ones in a private $XDG_STATE_HOME, aged by setting their files'
times; the commands run as processes, bad input also in-process (many cases, fast).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from inprocess import check_contract, run_cli

from workbench.core.session import Session
from workbench.core.steps import Step
from workbench.io.journal import Journal
from workbench.io.journals import mark_saved

ROOT = Path(__file__).resolve().parents[2]
TCP_ECHO = ROOT / "sessions" / "tcp-echo.json"
TIMEOUT = 30.0
DAY = 86400.0


@pytest.fixture(autouse=True)
def private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))


def workbench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True,
                          text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)


def journals_dir() -> Path:
    return Path(os.environ["XDG_STATE_HOME"]) / "socket-workbench" / "journals"


def journal(name: str, steps: int, saved: int | None = None, age_days: float = 30) -> Path:
    path = journals_dir() / name
    j = Journal(path)
    j.start(Session())
    for n in range(steps):
        j.append(Step("socket", None, {"family": "inet", "type": "stream"}, t=float(n),
                      result={"sock": n + 1}))
    j.close()
    if saved is not None:
        mark_saved(path, path.parent / f"{name}.json", saved)
    when = time.time() - age_days * DAY
    for entry in path.iterdir():
        os.utime(entry, (when, when))
    return path


# -- bad input: one line, exit 2 ------------------------------------------------------------

BAD = [
    (["--capture-budget", "12Q"], "capture budget '12Q' is not a size"),
    (["demo", "--capture-budget=-1G"], "is not a size"),
    (["demo", "--capture-budget", "-1G"], "expected one argument"),
    (["open", "x.json", "--capture-budget", "lots"], "use e.g. 64M, 2G"),
    (["replay", str(TCP_ECHO), "--capture-budget", "1e3"], "is not a size"),
    (["replay", str(TCP_ECHO), "--capture-budget", "99999999999999G"], "too big"),
    (["replay", str(TCP_ECHO), "--capture-budget", ""], "is not a size"),
    (["journals", "prune", "--older-than", "-1"], "number of days"),
    (["journals", "prune", "--older-than", "nan"], "number of days"),
    (["journals", "prune", "--keep", "x"], "whole number"),
    (["journals", "prune", "--keep", "٣"], "whole number"),
    (["journals", "tidy"], "invalid choice"),
]


@pytest.mark.parametrize(("argv", "words"), BAD, ids=lambda v: " ".join(v)[:40]
                         if isinstance(v, list) else None)
def test_bad_sizes_and_counts_are_one_line_errors(argv: list[str], words: str) -> None:
    check_contract(run_cli(*argv), (2,), [words])


def test_a_bad_size_as_a_process_is_one_line_and_exit_2() -> None:
    done = workbench("demo", "--capture-budget", "64X")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "64X" in done.stderr and "Traceback" not in done.stderr


# -- listing and pruning ------------------------------------------------------------------


def test_journals_lists_them_and_prune_keeps_unsaved_steps() -> None:
    saved = journal("20240101-100000-1", steps=2, saved=2)
    unsaved = journal("20240102-100000-2", steps=3, saved=1)
    fresh = journal("20240103-100000-3", steps=1, saved=1, age_days=1)
    done = workbench("journals")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["started", "size", "steps", "status", "journal"]
    row = {name: next(x for x in lines if name in x) for name in (saved.name, unsaved.name)}
    assert "2024-01-01 10:00:00" in row[saved.name] and " saved " in row[saved.name]
    assert "unsaved (2 steps)" in row[unsaved.name]
    assert lines[-1].startswith("3 journals, ") and "1 with unsaved steps" in lines[-1]

    report = json.loads(workbench("journals", "--json").stdout)
    assert report["operation"] == "journals" and report["status"] == "ok"
    found = {Path(f["path"]).name: f for f in report["findings"]}
    assert found[saved.name]["status"] == "saved" and found[saved.name]["steps"] == 2
    assert found[unsaved.name]["unsaved_steps"] == 2

    dry = workbench("journals", "prune", "--dry-run")
    assert dry.returncode == 0 and f"would remove {saved}" in dry.stdout and saved.exists()
    done = workbench("journals", "prune")
    assert done.returncode == 0 and done.stderr == ""
    assert f"removed {saved}" in done.stdout and f"kept {unsaved}: 2 unsaved" in done.stdout
    assert not saved.exists() and unsaved.exists() and fresh.exists()
    done = workbench("journals", "prune", "--older-than", "0", "--keep", "0")
    assert not fresh.exists() and unsaved.exists()


def test_recover_marks_the_journal_saved_so_it_can_be_pruned(tmp_path: Path) -> None:
    path = journal("20240101-100000-1", steps=2)
    done = workbench("recover", str(path), "-o", str(tmp_path / "r.json"))
    assert done.returncode == 0, done.stderr
    report = json.loads(workbench("journals", "--json").stdout)
    (found,) = report["findings"]
    assert found["status"] == "saved" and found["saved_to"] == str(tmp_path / "r.json")
    for entry in path.iterdir():  # the marker is new: age the journal again
        os.utime(entry, (time.time() - 30 * DAY,) * 2)
    assert workbench("journals", "prune").returncode == 0 and not path.exists()


def test_no_journals_is_said_plainly() -> None:
    done = workbench("journals")
    assert done.returncode == 0 and done.stdout.startswith("no journals in ")


# -- replay with a budget ---------------------------------------------------------------------


@pytest.mark.parametrize("budget", ["64M", "none", "auto"])
def test_replay_takes_a_capture_budget(budget: str, tmp_path: Path) -> None:
    done = workbench("replay", str(TCP_ECHO), "--capture-budget", budget,
                     "--journal", str(tmp_path / "j"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"{TCP_ECHO}: match") and done.stderr == ""


def test_a_settings_file_budget_applies_and_a_bad_one_is_one_warning(tmp_path: Path) -> None:
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "socket-workbench"
    config.mkdir(parents=True)
    (config / "settings.json").write_text('{"capture_budget": 7}')
    done = workbench("replay", str(TCP_ECHO))  # the recording kept more: replay keeps that
    assert done.returncode == 0 and done.stderr == "", done.stdout + done.stderr
    (config / "settings.json").write_text('{"capture_budget": "seven"}')
    done = workbench("replay", str(TCP_ECHO))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and "settings.json: ignored" in done.stderr
