"""A workbench run killed with SIGKILL comes back: `recover` its journal, `replay` the file.

The run is a headless workspace in its own process: it starts an echo peer, connects,
sends and expects, and is killed once its journal holds those steps. Recovering used
to lose the peer, so the replay failed with "no built-in peer named 'echo'".
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from support import stop_process

from workbench.io.journal import load_journal

TIMEOUT = 30.0
RUNS = 6  # the issue saw 6 of 6 recoveries fail
SMALL = b"hello journal\x00\xff\r\n"
BIG = bytes(range(256)) * 40  # 10,240 bytes: it and its echo go to data.bin

# The killed run: a headless workspace journaling to argv[1]; it waits on stdin after.
RUN = f"""
import sys
from pathlib import Path
from workbench.io.workspace import Workspace

ws = Workspace(journal_dir=Path(sys.argv[1]))
ws.start_peer("echo", name="echo")
sock = ws.call("socket", family="inet", type="stream").result["sock"]
assert ws.call("connect", sock, address="peer:echo").ok
for data in ({SMALL!r}, {BIG!r}):
    for op in ("send", "expect"):
        step = ws.call(op, sock, data=data)
        assert step.ok, step
print("done", flush=True)
sys.stdin.read()
"""


def journaled(journal: Path) -> tuple[int, int]:
    """(expect steps, bytes received) that the journal holds so far."""
    session = load_journal(journal)
    try:
        expects = sum(1 for s in session.steps if s.op == "expect")
        got = sum(len(s.data) for s in session.steps if s.op == "recv" and s.auto)
    finally:
        session.close()
    return expects, got


def killed_run(journal: Path) -> None:
    """Run the workspace until its journal holds every step, then SIGKILL it."""
    proc = subprocess.Popen([sys.executable, "-c", RUN, str(journal)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # the steps are done; their lines may still be queued
        assert line == "done\n", line + proc.communicate(timeout=TIMEOUT)[1]
        deadline = time.monotonic() + TIMEOUT
        while journaled(journal) != (2, len(SMALL) + len(BIG)):
            assert time.monotonic() < deadline, f"journal holds {journaled(journal)}"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(TIMEOUT) == -signal.SIGKILL
    finally:
        stop_process(proc)


def workbench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True,
                          text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)


def test_killed_runs_recover_and_replay(tmp_path: Path) -> None:
    for run in range(RUNS):
        journal, out = tmp_path / f"journal{run}", tmp_path / f"recovered{run}.json"
        killed_run(journal)
        done = workbench("recover", str(journal), "-o", str(out))
        assert done.returncode == 0, f"run {run}: {done.stderr}"
        done = workbench("replay", str(out))
        assert done.returncode == 0, f"run {run}: {done.stdout}{done.stderr}"
        assert done.stdout.startswith(f"{out}: match ("), done.stdout
        assert done.stderr == ""
        assert json.loads(out.read_text())["peers"] == [{"name": "echo", "kind": "echo"}]
