"""Every headless `--json` against its schema in sessions/, run as a user runs it.

Each command runs as a process on real sockets, sessions and journals; a `--json`
flag added to a parser without a schema named here fails the last tests.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parents[2]
SESSIONS = ROOT / "sessions"
TIMEOUT = 60.0
DAY = 86400.0

# (parser module, the parser's variable) -> the schema of what its --json prints
SCHEMAS = {
    ("cli.py", "replay"): "replay.schema.json",
    ("cli_capture.py", "journals"): "journals.schema.json",
    ("cli_capture.py", "prune"): "journals-prune.schema.json",
    ("cli_conns.py", "conns"): "conns.schema.json",
    ("cli_errno.py", "err"): "errno.schema.json",
    ("cli_options.py", "options"): "options.schema.json",
}
JSON_FLAG = re.compile(r"(\w+)\.add_argument\([^)]*?[\"']--json[\"']")  # "-j", "--json" too


def _registry() -> Registry:
    resources = []
    for path in SESSIONS.glob("*.schema.json"):
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


REGISTRY = _registry()


def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SESSIONS / name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, registry=REGISTRY)


def workbench(*args: str, env: dict[str, str] | None = None, code: int = 0) -> Any:
    """Run the command; its exit code must be `code`; its stdout as JSON."""
    done = subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True,
                          text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL, cwd=ROOT,
                          env=env)
    assert done.returncode == code, done.stderr
    return json.loads(done.stdout)


def edited(src: str, dst: Path, change: Any) -> Path:
    """A copy of an example session with `change` applied to its dict."""
    data = json.loads((SESSIONS / src).read_text())
    change(data)
    dst.write_text(json.dumps(data))
    return dst


# -- replay ---------------------------------------------------------------------------------

def test_replay_match() -> None:
    report = workbench("replay", str(SESSIONS / "tcp-echo.json"), "--json")
    validator("replay.schema.json").validate(report)
    assert report["status"] == "match" and report["findings"] == []


def _flip_a_byte(data: dict[str, Any]) -> None:
    recv = next(s for s in data["steps"] if s["op"] == "recv" and "hex" in s["result"]["data"])
    recv["result"]["data"]["hex"] = recv["result"]["data"]["hex"][:-2] + "ee"


def test_replay_bytes_mismatch(tmp_path: Path) -> None:
    session = edited("tcp-echo.json", tmp_path / "bytes.json", _flip_a_byte)
    report = workbench("replay", str(session), "--json", code=1)
    validator("replay.schema.json").validate(report)
    assert [f["kind"] for f in report["findings"]] == ["bytes"]
    assert report["findings"][0]["expected_hex"].endswith("ee")


def _connect_succeeded(data: dict[str, Any]) -> None:
    step = next(s for s in data["steps"] if s.get("error", {}).get("errno") == "ECONNREFUSED")
    del step["error"]
    step["result"] = {"peer": "127.0.0.1:1", "local": "127.0.0.1:2"}


def test_replay_outcome_mismatch_carries_the_diagnosis(tmp_path: Path) -> None:
    session = edited("connect-refused.json", tmp_path / "ok.json", _connect_succeeded)
    report = workbench("replay", str(session), "--json", code=1)
    validator("replay.schema.json").validate(report)
    kinds = [f["kind"] for f in report["findings"]]
    assert kinds == ["outcome", "error"]
    assert report["findings"][1]["diagnosis"]["errno"] == "ECONNREFUSED"
    broken = json.loads(json.dumps(report))
    del broken["findings"][1]["diagnosis"]["evidence"]  # the $ref to diagnosis is followed
    assert not validator("replay.schema.json").is_valid(broken)


def _to_discard(data: dict[str, Any]) -> None:
    data["peers"][0]["kind"] = "discard"
    for step in data["steps"]:
        if step["op"] == "expect":
            step["args"]["timeout"] = 0.2


def test_replay_to_a_peer_that_never_answers(tmp_path: Path) -> None:
    session = edited("tcp-echo.json", tmp_path / "discard.json", _to_discard)
    report = workbench("replay", str(session), "--json", "--timeout", "0.5", code=1)
    validator("replay.schema.json").validate(report)
    assert {"outcome", "bytes", "error"} <= {f["kind"] for f in report["findings"]}


# -- journals -------------------------------------------------------------------------------

@pytest.fixture
def state(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    """A private $XDG_STATE_HOME and its journals folder."""
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"),
               XDG_CONFIG_HOME=str(tmp_path / "config"))
    yield env, tmp_path / "state" / "socket-workbench" / "journals"


def _journals(env: dict[str, str], root: Path, tmp_path: Path) -> None:
    """Two journals as replay writes them; the first saved by `workbench recover`."""
    for name in ("saved", "unsaved"):
        workbench("replay", str(SESSIONS / "tcp-echo.json"), "--journal", str(root / name),
                  "--json", env=env)
    done = subprocess.run([sys.executable, "-m", "workbench", "recover", str(root / "saved"),
                           "-o", str(tmp_path / "saved.json")], capture_output=True,
                          text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL, env=env)
    assert done.returncode == 0, done.stderr


def test_journals_none(state: tuple[dict[str, str], Path]) -> None:
    report = workbench("journals", "--json", env=state[0])
    validator("journals.schema.json").validate(report)
    assert report["findings"] == []


def test_journals_listed(state: tuple[dict[str, str], Path], tmp_path: Path) -> None:
    env, root = state
    _journals(env, root, tmp_path)
    report = workbench("journals", "--json", env=env)
    validator("journals.schema.json").validate(report)
    status = {Path(j["path"]).name: j["status"] for j in report["findings"]}
    assert status == {"saved": "saved", "unsaved": "unsaved"}


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "removed"])
def test_journals_prune(state: tuple[dict[str, str], Path], tmp_path: Path,
                        dry_run: bool) -> None:
    env, root = state
    _journals(env, root, tmp_path)
    old = time.time() - 30 * DAY
    for entry in [*root.iterdir(), *root.glob("*/*")]:
        os.utime(entry, (old, old))
    report = workbench("journals", "prune", "--keep", "0", "--json",
                       *(["--dry-run"] if dry_run else []), env=env)
    validator("journals-prune.schema.json").validate(report)
    action = {Path(j["path"]).name: j["action"] for j in report["findings"]}
    assert action == {"saved": "would remove" if dry_run else "removed",
                      "unsaved": "kept: unsaved steps"}
    assert not validator("journals-prune.schema.json").is_valid(
        dict(report, findings=[dict(report["findings"][0], extra=1)]))


# -- options --------------------------------------------------------------------------------

@pytest.mark.parametrize("words", [[], ["tcp"], ["ipv6"], ["so_linger"], ["MULTICAST"]],
                         ids=lambda w: " ".join(w) or "all")
def test_options(words: list[str]) -> None:
    report = workbench("options", "--json", *words)
    validator("options.schema.json").validate(report)
    if words == ["so_linger"]:
        assert [o["name"] for o in report["options"]] == ["SO_LINGER"]


# -- conns ----------------------------------------------------------------------------------

ALL_COLUMNS = "rtt,cwnd,retrans,timer,uid,inode,skmem"


def test_conns_finds_a_live_listener_and_its_connection() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            server, _ = listener.accept()
            with server:
                report = workbench("conns", "tcp", f":{port}", "-p", "-s", "-o", ALL_COLUMNS,
                                   "--json")
            assert client.fileno() >= 0
    validator("conns.schema.json").validate(report)
    assert {r["state"] for r in report["rows"]} == {"LISTEN", "ESTAB"}
    mine = [p for r in report["rows"] for p in r.get("processes", ())]
    assert any(p["pid"] == os.getpid() for p in mine)
    assert all("tcp_info" in r and "skmem" in r for r in report["rows"])


def test_conns_unix(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(path)
        listener.listen()
        report = workbench("conns", "unix", "listen", "--json")
    validator("conns.schema.json").validate(report)
    assert any(r["local"].startswith(path) for r in report["rows"])


def test_conns_from_saved_ss_output(tmp_path: Path) -> None:
    rows = "".join(f"CLOSE-WAIT 1 0 127.0.0.1:8080 127.0.0.1:{50000 + i} "
                   'users:(("app",pid=77,fd=9))\n' for i in range(12))
    saved = tmp_path / "ss.txt"
    saved.write_text("State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n" + rows)
    report = workbench("conns", "--from", str(saved), "-s", "--json")
    validator("conns.schema.json").validate(report)
    assert report["source"] == "ss output" and report["at"] is None
    assert len(report["rows"]) == 12 and report["summary"]["pileups"]


# -- every --json has a schema --------------------------------------------------------------

def json_flags() -> set[tuple[str, str]]:
    found = set()
    for module in (ROOT / "workbench").glob("cli*.py"):
        found |= {(module.name, var) for var in JSON_FLAG.findall(module.read_text())}
    return found


def test_every_json_flag_has_a_schema() -> None:
    flags = json_flags()
    assert len(flags) >= len(SCHEMAS) - 1, "the --json pattern no longer finds the parsers"
    assert flags == set(SCHEMAS), ("a --json flag without a schema (or a schema for one "
                                   f"that went): add it to SCHEMAS: {flags ^ set(SCHEMAS)}")


@pytest.mark.parametrize("name", sorted({*SCHEMAS.values(), "findings.schema.json",
                                         "diagnosis.schema.json", "session.schema.json"}))
def test_each_schema_is_valid_and_in_the_readme(name: str) -> None:
    validator(name)
    assert f"sessions/{name}" in (ROOT / "README.md").read_text()
