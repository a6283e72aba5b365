"""The Log pane wraps at the width it has: entries written while it was hidden, and
every entry after a resize."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import TabbedContent
from ui_helpers import drive, settle, wait_until

from workbench.ui.app import WorkbenchApp
from workbench.ui.widgets.event_log import EventLog, step_line


def drawn(log: EventLog) -> list[str]:
    return [strip.text.rstrip() for strip in log.lines]


def wrapped(app: WorkbenchApp, width: int) -> list[str]:
    """Every step's log entry as it reads wrapped at `width`."""
    return [line.plain.rstrip() for step in app.main.ws.steps()
            for line in step_line(step).wrap(app.console, width)]


async def show_tab(pilot: Pilot[Any], key: str, tab: str) -> None:
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    await pilot.press(key)
    tabs = app.main.query_one(TabbedContent)
    await wait_until(pilot, lambda: tabs.active == tab, what=f"the {tab} tab")
    await settle(pilot)


def test_the_log_rewraps_entries_written_while_hidden_and_after_a_resize(
        app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        ws = app.main.ws
        log = app.main.query_one(EventLog)
        await show_tab(pilot, "2", "log")  # shown once: the log knows its size
        await show_tab(pilot, "1", "data")
        for _ in range(3):  # written while the Log pane is hidden
            ws.call("socket", family="inet", type="stream")
        sock = ws.sockets()[0].id
        ws.call("bind", sock, address="127.0.0.1:0")
        ws.call("shutdown", sock, how="wr")  # ENOTCONN and its meaning: a long entry
        await wait_until(pilot, lambda: len(ws.steps()) == 5, what="five steps")
        await settle(pilot)
        await show_tab(pilot, "2", "log")
        width = log.scrollable_content_region.width
        assert width > 40 and drawn(log) == wrapped(app, width)

        await pilot.resize_terminal(120, 40)
        await wait_until(pilot, lambda: log.scrollable_content_region.width > width + 30,
                         what="the wider pane")
        await settle(pilot)
        wide = log.scrollable_content_region.width
        assert drawn(log) == wrapped(app, wide)
        assert len(drawn(log)) < len(wrapped(app, width))  # fewer lines: wider ones

        await pilot.resize_terminal(80, 24)
        await wait_until(pilot, lambda: log.scrollable_content_region.width == width,
                         what="the narrow pane again")
        await settle(pilot)
        assert drawn(log) == wrapped(app, width)

    drive(app, scenario, size=(80, 24))
