"""Dialogs as a newcomer meets them: focus starts on the first field, Enter on a choice
opens its list and never starts or toggles anything unseen, checkboxes read `[x]` or
`[ ]` without colour, and keys typed right after Tab land in the field it moved to."""

from __future__ import annotations

from typing import Any

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Select
from ui_helpers import drive, open_form, settle, shown, wait_until

from workbench.ui.app import WorkbenchApp
from workbench.ui.screens.form import FormScreen


def focused_id(app: WorkbenchApp) -> str:
    return app.focused.id or "" if app.focused is not None else ""


def test_new_socket_starts_on_family_and_enter_walks_the_choices(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        form = await open_form(pilot, "n", "New socket")
        assert focused_id(app) == "f-family"
        family = form.query_one("#f-family", Select)
        await pilot.press("enter")  # opens the list
        await wait_until(pilot, lambda: family.expanded, what="the family list")
        await pilot.press("down", "enter")  # inet6, and on to the type
        await wait_until(pilot, lambda: focused_id(app) == "f-type", what="focus on type")
        assert family.value == "inet6"
        await pilot.press("tab")
        assert focused_id(app) == "f-proto"
        await pilot.press("enter")  # in a text field: submits
        await wait_until(pilot, lambda: form not in app.screen_stack, what="the form closed")
        await wait_until(pilot, lambda: app.main.selected == 1, what="the socket")
        assert app.main.ws.socket_info(1).family == "inet6"

    drive(app, scenario)


def test_n_tab_enter_does_not_turn_auto_receive_off(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        form = await open_form(pilot, "n", "New socket")
        auto = form.query_one("#f-auto", Checkbox)
        await pilot.press("tab", "enter")  # the keys
        await settle(pilot)
        assert auto.value
        await pilot.press("escape")  # the list the enter opened
        for _ in range(5):
            if auto.has_focus:
                break
            await pilot.press("tab")
        assert auto.has_focus
        await pilot.press("enter")  # on the checkbox: submits, keeps its value
        await wait_until(pilot, lambda: form not in app.screen_stack, what="the form closed")
        await wait_until(pilot, lambda: app.main.selected == 1, what="the socket")
        assert app.main.ws.socket_info(1).auto

    drive(app, scenario)


def test_enter_on_the_peer_kind_opens_the_list(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        form = await open_form(pilot, "p", "Start a built-in peer")
        kind = form.query_one("#f-kind", Select)
        assert kind.has_focus
        await pilot.press("enter")
        await wait_until(pilot, lambda: kind.expanded, what="the kind list")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen) and app.main.ws.peer_addresses() == {}

    drive(app, scenario)


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
def test_checkboxes_read_on_and_off_in_characters(monkeypatch: pytest.MonkeyPatch,
                                                  no_color: bool) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    app = WorkbenchApp(journal=False)

    async def scenario(pilot: Pilot[Any]) -> None:
        form = await open_form(pilot, "n", "New socket")
        auto = form.query_one("#f-auto", Checkbox)
        assert shown(auto).lstrip().startswith("[x]")
        auto.focus()
        await pilot.press("space")
        await settle(pilot)
        assert not auto.value and shown(auto).lstrip().startswith("[ ]")
        flags = app.main.query(Checkbox).exclude("#f-auto")
        assert flags and all(shown(f).lstrip().startswith("[ ]") for f in flags)

    drive(app, scenario)


def test_keys_typed_right_after_tab_land_in_the_next_field(app: WorkbenchApp) -> None:
    """A terminal hands over `tab 5` at once: the 5 belongs to the field tab moved to."""

    async def scenario(pilot: Pilot[Any]) -> None:
        app.main.ws.call("socket", family="inet", type="stream")
        await wait_until(pilot, lambda: app.main.selected == 1, what="#1")
        form = await open_form(pilot, "o", "setsockopt")
        option, value = form.query_one("#f-option", Input), form.query_one("#f-value", Input)
        assert option.has_focus
        value.value = ""
        for key, char in (("tab", None), ("5", "5"), ("1", "1"), ("2", "2")):
            app.post_message(events.Key(key, char))  # queued together, as a terminal does
        await settle(pilot)
        assert (option.value, value.value) == ("SO_REUSEADDR", "512")

    drive(app, scenario)
