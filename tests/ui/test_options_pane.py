"""The Options pane on real sockets: values read live without adding steps, options set
in place with what the kernel kept, TCP_INFO, close-on-exec, and SO_LINGER {on, 0}
seen by a real peer as a reset."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static
from ui_helpers import drive, messages, wait_until

from workbench.ui.app import WorkbenchApp
from workbench.ui.panes.options import OptionsPane
from workbench.ui.screens.form import FormScreen
from workbench.ui.widgets.option_table import OptionTable, TcpInfoTable


def pane(app: WorkbenchApp) -> OptionsPane:
    options = app.main.panes["options"]
    assert isinstance(options, OptionsPane)
    return options


def row_names(app: WorkbenchApp) -> list[str]:
    return [r.spec.name for r in app.main.query_one(OptionTable)._rows]


async def shown_with_readings(pilot: Pilot[Any], app: WorkbenchApp, sock: int) -> None:
    await wait_until(pilot, lambda: app.main.selected == sock, what="the socket selected")
    await pilot.press("4")
    await wait_until(pilot, lambda: pane(app).readings, what="the first sweep")
    await wait_until(pilot, lambda: isinstance(app.focused, OptionTable), what="focus")


async def to_row(pilot: Pilot[Any], app: WorkbenchApp, name: str) -> None:
    table = app.main.query_one(OptionTable)
    table.move_cursor(row=row_names(app).index(name))
    await wait_until(pilot, lambda: table.current() is not None
                     and table.current().spec.name == name, what=name)


async def set_value(pilot: Pilot[Any], app: WorkbenchApp, name: str, text: str) -> None:
    """Enter on the option's row, then `text` into the value form and Enter."""
    await to_row(pilot, app, name)
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, FormScreen), what="the form")
    app.screen.query_one(Input).value = text
    await pilot.press("enter")


def cells(app: WorkbenchApp, name: str) -> tuple[str, str]:
    row = next(r for r in app.main.query_one(OptionTable)._rows if r.spec.name == name)
    return row.value, row.note


def test_reading_adds_no_steps_and_a_flip_adds_exactly_one(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        ws = app.main.ws
        sock = ws.call("socket", family="inet", type="stream").result["sock"]
        await shown_with_readings(pilot, app, sock)
        before = len(ws.steps())
        sweeps = pane(app)._asked
        await wait_until(pilot, lambda: pane(app)._asked > sweeps, what="a second sweep")
        assert len(ws.steps()) == before  # sweeps only look
        assert cells(app, "TCP_NODELAY")[0] == "off"
        await to_row(pilot, app, "TCP_NODELAY")
        await pilot.press("enter")
        await wait_until(pilot, lambda: cells(app, "TCP_NODELAY")[0] == "on", what="on")
        steps = ws.steps()[before:]
        assert [(s.op, s.args) for s in steps] == [
            ("setsockopt", {"option": "TCP_NODELAY", "value": 1})]
        assert steps[0].result == {"effective": 1}
        assert cells(app, "TCP_NODELAY")[1] == "set"
        probe = ws.inspect(sock, "option:TCP_NODELAY").result(5)  # the kernel agrees
        assert probe == 1

    drive(app, scenario)


def test_rcvbuf_shows_what_the_kernel_kept_and_why(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        ws = app.main.ws
        sock = ws.call("socket", family="inet", type="stream").result["sock"]
        await shown_with_readings(pilot, app, sock)
        await to_row(pilot, app, "SO_RCVBUF")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, FormScreen), what="the form")
        field = app.screen.query_one(Input)
        assert field.value == str(pane(app).readings["SO_RCVBUF"])  # starts at the value
        field.value = "8192"
        await pilot.press("enter")
        await wait_until(pilot, lambda: cells(app, "SO_RCVBUF")[1] == "asked 8192",
                         what="the request beside the kept value")
        kept = ws.inspect(sock, "option:SO_RCVBUF").result(5)
        assert kept != 8192
        await wait_until(pilot, lambda: cells(app, "SO_RCVBUF")[0].startswith(str(kept)),
                         what="the kept value")
        detail = str(app.main.query_one("#options-detail", Static).content)
        assert "asked 8192" in detail and f"kernel kept {kept}" in detail
        assert "doubl" in detail  # the reason, not only the numbers

    drive(app, scenario)


def test_a_bad_value_is_refused_in_the_form(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        ws = app.main.ws
        sock = ws.call("socket", family="inet", type="stream").result["sock"]
        await shown_with_readings(pilot, app, sock)
        await to_row(pilot, app, "TCP_KEEPCNT")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, FormScreen), what="the form")
        before = len(ws.steps())
        app.screen.query_one(Input).value = "lots"
        await pilot.press("enter")
        errors = app.screen.query(".field-error")
        await wait_until(pilot, lambda: any("TCP_KEEPCNT" in str(e.content) for e in errors
                                            if isinstance(e, Static)), what="the error")
        assert isinstance(app.screen, FormScreen)  # still open: nothing sent
        await pilot.press("escape")
        assert len(ws.steps()) == before

    drive(app, scenario)


def test_options_that_do_not_apply_are_greyed_and_say_why(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        ws = app.main.ws
        sock = ws.call("socket", family="inet", type="dgram").result["sock"]
        await shown_with_readings(pilot, app, sock)
        row = next(r for r in app.main.query_one(OptionTable)._rows
                   if r.spec.name == "TCP_NODELAY")
        assert not row.usable and row.note
        assert row_names(app).index("TCP_NODELAY") > row_names(app).index("UDP_CORK")
        before = len(ws.steps())
        await to_row(pilot, app, "TCP_NODELAY")
        await pilot.press("enter")
        await wait_until(pilot, lambda: any("does not apply" in m for m in messages(app)),
                         what="why not")
        assert len(ws.steps()) == before

    drive(app, scenario)


def test_linger_on_zero_then_close_resets_the_peer(app: WorkbenchApp,
                                                   listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []

    async def scenario(pilot: Pilot[Any]) -> None:
        ws = app.main.ws
        sock = ws.call("socket", family="inet", type="stream").result["sock"]
        ws.call("connect", sock, address=f"127.0.0.1:{port}")
        peer, _ = listener.accept()
        accepted.append(peer)
        await shown_with_readings(pilot, app, sock)
        await set_value(pilot, app, "SO_LINGER", "on 0")
        await wait_until(pilot, lambda: cells(app, "SO_LINGER")[1] == "set", what="set")
        assert ws.steps()[-1].args["value"] == {"on": True, "seconds": 0}
        await pilot.press("x")
        await wait_until(pilot, lambda: any(s.op == "close" for s in ws.steps()),
                         what="the close")

    drive(app, scenario)
    peer = accepted[0]
    peer.settimeout(10)
    with peer, pytest.raises(ConnectionResetError):
        peer.recv(16)


def test_tcp_info_shows_the_connection_live(app: WorkbenchApp,
                                            listener: socket.socket) -> None:
    port = listener.getsockname()[1]

    async def scenario(pilot: Pilot[Any]) -> None:
        ws = app.main.ws
        sock = ws.call("socket", family="inet", type="stream").result["sock"]
        ws.call("connect", sock, address=f"127.0.0.1:{port}")
        peer, _ = listener.accept()
        with peer:
            await shown_with_readings(pilot, app, sock)
            before = len(ws.steps())
            await pilot.press("i")
            table = app.main.query_one(TcpInfoTable)
            await wait_until(pilot, lambda: table.display and table._rows, what="TCP_INFO")
            assert dict((n, v) for n, v, _ in table._rows)["state"] == "ESTABLISHED"
            ws.call("send", sock, data=b"x" * 1000)
            await wait_until(pilot, lambda: dict((n, v) for n, v, _ in table._rows)
                             .get("bytes_acked") == "1,001 B", what="the send acknowledged")
            await pilot.press("i")
            await wait_until(pilot, lambda: app.main.query_one(OptionTable).display,
                             what="the options again")
            assert [s.op for s in ws.steps()[before:]] == ["send"]

    drive(app, scenario)


def test_close_on_exec_toggles_as_a_step(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        ws = app.main.ws
        sock = ws.call("socket", family="inet", type="stream").result["sock"]
        await shown_with_readings(pilot, app, sock)
        header = app.main.query_one("#options-header")
        await wait_until(pilot, lambda: "cloexec on" in str(header.content), what="on")
        await pilot.press("E")
        await wait_until(pilot, lambda: "cloexec off" in str(header.content), what="off")
        assert ws.steps()[-1].op == "set_inheritable"
        assert ws.steps()[-1].args == {"inheritable": True}
        assert ws.inspect(sock, "flags").result(5)["cloexec"] is False
        await pilot.press("E")
        await wait_until(pilot, lambda: "cloexec on" in str(header.content), what="on again")

    drive(app, scenario)


def test_a_refused_set_shows_its_errno_and_meaning(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        ws = app.main.ws
        sock = ws.call("socket", family="inet", type="stream").result["sock"]
        await shown_with_readings(pilot, app, sock)
        await set_value(pilot, app, "TCP_CONGESTION", "nosuchalgo")
        await wait_until(pilot, lambda: cells(app, "TCP_CONGESTION")[1] == "ENOENT",
                         what="the errno in the row")
        detail = str(app.main.query_one("#options-detail", Static).content)
        assert "last set failed: ENOENT — " in detail
        assert len(detail.split("last set failed: ENOENT — ")[1].split("\n")[0]) > 10

    drive(app, scenario)


def test_the_detail_says_when_the_state_makes_an_option_moot(app: WorkbenchApp,
                                                              listener: socket.socket) -> None:
    port = listener.getsockname()[1]

    async def scenario(pilot: Pilot[Any]) -> None:
        ws = app.main.ws
        sock = ws.call("socket", family="inet", type="stream").result["sock"]
        ws.call("connect", sock, address=f"127.0.0.1:{port}")
        await shown_with_readings(pilot, app, sock)
        await to_row(pilot, app, "SO_REUSEADDR")
        detail = app.main.query_one("#options-detail", Static)
        await wait_until(pilot, lambda: "now: takes effect only before bind"
                         in str(detail.content), what="the state note")

    drive(app, scenario)


def test_a_hidden_pane_draws_nothing_until_shown_then_the_selected_socket(
        app: WorkbenchApp) -> None:
    """Selecting sockets while the data pane is shown leaves the options table alone (a
    redraw lays the screen out, time a flood's receiving threads need); shown by its
    key or by clicking its tab, it draws the socket selected then."""
    async def scenario(pilot: Pilot[Any]) -> None:
        ws = app.main.ws
        table = app.main.query_one(OptionTable)
        shows: list[int] = []
        plain = table.show
        table.show = lambda rows, *a, **k: (shows.append(1), plain(rows, *a, **k))[1]  # type: ignore[method-assign]
        udp = ws.call("socket", family="inet", type="dgram").result["sock"]
        await wait_until(pilot, lambda: app.main.selected == udp, what="udp selected")
        tcp = ws.call("socket", family="inet", type="stream").result["sock"]
        await wait_until(pilot, lambda: app.main.selected == tcp, what="tcp selected")
        assert shows == [] and pane(app)._stale
        app.main.select(udp)
        app.main.query_one("#tabs").active = "options"  # as a click on its tab does
        await wait_until(pilot, lambda: bool(shows), what="the table drawn")
        assert not pane(app)._stale and pane(app).shown == udp
        assert str(app.main.query_one("#options-header").render()).startswith(f"#{udp} ")

    drive(app, scenario)
