"""`workbench export`: stdout by default, -o written atomically, one-line refusals
(exit 2), and no textual on the way."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from export_sessions import ROOT, SESSIONS
from inprocess import check_contract, run_cli

TCP_ECHO = str(SESSIONS / "tcp-echo.json")


@pytest.mark.parametrize(("lang", "model", "marker"), [
    ("c", None, "I/O model: blocking"), ("c", "poll", "#define IO_POLL 1"),
    ("python", None, "I/O model: blocking"), ("python", "asyncio", "asyncio.run(steps(run))"),
    ("json", None, '"operation": "analyse"')])
def test_export_prints_to_stdout(lang: str, model: str | None, marker: str) -> None:
    argv = ["export", TCP_ECHO, "--lang", lang] + (["--io", model] if model else [])
    run = run_cli(*argv)
    check_contract(run, codes=(0,))
    assert marker in run.out
    if lang == "json":
        assert json.loads(run.out)[0]["target"] == f"{TCP_ECHO} socket #1"


@pytest.mark.parametrize(("argv", "words"), [
    (["--lang", "rust"], ["unknown language 'rust'", "c, python or json"]),
    (["--lang", "c", "--io", "asyncio"], ["--io 'asyncio' does not fit --lang c"]),
    (["--lang", "python", "--io", "poll"], ["blocking, selectors, asyncio"]),
    (["--lang", "json", "--io", "blocking"], ["--io does not apply to --lang json"]),
])
def test_bad_choices_are_one_line_and_exit_2(argv: list[str], words: list[str]) -> None:
    check_contract(run_cli("export", TCP_ECHO, *argv), words=words)


def test_a_bad_session_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "nope"}')
    check_contract(run_cli("export", str(bad), "--lang", "c"), words=["bad.json", "format"])
    check_contract(run_cli("export", str(tmp_path / "none.json"), "--lang", "c"),
                   words=["no such file"])


def test_output_is_written_atomically_with_mode_0600(tmp_path: Path) -> None:
    out = tmp_path / "program.py"
    out.write_text("old")
    run = run_cli("export", TCP_ECHO, "--lang", "python", "-o", str(out))
    check_contract(run, codes=(0,))
    assert out.read_text().startswith("#!/usr/bin/env python3")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["program.py"]  # no temp file left


def test_a_symlink_target_is_refused_and_left_alone(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep")
    link = tmp_path / "program.c"
    link.symlink_to(victim)
    check_contract(run_cli("export", TCP_ECHO, "--lang", "c", "-o", str(link)),
                   words=["symbolic link"])
    assert victim.read_text() == "keep" and link.is_symlink()


def test_export_does_not_import_textual() -> None:
    probe = ("import sys, contextlib, io\n"
             "from workbench.cli import main\n"
             "with contextlib.redirect_stdout(io.StringIO()):\n"
             "    codes = [main(['export', sys.argv[1], '--lang', lang]) "
             "for lang in ('c', 'python', 'json')]\n"
             "loaded = [n for n in sys.modules if n == 'textual' or n.startswith('textual.')]\n"
             "print(codes, loaded)\n")
    done = subprocess.run([sys.executable, "-c", probe, TCP_ECHO], capture_output=True,
                          text=True, timeout=60, cwd=ROOT, env={**os.environ})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[0, 0, 0] []"


def test_a_payload_in_a_sidecar_is_exported_whole(tmp_path: Path) -> None:
    """A send over 64 KiB lives in NAME.data beside the session: the program holds it all."""
    import ast
    import random

    from export_sessions import built, step

    from workbench.io.sessionfile import save_session

    data = random.Random(7).randbytes(70_000)
    session = built(step("socket", result={"sock": 1}),
                    step("connect", 1, {"peer": "127.0.0.1:9"}, address="peer:echo"),
                    step("send", 1, {"sent": len(data)}, data=data), peers=("echo",))
    path = save_session(session, tmp_path / "big.json")
    assert (tmp_path / "big.data").stat().st_size == len(data)
    run = run_cli("export", str(path), "--lang", "python")
    check_contract(run, codes=(0,))
    tree = ast.parse(run.out)
    (value,) = [ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
                and getattr(node.targets[0], "id", "") == "DATA_2"]
    assert value == data
    c = run_cli("export", str(path), "--lang", "c")
    check_contract(c, codes=(0,))
    assert f"data_2, {len(data)}, 0)" in c.out


def test_findings_of_a_failure_exit_1() -> None:
    run = run_cli("export", str(SESSIONS / "connect-refused.json"), "--lang", "json")
    check_contract(run, codes=(1,))
    assert {r["status"] for r in json.loads(run.out)} == {"ok", "failure"}


def test_a_title_with_a_lone_surrogate_is_written_escaped(tmp_path: Path) -> None:
    doc = json.loads((SESSIONS / "tcp-echo.json").read_text())
    doc["title"] = "odd \ud800 title"
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(doc))
    for lang in ("python", "c"):
        out = tmp_path / f"program.{lang}"
        check_contract(run_cli("export", str(path), "--lang", lang, "-o", str(out)), codes=(0,))
        assert "odd \\ud800 title" in out.read_text()
