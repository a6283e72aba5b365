"""The generated text of two example sessions and of one setting struct and name
options on raw sockets too (golden/options-session.json), in both languages, against
files kept in tests/export/golden/: a change to a generator shows as a diff to review. After a
deliberate change, regenerate them with `python tests/export/make_golden.py`."""

from __future__ import annotations

import difflib

import pytest
from make_golden import CASES, GOLDEN, render


@pytest.mark.parametrize(("name", "lang", "model", "out"), CASES, ids=[c[3] for c in CASES])
def test_export_matches_its_golden_file(name: str, lang: str, model: str, out: str) -> None:
    want = (GOLDEN / out).read_text()
    got = render(name, lang, model)
    if got != want:
        diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                            f"golden/{out}", "generated", n=2))
        pytest.fail(f"{out} differs from the generator's output (if the change is meant, "
                    f"run python tests/export/make_golden.py and review the diff):\n"
                    f"{diff[:4000]}")
