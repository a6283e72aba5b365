"""Snapshots of the main screens at 80x24 and 120x40, from the real app on loopback.

Stable mode binds every port as 0 and shows each as a fixed fake in the SVG (peers,
then the app's sockets, then the refused target: workbench/ui/stable.py), and
freezes the clock, so an SVG changes only when the screen does. The refused connect
goes to a socket bound without listen and held for the test. Each `run_before` waits
until the state it names is reached, including any toast (they last 5-8 s, far longer
than a snapshot takes), and stops the focused input's cursor from blinking.
Update with `python -m pytest tests/ui/test_snapshots.py --snapshot-update`, then
look at every changed SVG before keeping it.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, TabbedContent
from textual.widgets._toast import Toast
from ui_helpers import (
    ROOT,
    data_pane,
    fill,
    log_text,
    node_of,
    open_form,
    shown,
    submit,
    wait_until,
)

from workbench.ui.app import WorkbenchApp
from workbench.ui.screens.form import FormScreen
from workbench.ui.screens.help import HelpScreen
from workbench.ui.stable import REFUSED_PORT
from workbench.ui.widgets.event_log import EventLog
from workbench.ui.widgets.script_view import ScriptView
from workbench.ui.widgets.socket_tree import SocketTree

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
SnapCompare = Callable[..., bool]


def stable_app() -> WorkbenchApp:
    return WorkbenchApp(stable=True, journal=False)


def ephemeral_ports() -> range:
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return range(int(low), int(high) + 1)


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A port bound on loopback without listen, held for the test: connecting is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


async def steady(pilot: Pilot[Any]) -> None:
    """Freeze what moves on its own: the focused input's blinking cursor."""
    for widget in pilot.app.screen.query(Input):
        widget.cursor_blink = False
    await pilot.pause()


def toast_shown(pilot: Pilot[Any], text: str) -> Callable[[], bool]:
    return lambda: any(text in str(t.render()) for t in pilot.app.screen.query(Toast))


async def demo_exchanged(pilot: Pilot[Any]) -> None:
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    await wait_until(pilot, lambda: any(s.op == "expect" and s.ok
                                        for s in app.main.ws.session.steps),
                     what="the demo's first exchange")
    tree = app.main.query_one(SocketTree)
    node = node_of(tree, 1)
    await wait_until(pilot, lambda: node is not None
                     and str(node.label) == "#1 tcp4 connected ↓29B ↑29B",
                     what="the tree to show the counters")
    pane = data_pane(app)
    await wait_until(pilot, lambda: any(line.startswith("<") for line in
                                        shown(pane).splitlines()), what="the echo shown")
    await steady(pilot)


@pytest.mark.parametrize("size", SIZES)
def test_demo_main_screen(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """The demo: a client connected to the echo peer, greeting sent and echoed."""
    app = WorkbenchApp(demo=True, stable=True, journal=False)
    assert snap_compare(app, terminal_size=size, run_before=demo_exchanged)


@pytest.mark.parametrize("size", SIZES)
def test_new_socket_form(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """n: the new-socket form, family inet, type stream, protocol 0, auto on."""

    async def run_before(pilot: Pilot[Any]) -> None:
        form = await open_form(pilot, "n", "New socket")
        await wait_until(pilot, lambda: form.query_one("#f-proto", Input).has_focus)
        await steady(pilot)

    assert snap_compare(stable_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_connection_refused(snap_compare: SnapCompare, size: tuple[int, int],
                            refused_port: int) -> None:
    """A refused connect: ECONNREFUSED with its meaning in the log tab and a toast."""
    app = stable_app()
    app.fake_ports.add(refused_port, REFUSED_PORT)

    async def run_before(pilot: Pilot[Any]) -> None:
        app: WorkbenchApp = pilot.app  # type: ignore[assignment]
        await submit(pilot, await open_form(pilot, "n", "New socket"))
        await wait_until(pilot, lambda: app.main.selected == 1)
        form = await open_form(pilot, "c", "Connect")
        await fill(pilot, form, address=f"127.0.0.1:{refused_port}")
        await submit(pilot, form)
        await pilot.press("2")
        log = app.main.query_one(EventLog)
        await wait_until(pilot, lambda: "ECONNREFUSED" in log_text(log), what="the log line")
        await wait_until(pilot, toast_shown(pilot, "ECONNREFUSED"), what="the toast")
        await steady(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_help_screen(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """?: every key with its action, help and binding id."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))
        await steady(pilot)

    assert snap_compare(stable_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_loaded_session(snap_compare: SnapCompare, size: tuple[int, int],
                        monkeypatch: pytest.MonkeyPatch) -> None:
    """ctrl+o sessions/tcp-echo.json: the Session tab with its recorded steps."""
    monkeypatch.chdir(ROOT)  # a relative path, so the SVG does not depend on the checkout
    relative = Path("sessions") / "tcp-echo.json"

    async def run_before(pilot: Pilot[Any]) -> None:
        app: WorkbenchApp = pilot.app  # type: ignore[assignment]
        form = await open_form(pilot, "ctrl+o", "Open a session")
        await fill(pilot, form, path=str(relative))
        await submit(pilot, form)
        tabs = app.main.query_one(TabbedContent)
        view = app.main.query_one(ScriptView)
        await wait_until(pilot, lambda: tabs.active == "session" and view.row_count == 13)
        host, _, port = app.main.ws.peer_addresses()["echo"].rpartition(":")
        assert host == "127.0.0.1" and int(port) in ephemeral_ports()  # bound as 0
        await wait_until(pilot, toast_shown(pilot, f"loaded {relative}"), what="the toast")
        assert not isinstance(app.screen, FormScreen)
        await steady(pilot)

    assert snap_compare(stable_app(), terminal_size=size, run_before=run_before)
