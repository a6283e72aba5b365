"""The bind form warns, before the call, when the address is already held: by which
process, or only by TIME_WAIT (SO_REUSEADDR would do), from the live connection table."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from support import bound_ports
from textual.pilot import Pilot
from textual.widgets import Label
from ui_helpers import drive, fill, open_form, wait_until

from workbench.ui.app import WorkbenchApp

HOLD = "import socket, sys; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); " \
       "sys.stdout.write('ready\\n'); sys.stdout.flush(); sys.stdin.read()"


@pytest.fixture
def held_port() -> Iterator[tuple[int, int]]:
    """A port a child process listens on: (its pid, the port); stopped by its pid."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        yield proc.pid, bound_ports(proc.pid)[0]
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(10)


def time_wait_port() -> int:
    """A loopback port held only by a TIME_WAIT connection: the server side closes first."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        server, _ = listener.accept()
        server.close()  # the side that closes first waits in TIME_WAIT on the port
        client.settimeout(5)
        assert client.recv(1) == b""  # the FIN arrived: now the client closes too
        client.close()
    return port


async def warning_for(pilot: Pilot[Any], app: WorkbenchApp, address: str) -> Label:
    ws = app.main.ws
    sock = ws.call("socket", family="inet", type="stream").result["sock"]
    await wait_until(pilot, lambda: app.main.selected == sock, what="the socket")
    form = await open_form(pilot, "b", "Bind")
    await fill(pilot, form, address=address)
    return form.query_one("#w-address", Label)


def test_a_port_a_process_listens_on_is_named_with_its_process(
        app: WorkbenchApp, held_port: tuple[int, int]) -> None:
    pid, port = held_port

    async def scenario(pilot: Pilot[Any]) -> None:
        label = await warning_for(pilot, app, f"127.0.0.1:{port}")
        await wait_until(pilot, lambda: "already held by a listener" in str(label.content),
                         timeout=10, what="the warning")
        assert str(pid) in str(label.content)
        await pilot.press("enter")  # a warning, not a refusal: the bind is made
        await wait_until(pilot, lambda: any(s.op == "bind" for s in app.main.ws.steps()),
                         what="the bind")
        bind = next(s for s in app.main.ws.steps() if s.op == "bind")
        assert bind.error is not None and bind.error.name == "EADDRINUSE"

    drive(app, scenario)


def test_time_wait_only_says_so_reuseaddr_would_do(app: WorkbenchApp) -> None:
    port = time_wait_port()

    async def scenario(pilot: Pilot[Any]) -> None:
        label = await warning_for(pilot, app, f"127.0.0.1:{port}")
        await wait_until(pilot, lambda: "only by 1 TIME_WAIT" in str(label.content),
                         timeout=10, what="the TIME_WAIT warning")
        assert "SO_REUSEADDR" in str(label.content)

    drive(app, scenario)


def test_a_free_port_and_port_zero_get_no_warning(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        label = await warning_for(pilot, app, "127.0.0.1:0")
        form = app.screen
        with socket.socket() as probe:  # a port bound here, without listen, then freed
            probe.bind(("127.0.0.1", 0))
            free = probe.getsockname()[1]
        await fill(pilot, form, address=f"127.0.0.1:{free}")  # type: ignore[arg-type]
        await app.workers.wait_for_complete()  # the adviser has answered for this address
        await pilot.pause()
        assert str(label.content) == ""

    drive(app, scenario)
