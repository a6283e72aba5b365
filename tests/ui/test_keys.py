"""Keys a newcomer can find: `?` lists every key of the app, the hex view and the send
editor, grouped and marked when they do nothing now; the palette has the hex view's
commands; h and s focus the hex view and the send editor; the focused pane is marked
with a glyph that NO_COLOR keeps."""

from __future__ import annotations

from typing import Any

import pytest
from textual.binding import Binding
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input
from ui_helpers import drive, open_form, palette_entries, settle, submit, wait_until

from workbench.ui.app import WorkbenchApp
from workbench.ui.commands import ACTIONS, key_label
from workbench.ui.panes.conns import ConnsView
from workbench.ui.panes.data import DataBody
from workbench.ui.screens.help import HelpScreen
from workbench.ui.widgets.event_log import EventLog
from workbench.ui.widgets.hex_prompt import HexPrompt
from workbench.ui.widgets.hex_view import HexView
from workbench.ui.widgets.option_table import OptionTable
from workbench.ui.widgets.send_editor import SendEditor
from workbench.ui.widgets.socket_tree import SocketTree

FOCUS_BAR = "▌"  # the left edge of the focused pane


def widget_ids(bindings: list[Any]) -> list[str]:
    return [b.id for b in bindings if isinstance(b, Binding) and b.id]


async def open_help(pilot: Pilot[Any], key: str = "question_mark") -> HelpScreen:
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), what="? keys")
    screen = pilot.app.screen
    assert isinstance(screen, HelpScreen)
    return screen


async def close(pilot: Pilot[Any]) -> None:
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    await pilot.press("escape")
    await wait_until(pilot, lambda: app.screen is app.main, what="back to the main screen")


def test_help_lists_every_key_grouped_and_marks_what_does_not_apply(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await open_help(pilot)
        groups = {g.title: g for g in screen.groups}
        assert list(groups) == ["app", "socket", "data pane: hex view", "send editor",
                                "data pane", "log pane", "options pane", "connections pane"]
        ids = {title: [r.id for r in g.rows] for title, g in groups.items()}
        assert ids["data pane: hex view"] == widget_ids(HexView.BINDINGS)
        assert ids["send editor"] == widget_ids(SendEditor.BINDINGS)
        assert ids["options pane"] == widget_ids(OptionTable.BINDINGS)
        assert groups["options pane"].off == "press 4 to show and focus the options"
        assert ids["data pane"] == widget_ids(DataBody.BINDINGS)
        assert ids["log pane"] == widget_ids(EventLog.BINDINGS)
        assert ids["connections pane"] == widget_ids(ConnsView.BINDINGS)
        assert sorted(ids["app"] + ids["socket"]) == sorted(a.id for a in ACTIONS if a.key)
        keys = {r.key for r in groups["data pane: hex view"].rows}
        assert set("mLtf:/vyYCPwWDe") <= keys and "f3" in keys
        assert {"f2", "f3", "f4", "f5", "f6"} <= {r.key for r in groups["send editor"].rows}
        # Nothing selected, nothing focused but the tree: all three say so.
        assert groups["socket"].off.startswith("no socket selected")
        always = {r.id for r in groups["socket"].rows if r.always}
        assert always == {"socket.new", "socket.pair"}  # they apply with no socket
        assert groups["data pane: hex view"].off == "press h to focus the hex view"
        assert groups["send editor"].off == "press s to focus the send editor"
        assert groups["app"].off == ""
        next_step = next(r for r in groups["app"].rows if r.id == "session.next")
        assert next_step.not_now.startswith("no session loaded")
        await close(pilot)

        await submit(pilot, await open_form(pilot, "n", "New socket"))
        await wait_until(pilot, lambda: app.main.selected == 1, what="#1")
        await pilot.press("h")
        await wait_until(pilot, lambda: isinstance(app.focused, HexView), what="h: the hex view")
        screen = await open_help(pilot)
        groups = {g.title: g for g in screen.groups}
        assert groups["data pane: hex view"].off == ""
        assert groups["socket"].where == "on the selected socket (#1 tcp4 new)"
        rows = {r.id: r for r in groups["socket"].rows}
        assert rows["socket.accept"].not_now == "accept needs a listening socket: listen first"
        assert rows["socket.bind"].not_now == ""
        await close(pilot)
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.focused, Input)
                         and app.focused.id == "payload", what="s: the send editor")
        screen = await open_help(pilot, "f1")  # ? would be typed into the payload
        assert {g.title: g.off for g in screen.groups}["send editor"] == ""

    drive(app, scenario, size=(80, 24))


@pytest.mark.parametrize("title", ["data: copy hex", "data: copy text", "data: search",
                                   "data: jump to offset", "data: save raw"])
def test_the_palette_has_the_hex_views_commands(app: WorkbenchApp, title: str) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        entries = await palette_entries(pilot, title)
        assert entries[0][0] == title
        assert entries[0][1] == "not now: no socket selected: press n to create one"

    drive(app, scenario)


def test_search_from_the_palette_focuses_the_hex_view_and_asks(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await submit(pilot, await open_form(pilot, "n", "New socket"))
        await wait_until(pilot, lambda: app.main.selected == 1, what="#1")
        await palette_entries(pilot, "data: search")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, HexPrompt), what="the prompt")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main)
        assert isinstance(app.focused, HexView)

    drive(app, scenario)


def left_edge(widget: Widget) -> str:
    """The first column of what the widget draws (its border, if it has one)."""
    lines = widget.render_lines(widget.region.reset_offset)  # type: ignore[attr-defined]
    return "".join(strip.text[:1] for strip in lines)


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
def test_the_focused_pane_has_a_bar_on_its_left(monkeypatch: pytest.MonkeyPatch,
                                                no_color: bool) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    app = WorkbenchApp(journal=False)

    async def scenario(pilot: Pilot[Any]) -> None:
        tree = app.main.query_one(SocketTree)
        hex_view = app.main.query_one(HexView)
        editor = app.main.query_one(SendEditor)
        for key, focused in (("h", hex_view), ("s", editor), ("escape", tree)):
            await pilot.press(key)  # esc leaves the payload for the tree
            await settle(pilot)
            for pane in (tree, hex_view, editor):
                bar = set(left_edge(pane)) == {FOCUS_BAR}
                assert bar == (pane is focused), (key, pane)

    drive(app, scenario, size=(80, 24))


def test_h_collides_with_no_other_key() -> None:
    app_keys = [key_label(a.key) for a in ACTIONS if a.key]
    assert len(app_keys) == len(set(app_keys)), "two app actions share a key"
    for bindings in (HexView.BINDINGS, SendEditor.BINDINGS, OptionTable.BINDINGS,
                     DataBody.BINDINGS, ConnsView.BINDINGS, EventLog.BINDINGS):
        keys = {key_label(k) for b in bindings if isinstance(b, Binding)
                for k in b.key.split(",")}
        # A widget's key shadows the app's while it has the focus: only esc (and f2 in the
        # send editor, the same action) may, since they fall through when they do nothing.
        assert set(app_keys) & keys <= {"esc", "f2"}, set(app_keys) & keys
