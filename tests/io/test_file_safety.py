"""Files a session touches are safe: sidecars, journal folders, save targets.

Real files, symlinks, FIFOs and device nodes. The tests run as root, which ignores
file modes; where a test needs a file root cannot write, it makes it immutable
(`chattr +i`), which binds root too, and skips if the file system does not allow it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workbench.core.errors import InputError
from workbench.core.session import Session, SessionFormatError
from workbench.core.steps import Step
from workbench.io import journal as journal_module
from workbench.io.atomic_write import SaveTargetError
from workbench.io.capture import ByteLog
from workbench.io.journal import DATA, STEPS, Journal
from workbench.io.sessionfile import load_session, save_session

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 30.0
SECRET = b"the secret that must never leave this machine\n" * 8
BIG = bytes(range(256)) * 20  # 5,120 bytes: a journal keeps them in data.bin


def workbench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True,
                          text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)


def bad_input(done: subprocess.CompletedProcess[str], *words: str) -> str:
    """The command refused its input: exit 2, one line on stderr naming `words`."""
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("workbench: ") and done.stderr.count("\n") == 1, done.stderr
    for word in words:
        assert word in done.stderr, done.stderr
    return done.stderr


def one_line(exc: pytest.ExceptionInfo[Exception], *words: str) -> str:
    message = str(exc.value)
    assert "\n" not in message, message
    for word in words:
        assert word in message, message
    return message


def send_session(ref: Any, address: str = "127.0.0.1:9") -> dict[str, Any]:
    """Connect and send one payload given by `ref` (a sidecar reference)."""
    return {
        "format": "socket-workbench-session", "version": 1,
        "steps": [
            {"op": "socket", "args": {"family": "inet", "type": "stream"}, "result": {"sock": 1}},
            {"op": "connect", "sock": 1, "args": {"address": address}},
            {"op": "send", "sock": 1, "args": {"data": ref}},
            {"op": "close", "sock": 1},
        ],
    }


def write_session(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


@pytest.fixture
def immutable() -> Iterator[Any]:
    """Make paths immutable (root cannot write them either); undone after the test."""
    if shutil.which("chattr") is None:
        pytest.skip("needs chattr to make a file root cannot write")
    made: list[Path] = []

    def make(*paths: Path) -> None:
        for path in paths:
            done = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
            if done.returncode != 0:
                pytest.skip(f"chattr +i not allowed here: {done.stderr.decode().strip()}")
            made.append(path)

    yield make
    for path in reversed(made):
        subprocess.run(["chattr", "-i", str(path)], check=True)


# -- sidecars ------------------------------------------------------------------------------


def test_a_symlinked_sidecar_is_refused_and_nothing_is_sent(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_bytes(SECRET)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "evil.data").symlink_to(tmp_path / "secret.txt")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        address = f"127.0.0.1:{listener.getsockname()[1]}"
        path = write_session(bundle / "s.json", send_session(
            {"file": "evil.data", "at": 0, "size": len(SECRET)}, address))
        with pytest.raises(SessionFormatError) as info:
            load_session(path)
        one_line(info, str(path), "'evil.data'", "symbolic link")
        bad_input(workbench("replay", str(path)), "evil.data", "symbolic link")
        listener.setblocking(False)  # the command has ended: anything it sent is queued
        with pytest.raises(BlockingIOError):
            listener.accept()


BESIDE = b"x" * 100


@pytest.mark.parametrize("name", ["", ".", "..", "/", "../x.data", "sub/x.data", "a\0b",
                                  "ABSOLUTE", 5, None, ["x.data"]])
def test_sidecar_names_must_be_plain_file_names(tmp_path: Path, name: Any) -> None:
    bundle = tmp_path / "bundle"
    (bundle / "sub").mkdir(parents=True)
    for where in (tmp_path, bundle, bundle / "sub"):  # whatever a loose reading would find
        (where / "x.data").write_bytes(BESIDE)
    name = str(tmp_path / "x.data") if name == "ABSOLUTE" else name
    path = write_session(bundle / "s.json", send_session({"file": name, "at": 0, "size": 10}))
    with pytest.raises(SessionFormatError) as info:
        load_session(path)
    one_line(info, str(path), "steps[2]", "file name")


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_sidecar_that_is_not_a_regular_file_is_refused(tmp_path: Path, kind: str) -> None:
    side = tmp_path / "odd.data"
    os.mkfifo(side) if kind == "fifo" else side.mkdir()
    path = write_session(tmp_path / "s.json", send_session({"file": "odd.data", "at": 0,
                                                            "size": 0}))
    done = workbench("replay", str(path))  # a FIFO opened to read would wait for a writer
    bad_input(done, "'odd.data'", "not a regular file")
    with pytest.raises(SessionFormatError, match="not a regular file"):
        load_session(path)


@pytest.fixture
def big() -> Session:
    session = Session(title="big")
    session.add(Step("socket", None, {"family": "inet", "type": "stream"}, t=0.0,
                     result={"sock": 1}))
    session.add(Step("send", 1, {"data": b"small"}, t=0.1, result={"sent": 5}))
    session.add(Step("recv", 1, auto=True, t=0.2, result={"data": os.urandom(100_000), "at": 0}))
    return session


def test_a_read_only_sidecar_loads(tmp_path: Path, big: Session, immutable: Any) -> None:
    path = save_session(big, tmp_path / "big.json")
    side = tmp_path / "big.data"
    side.chmod(0o444)
    immutable(side, tmp_path)
    with pytest.raises(OSError):
        os.open(side, os.O_RDWR)  # what loading it used to do
    loaded = load_session(path)
    try:
        assert [s.data for s in loaded.steps] == [s.data for s in big.steps]
    finally:
        loaded.close()


# -- references into sidecars ----------------------------------------------------------------


@pytest.mark.parametrize("ref, word", [
    ({"at": -5, "size": 10}, "at must be"),
    ({"at": 0, "size": -3}, "size must be"),
    ({"at": 2**62, "size": 10}, "past its end"),
    ({"at": 0, "size": 2**62}, "past its end"),
    ({"at": 90, "size": 11}, "past its end"),
    ({"at": "0", "size": 10}, "at must be"),
    ({"at": 0, "size": 1.5}, "size must be"),
    ({"at": True, "size": 10}, "at must be"),
    ({"at": 0, "size": 2**200}, "past its end"),
    ({"size": 10}, "at must be"),
])
def test_bad_sidecar_spans_are_refused_on_load(tmp_path: Path, ref: dict[str, Any],
                                               word: str) -> None:
    (tmp_path / "s.data").write_bytes(BESIDE)
    path = write_session(tmp_path / "s.json", send_session({"file": "s.data", **ref}))
    with pytest.raises(SessionFormatError) as info:
        load_session(path)
    one_line(info, str(path), "steps[2]", "'s.data'", word)


def test_a_negative_size_is_bad_input_to_replay(tmp_path: Path) -> None:
    (tmp_path / "s.data").write_bytes(BESIDE)
    path = write_session(tmp_path / "s.json", send_session({"file": "s.data", "at": 0,
                                                            "size": -3}))
    bad_input(workbench("replay", str(path)), str(path), "steps[2]", "s.data")


def test_a_sidecar_cut_short_is_bad_input(tmp_path: Path, big: Session) -> None:
    path = save_session(big, tmp_path / "big.json")
    side = tmp_path / "big.data"
    os.truncate(side, side.stat().st_size // 2)
    with pytest.raises(SessionFormatError) as info:
        load_session(path)
    one_line(info, str(path), "steps[2].result", "'big.data'", "past its end", "50000 bytes")
    bad_input(workbench("replay", str(path)), "steps[2]", "big.data", "past its end")


# -- journals ---------------------------------------------------------------------------------


def journal_with_big_payloads(directory: Path) -> Path:
    """A closed journal: a socket, then two sends whose bytes are in data.bin."""
    journal = Journal(directory)
    journal.start(Session(title="short data"))
    journal.append(Step("socket", None, {"family": "inet", "type": "stream"}, t=0.0,
                        result={"sock": 1}))
    for n in (1, 2):
        journal.append(Step("send", 1, {"data": BIG}, t=n, result={"sent": len(BIG)}))
    journal.close()
    assert (directory / DATA).stat().st_size == 2 * len(BIG)
    return directory


def test_recover_refuses_a_journal_whose_data_is_short(tmp_path: Path) -> None:
    directory = journal_with_big_payloads(tmp_path / "j")
    os.truncate(directory / DATA, 3)
    out = tmp_path / "out.json"
    message = bad_input(workbench("recover", str(directory), "-o", str(out)),
                        f"{directory / DATA} holds 3 bytes", f"refer to {2 * len(BIG)}",
                        f"line 3 ({len(BIG) - 3} bytes)", f"line 4 ({len(BIG)} bytes)")
    assert "line 2 " not in message  # the socket step refers to nothing
    assert not out.exists()
    with pytest.raises(InputError, match="cut short"):
        load_session(directory)


def test_a_read_only_journal_recovers_and_loads(tmp_path: Path, immutable: Any) -> None:
    directory = journal_with_big_payloads(tmp_path / "j")
    immutable(directory / DATA, directory / STEPS, directory)
    out = tmp_path / "out.json"
    done = workbench("recover", str(directory), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert [s.data for s in load_session(out).steps if s.op == "send"] == [BIG, BIG]
    loaded = load_session(directory)
    try:
        assert [s.data for s in loaded.steps if s.op == "send"] == [BIG, BIG]
    finally:
        loaded.close()


@pytest.mark.parametrize("planted", [DATA, STEPS])
def test_a_journal_never_writes_through_a_planted_symlink(tmp_path: Path, planted: str) -> None:
    victim, dangling = tmp_path / "victim.txt", tmp_path / "dangling"
    victim.write_bytes(SECRET)
    directory = tmp_path / "j"
    directory.mkdir()
    (directory / planted).symlink_to(victim if planted == DATA else dangling)
    with pytest.raises(InputError) as info:
        Journal(directory)
    one_line(info, str(directory), "not empty")
    bad_input(workbench("replay", str(ROOT / "sessions" / "tcp-echo.json"),
                        "--journal", str(directory)), str(directory))
    assert victim.read_bytes() == SECRET
    assert not dangling.exists()
    assert [p.name for p in directory.iterdir()] == [planted]


def test_journal_files_are_created_new_even_if_planted_after_the_check(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(SECRET)
    real = journal_module.make_journal_dir

    def then_plant(directory: Path, marker: str) -> None:
        real(directory, marker)
        (directory / STEPS).symlink_to(victim)  # between the check and the open

    monkeypatch.setattr(journal_module, "make_journal_dir", then_plant)
    with pytest.raises(FileExistsError):
        Journal(tmp_path / "j")
    assert victim.read_bytes() == SECRET
    for exclusive in (False, True):
        with pytest.raises(OSError):
            ByteLog(path=str(tmp_path / "j" / STEPS), exclusive=exclusive)
    assert victim.read_bytes() == SECRET


def test_a_journal_folder_must_be_real_new_or_empty(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(InputError) as info:
        Journal(tmp_path / "link")
    one_line(info, "symbolic link")
    assert not list((tmp_path / "real").iterdir())
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty and not a journal"):
        Journal(tmp_path / "used")
    assert [p.name for p in (tmp_path / "used").iterdir()] == ["notes.txt"]
    journal_with_big_payloads(tmp_path / "old")
    with pytest.raises(InputError, match="already holds a journal"):
        Journal(tmp_path / "old")
    for directory in (tmp_path / "new" / "j", tmp_path / "real"):  # new, or empty
        Journal(directory).close()
        assert sorted(p.name for p in directory.iterdir()) == [DATA, STEPS]
        for name in (DATA, STEPS):
            assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "new" / "j").stat().st_mode) == 0o700


# -- save targets ---------------------------------------------------------------------------


def make_target(tmp_path: Path, kind: str) -> tuple[str, Any]:
    """A save target of `kind`, and a function telling it is still what it was."""
    target = tmp_path / "target"
    victim = tmp_path / "victim.txt"
    victim.write_bytes(SECRET)
    if kind == "fifo":
        os.mkfifo(target)
        return str(target), lambda: stat.S_ISFIFO(os.lstat(target).st_mode)
    if kind == "symlink":
        target.symlink_to(victim)
        return str(target), lambda: (os.readlink(target) == str(victim)
                                     and victim.read_bytes() == SECRET)
    if kind == "folder":
        target.mkdir()
        return str(target), lambda: target.is_dir() and not list(target.iterdir())
    if kind == "device":
        try:
            os.mknod(target, 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # like /dev/null
        except PermissionError:
            pytest.skip("making a device node needs CAP_MKNOD")
        return str(target), lambda: stat.S_ISCHR(os.lstat(target).st_mode)
    assert kind == "slash"  # a name ending in "/": a file named without it is never made
    return f"{target}/", lambda: not os.path.lexists(target)


KINDS = ["fifo", "symlink", "folder", "device", "slash"]


@pytest.mark.parametrize("kind", KINDS)
def test_recover_refuses_a_target_that_is_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    directory = journal_with_big_payloads(tmp_path / "j")
    target, unchanged = make_target(tmp_path, kind)
    bad_input(workbench("recover", str(directory), "-o", target), f"cannot save to {target}")
    assert unchanged()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize("kind", KINDS)
def test_save_session_refuses_a_target_that_is_not_a_regular_file(tmp_path: Path, kind: str,
                                                                  big: Session) -> None:
    target, unchanged = make_target(tmp_path, kind)
    with pytest.raises(SaveTargetError) as info:
        save_session(big, target)
    one_line(info, target)
    assert unchanged()
    assert not (tmp_path / "target.data").exists()  # the sidecar goes only with its file


def test_save_session_refuses_a_symlink_where_its_sidecar_goes(tmp_path: Path,
                                                               big: Session) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(SECRET)
    (tmp_path / "s.data").symlink_to(victim)
    with pytest.raises(SaveTargetError) as info:
        save_session(big, tmp_path / "s.json")
    one_line(info, "s.data", "symbolic link")
    assert os.readlink(tmp_path / "s.data") == str(victim) and victim.read_bytes() == SECRET
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.data", "victim.txt"]  # no temps
    save_session(Session(title="small"), tmp_path / "s.json")  # no sidecar needed: saved
    assert load_session(tmp_path / "s.json").title == "small"


def test_recover_refuses_an_empty_output_name(tmp_path: Path) -> None:
    directory = journal_with_big_payloads(tmp_path / "j")
    bad_input(workbench("recover", str(directory), "-o", ""), "no file name")


# -- what the app's open and every command read ------------------------------------------


def test_loading_a_fifo_or_a_device_is_refused_without_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "s.json"
    os.mkfifo(fifo)  # opened for reading it would block until a writer came
    with pytest.raises(InputError, match="is a FIFO, not a regular file"):
        load_session(fifo)
    with pytest.raises(InputError, match="is a device, not a regular file"):
        load_session("/dev/zero")  # read whole it would never end


def test_a_session_file_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as out:
        out.truncate((256 << 20) + 1)  # sparse: no disk used
    with pytest.raises(InputError, match="MiB a session file may hold"):
        load_session(big)
