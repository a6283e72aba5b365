"""Where the command's output goes: a reader that leaves, a full device, names that are
not UTF-8, and folders the user may not write. Real processes: this is about fds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "sessions" / "tcp-echo.json"
TIMEOUT = 30.0
NOBODY = 65534


def run(argv: list[str | bytes], stdout: int | None = subprocess.PIPE,
        prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*prefix, sys.executable, "-m", "workbench", *argv], stdout=stdout,
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=TIMEOUT,
                          cwd=ROOT)


def one_line(done: subprocess.CompletedProcess[bytes], *words: str) -> str:
    err = done.stderr.decode(errors="replace")
    assert done.returncode == 2, err
    assert "Traceback" not in err and err.count("\n") == 1 and err.startswith("workbench: "), err
    for word in words:
        assert word in err, err
    return err


def closed_pipe() -> int:
    """The write end of a pipe whose reader has already gone."""
    read, write = os.pipe()
    os.close(read)
    return write


def tampered(tmp_path: Path) -> Path:
    doc = json.loads(GOOD.read_text())
    recv = next(s for s in doc["steps"] if s["op"] == "recv" and "hex" in s["result"]["data"])
    recv["result"]["data"]["hex"] = "01" + recv["result"]["data"]["hex"][2:]
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("argv", [["errno"], ["errno", "--json"], ["--help"], ["replay", "-h"],
                                  ["demo", "--headless"], ["conns"]], ids=" ".join)
def test_a_reader_that_left_is_no_error(argv: list[str]) -> None:
    write = closed_pipe()
    try:
        done = run(list(argv), stdout=write)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (0, b"")


def test_a_reader_that_left_keeps_the_mismatch_exit_code(tmp_path: Path) -> None:
    write = closed_pipe()
    try:
        done = run(["replay", str(tampered(tmp_path)), "--timeout", "2"], stdout=write)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (1, b"")


def test_a_peer_whose_reader_left_stops_quietly() -> None:
    write = closed_pipe()
    try:
        done = run(["peer", "echo", "127.0.0.1:0"], stdout=write)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (0, b"")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("argv", [["errno"], ["errno", "EPIPE"], ["--version"],
                                  ["replay", str(GOOD)], ["demo", "--headless"],
                                  ["peer", "echo", "127.0.0.1:0"], ["conns"]], ids=" ".join)
def test_output_that_cannot_be_written_is_one_line_and_exit_2(argv: list[str]) -> None:
    with open("/dev/full", "wb") as full:
        done = run(list(argv), stdout=full.fileno())
    one_line(done, "cannot write the output", "No space left on device")


def test_names_that_are_not_utf8_are_printed_escaped(tmp_path: Path) -> None:
    name = os.fsencode(tmp_path) + b"/\xff.json"
    shutil.copyfile(GOOD, name)
    done = run([b"replay", name])
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith(b"/\\udcff.json: match (" + done.stdout.split(b"match (")[1])
    missing = os.fsencode(tmp_path) + b"/\xfe.json"
    assert b"\\udcfe" in run([b"replay", missing]).stderr


def as_nobody() -> tuple[str, ...]:
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot drop to an unprivileged user")
    return (setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups")


@pytest.fixture
def reachable() -> Iterator[Path]:
    """A folder any user can look into (pytest's own are the owner's alone)."""
    path = Path(tempfile.mkdtemp(prefix="workbench-reachable-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_folders_the_user_may_not_write_or_read_are_one_line(reachable: Path) -> None:
    prefix = as_nobody()
    assert run(["errno", "111"], prefix=prefix).returncode == 0  # the user can run it at all
    locked = reachable / "locked"
    locked.mkdir(mode=0o555)
    one_line(run(["replay", str(GOOD), "--journal", str(locked / "j")], prefix=prefix),
             "cannot write a journal", "Permission denied")
    hidden = reachable / "hidden"
    hidden.mkdir(mode=0o700)
    one_line(run(["replay", str(GOOD), "--journal", str(hidden / "j")], prefix=prefix),
             "Permission denied")
    one_line(run(["replay", str(hidden / "s.json")], prefix=prefix), "Permission denied")
    one_line(run(["recover", str(hidden), "-o", str(reachable / "o.json")], prefix=prefix),
             "Permission denied")
    one_line(run(["replay", str(GOOD), "--journal", str(locked)], prefix=prefix))
