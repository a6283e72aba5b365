"""Import hygiene: the core, export, io and headless commands never load textual."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import importlib, json, pkgutil, sys
import workbench.core, workbench.export, workbench.io

def textual_loaded():
    return sorted(n for n in sys.modules if n == "textual" or n.startswith("textual."))

modules = []
for package in (workbench.core, workbench.export, workbench.io):
    for info in pkgutil.iter_modules(package.__path__):
        name = f"{package.__name__}.{info.name}"
        importlib.import_module(name)
        modules.append(name)
after_imports = textual_loaded()

from workbench.cli import main
replay_rc = main(["replay", sys.argv[1]])
errno_rc = main(["errno", "EPIPE"])
demo_rc = main(["demo", "--headless"])
print(json.dumps({"modules": modules, "after_imports": after_imports,
                  "after_commands": textual_loaded(),
                  "codes": [replay_rc, errno_rc, demo_rc]}))
"""


def run_probe(code: str, *args: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_headless_paths_do_not_import_textual() -> None:
    report = run_probe(PROBE, str(ROOT / "sessions" / "tcp-echo.json"))
    modules = report["modules"]
    assert isinstance(modules, list)
    for name in ("workbench.core.session", "workbench.core.steps", "workbench.io.engine",
                 "workbench.io.replay", "workbench.io.journal", "workbench.io.peers"):
        assert name in modules
    assert report["after_imports"] == []
    assert report["codes"] == [0, 0, 0]
    assert report["after_commands"] == []


def test_the_probe_would_see_textual() -> None:
    """The check itself works: a process that imports textual is caught."""
    report = run_probe(
        "import json, sys, textual\n"
        "print(json.dumps({'loaded': 'textual' in sys.modules}))"
    )
    assert report == {"loaded": True}


CONNS_PROBE = """
import os, sys
sys.stdout = open(os.devnull, "w")  # the table itself is not what is looked at
from workbench.cli import main
code = main(["conns"])
heavy = sorted(n for n in ("textual", "numpy", "socket", "selectors", "json", "pathlib",
                           "shutil") if n in sys.modules)
sys.stdout = sys.__stdout__
print('{"code": %d, "heavy": [%s]}' % (code, ", ".join('"%s"' % n for n in heavy)))
"""


def test_workbench_conns_stays_light() -> None:
    """`workbench conns` is timed against `ss` as a whole process: it loads no UI, no
    numpy, not even socket.py (its enums and selectors; the C module does) and none of
    what only other commands need."""
    assert run_probe(CONNS_PROBE) == {"code": 0, "heavy": []}
