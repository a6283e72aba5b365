"""The send editor's traps, in the real app: an ending chosen in one mode does not come
back in another, a socket's payload mode stays with it, and an error about what was
typed goes when the editor is left."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Label
from ui_helpers import drive, settle, type_text, wait_until

from workbench.io.capture import OUT
from workbench.ui.app import WorkbenchApp
from workbench.ui.widgets.send_editor import SendEditor


async def socketpair(pilot: Pilot[Any]) -> list[int]:
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    socks = app.main.ws.call("socketpair", family="unix", type="stream").result["socks"]
    await wait_until(pilot, lambda: app.main.selected == socks[0], what="the pair")
    return socks


async def to_mode(pilot: Pilot[Any], mode: str) -> None:
    editor = pilot.app.main.query_one(SendEditor)  # type: ignore[attr-defined]
    for _ in range(5):
        if editor.mode == mode:
            return
        await pilot.press("f2")
    assert editor.mode == mode


def test_lf_chosen_in_text_mode_is_not_added_in_escapes_mode(app: WorkbenchApp) -> None:
    """The issue's repro: F3 (LF) in text, F2 to escapes, `ping\\n` went out as ping\\n\\n."""

    async def scenario(pilot: Pilot[Any]) -> None:
        a, _ = await socketpair(pilot)
        await pilot.press("s", "f3")
        editor = app.main.query_one(SendEditor)
        assert editor.ending == "LF"
        await to_mode(pilot, "escapes")
        assert editor.ending == "none"
        await type_text(pilot, "ping\\n")
        await pilot.press("enter")
        capture = app.main.ws.capture(a)
        await wait_until(pilot, lambda: capture.totals[OUT] >= 5, what="the send")
        await settle(pilot)
        assert capture.stream(OUT) == b"ping\n"

    drive(app, scenario)


def test_the_payload_mode_stays_with_its_socket(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        a, b = await socketpair(pilot)
        editor = app.main.query_one(SendEditor)
        await pilot.press("s")
        await to_mode(pilot, "hex")
        await pilot.press("f3")  # hex with LF, on a
        c = app.main.ws.call("socket", family="inet", type="dgram").result["sock"]
        await wait_until(pilot, lambda: app.main.selected == c, what="the new socket")
        await settle(pilot)
        mode = str(app.main.query_one("#send-mode", Label).content)
        assert (editor.mode, editor.ending, mode) == ("text", "none", "text")
        app.main.select(a)
        await settle(pilot)
        assert (editor.mode, editor.ending) == ("hex", "LF")
        assert str(app.main.query_one("#send-mode", Label).content) == "hex"
        app.main.select(b)
        await settle(pilot)
        assert (editor.mode, editor.ending) == ("text", "none")

    drive(app, scenario)


def test_a_stale_error_goes_when_the_editor_is_left(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await socketpair(pilot)
        await pilot.press("s")
        await to_mode(pilot, "hex")
        await type_text(pilot, "abc")
        label = app.main.query_one("#send-error", Label)
        await wait_until(pilot, lambda: "odd number of hex digits" in str(label.content),
                         what="the error")
        assert label.display
        await pilot.press("escape")  # leaves the field for the socket tree
        await settle(pilot)
        assert not label.display and str(label.content) == ""
        await pilot.press("s")  # back: the text is still wrong, and it says so again
        await settle(pilot)
        assert app.main.query_one("#payload", Input).value == "abc"
        assert label.display and "odd number of hex digits" in str(label.content)

    drive(app, scenario)
