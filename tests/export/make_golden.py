"""Regenerate the golden exports in tests/export/golden/ from the example sessions and
golden/options-session.json.

Run it on purpose after changing a generator, then review `git diff tests/export/golden`
as the change to what users get:

    python tests/export/make_golden.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
# (session, language, I/O model, golden file)
CASES = [
    ("tcp-echo", "c", "blocking", "tcp-echo.c"),
    ("tcp-echo", "python", "blocking", "tcp-echo.py"),
    ("tcp-listener", "c", "poll", "tcp-listener-poll.c"),
    ("tcp-listener", "python", "selectors", "tcp-listener-selectors.py"),
    ("options", "c", "blocking", "options.c"),  # golden/options-session.json
    ("options", "python", "blocking", "options.py"),
]


def render(session_name: str, lang: str, model: str) -> str:
    sys.path.insert(0, str(ROOT))
    from workbench.export.c import export_c
    from workbench.export.python import export_python
    from workbench.io.sessionfile import load_session

    example = ROOT / "sessions" / f"{session_name}.json"
    session = load_session(example if example.exists()
                           else GOLDEN / f"{session_name}-session.json")
    try:
        return (export_c if lang == "c" else export_python)(session, model)
    finally:
        session.close()


def main() -> int:
    GOLDEN.mkdir(exist_ok=True)
    for name, lang, model, out in CASES:
        (GOLDEN / out).write_text(render(name, lang, model))
        print(f"wrote {GOLDEN / out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
