"""Raw sockets in the app: the approval dialog before one is created, and the decode view
tied to the hex view. Real sockets as root: an ICMP echo to 127.0.0.1.

Snapshots keep what varies out of the picture: the echo's identifier and sequence are
fixed, the socket receives nothing (auto-receive off: the kernel's reply would carry
an IPv4 identification that differs each run), and the clock is frozen (stable mode).
Update with `python -m pytest tests/ui/test_raw_ui.py --snapshot-update` and look at
every changed SVG before keeping it."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select
from textual.widgets._toast import Toast
from ui_helpers import drive, open_form, settle, shown, submit, wait_until

from workbench.core.packets import icmp
from workbench.ui.app import WorkbenchApp
from workbench.ui.screens.approval import ApprovalScreen
from workbench.ui.widgets.decode_view import DecodeView, SocketKind, ethertype_of
from workbench.ui.widgets.hex_view import HexView
from workbench.ui.widgets.send_editor import SendEditor

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
SnapCompare = Callable[..., bool]
IDENT, SEQ, PAYLOAD = 0x1234, 7, b"workbench"
needs_root = pytest.mark.skipif(os.geteuid() != 0 or not sys.platform.startswith("linux"),
                                reason="raw sockets need root on Linux")


def socket_steps(app: WorkbenchApp) -> list[Any]:
    return [s for s in app.main.ws.steps() if s.op == "socket"]


async def raw_form(pilot: Pilot[Any]) -> ApprovalScreen:
    """n, a raw ICMP socket chosen in the form, submitted: the approval dialog opens."""
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    form = await open_form(pilot, "n", "New socket")
    form.query_one("#f-family", Select).value = "inet"
    form.query_one("#f-type", Select).value = "raw"
    form.query_one("#f-proto", Input).value = "icmp"
    await pilot.pause()
    await submit(pilot, form)
    await wait_until(pilot, lambda: isinstance(app.screen, ApprovalScreen),
                     what="the approval dialog")
    screen = app.screen
    assert isinstance(screen, ApprovalScreen)
    return screen


def test_the_approval_dialog_says_what_the_socket_sees_and_esc_creates_nothing(
        app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        screen = await raw_form(pilot)
        assert screen.text.startswith("Raw IPv4 socket for ICMP (1)")
        assert "It can see:" in screen.text and "CAP_NET_RAW" in screen.text
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main, what="the dialog to close")
        await wait_until(pilot, lambda: any("not created" in str(t.render())
                                            for t in app.screen.query(Toast)),
                         what="the toast")
        await settle(pilot)
        assert socket_steps(app) == []  # nothing created, nothing recorded
        screen = await raw_form(pilot)
        await pilot.press("n")
        await wait_until(pilot, lambda: app.screen is app.main, what="the dialog to close")
        await settle(pilot)
        assert socket_steps(app) == []

    drive(app, scenario, size=(80, 24))


@needs_root
@pytest.mark.parametrize("key", ["y", "enter"])
def test_approving_creates_the_socket_with_the_approval_recorded(app: WorkbenchApp,
                                                                 key: str) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await raw_form(pilot)
        await pilot.press(key)
        await wait_until(pilot, lambda: len(socket_steps(app)) == 1, what="the socket step")
        step = socket_steps(app)[0]
        assert step.ok, step.error
        assert step.args == {"family": "inet", "type": "raw", "proto": 1, "auto": True,
                             "approved": True}

    drive(app, scenario, size=(80, 24))


async def echo_sent(pilot: Pilot[Any], auto: bool = False) -> int:
    """A raw ICMP socket (approved) that sent one echo request to 127.0.0.1, selected,
    with the hex view focused."""
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    ws = app.main.ws
    sid = ws.call("socket", family="inet", type="raw", proto=1, auto=auto,
                  approved=True).result["sock"]
    ws.call("sendto", sid, data=icmp.echo(IDENT, SEQ, PAYLOAD), address="127.0.0.1:0")
    await wait_until(pilot, lambda: app.main.selected == sid, what="the raw socket selected")
    hex_view = app.main.query_one(HexView)
    await wait_until(pilot, lambda: hex_view.cursor_chunk() is not None, what="the chunk")
    await pilot.press("h")
    await wait_until(pilot, lambda: hex_view.has_focus, what="the hex view focused")
    return int(sid)


def test_t_shows_the_decode_view_in_place_of_the_send_editor_and_back(
        app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        app.main.ws.call("socket", family="inet", type="dgram")
        await wait_until(pilot, lambda: app.main.selected == 1, what="#1")
        await pilot.press("h", "T")
        decode, editor = app.main.query_one(DecodeView), app.main.query_one(SendEditor)
        await wait_until(pilot, lambda: decode.display and not editor.display)
        assert "raw, packet or ping socket" in str(decode.root.label)
        await pilot.press("T")
        await wait_until(pilot, lambda: editor.display and not decode.display)

    drive(app, scenario, size=(80, 24))


@needs_root
def test_the_hex_cursor_selects_the_field_and_the_tree_highlights_its_bytes(
        app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await echo_sent(pilot)
        hex_view, decode = app.main.query_one(HexView), app.main.query_one(DecodeView)
        await pilot.press("ctrl+home", "T")
        await wait_until(pilot, lambda: decode.packet is not None, what="the decode")
        assert str(decode.root.label) == "> sent 17 bytes: icmp"
        assert "ICMP 8 (echo request)" in shown(decode)
        # The cursor on byte 0: the ICMP type field, its one byte highlighted.
        await wait_until(pilot, lambda: decode.cursor_node is not None
                         and decode.cursor_node.data.name == "type", what="the type field")
        await wait_until(pilot, lambda: hex_view.match == (1, 0, 1), what="its byte marked")
        # Four bytes right: the identifier (bytes 4-5).
        await pilot.press("right", "right", "right", "right")
        await wait_until(pilot, lambda: decode.cursor_node.data.name == "ident",
                         what="the ident field")
        assert decode.cursor_node.data.value == IDENT
        await wait_until(pilot, lambda: hex_view.match == (1, 4, 6), what="ident marked")
        # Into the tree: down moves to the sequence; the hex cursor follows its bytes.
        await pilot.press("tab")
        await wait_until(pilot, lambda: decode.has_focus, what="the tree focused")
        await pilot.press("down")
        await wait_until(pilot, lambda: decode.cursor_node.data.name == "seq")
        await wait_until(pilot, lambda: hex_view.match == (1, 6, 8), what="seq marked")
        await wait_until(pilot, lambda: hex_view.cursor_position() == (1, 6),
                         what="the hex cursor on the sequence")
        assert decode.cursor_node.data.name == "seq"  # the hex move did not pull it back

    drive(app, scenario, size=(80, 24))


@needs_root
def test_the_echo_reply_is_decoded_with_its_ip_header(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await echo_sent(pilot, auto=True)
        hex_view, decode = app.main.query_one(HexView), app.main.query_one(DecodeView)
        await pilot.press("T")

        def reply_shown() -> bool:
            """The reply reached the view: go to its last byte and look."""
            hex_view.catch_up()
            kind = decode.packet.find("icmp", "type") if decode.packet is not None else None
            return kind is not None and kind.value == icmp.ECHO_REPLY

        async def to_reply() -> None:
            await pilot.press("ctrl+end")

        for _ in range(100):  # bounded: the reply (and our request echoed back) arrive
            await to_reply()
            await pilot.pause(0.05)
            if reply_shown():
                break
        assert reply_shown(), "the echo reply never showed in the decode view"
        root = decode.packet
        assert root is not None and root.find("ipv4", "src").value == "127.0.0.1"
        assert root.find("icmp", "ident").value == IDENT  # type: ignore[union-attr]
        assert root.find("icmp", "seq").value == SEQ  # type: ignore[union-attr]
        assert "(correct)" in root.find("icmp", "checksum").text  # type: ignore[union-attr]

    drive(app, scenario, size=(120, 40))


# -- snapshots -----------------------------------------------------------------------------


async def steady(pilot: Pilot[Any]) -> None:
    for widget in pilot.app.screen.query(Input):
        widget.cursor_blink = False
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES)
def test_snapshot_approval_dialog(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await raw_form(pilot)
        await steady(pilot)

    assert snap_compare(WorkbenchApp(stable=True, journal=False), terminal_size=size,
                        run_before=run_before)


@needs_root
@pytest.mark.parametrize("size", SIZES)
def test_snapshot_decode_view_with_a_highlighted_field(snap_compare: SnapCompare,
                                                       size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        app: WorkbenchApp = pilot.app  # type: ignore[assignment]
        await echo_sent(pilot)
        decode = app.main.query_one(DecodeView)
        await pilot.press("ctrl+home", "T", "right", "right", "right", "right")
        await wait_until(pilot, lambda: decode.cursor_node is not None
                         and decode.cursor_node.data.name == "ident", what="ident")
        await wait_until(pilot, lambda: "ident" in shown(decode))
        await steady(pilot)

    assert snap_compare(WorkbenchApp(stable=True, journal=False), terminal_size=size,
                        run_before=run_before)


@needs_root
def test_a_cooked_packet_sockets_frame_is_decoded_by_its_recorded_ethertype(
        app: WorkbenchApp) -> None:
    """A packet SOCK_DGRAM socket's chunks start with the IP header: the decode view
    takes the ethertype the receive recorded in the chunk's peer (iface:lo,ethertype=…)."""
    import socket

    async def scenario(pilot: Pilot[Any]) -> None:
        ws = app.main.ws
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver, \
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            receiver.bind(("127.0.0.1", 0))
            sender.bind(("127.0.0.1", 0))
            port = receiver.getsockname()[1]
            sid = ws.call("socket", family="packet", type="dgram", proto="ipv4",
                          approved=True).result["sock"]
            assert ws.call("setsockopt", sid, option="SO_ATTACH_FILTER",
                           value=f"udp port {port}").ok
            assert ws.call("bind", sid, address="iface:lo").ok
            await wait_until(pilot, lambda: app.main.selected == sid, what="selected")
            sender.sendto(b"cooked frame", ("127.0.0.1", port))
            hex_view, decode = app.main.query_one(HexView), app.main.query_one(DecodeView)
            await wait_until(pilot, lambda: hex_view.cursor_chunk() is not None,
                             what="the frame captured")
            await pilot.press("h", "T", "ctrl+end")
            await wait_until(pilot, lambda: decode.packet is not None
                             and decode.packet.find("udp") is not None, what="the decode")
            chunk = decode.chunk
            assert chunk is not None and ethertype_of(chunk.peer) == 0x0800
            assert SocketKind("packet", "dgram", 0x0800).link(chunk) == "ipv4"
            u = decode.packet.find("udp")
            assert u.find("dport").value == port  # type: ignore[union-attr]
            assert u.find("sport").value == sender.getsockname()[1]  # type: ignore
            assert decode.packet.find("udp", "data").value == b"cooked frame"  # type: ignore
            # The last byte is payload: the data field is the one selected.
            await wait_until(pilot, lambda: decode.cursor_node is not None
                             and decode.cursor_node.data.name == "data", what="data")

    drive(app, scenario, size=(120, 40))


@needs_root
def test_the_bind_form_of_a_packet_socket_offers_an_interface(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        sid = app.main.ws.call("socket", family="packet", type="raw", proto="all",
                               approved=True, auto=False).result["sock"]
        await wait_until(pilot, lambda: app.main.selected == sid, what="selected")
        form = await open_form(pilot, "b", "Bind")
        assert form.query_one("#f-address", Input).value == "iface:lo"
        await submit(pilot, form)
        await wait_until(pilot, lambda: any(s.op == "bind" for s in app.main.ws.steps()),
                         what="the bind step")
        bind = next(s for s in app.main.ws.steps() if s.op == "bind")
        assert bind.ok and bind.result == {"local": "iface:lo,ethertype=0x0003"}

    drive(app, scenario, size=(80, 24))
