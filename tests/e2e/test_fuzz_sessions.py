"""Fuzzing `workbench replay` with damaged copies of the example sessions.

Each mutant (tests/session_mutants.py) is replayed in this process with short
timeouts. Whatever the damage: the exit code is 0, 1 or 2, nothing prints a
traceback, no thread dies, a refusal is one line, and the run ends within a bound
computed from its steps. A hung run is caught by a watchdog that dumps every thread's
stack and ends the test process. For longer runs: tests/bench/fuzz_sessions.py.
"""

from __future__ import annotations

import faulthandler
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inprocess import check_contract, run_cli
from session_mutants import MAX_WAIT, SIDECAR, TIMEOUT, examples, mutant, time_bound

BASES = examples()
FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class DrawPicker:
    """Hypothesis draws every choice, so a failing mutant shrinks to a small one."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def integer(self, low: int, high: int) -> int:
        return self.data.draw(st.integers(low, high))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("mutants")
    (path / "s.data").write_bytes(SIDECAR)
    yield path


def replay_mutant(text: bytes, folder: Path) -> None:
    path = folder / "mutant.json"
    path.write_bytes(text)
    bound = time_bound(text, BASES)
    faulthandler.dump_traceback_later(bound + 60, exit=True)  # a hang ends the run, loudly
    try:
        run = run_cli("replay", str(path), "--timeout", str(TIMEOUT),
                      "--max-wait", str(MAX_WAIT))
    finally:
        faulthandler.cancel_dump_traceback_later()
    check_contract(run, (0, 1, 2))
    assert run.seconds <= bound, f"took {run.seconds:.1f} s, over {bound:.1f} s: {run}"


def test_the_examples_replay_quickly_as_they_are(folder: Path) -> None:
    import json

    for name, doc in BASES.items():
        path = folder / f"{name}.json"
        path.write_text(json.dumps(doc))
        run = run_cli("replay", str(path), "--timeout", "2", "--max-wait", str(MAX_WAIT))
        check_contract(run, (0,))


@FUZZ
@given(data=st.data())
def test_structural_mutants(data: st.DataObject, folder: Path) -> None:
    replay_mutant(mutant(DrawPicker(data), BASES, text_damage=False), folder)


@FUZZ
@given(data=st.data())
def test_text_damaged_mutants(data: st.DataObject, folder: Path) -> None:
    replay_mutant(mutant(DrawPicker(data), BASES, text_damage=True), folder)
