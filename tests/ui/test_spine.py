"""The UI on the new spine: one subscriber per stepper, ops from the palette, the why-not
hints, and panes built from the registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import TabPane
from ui_helpers import (
    ROOT,
    drive,
    log_text,
    messages,
    open_form,
    palette_entries,
    submit,
    wait_until,
)

from workbench.ui.app import WorkbenchApp
from workbench.ui.panes import PANES
from workbench.ui.widgets.event_log import EventLog

EXAMPLE = ROOT / "sessions" / "tcp-echo.json"


def test_opening_five_sessions_leaves_one_stepper_subscribed(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await wait_until(pilot, lambda: app.main.workspace is not None)
        ws = app.main.ws
        base = ws.subscriber_count()  # the screen's bridge and the dirty mark
        for _ in range(5):
            app._load(str(EXAMPLE))
            await wait_until(pilot, lambda: app.stepper is not None)
        assert ws.subscriber_count() == base + 1
        app.stepper.close()  # type: ignore[union-attr]
        assert ws.subscriber_count() == base

    drive(app, scenario)


async def _new_tcp_socket(pilot: Pilot[Any]) -> int:
    app = pilot.app
    form = await open_form(pilot, "n", "New socket")
    await submit(pilot, form)
    await wait_until(pilot, lambda: app.main.selected is not None, what="the new socket")
    return app.main.selected  # type: ignore[return-value]


def test_getsockname_from_the_palette_shows_the_address(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        sid = await _new_tcp_socket(pilot)
        await wait_until(pilot, lambda: app.main.ws.call("bind", sid, address="127.0.0.1:0").ok)
        local = app.main.ws.socket_info(sid).local  # type: ignore[union-attr]
        entries = await palette_entries(pilot, "socket: local address")
        assert entries[0][1] == "read the address the socket is bound to"
        await pilot.press("enter")
        line = f"getsockname(#{sid}) → address={local}"
        await wait_until(pilot, lambda: any(line in m for m in messages(app)),
                         what="the address shown as a notification")
        await pilot.press("2")
        await wait_until(pilot, lambda: line in log_text(app.main.query_one(EventLog)),
                         what="the getsockname step in the log")

    drive(app, scenario)


def test_the_palette_says_why_an_op_will_likely_fail(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await _new_tcp_socket(pilot)
        entries = await palette_entries(pilot, "socket: accept")
        assert entries[0] == ("socket: accept",
                              "not now: accept needs a listening socket: listen first")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main)
        form = await open_form(pilot, "l", "Listen")
        assert form.note == ""  # listening makes sense on a new socket
        await submit(pilot, form)
        entries = await palette_entries(pilot, "socket: accept")
        assert entries[0] == ("socket: accept", "accept one connection (manual)")

    drive(app, scenario)


def test_a_form_warns_but_still_runs_an_op_that_will_fail(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        sid = await _new_tcp_socket(pilot)
        form = await open_form(pilot, "d", "Shut down")
        assert form.note == "likely to fail now: the socket is not connected"
        await submit(pilot, form)
        line = f"shutdown(#{sid}, how=wr) → ENOTCONN"
        await pilot.press("2")
        await wait_until(pilot, lambda: line in log_text(app.main.query_one(EventLog)),
                         what="the shutdown step and its errno")

    drive(app, scenario)


def test_tabs_come_from_the_pane_registry(app: WorkbenchApp, tmp_path: Path) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        panes = [p.id for p in app.main.query(TabPane)]
        assert panes == [p.id for p in PANES]
        for pane in PANES:
            await pilot.press(pane.key)
            await wait_until(pilot, lambda p=pane: app.main.query_one("#tabs").active == p.id)

    drive(app, scenario)
