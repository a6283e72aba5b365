"""`workbench errno` as a user runs it: the meaning for the call asked about, the
findings JSON against its schema, bad input in one line, no textual imported."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from inprocess import run_cli

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "sessions" / "errno.schema.json").read_text())
TIMEOUT = 30.0


def workbench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True,
                          text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)


def findings(*args: str) -> dict:
    run = run_cli("errno", *args, "--json")
    assert run.code == 0, run
    report = json.loads(run.out)
    jsonschema.validate(report, SCHEMA)
    return report


def test_call_picks_its_own_meaning() -> None:
    said = {call: run_cli("errno", "EADDRINUSE", "--call", call).out
            for call in ("bind", "listen", "connect")}
    meanings = {call: out.splitlines()[1] for call, out in said.items()}
    assert len(set(meanings.values())) == 3
    assert "four-tuple" in meanings["connect"]
    assert all("  on listen:" not in out for out in said.values())


def test_without_call_each_call_has_its_own_line() -> None:
    out = run_cli("errno", "EADDRINUSE").out
    for call in ("bind", "listen", "connect"):
        assert f"\n  on {call}: " in out
    assert "elsewhere: Winsock WSAEADDRINUSE 10048; FreeBSD and macOS 48" in out
    assert "retry: hard" in out
    assert "related options: SO_REUSEADDR" in out


def test_eacces_on_socket_is_the_ping_range() -> None:
    out = run_cli("errno", "EACCES", "--call", "socket").out
    meaning = out.splitlines()[1]
    assert "ping_group_range" in meaning and "unprivileged_port_start" not in meaning


def test_family_chooses_the_unix_words() -> None:
    unix = run_cli("errno", "ECONNREFUSED", "--call", "connect", "--family", "unix").out
    inet = run_cli("errno", "ECONNREFUSED", "--call", "connect", "--family", "inet").out
    assert "stale" in unix.splitlines()[1] and "stale" not in inet.splitlines()[1]


def test_a_call_that_does_not_return_it_says_so() -> None:
    out = run_cli("errno", "EPIPE", "--call", "bind").out
    assert "note: bind does not return EPIPE on Linux" in out
    report = findings("EPIPE", "--call", "bind")
    assert report["findings"][0]["written_for_call"] is False


def test_step_op_names_are_accepted() -> None:
    report = findings("EMSGSIZE", "--call", "sendto")
    assert report["findings"][0]["call"] == "send"


def test_json_is_the_findings_shape() -> None:
    report = findings("ECONNREFUSED", "--call", "connect")
    assert (report["operation"], report["target"], report["status"]) == (
        "errno", "ECONNREFUSED", "explained")
    [entry] = report["findings"]
    assert (entry["errno"], entry["number"], entry["call"]) == ("ECONNREFUSED", 111, "connect")
    assert entry["winsock"] == {"name": "WSAECONNREFUSED", "number": 10061}
    assert (entry["freebsd"], entry["macos"]) == (61, 61)
    assert entry["soft"] is False
    assert report["recommendations"][0] == entry["hint"]


def test_json_of_everything_validates() -> None:
    report = findings()
    assert report["status"] == "listed" and report["target"] == "all"
    names = {f["errno"] for f in report["findings"]}
    assert {"ENETRESET", "EAI_NONAME", "EXDEV"} <= names
    assert next(f for f in report["findings"] if f["errno"] == "EXDEV")["socket_error"] is False


def test_resolver_errors_have_winsock_codes() -> None:
    entry = findings("EAI_NONAME")["findings"][0]
    assert entry["number"] < 0 and entry["winsock"]["number"] == 11001


@pytest.mark.parametrize("args", [("ECONNREFUSED", "--call", "frobnicate"),
                                  ("ECONNREFUSED", "--call", ""),
                                  ("ECONNREFUSED", "--family", "ipx"),
                                  ("EWHATEVER", "--call", "connect")])
def test_bad_input_is_one_line_exit_2(args: tuple[str, ...]) -> None:
    run = run_cli("errno", *args)
    assert run.code == 2, run
    assert run.out == "" and len(run.err.strip().splitlines()) == 1
    assert "Traceback" not in run.err


def test_the_command_runs_without_textual() -> None:
    code = ("import sys\nfrom workbench.cli import main\n"
            "rc = main(['errno', 'ECONNREFUSED', '--call', 'connect', '--json'])\n"
            "print('textual' in sys.modules, rc, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=TIMEOUT, cwd=ROOT)
    assert done.stderr.strip().splitlines()[-1] == "False 0"


def test_as_a_user_runs_it() -> None:
    done = workbench("errno", "einval", "--call", "accept")
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("EINVAL (22): Invalid argument\n  meaning: the socket is "
                                  "not listening")


# -- --address: what this machine shows now ---------------------------------------------

DIAGNOSIS = json.loads((ROOT / "sessions" / "diagnosis.schema.json").read_text())


def test_address_adds_the_cause_seen_here() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))  # bound, never listening
        port = held.getsockname()[1]
        out = run_cli("errno", "ECONNREFUSED", "--call", "connect", "--address",
                      f"127.0.0.1:{port}").out
        report = findings("ECONNREFUSED", "--call", "connect", "--address", f"127.0.0.1:{port}")
    assert f"    cause: nothing listens on port {port} on this machine" in out
    assert "    seen: listening on port" in out
    assert report["address"] == f"127.0.0.1:{port}"
    diagnosis = report["findings"][0]["diagnosis"]
    jsonschema.validate(diagnosis, DIAGNOSIS)
    assert diagnosis["causes"][0]["evidence"] == ["tcp.listeners"]
    first = report["recommendations"][0]
    assert first == f"start a listener: `workbench peer echo 127.0.0.1:{port}`"


def test_address_of_a_stale_unix_socket(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as gone:
        gone.bind(str(path))
    out = run_cli("errno", "ECONNREFUSED", "--call", "connect", "--address", f"unix:{path}").out
    assert "stale socket file" in out and "  meaning: the socket file exists" in out


@pytest.mark.parametrize(("args", "words"), [
    (("ECONNREFUSED", "--address", "127.0.0.1:1"), "--address needs --call"),
    (("ECONNREFUSED", "--call", "connect", "--address", "peer:echo"), "IP literal"),
    (("ECONNREFUSED", "--call", "connect", "--address", "example.com:80"), "not resolved"),
    (("ECONNREFUSED", "--call", "connect", "--address", "300.1.1.1:5"), "bad IPv4 address"),
    (("ECONNREFUSED", "--call", "connect", "--address", ""), "--address: empty"),
])
def test_bad_addresses_are_one_line_exit_2(args: tuple[str, ...], words: str) -> None:
    run = run_cli("errno", *args)
    assert run.code == 2, run
    assert words in run.err and len(run.err.strip().splitlines()) == 1


def test_call_without_a_name_lists_what_that_call_can_return() -> None:
    out = run_cli("errno", "--call", "listen").out
    names = [line.split(" ", 1)[0] for line in out.splitlines()]
    assert "EOPNOTSUPP" in names and "EADDRINUSE" in names and "ECONNREFUSED" not in names
    assert "EOPNOTSUPP (95): Operation not supported: this socket type cannot listen" in out
    report = findings("--call", "listen")
    assert (report["target"], report["status"]) == ("listen", "listed")
    assert {f["errno"] for f in report["findings"]} == set(names)


def test_address_without_a_name_is_bad_input() -> None:
    run = run_cli("errno", "--call", "connect", "--address", "127.0.0.1:1")
    assert run.code == 2 and "--address needs an errno" in run.err


def test_local_names_the_connection_that_holds_the_four_tuple() -> None:
    with socket.socket() as server, socket.socket() as first:
        server.bind(("127.0.0.1", 0))
        server.listen()
        first.bind(("127.0.0.1", 0))
        first.connect(server.getsockname())
        mine, theirs = first.getsockname(), server.getsockname()
        out = run_cli("errno", "EADDRNOTAVAIL", "--call", "connect", "--address",
                      f"127.0.0.1:{theirs[1]}", "--local", f"127.0.0.1:{mine[1]}").out
    assert (f"    cause: a connection from 127.0.0.1:{mine[1]} to 127.0.0.1:{theirs[1]} "
            "already exists (ESTABLISHED)") in out
    assert "ephemeral ports" not in out


def test_the_readme_example_is_what_the_command_prints() -> None:
    readme = (ROOT / "README.md").read_text()
    command = "$ workbench errno ECONNREFUSED --call connect --family inet\n"
    block = readme.split(command, 1)[1].split("```", 1)[0].splitlines()
    out = run_cli(*command.split()[2:]).out.splitlines()
    head, tail = block[:block.index("  ...")], block[block.index("  ...") + 1:]
    assert out[:len(head)] == head
    assert out[-len(tail):] == tail


def test_set_says_which_options_the_socket_had(tmp_path: Path) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        out = run_cli("errno", "EADDRINUSE", "--call", "bind", "--address",
                      f"127.0.0.1:{port}", "--set", "so_reuseport").out
    assert "this socket set SO_REUSEPORT, but the listener" in out
    run = run_cli("errno", "EADDRINUSE", "--call", "bind", "--address", "127.0.0.1:1",
                  "--set", "SO_NOPE")
    assert run.code == 2 and "--set 'SO_NOPE': not a socket option" in run.err
