"""The README starts with the two commands that work on a fresh machine; CI runs the second."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)


def readme_commands() -> list[str]:
    blocks = FENCE.findall((ROOT / "README.md").read_text())
    assert len(blocks) >= 2, "the README should begin with two fenced commands"
    return [block.strip() for block in blocks[:2]]


def pip_extras(command: str) -> set[str]:
    """The extras a `pip install '.[a,b]'` part of a command asks for."""
    for word in shlex.split(command):
        if match := re.fullmatch(r"\.\[([\w,-]+)\]", word):
            return set(match.group(1).split(","))
    return set()


def test_first_command_installs_and_runs_the_demo() -> None:
    first, _ = readme_commands()
    assert "\n" not in first
    assert first.startswith("pip install .")
    assert "workbench demo" in first
    done = subprocess.run([sys.executable, "-m", "workbench", "demo", "--help"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and "usage: workbench demo" in done.stdout


def test_second_command_installs_and_runs_the_tests() -> None:
    _, second = readme_commands()
    assert "\n" not in second
    assert second.startswith("pip install ")
    assert "pytest" in second
    extras = pip_extras(second)
    assert extras, "the test command should install the test extras"
    optional = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    assert extras <= set(optional)
    assert any(dep.startswith("pytest") for extra in extras for dep in optional[extra])


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    _, second = readme_commands()
    script = ROOT / ".ci" / "run"
    lines = [line.strip() for line in script.read_text().splitlines()]
    assert second in lines
    assert os.access(script, os.X_OK)
    assert "apt-get install" in script.read_text() and "socat" in script.read_text()
