"""Helpers of the UI suite: bounded waits, reading the screen, acting as a user.

Every test drives the real app through keys and forms; nothing under test is mocked.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from support import listening  # noqa: F401 - UI tests import it from here
from textual.command import CommandPalette
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input, OptionList, RichLog, Select, Tree
from textual.widgets.tree import TreeNode

from workbench.ui.app import WorkbenchApp
from workbench.ui.screens.form import FormScreen

ROOT = Path(__file__).resolve().parents[2]
SOCAT = shutil.which("socat") or "/usr/bin/socat"


async def wait_until(pilot: Pilot[Any], predicate: Callable[[], object],
                     timeout: float = 5.0, what: str = "") -> None:
    """Let the app run in small steps until `predicate()` holds; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            # AssertionError, not pytest.fail: inside a snapshot's run_before the app
            # must see an Exception to exit, or the test would hang.
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        await pilot.pause(0.02)


def drive(app: WorkbenchApp, scenario: Callable[[Pilot[Any]], Awaitable[None]],
          size: tuple[int, int] = (100, 30)) -> None:
    """Run the app headless with notifications on, and play `scenario` on it."""

    async def main() -> None:
        async with app.run_test(size=size, notifications=True) as pilot:
            await scenario(pilot)

    asyncio.run(main())


async def settle(pilot: Pilot[Any], timeout: float = 5.0) -> None:
    """Wait until the app and every widget of its screens have handled all their messages,
    and those that handling posted: then whatever a key press set off has happened."""
    app = pilot.app
    deadline = time.monotonic() + timeout
    while True:
        await pilot.pause()  # the app and its screen handle everything queued before this
        nodes = [app, *(n for screen in app.screen_stack
                        for n in screen.walk_children(with_self=True))]
        if all(n.message_queue_size == 0 for n in nodes):
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"the app still had messages to handle after {timeout} s")


# -- reading the screen ------------------------------------------------------------------


def log_text(log: RichLog) -> str:
    """What a RichLog holds, wrapped lines joined back with single spaces (the event
    log's entries, drawn or not yet: it draws them when its pane shows)."""
    entries = getattr(log, "entries", None)
    if entries is not None:
        return " ".join(" ".join(text.plain.split()) for text in entries)
    return " ".join(" ".join(strip.text.split()) for strip in log.lines)


def tree_nodes(tree: Tree[int]) -> Iterator[TreeNode[int]]:
    stack = list(tree.root.children)
    while stack:
        node = stack.pop(0)
        yield node
        stack.extend(node.children)


def node_of(tree: Tree[int], sock: int) -> TreeNode[int] | None:
    return next((n for n in tree_nodes(tree) if n.data == sock), None)


def messages(app: WorkbenchApp) -> list[str]:
    """Every notification so far (the screen shows the newest few)."""
    return [message for _, message in app.notices]

def shown(widget: Widget) -> str:
    """The text a widget draws right now (its visible rows), one line per row, without
    the border and padding on its left (the focus bar's column)."""
    region = Region(0, 0, widget.size.width, widget.size.height)
    left = widget.styles.gutter.left
    return "\n".join(strip.text[left:] for strip in widget.render_lines(region))


def data_pane(app: WorkbenchApp) -> Widget:
    """The selected socket's bytes: the widget with id `data` inside the Data tab."""
    return app.main.query_one("TabPane#data #data")


# -- acting as a user --------------------------------------------------------------------


KEY_NAMES = {" ": "space", ":": "colon", ".": "full_stop", "/": "slash", "-": "minus",
             "_": "underscore", ",": "comma"}


async def type_text(pilot: Pilot[Any], text: str) -> None:
    await pilot.press(*(KEY_NAMES.get(c, c) for c in text))


async def open_form(pilot: Pilot[Any], key: str, title: str = "") -> FormScreen:
    """Press the action's key and wait for its form."""
    app = pilot.app
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(app.screen, FormScreen)
                     and title in app.screen.title_text, what=f"the form of {key!r}")
    screen = app.screen
    assert isinstance(screen, FormScreen)
    return screen


async def fill(pilot: Pilot[Any], form: FormScreen, **values: str) -> None:
    """Set text fields as if typed (select-all and type), then let validation run."""
    for name, value in values.items():
        form.query_one(f"#f-{name}", Input).value = value
    await pilot.pause()


async def submit(pilot: Pilot[Any], form: FormScreen) -> None:
    """Press enter in the form and wait until it closes; on a choice (where enter opens
    its list) the submit button is focused first."""
    if isinstance(pilot.app.focused, Select):
        form.query_one("#submit").focus()
    await pilot.press("enter")
    await wait_until(pilot, lambda: form not in pilot.app.screen_stack, what="the form to close")


async def palette_entries(pilot: Pilot[Any], text: str) -> list[tuple[str, str]]:
    """Open the palette, type `text`, and return its (title, help) entries once
    `text` is the first of them."""
    app = pilot.app
    await pilot.press("ctrl+p")
    await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
    await type_text(pilot, text)

    def entries() -> list[tuple[str, str]]:
        results = app.screen.query_one(OptionList)
        out = []
        for i in range(results.option_count):
            lines = str(results.get_option_at_index(i).prompt).split("\n")
            out.append((lines[0], lines[1] if len(lines) > 1 else ""))
        return out

    await wait_until(pilot, lambda: bool(entries()) and entries()[0][0].startswith(text),
                     what=f"{text!r} first in the palette")
    return entries()
