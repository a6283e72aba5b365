"""The data pane's header says when the capture budget stops keeping received bytes."""

from __future__ import annotations

import socket
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Label
from ui_helpers import data_pane, drive, shown, wait_until

from workbench.ui.app import WorkbenchApp


def header(app: WorkbenchApp) -> str:
    return str(app.main.query_one("#sock-header", Label).content)


def listening(app: WorkbenchApp) -> tuple[int, int]:
    """A listener made through the workspace: its socket id and port."""
    ws = app.main.ws
    listener = ws.call("socket").result["sock"]  # type: ignore[index]
    ws.call("bind", listener, address="127.0.0.1:0")
    ws.call("listen", listener, backlog=1)
    return listener, int(ws.socket_info(listener).local.rsplit(":", 1)[1])  # type: ignore[union-attr]


def test_the_header_says_capture_full_with_the_sizes() -> None:
    """Even in the narrowest window, where a flood's counts and rates fill the first
    line: the note leads the second, ahead of the addresses, which give way to it."""
    app = WorkbenchApp(journal=False, capture_budget=4096)

    async def scenario(pilot: Pilot[Any]) -> None:
        listener, port = listening(app)
        await wait_until(pilot, lambda: header(app).startswith(f"#{listener} "),
                         what="the listener shown")
        assert "capture full" not in header(app)
        with socket.create_connection(("127.0.0.1", port)) as peer:
            peer.sendall(b"x" * 10_000)
            await wait_until(pilot, lambda: header(app).split("\n")[1].startswith(
                "capture full (4.0K kept of 4.0K budget)"),
                what="the header to say the capture is full")
        assert header(app).startswith(f"#{listener + 1} ")  # the connection accepted

    drive(app, scenario, size=(80, 24))


def test_a_gap_past_the_budget_says_the_budget_was_reached() -> None:
    """Not "storage fell behind": the gap row gives the reason the capture recorded. The
    bytes came in one burst, before the view was laid out: it still follows the tail."""
    app = WorkbenchApp(journal=False, capture_budget=4096)

    async def scenario(pilot: Pilot[Any]) -> None:
        _, port = listening(app)
        with socket.create_connection(("127.0.0.1", port)) as peer:
            peer.sendall(b"x" * 10_000)
            await wait_until(pilot, lambda: "capture full" in header(app), what="full")
            view = data_pane(app)
            await wait_until(pilot, lambda: "not kept (the capture budget was reached)"
                             in shown(view), what="the gap row, at the tail it follows")
            assert "storage fell behind" not in shown(view), shown(view)

    drive(app, scenario, size=(120, 40))
