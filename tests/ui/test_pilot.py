"""Pilot tests: real socket operations on loopback, driven through keys and forms.

Each test acts as a user would (keys, form fields, enter) and checks what the app
shows (tree, data pane, log, notifications) against what really happened on the
sockets (engine state, captured bytes, files written by socat).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support import tcp_connection
from textual.command import CommandPalette
from textual.coordinate import Coordinate
from textual.pilot import Pilot
from textual.widgets import Button, Input, Label, OptionList, Select, TabbedContent
from textual.widgets._toast import Toast
from ui_helpers import (
    ROOT,
    data_pane,
    drive,
    fill,
    listening,
    log_text,
    messages,
    node_of,
    open_form,
    settle,
    shown,
    submit,
    type_text,
    wait_until,
)

from workbench.core.diagnosis import words_for_step
from workbench.core.errnos import lookup
from workbench.core.steps import Step
from workbench.io.capture import IN, OUT, RING_SIZE
from workbench.io.peers import Peer, format_address
from workbench.io.sessionfile import load_session
from workbench.ui.app import WorkbenchApp
from workbench.ui.commands import ACTIONS, key_label
from workbench.ui.screens.form import FormScreen
from workbench.ui.screens.help import HelpScreen
from workbench.ui.widgets.event_log import EventLog
from workbench.ui.widgets.script_view import ScriptView
from workbench.ui.widgets.socket_tree import SocketTree

# -- helpers -----------------------------------------------------------------------------


def steps(app: WorkbenchApp, op: str | None = None, sock: int | None = None) -> list[Step]:
    return [s for s in app.main.ws.session.steps
            if (op is None or s.op == op) and (sock is None or s.sock == sock)]


def done(app: WorkbenchApp, op: str, sock: int | None = None) -> Callable[[], bool]:
    """A predicate: a user step `op` (not an auto one) has been recorded."""
    return lambda: any(not s.auto for s in steps(app, op, sock))


def state(app: WorkbenchApp, sock: int) -> str:
    return app.main.ws.engine.socket_info(sock).state


async def new_socket(pilot: Pilot[Any], family: str = "inet") -> int:
    """n, (family), enter: the new socket becomes the selected one."""
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    before = len(steps(app, "socket"))
    form = await open_form(pilot, "n", "New socket")
    if family != "inet":
        form.query_one("#f-family", Select).value = family
    await submit(pilot, form)
    await wait_until(pilot, lambda: len(steps(app, "socket")) > before, what="socket()")
    sock = int(steps(app, "socket")[-1].result["sock"])  # type: ignore[index]
    await wait_until(pilot, lambda: app.main.selected == sock, what=f"#{sock} selected")
    return sock


async def address_step(pilot: Pilot[Any], key: str, op: str, address: str) -> Step:
    """b or c: fill the address form, submit, wait for the step's result."""
    form = await open_form(pilot, key, op.capitalize())
    return await address_step_in(pilot, form, op, address)


async def address_step_in(pilot: Pilot[Any], form: FormScreen, op: str, address: str) -> Step:
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    sock = app.main.selected
    await fill(pilot, form, address=address)
    await submit(pilot, form)
    await wait_until(pilot, done(app, op, sock), what=f"{op}({address})")
    return [s for s in steps(app, op, sock) if not s.auto][-1]


async def focus_tree(pilot: Pilot[Any]) -> SocketTree:
    """Leave the send bar with shift+tab until the socket tree has the focus."""
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    tree = app.main.query_one(SocketTree)
    for _ in range(10):
        if tree.has_focus:
            return tree
        await pilot.press("shift+tab")
    raise AssertionError("shift+tab never reached the socket tree")


async def select(pilot: Pilot[Any], sock: int) -> None:
    """Move the tree cursor with up/down until socket `sock` is selected."""
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    tree = await focus_tree(pilot)
    node = node_of(tree, sock)
    assert node is not None, f"#{sock} is not in the tree"
    key = "down" if node.line > tree.cursor_line else "up"
    for _ in range(20):
        if app.main.selected == sock:
            return
        await pilot.press(key)
    raise AssertionError(f"could not select #{sock} with the arrow keys")


async def send_text(pilot: Pilot[Any], text: str) -> None:
    """s, type the payload, enter."""
    await pilot.press("s")
    await wait_until(pilot, lambda: pilot.app.focused is not None
                     and pilot.app.focused.id == "payload", what="the send bar")
    await type_text(pilot, text)
    await pilot.press("enter")


async def barrier(pilot: Pilot[Any], sock: int) -> None:
    """A call on the socket's actor: it is recorded only after whatever that actor did
    before it (auto-receive, steps the UI submitted), so absence can be checked after."""
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    call = app.main.ws.engine.submit("getsockopt", sock, option="SO_TYPE")
    await wait_until(pilot, lambda: call.step is not None, what=f"getsockopt on #{sock}")


def show_log(app: WorkbenchApp) -> str:
    return log_text(app.main.query_one(EventLog))


async def log_shows(pilot: Pilot[Any], *parts: str) -> str:
    """Press 2 (the log tab) and wait until its text holds every part."""
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    await pilot.press("2")
    await wait_until(pilot, lambda: all(p in show_log(app) for p in parts),
                     what=f"the log to show {parts}")
    return show_log(app)


def live_cells(view: ScriptView) -> list[Any]:
    """The Session tab's "live" column, top to bottom."""
    column = view.get_column_index("live")
    return [view.get_cell_at(Coordinate(row, column)) for row in range(view.row_count)]


def one_line(meaning: str) -> str:
    return " ".join(meaning.split())


# -- the main path: create, bind, listen, connect, accept, send, receive, shut, close ----


def test_listener_client_child_send_shutdown_close(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        engine = app.main.ws.engine
        tree = app.main.query_one(SocketTree)

        listener = await new_socket(pilot)
        bound = await address_step(pilot, "b", "bind", "127.0.0.1:0")
        assert bound.ok and bound.result["local"].startswith("127.0.0.1:")  # type: ignore[index]
        form = await open_form(pilot, "l", "Listen")
        await submit(pilot, form)
        await wait_until(pilot, done(app, "listen", listener))
        assert state(app, listener) == "listening"
        port = int(engine.socket_info(listener).local.rsplit(":", 1)[1])
        assert port > 0

        client = await new_socket(pilot)
        connected = await address_step(pilot, "c", "connect", f"sock:{listener}")
        assert connected.ok, connected.error
        assert connected.result["peer"] == f"127.0.0.1:{port}"  # type: ignore[index]

        # The listener accepts on its own; the child shows under it in the tree.
        await wait_until(pilot, lambda: any(s.auto and s.ok for s in steps(app, "accept")),
                         what="auto-accept")
        child = int(next(s for s in steps(app, "accept") if s.auto).result["sock"])  # type: ignore[index]
        await wait_until(pilot, lambda: node_of(tree, child) is not None, what="the child node")
        child_node, listener_node = node_of(tree, child), node_of(tree, listener)
        assert child_node is not None and child_node.parent is listener_node
        assert engine.socket_info(child).parent == listener
        assert str(child_node.label).startswith(f"#{child} tcp4 connected")
        assert engine.socket_info(child).peer == engine.socket_info(client).local

        # Send from the client's send bar; the child receives it.
        assert app.main.selected == client
        await send_text(pilot, "howdy")  # short: one row in any layout of the data pane
        await wait_until(pilot, lambda: engine.capture(child).totals[IN] == 5,
                         what="5 bytes on the child")
        assert engine.capture(client).totals[OUT] == 5
        assert engine.capture(child).stream(IN) == b"howdy"
        assert app.main.query_one("#payload", Input).value == ""  # the bar is cleared
        await select(pilot, child)
        pane = data_pane(app)
        await wait_until(pilot, lambda: any(line.startswith("<") and "howdy" in line
                                            for line in shown(pane).splitlines()),
                         what="the data pane to show the bytes received")
        assert ">" not in [line[:1] for line in shown(pane).splitlines()]  # nothing sent
        await wait_until(pilot, lambda: "↓5B" in str(child_node.label), what="tree counters")

        # Shut down the client's writing side: the child records EOF.
        await select(pilot, client)
        form = await open_form(pilot, "d", "Shut down")
        assert form.query_one("#f-how", Select).value == "wr"
        await submit(pilot, form)
        await wait_until(pilot, done(app, "shutdown", client))
        await wait_until(pilot, lambda: any(s.auto and s.result and s.result.get("eof")
                                            for s in steps(app, "recv", child)),
                         what="EOF on the child")
        assert state(app, client) == "shut-wr"
        await wait_until(pilot, lambda: state(app, child) == "peer-closed")
        await wait_until(pilot, lambda: "peer-closed" in str(child_node.label))

        # Close the client, then the child and the listener.
        for sock in (client, child, listener):
            await select(pilot, sock)
            await pilot.press("x")
            await wait_until(pilot, done(app, "close", sock), what=f"close(#{sock})")
            assert state(app, sock) == "closed"
            node = node_of(tree, sock)
            assert node is not None
            await wait_until(pilot, lambda n=node: "closed" in str(n.label))
        log = await log_shows(pilot, f"close(#{listener}) → ok")
        assert f"listen(#{listener}, backlog=128) → local=127.0.0.1:{port}" in log
        assert not [s for s in app.main.ws.session.steps if s.error is not None]

    drive(app, scenario)


# -- errors ------------------------------------------------------------------------------


def test_connect_refused_shows_errno_and_meaning(app: WorkbenchApp) -> None:
    # Bound but never listening, and held until the end: a connect to it is refused.
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]

    async def scenario(pilot: Pilot[Any]) -> None:
        sock = await new_socket(pilot)
        step = await address_step(pilot, "c", "connect", f"127.0.0.1:{port}")
        assert step.error is not None and step.error.name == "ECONNREFUSED"
        meaning = one_line(lookup("ECONNREFUSED").for_call("connect", "inet")[0])
        assert meaning
        log = await log_shows(pilot, "ECONNREFUSED")
        assert f"connect(#{sock}, address=127.0.0.1:{port}) → ECONNREFUSED {meaning}" in log
        await wait_until(pilot, lambda: any("ECONNREFUSED" in m for m in messages(app)),
                         what="the notification")
        note = next(m for m in messages(app) if "ECONNREFUSED" in m)
        said, hint = words_for_step(step, "inet", brief=True)  # the meaning for connect
        assert note == f"connect(#{sock}, address=127.0.0.1:{port}): ECONNREFUSED — " \
                       f"{said}; try: {hint} (! why)"
        assert next(severity for severity, m in app.notices if "ECONNREFUSED" in m) == "error"

    with closed:
        drive(app, scenario)


def test_capture_lossless_toggles_from_a_key(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        log = app.main.ws.engine.log
        assert not log.lossless  # keeping up is the default
        await focus_tree(pilot)
        await pilot.press("K")
        await wait_until(pilot, lambda: log.lossless, what="lossless on")
        assert any(m.startswith("capture: lossless") for m in messages(app))
        await pilot.press("K")
        await wait_until(pilot, lambda: not log.lossless, what="lossless off")
        assert any(m.startswith("capture: keeping up") for m in messages(app))

    drive(app, scenario)


def test_user_text_is_shown_literally_never_as_markup(app: WorkbenchApp) -> None:
    path = "/tmp/wb-[b]-no-such-socket"  # "[b]" would be bold markup

    async def scenario(pilot: Pilot[Any]) -> None:
        sock = await new_socket(pilot, family="unix")
        form = await open_form(pilot, "c", "Connect")
        label = str(form.query(".field-label").first(Label).render())
        assert "[v6]:port" in label
        step = await address_step_in(pilot, form, "connect", f"unix:{path}")
        assert step.error is not None and step.error.name == "ENOENT"
        await wait_until(pilot, lambda: any(path in str(t.render())
                                            for t in app.screen.query(Toast)),
                         what="the toast with the path as typed")
        assert f"connect(#{sock}, address=unix:{path}): ENOENT" in messages(app)[-1]

    drive(app, scenario)


def test_nonblocking_recv_with_nothing_queued_is_eagain(
        app: WorkbenchApp, peer: Callable[[str], Peer]) -> None:
    discard = peer("discard")

    async def scenario(pilot: Pilot[Any]) -> None:
        sock = await new_socket(pilot)
        await address_step(pilot, "c", "connect", format_address(discard.address))
        assert app.main.ws.engine.socket_info(sock).blocking
        await pilot.press("k")
        await wait_until(pilot, done(app, "set_blocking", sock))
        assert not app.main.ws.engine.socket_info(sock).blocking
        header = app.main.query_one("#sock-header", Label)  # shown at the next refresh
        await wait_until(pilot, lambda: "non-blocking" in str(header.render()),
                         what="the header to say non-blocking")
        form = await open_form(pilot, "r", "recv")
        await submit(pilot, form)
        await wait_until(pilot, done(app, "recv", sock))
        recv = steps(app, "recv", sock)[-1]
        assert recv.error is not None and recv.error.name == "EAGAIN"
        await log_shows(pilot, f"recv(#{sock}, size=65536) → EAGAIN")
        await wait_until(pilot, lambda: any("EAGAIN" in m for m in messages(app)))

    drive(app, scenario)


def test_manual_mode_recv(app: WorkbenchApp, peer: Callable[[str], Peer]) -> None:
    echo = peer("echo")

    async def scenario(pilot: Pilot[Any]) -> None:
        engine = app.main.ws.engine
        sock = await new_socket(pilot)
        await address_step(pilot, "c", "connect", format_address(echo.address))
        await pilot.press("u")
        await wait_until(pilot, done(app, "set_auto", sock))
        assert not engine.socket_info(sock).auto
        await send_text(pilot, "ping")
        await wait_until(pilot, lambda: echo.stats.bytes_out >= 4, what="the echo")
        # The echo is queued on the socket, but nobody reads it.
        here, there = engine.socket_info(sock).local, format_address(echo.address)

        def queued() -> int:
            kernel = tcp_connection(here, there)
            return kernel.rx_queue if kernel is not None else -1

        await wait_until(pilot, lambda: queued() == 4 or steps(app, "recv", sock),
                         what="the echo queued on the socket")
        await barrier(pilot, sock)
        assert engine.capture(sock).totals[IN] == 0
        assert not steps(app, "recv", sock)
        assert queued() == 4
        await focus_tree(pilot)
        form = await open_form(pilot, "r", "recv")
        await fill(pilot, form, size="2")
        await submit(pilot, form)
        await wait_until(pilot, done(app, "recv", sock))
        first = steps(app, "recv", sock)[-1]
        assert first.ok and first.data == b"pi" and not first.auto
        form = await open_form(pilot, "r", "recv")
        await submit(pilot, form)
        await wait_until(pilot, lambda: len(steps(app, "recv", sock)) == 2)
        assert steps(app, "recv", sock)[-1].data == b"ng"
        assert engine.capture(sock).stream(IN) == b"ping"
        await log_shows(pilot, f"recv(#{sock}, size=2) → 2 bytes")

    drive(app, scenario)


def test_hex_payload_reaches_socat_byte_exact(
        app: WorkbenchApp, socat_sink: Any, tmp_path: Path) -> None:
    out = tmp_path / "received.bin"
    proc, port = socat_sink(out)

    async def scenario(pilot: Pilot[Any]) -> None:
        sock = await new_socket(pilot)
        step = await address_step(pilot, "c", "connect", f"127.0.0.1:{port}")
        assert step.ok, step.error
        await pilot.press("f2")
        assert str(app.main.query_one("#send-mode", Label).render()) == "hex"
        await send_text(pilot, "de ad 00 ff")
        await wait_until(pilot, done(app, "send", sock))
        assert steps(app, "send", sock)[-1].result == {"sent": 4}
        await focus_tree(pilot)
        await pilot.press("x")  # socat writes what it got and exits on EOF
        await wait_until(pilot, done(app, "close", sock))
        await wait_until(pilot, lambda: proc.poll() is not None, what="socat to exit")

    drive(app, scenario)
    assert out.read_bytes() == bytes([0xDE, 0xAD, 0x00, 0xFF])


def test_blocking_accept_in_progress_and_cancelled(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        tree = app.main.query_one(SocketTree)
        sock = await new_socket(pilot)
        await address_step(pilot, "b", "bind", "127.0.0.1:0")
        await submit(pilot, await open_form(pilot, "l", "Listen"))
        await wait_until(pilot, done(app, "listen", sock))
        await pilot.press("u")  # manual: no auto-accept
        await wait_until(pilot, done(app, "set_auto", sock))
        await pilot.press("a")
        node = node_of(tree, sock)
        assert node is not None
        await wait_until(pilot, lambda: "accept…" in str(node.label), what="accept… in the tree")
        assert app.main.ws.engine.socket_info(sock).pending == "accept"
        assert not steps(app, "accept")
        await pilot.press("escape")
        await wait_until(pilot, done(app, "accept", sock), what="the cancelled accept")
        accept = steps(app, "accept", sock)[-1]
        assert accept.error is not None and accept.error.name == "EINTR"
        await wait_until(pilot, lambda: "accept…" not in str(node.label))
        assert str(node.label).startswith(f"#{sock} tcp4 listening")
        await log_shows(pilot, f"accept(#{sock}) → EINTR")

    drive(app, scenario)


# -- inline validation: never a step, never a traceback -----------------------------------


async def expect_form_error(pilot: Pilot[Any], form: FormScreen, field: str, value: str,
                            error: str) -> None:
    app: WorkbenchApp = pilot.app  # type: ignore[assignment]
    before = len(app.main.ws.session.steps)
    await fill(pilot, form, **{field: value})
    text = str(form.query_one(f"#e-{field}", Label).render())
    assert error in text
    assert "\n" not in text and "Traceback" not in text
    assert form.query_one("#submit", Button).disabled
    await pilot.press("enter")
    await settle(pilot)  # the enter is handled, and all it set off
    assert app.screen is form  # still open
    assert len(app.main.ws.session.steps) == before


def test_form_validation(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await new_socket(pilot)
        form = await open_form(pilot, "c", "Connect")
        await expect_form_error(pilot, form, "address", "bad host:80",
                                "bad character ' ' in hostname")
        await expect_form_error(pilot, form, "address", "127.0.0.1:70000",
                                "port 70000 out of range: use 0-65535")
        await fill(pilot, form, address="127.0.0.1:7")  # fixed: the error goes away
        assert str(form.query_one("#e-address", Label).render()) == ""
        assert not form.query_one("#submit", Button).disabled
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main)

        # Bad hex in the send bar: a one-line error, enter sends nothing.
        await pilot.press("f2")
        before = len(app.main.ws.session.steps)
        await send_text(pilot, "de zz")
        await settle(pilot)  # the enter is handled, and all it set off
        error = str(app.main.query_one("#send-error", Label).render())
        assert "position 4" in error and "\n" not in error
        await barrier(pilot, app.main.selected)  # a send let through is recorded before it
        assert [s.op for s in app.main.ws.session.steps[before:]] == ["getsockopt"]
        assert app.main.query_one("#payload", Input).value == "de zz"  # kept for fixing
        await pilot.press("backspace", "backspace")
        assert str(app.main.query_one("#send-error", Label).render()) == ""

        # A Unix path over sun_path's 108 bytes.
        await focus_tree(pilot)
        await new_socket(pilot, family="unix")
        form = await open_form(pilot, "b", "Bind")
        await expect_form_error(pilot, form, "address", "unix:/tmp/" + "x" * 120,
                                "over the limit of 107")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main)
        # Nothing but the two sockets (and the getsockopt that followed the bad hex).
        assert [s.op for s in app.main.ws.session.steps] == ["socket", "getsockopt", "socket"]

    drive(app, scenario)


# -- keys, help, palette, keymap ---------------------------------------------------------


def test_help_lists_every_action(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        rows = [(r.key, r.help, r.id) for group, r in screen.rows if group in ("app", "socket")]
        assert sorted(rows) == sorted((key_label(a.key), a.help, a.id) for a in ACTIONS)
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main)

    drive(app, scenario)


def test_palette_finds_socket_connect(app: WorkbenchApp) -> None:
    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await type_text(pilot, "socket: connect")

        def prompts() -> list[str]:
            results = app.screen.query_one(OptionList)
            return [str(results.get_option_at_index(i).prompt).split("\n")[0]
                    for i in range(results.option_count)]

        await wait_until(pilot, lambda: prompts()[:1] == ["socket: connect"],
                         what="socket: connect first in the palette")
        # Choosing it runs the action: with no socket yet, it says how to get one.
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is app.main)
        await wait_until(pilot, lambda: "no socket selected: press n to create one"
                         in messages(app))

    drive(app, scenario)


def test_keymap_remaps_by_binding_id(_own_config: Path) -> None:
    keymap = _own_config / "socket-workbench" / "keymap.json"
    keymap.parent.mkdir()
    keymap.write_text(json.dumps({"socket.new": "ctrl+n"}))
    app = WorkbenchApp(journal=False)

    async def scenario(pilot: Pilot[Any]) -> None:
        await wait_until(pilot, lambda: app.keymap == {"socket.new": "ctrl+n"})
        form = await open_form(pilot, "ctrl+n", "New socket")
        await pilot.press("escape")
        await wait_until(pilot, lambda: form not in app.screen_stack)
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        assert [r.key for _, r in screen.rows if r.id == "socket.new"] == ["ctrl+n"]

    drive(app, scenario)


# -- sessions: save, open, run all -------------------------------------------------------


def test_save_as_writes_a_session_that_loads_back(
        app: WorkbenchApp, tmp_path: Path) -> None:
    target = tmp_path / "saved.json"

    async def scenario(pilot: Pilot[Any]) -> None:
        sock = await new_socket(pilot)
        await address_step(pilot, "b", "bind", "127.0.0.1:0")
        await pilot.press("k")
        await wait_until(pilot, done(app, "set_blocking", sock))
        form = await open_form(pilot, "ctrl+s", "Save session as")
        await fill(pilot, form, path=str(target))
        await submit(pilot, form)
        await wait_until(pilot, target.exists, what="the session file")
        await wait_until(pilot, lambda: any(m.startswith(f"saved {target}")
                                            for m in messages(app)))
        assert app.main.ws.path == target
        title = str(app.main.query_one("#title-bar", Label).render())
        assert str(target) in title and " *" not in title
        live = app.main.ws.session.steps
        loaded = load_session(target)
        assert [(s.op, s.sock, s.describe(), s.outcome()) for s in loaded.steps] == \
               [(s.op, s.sock, s.describe(), s.outcome()) for s in live]
        assert [s.op for s in loaded.steps] == ["socket", "bind", "set_blocking"]
        assert target.stat().st_mode & 0o777 == 0o600

    drive(app, scenario)


def test_open_session_and_run_all(app: WorkbenchApp) -> None:
    path = ROOT / "sessions" / "tcp-echo.json"
    recorded = load_session(path)

    async def scenario(pilot: Pilot[Any]) -> None:
        form = await open_form(pilot, "ctrl+o", "Open a session")
        await fill(pilot, form, path=str(path))
        await submit(pilot, form)
        tabs = app.main.query_one(TabbedContent)
        await wait_until(pilot, lambda: tabs.active == "session", what="the Session tab")
        view = app.main.query_one(ScriptView)
        assert view.row_count == len(recorded.steps)
        assert "echo" in app.main.ws.peer_addresses()
        # The columns fit the steps, not the placeholder shown before loading, so the
        # recorded outcomes stay in view.
        header = shown(view).splitlines()[0]
        assert "step" in header and "recorded" in header, header
        await pilot.press("f8")
        await wait_until(pilot, lambda: app.stepper is not None and app.stepper.done,
                         timeout=10, what="run all to finish")
        await wait_until(pilot, lambda: any(m.startswith("session finished") for m in
                                            messages(app)))
        assert app.stepper is not None and app.stepper.ok, app.stepper.summary()
        assert "session finished: everything received matches the recording" in messages(app)
        live = [str(c) for c in live_cells(view)]
        assert all(live), f"unmarked steps: {live}"
        assert "not run" not in live
        styles = [c.style for c in live_cells(view)]
        assert set(styles) == {"green"}, styles

    drive(app, scenario)


def test_step_then_run_all_shows_received_bytes_that_differ(
        app: WorkbenchApp, tmp_path: Path) -> None:
    """A recording whose echoed bytes differ from what the live echo peer sends back."""
    doc = json.loads((ROOT / "sessions" / "tcp-echo.json").read_text())
    first_recv = next(s for s in doc["steps"] if s["op"] == "recv")
    first_recv["result"]["data"] = {"text": "HELLO, echo\r\n"}
    path = tmp_path / "altered.json"
    path.write_text(json.dumps(doc))
    recorded = load_session(path)
    auto_rows = [i for i, s in enumerate(recorded.ordered()) if s.auto]

    async def scenario(pilot: Pilot[Any]) -> None:
        form = await open_form(pilot, "ctrl+o", "Open a session")
        await fill(pilot, form, path=str(path))
        await submit(pilot, form)
        view = app.main.query_one(ScriptView)
        await wait_until(pilot, lambda: view.row_count == len(recorded.steps))

        def live() -> list[str]:
            return [str(c) for c in live_cells(view)]

        await pilot.press("f7")  # one step: socket()
        await wait_until(pilot, lambda: live()[0] == "sock=1", what="step 0 marked")
        await wait_until(pilot, lambda: all(w.is_finished for w in app.workers
                                            if w.group == "stepping"), what="f7 to finish")
        await settle(pilot)  # its marks are shown
        assert not any(live()[1:])
        await pilot.press("f8")
        await wait_until(pilot, lambda: app.stepper is not None and app.stepper.done,
                         timeout=10, what="run all to finish")
        await wait_until(pilot, lambda: any(m.startswith("session finished with 1 mismatch")
                                            for m in messages(app)), what="the summary")
        assert all(live()), live()
        cells = live_cells(view)
        assert [str(cells[i]) for i in auto_rows] == ["bytes differ"] * len(auto_rows)
        assert {cells[i].style for i in auto_rows} == {"bold red"}
        assert {c.style for i, c in enumerate(cells) if i not in auto_rows} == {"green"}

    drive(app, scenario)


def test_quit_stops_peers_and_closes_sockets(app: WorkbenchApp) -> None:
    seen: dict[str, Any] = {}

    async def scenario(pilot: Pilot[Any]) -> None:
        form = await open_form(pilot, "p", "Start a built-in peer")
        await submit(pilot, form)
        await wait_until(pilot, lambda: "echo" in app.main.ws.peer_addresses())
        sock = await new_socket(pilot)
        await address_step(pilot, "c", "connect", "peer:echo")
        seen.update(ws=app.main.ws, sock=sock, port=int(
            app.main.ws.peer_addresses()["echo"].rsplit(":", 1)[1]))
        assert listening(seen["port"])
        await pilot.press("q")

    drive(app, scenario)
    assert app.return_code == 0
    assert not listening(seen["port"]), "the echo peer outlived the app"
    assert seen["ws"].engine.socket_info(seen["sock"]).state == "closed"


# -- a flood: the UI keeps answering ----------------------------------------------------


def test_responsive_while_chargen_floods(
        app: WorkbenchApp, peer: Callable[[str], Peer]) -> None:
    chargen = peer("chargen")

    async def scenario(pilot: Pilot[Any]) -> None:
        engine = app.main.ws.engine
        tabs = app.main.query_one(TabbedContent)
        sock = await new_socket(pilot)
        await address_step(pilot, "c", "connect", format_address(chargen.address))
        await wait_until(pilot, lambda: engine.socket_info(sock).bytes_in > 0)

        node = node_of(app.main.query_one(SocketTree), sock)
        assert node is not None
        # pilot.press waits for the process to go idle, which a flood never lets happen;
        # so each key is sent from a task and its effect awaited with its own bound.
        presses: list[asyncio.Task[None]] = []
        queued, counts = 0, [engine.socket_info(sock).bytes_in]
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            for key, tab in (("2", "log"), ("1", "data")):
                presses.append(asyncio.create_task(pilot.press(key)))
                await wait_until(pilot, lambda t=tab: tabs.active == t, timeout=1.0,
                                 what=f"key {key} to show the {tab} tab")
                queued = max(queued, app.main._message_queue.qsize(),
                             app._message_queue.qsize())
            await pilot.pause(0.05)
            counts.append(engine.socket_info(sock).bytes_in)
        assert len(counts) > 5
        assert all(b > a for a, b in itertools.pairwise(counts)), counts
        # The tree's counters keep up with the engine's (they move in 0.1G steps).
        tree = app.main.query_one(SocketTree)
        await wait_until(pilot, lambda: str(node.label) == tree.label_for(
            engine.socket_info(sock)), timeout=2.0, what="the tree to keep up")
        assert queued < 20, f"message queue grew to {queued}"  # the bridge coalesces
        assert engine.log.in_memory <= RING_SIZE  # memory stays bounded: the rest is in a file

        assert app.main.query_one(SocketTree).has_focus  # the keys above kept it there
        presses.append(asyncio.create_task(pilot.press("x")))
        await wait_until(pilot, done(app, "close", sock), what="close under the flood")
        assert state(app, sock) == "closed"
        await asyncio.gather(*presses)

    drive(app, scenario)
