"""Fixtures of the UI suite: an isolated config dir, the app, real peers (built-in, socat).

Peers listen on loopback only, and every process a test starts is stopped by its pid.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support import bound_ports
from ui_helpers import SOCAT

from workbench.io.peers import Peer
from workbench.ui.app import WorkbenchApp


@pytest.fixture(autouse=True)
def _own_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No user keymap leaks in: every test gets an empty XDG_CONFIG_HOME."""
    config = tmp_path / "config"
    config.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    return config


@pytest.fixture
def app() -> WorkbenchApp:
    return WorkbenchApp(journal=False)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP listener on 127.0.0.1 port 0, held for the test (accepts time out in 10 s)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(4)
        sock.settimeout(10)
        yield sock


@pytest.fixture
def peer() -> Iterator[Callable[[str], Peer]]:
    """Start built-in peers on 127.0.0.1 port 0; all stopped at the end."""
    started: list[Peer] = []

    def start(kind: str) -> Peer:
        p = Peer(kind, "tcp", ("127.0.0.1", 0)).start()
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop()


@pytest.fixture
def socat_sink() -> Iterator[Callable[[Path], tuple[subprocess.Popen[bytes], int]]]:
    """socat accepting one TCP connection on 127.0.0.1 and writing it to a file.

    socat binds port 0 and holds the port it gets; start() returns it with the process."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(out: Path) -> tuple[subprocess.Popen[bytes], int]:
        proc = subprocess.Popen(
            [SOCAT, "-u", "TCP-LISTEN:0,bind=127.0.0.1", f"OPEN:{out},creat,trunc"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append(proc)
        deadline = time.monotonic() + 5.0
        while not (ports := bound_ports(proc.pid)):
            if proc.poll() is not None or time.monotonic() > deadline:
                exited = proc.poll() is not None  # only then does reading stderr end
                err = proc.stderr.read().decode() if exited and proc.stderr else ""
                pytest.fail(f"socat did not listen on 127.0.0.1: {err}")
            time.sleep(0.01)
        assert len(ports) == 1, f"socat listens on {ports}"
        return proc, ports[0]

    yield start
    for proc in procs:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5.0)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5.0)
        if proc.stderr is not None:
            proc.stderr.close()


