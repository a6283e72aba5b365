"""Snapshots of the Options pane at 80x24 and 120x40, from the real app on loopback.

The options come from a real socket that is not connected, whose values are the
machine's defaults; TCP_INFO of a live connection varies run to run (round-trip
times, rates), so after the first real read its values are frozen to fixed numbers:
the SVG shows the layout and the formatting, the io tests check the numbers.
Update with `python -m pytest tests/ui/test_options_snapshots.py --snapshot-update`,
then look at every changed SVG before keeping it.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
from test_snapshots import SIZES, stable_app, steady
from textual.pilot import Pilot
from textual.widgets import Input
from ui_helpers import settle, wait_until

from workbench.ui.app import WorkbenchApp
from workbench.ui.panes.options import OptionsPane
from workbench.ui.screens.form import FormScreen
from workbench.ui.widgets.option_table import OptionTable, TcpInfoTable

SnapCompare = Callable[..., bool]
FROZEN_TCP_INFO = {
    "state": 1, "rtt": 52, "rttvar": 26, "min_rtt": 41, "rto": 201000, "snd_mss": 32741,
    "rcv_mss": 536, "snd_cwnd": 10, "snd_ssthresh": 0x7FFFFFFF, "unacked": 0,
    "retransmits": 0, "total_retrans": 0, "lost": 0, "bytes_acked": 6, "bytes_received": 0,
    "notsent_bytes": 0, "delivery_rate": 125_000_000, "pacing_rate": 2**64 - 1,
}


def options_pane(app: WorkbenchApp) -> OptionsPane:
    pane = app.main.panes["options"]
    assert isinstance(pane, OptionsPane)
    return pane


async def rcvbuf_set(pilot: Pilot[Any]) -> None:
    """A new TCP socket; SO_RCVBUF set to 8192 from the pane; the cursor on it."""
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    ws = app.main.ws
    sock = ws.call("socket", family="inet", type="stream").result["sock"]
    await wait_until(pilot, lambda: app.main.selected == sock, what="#1")
    await pilot.press("4")
    pane = options_pane(app)
    await wait_until(pilot, lambda: pane.readings and pane.flags, what="the sweep")
    table = app.main.query_one(OptionTable)
    table.move_cursor(row=[r.spec.name for r in table._rows].index("SO_RCVBUF"))
    await pilot.press("enter")
    await wait_until(pilot, lambda: isinstance(app.screen, FormScreen), what="the form")
    app.screen.query_one(Input).value = "8192"
    await pilot.press("enter")
    await wait_until(pilot, lambda: pane.readings.get("SO_RCVBUF") == 16384, what="kept")
    await settle(pilot)
    await steady(pilot)


@pytest.mark.parametrize("size", SIZES)
def test_options_pane(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    assert snap_compare(stable_app(), terminal_size=size, run_before=rcvbuf_set)


@pytest.mark.parametrize("size", SIZES)
def test_tcp_info_panel(snap_compare: SnapCompare, size: tuple[int, int],
                        listener: socket.socket) -> None:
    port = listener.getsockname()[1]

    async def run_before(pilot: Pilot[Any]) -> None:
        app: WorkbenchApp = pilot.app  # type: ignore[assignment]
        ws = app.main.ws
        sock = ws.call("socket", family="inet", type="stream").result["sock"]
        ws.call("connect", sock, address=f"127.0.0.1:{port}")
        await wait_until(pilot, lambda: app.main.selected == sock, what="#1")
        await pilot.press("i")
        pane = options_pane(app)
        await wait_until(pilot, lambda: pane.tcp_info and pane.flags, what="a real read")
        pane.read = lambda force=False: None  # type: ignore[method-assign]
        pane.tcp_info = dict(FROZEN_TCP_INFO)
        pane.redraw()
        table = app.main.query_one(TcpInfoTable)
        await wait_until(pilot, lambda: ("rtt", "52 µs") in [r[:2] for r in table._rows],
                         what="the frozen values drawn")
        await settle(pilot)
        await steady(pilot)

    assert snap_compare(stable_app(), terminal_size=size, run_before=run_before)
