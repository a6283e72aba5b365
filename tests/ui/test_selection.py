"""One selection: the socket the tree marks is the one the header names, the forms
name and the actions apply to; new sockets and connections accepted on the socket
shown become the selection."""

from __future__ import annotations

import socket
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Label
from ui_helpers import drive, open_form, settle, shown, submit, wait_until

from workbench.ui.app import WorkbenchApp
from workbench.ui.widgets.socket_tree import SocketTree

MARK = "▶ "  # the tree's marker of the selected socket


def header(app: WorkbenchApp) -> str:
    return str(app.main.query_one("#sock-header", Label).content)


def marked(tree: SocketTree) -> list[str]:
    """The tree's lines that carry the selection marker, from the marker on."""
    return [line[line.index(MARK):].strip() for line in shown(tree).splitlines()
            if MARK in line]


async def new_socket(pilot: Pilot[Any]) -> int:
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    count = len(app.main.ws.sockets())
    await submit(pilot, await open_form(pilot, "n", "New socket"))
    await wait_until(pilot, lambda: len(app.main.ws.sockets()) > count, what="socket()")
    await settle(pilot)
    return max(i.id for i in app.main.ws.sockets())


def assert_selected(app: WorkbenchApp, sock: int) -> None:
    tree = app.main.query_one(SocketTree)
    assert app.main.selected == sock
    assert tree.cursor_node is not None and tree.cursor_node.data == sock
    assert header(app).startswith(f"#{sock} ")
    lines = marked(tree)
    assert len(lines) == 1 and lines[0].startswith(f"{MARK}#{sock} "), lines


def test_a_new_socket_is_selected_everywhere_and_x_closes_it(app: WorkbenchApp) -> None:
    """The issue's repro: the tree focused, its cursor off the first line, n Enter."""

    async def scenario(pilot: Pilot[Any]) -> None:
        tree = app.main.query_one(SocketTree)
        for sock in (1, 2, 3):
            assert await new_socket(pilot) == sock
            assert_selected(app, sock)
        tree.focus()
        await pilot.press("up")  # the cursor on #2, off the first line
        await settle(pilot)
        assert_selected(app, 2)
        assert await new_socket(pilot) == 4
        assert_selected(app, 4)
        form = await open_form(pilot, "b", "Bind")
        assert form.title_text.startswith("Bind socket #4")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main, what="the form to close")
        await pilot.press("down")  # already on the last line: stays there
        await settle(pilot)
        assert_selected(app, 4)
        await pilot.press("up")
        await settle(pilot)
        assert_selected(app, 3)
        await pilot.press("x")
        await wait_until(pilot, lambda: app.main.ws.socket_info(3).state == "closed",
                         what="#3 closed")
        assert [i.id for i in app.main.ws.sockets() if i.state == "closed"] == [3]

    drive(app, scenario, size=(80, 24))


def test_a_connection_accepted_on_the_shown_listener_is_selected(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        ws = app.main.ws
        listener = await new_socket(pilot)
        ws.call("bind", listener, address="127.0.0.1:0")
        ws.call("listen", listener, backlog=4)
        port = int(ws.socket_info(listener).local.rpartition(":")[2])
        with socket.create_connection(("127.0.0.1", port)):
            await wait_until(pilot, lambda: len(ws.sockets()) == 2, what="the auto-accept")
            child = max(i.id for i in ws.sockets())
            await wait_until(pilot, lambda: app.main.selected == child,
                             what="the accepted socket selected")
            await settle(pilot)
            assert_selected(app, child)

    drive(app, scenario)
