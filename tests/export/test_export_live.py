"""A session recorded by the real engine on loopback, then analysed and exported: the
findings read what the engine recorded (the effective buffer size it read back, the
errno it met), and the exported Python reproduces the calls."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support import ok

from workbench.export.findings import analyse
from workbench.export.python import export_python
from workbench.io.engine import Engine


def test_a_recorded_session_is_analysed_and_exported(engine: Engine, tmp_path: Path) -> None:
    listener = ok(engine.call("socket", auto=False)).result["sock"]
    ok(engine.call("bind", listener, address="127.0.0.1:0"))
    client = ok(engine.call("socket")).result["sock"]
    kept = ok(engine.call("setsockopt", client, option="SO_RCVBUF", value=4096)).result
    assert kept is not None and kept["effective"] >= 4096  # Linux doubles it: 8192
    refused = engine.call("connect", client, address=f"sock:{listener}")
    assert refused.error is not None and refused.error.name == "ECONNREFUSED"
    ok(engine.call("close", client))
    ok(engine.call("close", listener))
    session = engine.session

    report = next(r for r in analyse(session) if r["target"] == f"socket #{client}")
    found = {f["kind"]: f for f in report["findings"]}
    buffer = found["buffer-size"]
    assert (buffer["requested"], buffer["effective"]) == (4096, kept["effective"])
    assert found["error"]["errno"] == "ECONNREFUSED" and report["status"] == "failure"

    program = tmp_path / "program.py"
    program.write_text(export_python(session, "selectors"))
    done = subprocess.run([sys.executable, str(program)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ECONNREFUSED, as recorded" in done.stdout
