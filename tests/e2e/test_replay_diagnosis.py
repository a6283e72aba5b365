"""`workbench replay`: a step that fails unlike the recording comes with its diagnosis,
gathered live while the cause is still there (the process holding the port, the
missing listener), in the text report and as a finding of `--json`."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
from support import bound_port, stop_process

ROOT = Path(__file__).resolve().parents[2]
DIAGNOSIS = json.loads((ROOT / "sessions" / "diagnosis.schema.json").read_text())
TIMEOUT = 60.0
HOLD = ("import socket,sys\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen()\n"
        "print('ready',flush=True)\nsys.stdin.read()\n")


def workbench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True,
                          text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)


def session_file(tmp_path: Path, op: str, port: int) -> Path:
    """A recording in which `op` to 127.0.0.1:PORT worked."""
    result = {"local": f"127.0.0.1:{port}"} if op == "bind" else None
    step: dict[str, Any] = {"op": op, "sock": 1, "args": {"address": f"127.0.0.1:{port}"},
                            "t": 0.001}
    if result:
        step["result"] = result
    doc = {"format": "socket-workbench-session", "version": 1,
           "steps": [{"op": "socket", "args": {"family": "inet", "type": "stream"},
                      "t": 0.0, "result": {"sock": 1}}, step,
                     {"op": "close", "sock": 1, "t": 0.002}]}
    path = tmp_path / f"{op}.json"
    path.write_text(json.dumps(doc))
    return path


def error_findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["kind"] == "error"]


def test_replayed_bind_held_by_another_process_names_it(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        port = bound_port(holder)
        path = session_file(tmp_path, "bind", port)
        text = workbench("replay", str(path), "--timeout", "2")
        done = workbench("replay", str(path), "--json", "--timeout", "2")
    finally:
        stop_process(holder)
    assert text.returncode == 1, text.stdout + text.stderr
    assert "why step 1: bind: EADDRINUSE — " in text.stdout
    assert f"(pid {holder.pid})" in text.stdout
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert [f["kind"] for f in report["findings"]] == ["outcome", "error"]
    [found] = error_findings(report)
    assert (found["step"], found["sock"]) == (1, 1)
    diagnosis = found["diagnosis"]
    jsonschema.validate(diagnosis, DIAGNOSIS)
    assert diagnosis["errno"] == "EADDRINUSE" and diagnosis["call"] == "bind"
    assert diagnosis["causes"][0]["evidence"] == ["conns.holders"]
    held = next(e for e in diagnosis["evidence"] if e["key"] == "conns.holders")
    assert [o["pid"] for s in held["value"]["sockets"] for o in s["owners"]] == [holder.pid]
    assert any(r.startswith("step 1: stop python") and f"(pid {holder.pid})" in r
               for r in report["recommendations"]), report["recommendations"]


def test_replayed_connect_refused_says_nothing_listens(tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))  # bound, never listening: the replayed connect is refused
        port = held.getsockname()[1]
        done = workbench("replay", str(session_file(tmp_path, "connect", port)), "--json",
                         "--timeout", "2")
    report = json.loads(done.stdout)
    [found] = error_findings(report)
    assert found["diagnosis"]["errno"] == "ECONNREFUSED"
    assert f"nothing listens on port {port}" in found["diagnosis"]["causes"][0]["text"]
    assert found["message"].startswith("connect: ECONNREFUSED — ")


def test_a_failure_the_recording_had_too_is_no_finding() -> None:
    done = workbench("replay", str(ROOT / "sessions" / "connect-refused.json"), "--json")
    report = json.loads(done.stdout)
    assert report["status"] == "match" and error_findings(report) == []
