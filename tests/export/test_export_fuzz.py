"""Exporting damaged copies of the example sessions: whatever the damage, `workbench
export` exits 0 or 2, a refusal is one line, nothing prints a traceback, and what it
exports is valid Python, or JSON findings that validate against their schema."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inprocess import check_contract, run_cli
from jsonschema import Draft202012Validator
from session_mutants import SIDECAR, examples, mutant

BASES = examples()
SCHEMA = Draft202012Validator(json.loads(
    (Path(__file__).resolve().parents[2] / "sessions" / "findings.schema.json").read_text()))


class DrawPicker:
    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def integer(self, low: int, high: int) -> int:
        return self.data.draw(st.integers(low, high))


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_damaged_session_exports_or_is_refused_in_one_line(data: st.DataObject,
                                                              tmp_path: Path) -> None:
    text = mutant(DrawPicker(data), BASES, text_damage=data.draw(st.booleans()))
    (tmp_path / "s.data").write_bytes(SIDECAR)
    path = tmp_path / "mutant.json"
    path.write_bytes(text)
    for lang in ("python", "json", "c"):
        run = run_cli("export", str(path), "--lang", lang)
        check_contract(run, (0, 1, 2) if lang == "json" else (0, 2))
        if run.code == 2:
            continue
        if lang == "python":
            ast.parse(run.out)
        elif lang == "json":
            SCHEMA.validate(json.loads(run.out))
        else:
            assert run.out.count("static int run(void)") == 2  # declared, then defined
