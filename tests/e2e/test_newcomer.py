"""A newcomer's first session, typed into the real `workbench` in tmux at 80x24.

New TCP socket, connect to a socat echo, send text and hex and see both echoed; new
UDP socket, sendto an echo the test owns, see the datagram and its peer; save; quit;
then `workbench replay` of the saved file exits 0. Every check reads the captured pane
(`tmux capture-pane -p`) and waits, bounded, for text that must appear.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import bound_port, stop_process

TMUX = shutil.which("tmux")
SOCAT = shutil.which("socat")
WAIT = 20.0  # seconds for any one thing to show on screen

pytestmark = [pytest.mark.skipif(TMUX is None, reason="tmux is not installed"),
              pytest.mark.skipif(SOCAT is None, reason="socat is not installed")]


def workbench_command() -> list[str]:
    script = Path(sys.executable).with_name("workbench")
    return [str(script)] if script.exists() else [sys.executable, "-m", "workbench"]


class Pane:
    """One tmux server of our own (its socket in the test's tmp dir), one 80x24 pane."""

    def __init__(self, sock: Path) -> None:
        self.sock = sock

    def tmux(self, *args: str) -> str:
        done = subprocess.run([str(TMUX), "-S", str(self.sock), *args], capture_output=True,
                              text=True, timeout=10, stdin=subprocess.DEVNULL, check=True)
        return done.stdout

    def start(self, command: str, cwd: Path) -> None:
        self.tmux("new-session", "-d", "-s", "newcomer", "-x", "80", "-y", "24", "-c",
                  str(cwd), command)

    def text(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "newcomer")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "newcomer", *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", "newcomer", "-l", text)

    def wait_for(self, *texts: str, what: str = "") -> str:
        deadline = time.monotonic() + WAIT
        while True:
            screen = self.text()
            if all(t in screen for t in texts):
                return screen
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what or texts}; the pane shows:\n{screen}")
            time.sleep(0.05)  # a poll, bounded by the deadline

    def stop(self) -> None:
        pid = int(self.tmux("display-message", "-p", "#{pid}").strip())
        self.tmux("kill-server")
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
            time.sleep(0.02)


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[Pane]:
    started = Pane(tmp_path / "tmux.sock")
    yield started
    with contextlib.suppress(subprocess.CalledProcessError):  # the server ended already
        started.stop()


@pytest.fixture
def tcp_echo() -> Iterator[int]:
    """socat echoing every TCP connection on 127.0.0.1, bound to port 0; its port."""
    proc = subprocess.Popen([str(SOCAT), "TCP-LISTEN:0,bind=127.0.0.1,fork,reuseaddr", "PIPE"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        yield bound_port(proc)
    finally:
        stop_process(proc)


@pytest.fixture
def udp_echo() -> Iterator[int]:
    """A UDP socket the test owns on 127.0.0.1 that sends every datagram back; its port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    stop = threading.Event()

    def echo() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(65536)
            except TimeoutError:
                continue
            sock.sendto(data, peer)

    thread = threading.Thread(target=echo, name="udp-echo", daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(5.0)
        sock.close()


def tcp_text_and_hex(pane: Pane, port: int) -> None:
    """A TCP socket connected to the echo: text, then hex, each comes back."""
    pane.keys("n")  # the form opens on family: tab to protocol, enter creates
    pane.wait_for("New socket", "▌inet", what="the new-socket form, on family")
    pane.keys("Tab", "Tab", "Enter")
    pane.wait_for("#1 tcp4 new", what="socket #1")
    pane.keys("c")
    pane.wait_for("Connect socket #1", "▌127.0.0.1:7", what="the connect form")
    pane.type(f"127.0.0.1:{port}")  # replaces the suggested address, selected
    pane.keys("Enter")
    pane.wait_for("#1 tcp4 connected", what="the connection")
    pane.keys("s")
    pane.wait_for("│▌  text   ▊", what="the send editor focused")  # keys go there now
    pane.type("hello")
    pane.keys("Enter")
    pane.wait_for("↓5B ↑5B", "|hello|", what="hello echoed")
    pane.keys("F2")  # payload mode: hex
    pane.wait_for(" hex ", what="hex mode")
    pane.type("de ad be ef")
    pane.keys("Enter")
    pane.wait_for("↓9B ↑9B", "> 00000005  de ad be ef", "< 00000005  de ad be ef",
                  what="the hex sent and echoed")


def udp_sendto(pane: Pane, port: int) -> None:
    """A UDP socket (type is the form's second field; enter opens its list) sends a
    datagram to the test's echo: both datagrams show with their peer."""
    pane.keys("Escape")  # leaves the payload for the socket tree, which shows the bar
    pane.wait_for("▌▶ #1", what="the tree focused")  # (esc and n at once read as alt+n)
    pane.keys("n")
    pane.wait_for("New socket", "▌inet", what="the new-socket form, on family")
    pane.keys("Tab", "Enter")
    pane.wait_for("seqpacket", what="the list of types")
    pane.keys("Down", "Enter")  # dgram; choosing goes on to the protocol
    pane.wait_for("▌0", what="the protocol field focused")
    pane.keys("Enter")
    pane.wait_for("#2 udp4 new", what="socket #2")
    pane.keys("s")
    pane.wait_for("to: host:port", "│▌  text   ▊", what="the send editor, with a destination")
    pane.type("ping")
    pane.keys("Tab")
    pane.type(f"127.0.0.1:{port}")
    pane.keys("Enter")
    screen = pane.wait_for("↓4B ↑4B", "peer=", str(port), what="the datagram and its echo")
    assert "> out length=4" in screen and "< in  length=4" in screen, screen


def test_a_newcomers_first_session(pane: Pane, tmp_path: Path, tcp_echo: int,
                                   udp_echo: int) -> None:
    env = {"XDG_STATE_HOME": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
           "PATH": os.environ.get("PATH", "")}
    app = shlex.join(["env", *(f"{k}={v}" for k, v in env.items()), *workbench_command()])
    pane.start(f"{app}; echo \"workbench exited $?\"; read _", tmp_path)
    pane.wait_for("no socket selected", "n new", what="the workbench")
    tcp_text_and_hex(pane, tcp_echo)
    udp_sendto(pane, udp_echo)

    # Save (the form suggests session.json, here in the test's folder), quit, replay.
    pane.keys("Escape")
    pane.wait_for("▌▶ #2", what="the tree focused")
    pane.keys("C-s")
    pane.wait_for("Save session as", "▌session.json", what="the save form")
    pane.keys("Enter")
    pane.wait_for("Workbench — session.json", what="the title to name the file saved")
    pane.keys("q")
    pane.wait_for("workbench exited 0", what="the workbench to quit")
    saved = tmp_path / "session.json"
    assert saved.is_file()
    replay = subprocess.run([*workbench_command(), "replay", str(saved)], capture_output=True,
                            text=True, timeout=60, stdin=subprocess.DEVNULL,
                            env={**os.environ, **env})
    assert replay.returncode == 0, replay.stdout + replay.stderr
