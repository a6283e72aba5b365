"""Nothing clipped at 80 columns: headers and labels fit (addresses cut in the middle,
ports kept), dialogs wrap long messages, and no row scrolls sideways."""

from __future__ import annotations

import dataclasses
import re
import socket
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Label, Static, TabbedContent
from ui_helpers import (
    ROOT,
    data_pane,
    drive,
    fill,
    open_form,
    settle,
    shown,
    submit,
    wait_until,
)

from workbench.core.errors import InputError
from workbench.ui.app import WorkbenchApp
from workbench.ui.screens.help import HelpScreen
from workbench.ui.text import fit
from workbench.ui.widgets.hex_view import HexView
from workbench.ui.widgets.script_view import EMPTY, ScriptView
from workbench.ui.widgets.socket_tree import SocketTree

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


def words(text: str) -> str:
    return " ".join(text.split())


async def udp_socket(pilot: Pilot[Any]) -> int:
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    sock = app.main.ws.call("socket", family="inet", type="dgram").result["sock"]
    await wait_until(pilot, lambda: app.main.selected == sock, what="the UDP socket")
    app.main.ws.call("bind", sock, address="127.0.0.1:0")
    return sock


@pytest.mark.parametrize("size", SIZES)
def test_a_datagram_header_keeps_its_peer_and_port(app: WorkbenchApp,
                                                   size: tuple[int, int]) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        sock = await udp_socket(pilot)
        port = int(app.main.ws.socket_info(sock).local.rpartition(":")[2])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
            peer.bind(("127.0.0.1", 0))
            peer.sendto(b"hi", ("127.0.0.1", port))
            peer_port = peer.getsockname()[1]
            pane = data_pane(app)
            await wait_until(pilot, lambda: "peer=" in shown(pane), what="the datagram")
            await settle(pilot)
            header = next(line for line in shown(pane).splitlines() if "peer=" in line)
            assert header.rstrip().endswith(f":{peer_port}"), header
            assert "»" not in header and len(header) <= pane.scrollable_content_region.width

    drive(app, scenario, size=size)


def test_split_and_text_rows_never_scroll_sideways(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        ws = app.main.ws
        pair = ws.call("socketpair", family="unix", type="stream").result["socks"]
        await wait_until(pilot, lambda: app.main.selected == pair[0], what="the pair")
        ws.call("send", pair[0], data=bytes(range(256)))  # escapes widen the text column
        await pilot.press("h")
        pane = data_pane(app)
        assert isinstance(pane, HexView)
        await wait_until(pilot, lambda: pane.model.totals[1] == 256, what="the bytes sent")
        for mode in ("text", "split"):
            await pilot.press("m")
            await pilot.press("ctrl+end")  # the cursor at the end of a long row
            await settle(pilot)
            assert pane.mode == mode
            rows = shown(pane).splitlines()
            assert not [r for r in rows if r.startswith("«")], rows
            assert all(len(r) <= pane.scrollable_content_region.width for r in rows)
            assert any(r.startswith("> 000000") for r in rows)

    drive(app, scenario, size=(80, 24))


def test_a_long_validation_message_wraps_in_the_dialog(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        sock = await udp_socket(pilot)
        bad = "127.0.0.1.5:80"
        with pytest.raises(InputError) as error:
            app.main.ws.check_address(sock, bad)
        form = await open_form(pilot, "c", "Connect")
        await fill(pilot, form, address=bad)
        await settle(pilot)
        label = form.query_one("#e-address", Label)
        assert len(str(error.value)) > label.content_region.width  # too long for one line
        assert words(shown(label)) == words(str(error.value))

    drive(app, scenario, size=(80, 24))


@pytest.mark.parametrize("size", SIZES)
def test_the_session_pane_fits(app: WorkbenchApp, size: tuple[int, int],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("3")
        tabs = app.main.query_one(TabbedContent)
        await wait_until(pilot, lambda: tabs.active == "session", what="the Session tab")
        await settle(pilot)
        status = app.main.query_one("#script-status", Static)
        assert words(shown(status)) == EMPTY
        form = await open_form(pilot, "ctrl+o", "Open a session")
        await fill(pilot, form, path=str(Path("sessions") / "tcp-echo.json"))
        await submit(pilot, form)
        view = app.main.query_one(ScriptView)
        await wait_until(pilot, lambda: view.row_count == 13, what="the steps")
        await settle(pilot)
        assert view.max_scroll_x == 0  # nothing to scroll sideways to
        text = words(shown(view))
        # The recorded connect's outcome keeps both ports, however narrow the column.
        assert ":34349" in text and ":42256" in text, text

    drive(app, scenario, size=size)


def test_tree_labels_fit_the_sidebar(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        sock = await udp_socket(pilot)
        tree = app.main.query_one(SocketTree)
        info = dataclasses.replace(app.main.ws.socket_info(sock), state="peer-closed",
                                   type="stream", bytes_in=int(31.3 * 2 ** 30), bytes_out=5)
        label = tree.label_for(info)
        assert label.startswith(f"#{sock} tcp4 peer-closed ↓31.3G")
        assert len(label) + 2 <= tree.scrollable_content_region.width  # and the marker
        tree.show(info)
        await settle(pilot)
        assert tree.max_scroll_x == 0

    drive(app, scenario, size=(80, 24))


@pytest.mark.parametrize("size", SIZES)
def test_help_never_scrolls_sideways(app: WorkbenchApp, size: tuple[int, int]) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="? keys")
        await settle(pilot)
        scroll = app.screen.query_one("#help-scroll")
        assert scroll.max_scroll_x == 0
        rows = [row for _, row in app.screen.rows]  # type: ignore[attr-defined]
        ids = {row.id for row in rows} | {f"[{row.id}]" for row in rows}
        # Wide, the ids have a column beside the help: read the help without them.
        text = " ".join(w for w in shown(app.screen.query_one("#help-keys")).split()
                        if w not in ids)
        for row in rows:
            assert words(row.help) in text, row.help

    drive(app, scenario, size=size)


@pytest.mark.parametrize("width", range(4, 45))
def test_fit_never_shows_half_a_port(width: int) -> None:
    """A cut address keeps its whole port, or goes: half a port reads as another port."""
    text = "peer=127.0.0.1:38123, local=127.0.0.1:47107"
    fitted = fit(text, width)
    assert len(fitted) <= width
    for port in re.findall(r":(\d+)", fitted):
        assert port in ("38123", "47107"), fitted
