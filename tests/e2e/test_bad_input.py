"""The bad-input contract over every subcommand and every field of the session format.

For each case: exit 2 (or 0/1 where the input is valid), no traceback, and a refusal
is exactly one line on stderr. Cases come from tables (tests/e2e/bad_sessions.py for
session files, the lists below for command lines); they run in this process for
speed, and a sample of them again as real processes.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bad_sessions import FORMAT, Case, all_cases, session
from inprocess import Run, check_contract, run_cli

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "sessions" / "tcp-echo.json"
SESSION_CASES = all_cases()
FAST = ("--timeout", "0.5", "--max-wait", "1")  # a valid case still ends soon
SUBPROCESS_TIMEOUT = 30.0


# -- the world the cases refer to -------------------------------------------------------


@pytest.fixture(scope="module")
def busy() -> Iterator[str]:
    """A loopback address another socket listens on."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield f"127.0.0.1:{held.getsockname()[1]}"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, busy: str) -> Iterator[dict[str, str]]:
    """Files every command-line case may name: a FIFO, a device-sized file, a journal."""
    base = tmp_path_factory.mktemp("world")
    (base / "dir").mkdir()
    (base / "nonempty").mkdir()
    (base / "nonempty" / "x").write_text("x")
    (base / "file.txt").write_text("not a session\n")
    os.mkfifo(base / "fifo")
    with open(base / "big.json", "wb") as big:
        big.truncate((256 << 20) + 1)  # sparse: no disk, but over the cap
    (base / "link.json").symlink_to(base / "file.txt")
    public = session(peers=[{"name": "e", "kind": "echo", "address": "0.0.0.0:0"}])
    (base / "public.json").write_text(json.dumps(public))
    (base / "tampered.json").write_text(tampered())
    journal = base / "journal"
    check_contract(run_cli("replay", str(GOOD), "--journal", str(journal)), (0,))
    held = socket.socket(socket.AF_UNIX)
    held.bind(str(base / "sock"))
    yield {"dir": str(base / "dir"), "nonempty": str(base / "nonempty"),
           "file": str(base / "file.txt"), "fifo": str(base / "fifo"),
           "big": str(base / "big.json"), "link": str(base / "link.json"),
           "public": str(base / "public.json"), "tampered": str(base / "tampered.json"),
           "journal": str(journal), "sock": str(base / "sock"), "busy": busy,
           "good": str(GOOD)}
    held.close()


def tampered() -> str:
    doc = json.loads(GOOD.read_text())
    for step in doc["steps"]:
        if step["op"] == "recv" and "hex" in step["result"]["data"]:
            step["result"]["data"]["hex"] = "01" + step["result"]["data"]["hex"][2:]
            break
    return json.dumps(doc)


@pytest.fixture(autouse=True)
def nothing_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """A case that wrongly gets through to a peer serving forever or to the TUI returns
    at once (and fails its exit-code check) instead of hanging the suite."""

    def serve_once(peer: Any, *args: Any, **kwargs: Any) -> int:
        peer.stop()
        return 0

    monkeypatch.setattr("workbench.io.peers.serve_forever", serve_once)
    monkeypatch.setattr("workbench.ui.app.run_app", lambda *a, **k: 0)


def write_case(case: Case, directory: Path, busy: str) -> Path:
    """The case's session file, and the files beside it, in `directory`."""
    for name, content in case.files.items():
        path = directory / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif content == "fifo":
            os.mkfifo(path)
        elif content == "dir":
            path.mkdir()
        elif content[0] == "sparse":
            with open(path, "wb") as sparse:
                sparse.truncate(content[1])
        else:
            path.symlink_to(content[1])
    path = directory / "s.json"
    doc = case.doc
    if isinstance(doc, bytes):
        path.write_bytes(doc)
    else:
        text = doc if isinstance(doc, str) else json.dumps(doc)
        path.write_text(text.replace("@BUSY@", busy), encoding="utf-8", errors="surrogatepass")
    return path


# -- session files ----------------------------------------------------------------------


@pytest.mark.parametrize("case", SESSION_CASES, ids=lambda c: c.id)
def test_session_file(case: Case, tmp_path: Path, busy: str) -> None:
    path = write_case(case, tmp_path, busy)
    check_contract(run_cli("replay", str(path), *FAST, *case.args), case.codes, case.words)


OPEN_SAMPLE = [c for c in SESSION_CASES if c.codes == (2,) and c.on_load][::6]


@pytest.mark.parametrize("case", OPEN_SAMPLE, ids=lambda c: c.id)
def test_open_refuses_before_the_screen(case: Case, tmp_path: Path, busy: str) -> None:
    path = write_case(case, tmp_path, busy)
    check_contract(run_cli("open", str(path), *case.args), (2,), case.words)


# -- journals given where a session is expected -----------------------------------------

HEADER = json.dumps({"format": "socket-workbench-journal", "version": 1})
WAIT = json.dumps({"op": "wait", "args": {"seconds": 0}, "t": 0.1})
JOURNALS: dict[str, Any] = {
    "empty": "",
    "header-not-json": "{oops\n" + WAIT + "\n",
    "header-session-format": json.dumps({"format": FORMAT, "version": 1}) + "\n",
    "header-version-true": json.dumps({"format": "socket-workbench-journal",
                                       "version": True}) + "\n",
    "line-not-json": f"{HEADER}\n{{oops\n{WAIT}\n",
    "line-brackets": f"{HEADER}\n{'[' * 100_000}\n{WAIT}\n",
    "line-5000-digits": f'{HEADER}\n{{"op": "wait", "t": {"1" * 5000}}}\n{WAIT}\n',
    "line-needs-sock": f'{HEADER}\n{{"op": "close"}}\n',
    "line-unknown-key": f'{HEADER}\n{{"op": "close", "sock": 1, "x": 1}}\n',
    "line-bad-peer": f'{HEADER}\n{{"peer": {{"name": "a b", "kind": "echo"}}}}\n',
    "line-data-short": f'{HEADER}\n{{"op": "socket", "result": {{"sock": 1}}}}\n'
                       '{"op": "send", "sock": 1, "args": {"data": {"file": "data.bin", '
                       '"at": 0, "size": 5000}}}\n',
    "steps-fifo": "fifo",
    "steps-symlink": ("link", "/etc/hostname"),
    "steps-big": "big",
}


def make_journal(directory: Path, content: Any) -> Path:
    directory.mkdir()
    steps = directory / "steps.jsonl"
    if content == "fifo":
        os.mkfifo(steps)
    elif content == "big":
        with open(steps, "wb") as big:
            big.truncate((256 << 20) + 1)
    elif isinstance(content, tuple):
        steps.symlink_to(content[1])
    else:
        steps.write_text(content)
        (directory / "data.bin").write_bytes(b"abc")
    return directory


@pytest.mark.parametrize("command", ["replay", "recover"])
@pytest.mark.parametrize("name", list(JOURNALS))
def test_bad_journal(name: str, command: str, tmp_path: Path) -> None:
    journal = str(make_journal(tmp_path / "j", JOURNALS[name]))
    argv = [command, journal, *(FAST if command == "replay" else ("-o", str(tmp_path / "o")))]
    check_contract(run_cli(*argv), (2,))
    assert not (tmp_path / "o").exists()


# -- command lines ----------------------------------------------------------------------

SURE = ("{good}",)
CLI: list[tuple[str, tuple[str, ...], tuple[int, ...], tuple[str, ...]]] = [
    ("top-unknown-command", ("frobnicate",), (2,), ("invalid choice",)),
    ("top-unknown-option", ("--bogus",), (2,), ("--bogus", "workbench --help")),
    ("top-version", ("--version",), (0,), ()),
    ("top-help", ("--help",), (0,), ()),
    ("replay-help", ("replay", "--help"), (0,), ()),
    ("replay-no-file", ("replay",), (2,), ("required", "workbench replay --help")),
    ("replay-empty-name", ("replay", ""), (2,), ("no file name",)),
    ("replay-blank-name", ("replay", "  "), (2,), ("no file name",)),
    ("replay-missing", ("replay", "{tmp}/nope.json"), (2,), ("no such file",)),
    ("replay-dir-not-journal", ("replay", "{dir}"), (2,), ("not a journal",)),
    ("replay-dev-zero", ("replay", "/dev/zero"), (2,), ("not a regular file",)),
    ("replay-dev-null", ("replay", "/dev/null"), (2,), ("not a regular file",)),
    ("replay-fifo", ("replay", "{fifo}"), (2,), ("FIFO",)),
    ("replay-unix-socket", ("replay", "{sock}"), (2,), ("socket",)),
    ("replay-big", ("replay", "{big}"), (2,), ("MiB",)),
    ("replay-not-json", ("replay", "{file}"), (2,), ("JSON",)),
    ("replay-nul-name", ("replay", "a\0b"), (2,), ("file name",)),
    ("replay-surrogate-name", ("replay", "\ud800.json"), (2,), ("file name",)),
    ("replay-under-a-file", ("replay", "{file}/x.json"), (2,), ("x.json",)),
    ("replay-timeout-missing", ("replay", "{good}", "--timeout"), (2,), ("--timeout",)),
    ("replay-max-wait-0", ("replay", "{good}", "--max-wait", "0"), (2,), ("--max-wait",)),
    ("replay-journal-empty", ("replay", "{good}", "--journal", ""), (2,), ("--journal",)),
    ("replay-journal-existing", ("replay", "{good}", "--journal", "{journal}"), (2,),
     ("already holds a journal",)),
    ("replay-journal-nonempty", ("replay", "{good}", "--journal", "{nonempty}"), (2,), ()),
    ("replay-journal-under-a-file", ("replay", "{good}", "--journal", "{file}/j"), (2,), ()),
    ("replay-journal-is-a-file", ("replay", "{good}", "--journal", "{file}"), (2,), ()),
    ("replay-journal-nul", ("replay", "{good}", "--journal", "a\0b"), (2,), ()),
    ("replay-unknown-option", ("replay", "{good}", "--bogus"), (2,), ("--bogus",)),
    ("replay-two-files", ("replay", "{good}", "{good}"), (2,), ("unrecognized",)),
    ("replay-json-bad-file", ("replay", "{file}", "--json"), (2,), ()),
    ("replay-public-peer", ("replay", "{public}"), (2,), ("loopback",)),
    ("replay-good", ("replay", "{good}", "--timeout", "2"), (0,), ()),
    ("replay-good-json", ("replay", "{good}", "--json"), (0,), ()),
    ("replay-good-journal", ("replay", "{good}", "--journal", "{tmp}/new"), (0,), ()),
    ("replay-tampered", ("replay", "{tampered}", "--timeout", "1"), (1,), ()),
    ("open-no-file", ("open",), (2,), ("workbench open --help",)),
    ("open-empty-name", ("open", ""), (2,), ("no file name",)),
    ("open-missing", ("open", "{tmp}/nope.json"), (2,), ("no such file",)),
    ("open-fifo", ("open", "{fifo}"), (2,), ("FIFO",)),
    ("open-dev-zero", ("open", "/dev/zero"), (2,), ()),
    ("open-big", ("open", "{big}"), (2,), ("MiB",)),
    ("open-not-json", ("open", "{file}"), (2,), ("JSON",)),
    ("open-unknown-option", ("open", "{good}", "--bogus"), (2,), ("--bogus",)),
    ("open-two-files", ("open", "{good}", "{good}"), (2,), ()),
    ("open-public-peer", ("open", "{public}"), (2,), ("loopback",)),
    ("demo-extra", ("demo", "x"), (2,), ("workbench",)),
    ("demo-unknown-option", ("demo", "--bogus"), (2,), ("--bogus",)),
    ("demo-headless-extra", ("demo", "--headless", "x"), (2,), ()),
    ("demo-headless", ("demo", "--headless"), (0,), ()),
    ("peer-no-args", ("peer",), (2,), ("workbench peer --help",)),
    ("peer-kind-only", ("peer", "echo"), (2,), ("address",)),
    ("peer-unknown-kind", ("peer", "ftp", "127.0.0.1:0"), (2,), ("ftp",)),
    ("peer-empty-address", ("peer", "echo", ""), (2,), ()),
    ("peer-no-port", ("peer", "echo", "x"), (2,), ("port",)),
    ("peer-hostname", ("peer", "echo", "localhost:0"), (2,), ("IP literal",)),
    ("peer-peer-reference", ("peer", "echo", "peer:echo"), (2,), ()),
    ("peer-bad-ipv4", ("peer", "echo", "999.1.1.1:1"), (2,), ("IPv4",)),
    ("peer-port-range", ("peer", "echo", "127.0.0.1:70000"), (2,), ("port",)),
    ("peer-unix-long", ("peer", "echo", "unix:/" + "a" * 300), (2,), ()),
    ("peer-surrogate", ("peer", "echo", "\ud800"), (2,), ()),
    ("peer-udp-seqpacket", ("peer", "echo", "unix:{tmp}/s", "--udp", "--seqpacket"), (2,),
     ("not allowed",)),
    ("peer-dgram-seqpacket", ("peer", "echo", "unix:{tmp}/s", "--seqpacket", "--dgram"), (2,),
     ("not allowed",)),
    ("peer-seqpacket-inet", ("peer", "echo", "127.0.0.1:0", "--seqpacket"), (2,), ("unix:",)),
    ("peer-port-taken", ("peer", "echo", "{busy}"), (2,), ("EADDRINUSE",)),
    ("peer-not-here", ("peer", "echo", "192.0.2.1:0"), (2,), ("EADDRNOTAVAIL",)),
    ("peer-unix-no-dir", ("peer", "echo", "unix:{tmp}/no/x.sock"), (2,), ()),
    ("peer-unix-under-a-file", ("peer", "echo", "unix:{file}/x.sock"), (2,), ()),
    ("peer-unix-taken", ("peer", "echo", "unix:{file}"), (2,), ()),
    ("peer-unknown-option", ("peer", "echo", "127.0.0.1:0", "--bogus"), (2,), ()),
    ("peer-extra", ("peer", "echo", "127.0.0.1:0", "x"), (2,), ()),
    ("errno-unknown", ("errno", "EFOO"), (2,), ("EFOO",)),
    ("errno-empty", ("errno", ""), (2,), ()),
    ("errno-unknown-number", ("errno", "99999999999"), (2,), ()),
    ("errno-5000-digits", ("errno", "9" * 5000), (2,), ()),
    ("errno-underscore", ("errno", "1_1"), (2,), ()),
    ("errno-arabic-digit", ("errno", "\u0663"), (2,), ()),
    ("errno-zero", ("errno", "0"), (2,), ()),
    ("errno-float", ("errno", "1.5"), (2,), ()),
    ("errno-surrogate", ("errno", "\ud800"), (2,), ()),
    ("errno-two-keys", ("errno", "1", "2"), (2,), ()),
    ("errno-unknown-option", ("errno", "--bogus"), (2,), ()),
    ("errno-all", ("errno",), (0,), ()),
    ("errno-111", ("errno", "111"), (0,), ()),
    ("errno-name-lower", ("errno", " econnrefused "), (0,), ()),
    ("errno-gai", ("errno", "-2"), (0,), ()),
    ("errno-json", ("errno", "--json"), (0,), ()),
    ("errno-one-json", ("errno", "EPIPE", "--json"), (0,), ()),
    ("recover-no-args", ("recover",), (2,), ("workbench recover --help",)),
    ("recover-no-output", ("recover", "{journal}"), (2,), ("-o",)),
    ("recover-output-empty", ("recover", "{journal}", "-o", ""), (2,), ("no file name",)),
    ("recover-missing", ("recover", "{tmp}/nope", "-o", "{tmp}/o.json"), (2,), ()),
    ("recover-file", ("recover", "{file}", "-o", "{tmp}/o.json"), (2,), ("not a journal",)),
    ("recover-dir", ("recover", "{dir}", "-o", "{tmp}/o.json"), (2,), ("not a journal",)),
    ("recover-fifo", ("recover", "{fifo}", "-o", "{tmp}/o.json"), (2,), ()),
    ("recover-to-folder-slash", ("recover", "{journal}", "-o", "{tmp}/x/"), (2,), ()),
    ("recover-to-a-dir", ("recover", "{journal}", "-o", "{dir}"), (2,), ()),
    ("recover-to-under-a-file", ("recover", "{journal}", "-o", "{file}/o.json"), (2,), ()),
    ("recover-to-a-symlink", ("recover", "{journal}", "-o", "{link}"), (2,), ()),
    ("recover-to-nul", ("recover", "{journal}", "-o", "a\0b"), (2,), ()),
    ("recover-unknown-option", ("recover", "{journal}", "-o", "{tmp}/o", "--bogus"), (2,), ()),
    ("recover-good", ("recover", "{journal}", "-o", "{tmp}/out.json"), (0,), ()),
]
CLI += [
    ("journals-unknown-action", ("journals", "frob"), (2,), ("invalid choice",)),
    ("journals-unknown-option", ("journals", "--bogus"), (2,), ("--bogus",)),
    ("journals-prune-older-than-x", ("journals", "prune", "--older-than", "x"), (2,), ()),
    ("journals-prune-older-than-nan", ("journals", "prune", "--older-than", "nan"), (2,), ()),
    ("journals-prune-keep-negative", ("journals", "prune", "--keep", "-1"), (2,), ()),
    ("journals-prune-extra", ("journals", "prune", "x"), (2,), ()),
    ("replay-capture-budget-x", ("replay", "{good}", "--capture-budget", "x"), (2,), ()),
    ("replay-capture-budget-negative", ("replay", "{good}", "--capture-budget", "-1"), (2,),
     ()),
    ("open-capture-budget-huge", ("open", "{good}", "--capture-budget", "9" * 5000), (2,), ()),
    ("top-capture-budget-empty", ("--capture-budget", ""), (2,), ()),
]
TIMEOUTS = ("x", "", "0", "-1", "inf", "-inf", "nan", "1e300", "3601", "0x10", "1e-400")
MAX_WAITS = ("x", "-1", "inf", "nan", "86401", "1e300")
CLI += [(f"replay-timeout-{v or 'empty'}", ("replay", "{good}", "--timeout", v), (2,),
         ("--timeout",)) for v in TIMEOUTS]
CLI += [(f"replay-max-wait-{v}", ("replay", "{good}", "--max-wait", v), (2,), ("--max-wait",))
        for v in MAX_WAITS]


def fill(argv: tuple[str, ...], world: dict[str, str], tmp: Path) -> list[str]:
    return [a.format(tmp=tmp, **world) if "{" in a else a for a in argv]


@pytest.mark.parametrize(("argv", "codes", "words"), [c[1:] for c in CLI],
                         ids=[c[0] for c in CLI])
def test_command_line(argv: tuple[str, ...], codes: tuple[int, ...], words: tuple[str, ...],
                      world: dict[str, str], tmp_path: Path) -> None:
    run = run_cli(*fill(argv, world, tmp_path))
    check_contract(run, codes, words)
    if run.code == 2:
        assert run.out == "", run


def test_there_are_hundreds_of_cases() -> None:
    assert len(SESSION_CASES) + len(CLI) + 2 * len(JOURNALS) >= 300


# -- the same, as a user runs it ----------------------------------------------------------


def workbench(*argv: str | bytes, **kwargs: Any) -> Run:
    done = subprocess.run([sys.executable, "-m", "workbench", *argv], capture_output=True,
                          timeout=SUBPROCESS_TIMEOUT, stdin=subprocess.DEVNULL, cwd=ROOT,
                          **kwargs)
    out = done.stdout.decode(errors="replace") if done.stdout is not None else ""
    return Run([str(a) for a in argv], done.returncode, out,
               done.stderr.decode(errors="replace"), 0.0)


SAMPLE = SESSION_CASES[::45]


@pytest.mark.parametrize("case", SAMPLE, ids=lambda c: c.id)
def test_session_file_as_a_process(case: Case, tmp_path: Path, busy: str) -> None:
    path = write_case(case, tmp_path, busy)
    check_contract(workbench("replay", str(path), *FAST, *case.args), case.codes, case.words)


@pytest.mark.parametrize(("argv", "codes", "words"), [c[1:] for c in CLI[::9]],
                         ids=[c[0] for c in CLI[::9]])
def test_command_line_as_a_process(argv: tuple[str, ...], codes: tuple[int, ...],
                                   words: tuple[str, ...], world: dict[str, str],
                                   tmp_path: Path) -> None:
    if any("\0" in a for a in argv):
        pytest.skip("a NUL cannot be passed to a process")
    if any(a.startswith("peer") for a in argv[:1]) and codes != (2,):
        pytest.skip("a peer that starts serves until stopped")
    check_contract(workbench(*fill(argv, world, tmp_path)), codes, words)


def test_a_session_file_named_in_undecodable_bytes_prints_escaped(tmp_path: Path) -> None:
    name = os.fsencode(tmp_path) + b"/\xff\xfe.json"
    shutil.copyfile(GOOD, name)
    run = workbench(b"replay", name)
    check_contract(run, (0,))
    assert "\\udcff\\udcfe.json: match" in run.out


def test_a_fifo_target_for_recover_is_refused_without_blocking(world: dict[str, str],
                                                              tmp_path: Path) -> None:
    fifo = tmp_path / "out.json"
    os.mkfifo(fifo)
    check_contract(workbench("recover", world["journal"], "-o", str(fifo)), (2,))


def test_recover_keeps_what_replay_refuses(tmp_path: Path) -> None:
    """A journal line on a socket no step made is recovered as it is (recover is
    faithful); replaying the journal or what was recovered is refused before it runs."""
    journal = make_journal(tmp_path / "j", f'{HEADER}\n{{"op": "close", "sock": 99}}\n')
    out = tmp_path / "o.json"
    check_contract(run_cli("recover", str(journal), "-o", str(out)), (0,))
    for target in (journal, out):
        check_contract(run_cli("replay", str(target), *FAST), (2,), ("#99",))
