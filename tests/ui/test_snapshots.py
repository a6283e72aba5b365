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
    settle,
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
    """Freeze what moves on its own: the focused input's blinking cursor; and wait out
    the data header's byte rates, which show for a moment when the header is drawn
    more than their window after the counts it last saw (a slow run) and fall when
    no more bytes come."""
    for widget in pilot.app.screen.query(Input):
        widget.cursor_blink = False
    header = pilot.app.screen.query("#sock-header")
    if header:
        await wait_until(pilot, lambda: "B/s" not in str(header.first().render()),
                         what="the header's rates to fall")
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


# -- the screens a newcomer meets at 80x24 and 120x40 ------------------------------------

FORMS = [("n", "New socket"), ("N", "New socketpair"), ("b", "Bind"), ("c", "Connect"),
         ("l", "Listen"), ("r", "recv"), ("d", "Shut down"), ("o", "setsockopt"),
         ("g", "getsockopt"), ("p", "Start a built-in peer"), ("S", "Save session as"),
         ("ctrl+o", "Open a session")]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("key", "title"), FORMS, ids=[k for k, _ in FORMS])
def test_form(snap_compare: SnapCompare, size: tuple[int, int], key: str, title: str) -> None:
    """Every form, on a new TCP socket (#1), focus on its first field."""

    async def run_before(pilot: Pilot[Any]) -> None:
        app: WorkbenchApp = pilot.app  # type: ignore[assignment]
        app.main.ws.call("socket", family="inet", type="stream")
        await wait_until(pilot, lambda: app.main.selected == 1, what="#1")
        form = await open_form(pilot, key, title)
        first = form.fields[0].name
        await wait_until(pilot, lambda: form.query_one(f"#f-{first}").has_focus)
        await settle(pilot)
        await steady(pilot)

    assert snap_compare(stable_app(), terminal_size=size, run_before=run_before)


async def four_sockets(pilot: Pilot[Any]) -> None:
    """#1 tcp4 talking to the echo peer, #2 udp4 bound, #3 unix-p and #4 unix-d new;
    #1 selected, its exchange in the data pane."""
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    ws = app.main.ws
    ws.start_peer("echo", "tcp", name="echo")
    app.main.refresh_peers()
    client = ws.call("socket", family="inet", type="stream").result["sock"]
    ws.call("connect", client, address="peer:echo")
    ws.call("send", client, data=b"hello, echo\n")
    ws.call("expect", client, data=b"hello, echo\n", timeout=5.0)
    udp = ws.call("socket", family="inet", type="dgram").result["sock"]
    ws.call("bind", udp, address="127.0.0.1:0")
    ws.call("socket", family="unix", type="seqpacket")
    ws.call("socket", family="unix", type="dgram")
    await wait_until(pilot, lambda: app.main.selected == 4, what="#4 selected")
    app.main.select(client)
    pane = data_pane(app)
    await wait_until(pilot, lambda: any(line.startswith("<") for line in
                                        shown(pane).splitlines()), what="the echo shown")
    await settle(pilot)
    await steady(pilot)


@pytest.mark.parametrize("size", SIZES)
def test_four_sockets(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(stable_app(), terminal_size=size, run_before=four_sockets)


async def datagrams(pilot: Pilot[Any]) -> None:
    """#1 udp4 bound, #2 udp4 sends it a text and a binary datagram, #1 answers; #1's
    datagram view: one block per datagram, each with its peer."""
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    ws = app.main.ws
    one = ws.call("socket", family="inet", type="dgram").result["sock"]
    ws.call("bind", one, address="127.0.0.1:0")
    two = ws.call("socket", family="inet", type="dgram").result["sock"]
    ws.call("bind", two, address="127.0.0.1:0")
    ws.call("sendto", two, data=b"ping\n", address=f"sock:{one}")
    ws.call("sendto", two, data=bytes.fromhex("deadbeef00ff"), address=f"sock:{one}")
    await wait_until(pilot, lambda: ws.socket_info(one).bytes_in == 11, what="2 datagrams")
    ws.call("sendto", one, data=b"pong\n", address=f"sock:{two}")
    await wait_until(pilot, lambda: ws.socket_info(two).bytes_in == 5, what="the answer")
    await wait_until(pilot, lambda: app.main.selected == two, what="#2, the newest, selected")
    app.main.select(one)
    pane = data_pane(app)
    await wait_until(pilot, lambda: shown(pane).count("peer=") == 3, what="3 datagrams")
    await settle(pilot)
    await steady(pilot)


@pytest.mark.parametrize("size", SIZES)
def test_datagram_view(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(stable_app(), terminal_size=size, run_before=datagrams)


@pytest.mark.parametrize("size", SIZES)
def test_log_after_resizing(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """Steps logged while the Log pane was hidden, at the other size, then shown after
    resizing to this one: every entry wraps at the width it has now."""
    other = (120, 40) if size == (80, 24) else (80, 24)

    async def run_before(pilot: Pilot[Any]) -> None:
        app: WorkbenchApp = pilot.app  # type: ignore[assignment]
        ws = app.main.ws
        sock = ws.call("socket", family="inet", type="stream").result["sock"]
        ws.call("bind", sock, address="127.0.0.1:0")
        ws.call("shutdown", sock, how="wr")  # ENOTCONN and its meaning: a long entry
        ws.call("listen", sock, backlog=1)
        await wait_until(pilot, lambda: app.main.selected == sock, what="#1")
        await wait_until(pilot, toast_shown(pilot, "ENOTCONN"), what="the toast")
        await pilot.resize_terminal(*size)
        await pilot.press("2")
        log = app.main.query_one(EventLog)
        await wait_until(pilot, lambda: len(log.lines) >= 4, what="the log drawn")
        await settle(pilot)
        await steady(pilot)

    assert snap_compare(stable_app(), terminal_size=other, run_before=run_before)
