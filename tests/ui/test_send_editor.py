"""The send editor alone in a small app that records what it posts, plus one real echo.

Keys are pressed as a user would; the only stand-in is the app, which plays the main
screen's part: it records each SendEditor.Send (and, in the end-to-end test, submits
it to a real Engine talking to a real echo peer).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Label, Select, Static
from ui_helpers import settle, wait_until

from workbench.core.send_request import MAX_FILE_SIZE, SendRequest
from workbench.io.capture import IN
from workbench.io.engine import Engine
from workbench.io.peers import Peer, format_address
from workbench.ui.widgets.send_editor import BATCH, SendEditor


class EditorApp(App[None]):
    """Plays the main screen: a 30-column left pane, the editor, and a record of sends."""

    CSS = "#left { width: 30; }"
    BINDINGS = [Binding("escape", "cancel_call", "cancel", id="test.cancel")]

    def __init__(self, submit: Callable[[SendRequest], None] | None = None) -> None:
        super().__init__()
        self.sends: list[SendEditor.Send] = []
        self.ended: list[SendEditor.RepeatEnded] = []
        self.cancels = 0
        self.submit = submit

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Static("sockets", id="left")
            yield SendEditor()

    def on_mount(self) -> None:
        self.query_one("#payload").focus()

    @property
    def editor(self) -> SendEditor:
        return self.query_one(SendEditor)

    @on(SendEditor.Send)
    def _send(self, event: SendEditor.Send) -> None:
        self.sends.append(event)
        if self.submit is not None:
            self.submit(event.request)
        if event.index == 1:  # as the main screen does
            self.query_one("#payload", Input).value = ""

    @on(SendEditor.RepeatEnded)
    def _ended(self, event: SendEditor.RepeatEnded) -> None:
        self.ended.append(event)

    def action_cancel_call(self) -> None:
        self.cancels += 1


def drive(app: EditorApp, scenario: Callable[[Pilot[Any]], Awaitable[None]],
          size: tuple[int, int] = (80, 24)) -> None:
    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await scenario(pilot)

    asyncio.run(main())


async def type_and_send(pilot: Pilot[Any], text: str, field: str = "#payload") -> None:
    """Fill a field (each key the pilot presses costs ~80 ms) and press Enter in it."""
    widget = pilot.app.query_one(field, Input)
    widget.value = text
    widget.focus()
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()


def error(app: EditorApp) -> str:
    return str(app.query_one("#send-error", Label).render())


def sent(app: EditorApp) -> list[bytes]:
    return [s.data for s in app.sends]


async def set_mode(pilot: Pilot[Any], app: EditorApp, mode: str) -> None:
    for _ in range(5):
        if app.editor.mode == mode:
            return
        await pilot.press("f2")
    assert app.editor.mode == mode


# -- payload modes, endings, flags -----------------------------------------------------


def test_enter_sends_text_as_one_request() -> None:
    app = EditorApp()

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press(*"hello world", "enter")  # typed key by key, as a user does
        await pilot.pause()
        [send] = app.sends
        assert send.request == SendRequest(b"hello world")
        assert (send.data, send.destination, send.flags, send.index, send.last) == (
            b"hello world", "", [], 1, True)
        assert app.ended == []  # a single send is no repeat
        assert error(app) == ""

    drive(app, scenario)


@pytest.mark.parametrize(("mode", "typed", "data"), [
    ("text", "h\u00e9llo", "h\u00e9llo".encode()),
    ("hex", "de:ad 0xbe \\xef", b"\xde\xad\xbe\xef"),
    ("escapes", "GET /\\r\\n\\x00", b"GET /\r\n\x00"),
    ("latin-1", "h\u00e9llo", b"h\xe9llo"),
])
def test_each_typed_mode(mode: str, typed: str, data: bytes) -> None:
    app = EditorApp()

    async def scenario(pilot: Pilot[Any]) -> None:
        await set_mode(pilot, app, mode)
        assert str(app.query_one("#send-mode", Label).render()) == mode
        app.query_one("#payload", Input).value = typed  # é is not a key name
        await pilot.press("enter")
        await pilot.pause()
        assert sent(app) == [data]

    drive(app, scenario)


def test_cycle_mode_returns_each_mode_in_turn() -> None:
    app = EditorApp()

    async def scenario(pilot: Pilot[Any]) -> None:
        modes = [app.editor.cycle_mode() for _ in range(5)]
        assert modes == ["hex", "escapes", "latin-1", "file", "text"]
        assert "UTF-8" in app.query_one("#payload", Input).placeholder

    drive(app, scenario)


def test_bad_hex_shows_a_one_line_error_and_posts_nothing() -> None:
    app = EditorApp()

    async def scenario(pilot: Pilot[Any]) -> None:
        await set_mode(pilot, app, "hex")
        await pilot.press(*"de zz", "enter")
        message = error(app)
        assert "position 4" in message and "\n" not in message and "Traceback" not in message
        await settle(pilot)  # everything the enter set off is handled: no Send among it
        assert app.sends == []
        assert app.query_one("#payload", Input).value == "de zz"  # kept for fixing
        await pilot.press("backspace", "backspace", "a", "d")
        assert error(app) == ""

    drive(app, scenario)


def test_ending_cycles_and_each_mode_keeps_its_own() -> None:
    app = EditorApp()

    async def scenario(pilot: Pilot[Any]) -> None:
        ending = app.query_one("#send-ending", Select)
        await pilot.press("f3")
        assert ending.value == "LF" and app.editor.ending == "LF"
        await type_and_send(pilot, "a")
        await pilot.press("f3")
        assert ending.value == "CRLF"
        await type_and_send(pilot, "b")
        await set_mode(pilot, app, "hex")  # hex: no ending unless chosen there
        assert ending.value == "none"
        await type_and_send(pilot, "41")
        await set_mode(pilot, app, "escapes")  # escapes: "\n" typed is not doubled
        assert ending.value == "none"
        await type_and_send(pilot, "c")
        await set_mode(pilot, app, "text")  # text keeps the CRLF chosen in it
        assert ending.value == "CRLF"
        await set_mode(pilot, app, "hex")
        await pilot.press("f3", "f3", "f3")  # all the way round
        assert ending.value == "none"
        assert sent(app) == [b"a\n", b"b\r\n", b"A", b"c"]
        assert app.query_one("#payload", Input).border_title == ""

    drive(app, scenario)


def test_ending_chosen_from_the_select() -> None:
    app = EditorApp()

    async def scenario(pilot: Pilot[Any]) -> None:
        app.query_one("#send-ending", Select).value = "CRLF"
        await pilot.pause()
        assert app.query_one("#payload", Input).border_title == "CRLF"
        await type_and_send(pilot, "x")
        assert sent(app) == [b"x\r\n"]

    drive(app, scenario)


def test_flags_are_toggles_sent_as_names() -> None:
    app = EditorApp()

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("f5")
        assert app.focused is app.query_one("#flag-oob", Checkbox)
        await pilot.press("space", "tab", "tab", "space")  # OOB and MORE
        assert app.editor.flags == ["MSG_OOB", "MSG_MORE"]
        app.query_one("#payload").focus()
        await type_and_send(pilot, "urgent")
        assert app.sends[-1].flags == ["MSG_OOB", "MSG_MORE"]
        assert app.query_one("#payload", Input).border_title == "OOB+MORE"
        for name in ("dontwait", "nosignal", "oob", "more"):
            app.query_one(f"#flag-{name}", Checkbox).toggle()
        await pilot.pause()
        await type_and_send(pilot, "x")
        assert app.sends[-1].request.flags == ["MSG_DONTWAIT", "MSG_NOSIGNAL"]

    drive(app, scenario)


# -- history ---------------------------------------------------------------------------


def test_history_up_and_down_recall_text_and_mode() -> None:
    app = EditorApp()

    async def scenario(pilot: Pilot[Any]) -> None:
        payload = app.query_one("#payload", Input)
        for text in ("one", "two", "two"):
            await type_and_send(pilot, text)
        await set_mode(pilot, app, "hex")
        await type_and_send(pilot, "ff")
        await set_mode(pilot, app, "text")
        app.query_one("#payload", Input).value = "draft"
        assert len(app.editor.history) == 3  # "two" twice is kept once

        seen = []
        for key in ("up", "up", "up", "up", "down", "down", "down"):
            await pilot.press(key)
            seen.append((payload.value, app.editor.mode))
        assert seen == [("ff", "hex"), ("two", "text"), ("one", "text"), ("one", "text"),
                        ("two", "text"), ("ff", "hex"), ("draft", "text")]
        assert payload.cursor_position == len("draft")

        await pilot.press("up", "enter")  # a recalled entry is sent in its own mode
        await pilot.pause()
        assert app.sends[-1].data == b"\xff"

    drive(app, scenario)


def test_up_and_down_outside_the_payload_do_not_recall() -> None:
    app = EditorApp()

    async def scenario(pilot: Pilot[Any]) -> None:
        await type_and_send(pilot, "one")
        await pilot.press("f4", "up")
        assert app.query_one("#payload", Input).value == ""

    drive(app, scenario)


# -- repeat ----------------------------------------------------------------------------


def test_repeat_n_times_posts_n_sends_in_batches() -> None:
    app = EditorApp()

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("f4")
        assert app.focused is app.query_one("#send-repeat", Input)
        app.query_one("#payload", Input).value = "x"
        await type_and_send(pilot, "250", "#send-repeat")  # Enter there sends too
        assert BATCH < 250  # more than one batch: the rest comes from the timer
        await wait_until(pilot, lambda: app.ended, what="the repeat to end")
        assert [s.index for s in app.sends] == list(range(1, 251))
        assert {s.request.count for s in app.sends} == {250}
        assert [s.last for s in app.sends].count(True) == 1 and app.sends[-1].last
        assert (app.ended[0].sent, app.ended[0].stopped) == (250, False)
        assert not app.editor.repeating
        assert app.editor.status == "done: 250/250 sent"

    drive(app, scenario)


def test_repeat_every_t_ms_stops_with_the_stop_key() -> None:
    app = EditorApp()

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("f4")
        app.query_one("#send-repeat", Input).value = "every 100ms"
        app.query_one("#payload").focus()
        await type_and_send(pilot, "tick")
        start = time.monotonic()
        await wait_until(pilot, lambda: len(app.sends) >= 3, what="three ticks")
        assert app.editor.repeating and "esc stops" in app.editor.status
        assert app.sends[0].request.interval_ms == 100 and app.sends[0].request.count == 0

        await type_and_send(pilot, "other")  # one repeat at a time
        assert "repeat is running" in error(app)

        await pilot.press("escape")
        assert not app.editor.repeating
        assert time.monotonic() - start < 3.0
        assert app.cancels == 0  # the editor took esc
        count = len(app.sends)
        # Stopped: the timer is gone and the request with it, so no tick can send again.
        assert app.editor._timer is None and app.editor._request is None
        app.query_one("#send-repeat", Input).value = ""
        await type_and_send(pilot, "after")  # a definite later send: nothing between
        await wait_until(pilot, lambda: len(app.sends) > count, what="the later send")
        assert [s.data for s in app.sends[count:]] == [b"after"]
        assert [(e.sent, e.stopped) for e in app.ended] == [(count, True)]
        assert all(s.data == b"tick" and not s.last for s in app.sends[:count])

        await pilot.press("escape")  # nothing to stop: esc reaches the app's binding
        assert app.cancels == 1

    drive(app, scenario)


def test_n_every_t_stops_by_itself() -> None:
    app = EditorApp()

    async def scenario(pilot: Pilot[Any]) -> None:
        app.editor.set_repeat(3, 10)
        await type_and_send(pilot, "x")
        await wait_until(pilot, lambda: app.ended, what="three sends")
        assert [s.index for s in app.sends] == [1, 2, 3]
        assert app.ended[0].stopped is False

    drive(app, scenario)


def test_bad_repeat_is_a_one_line_error() -> None:
    app = EditorApp()

    async def scenario(pilot: Pilot[Any]) -> None:
        await pilot.press("f4")
        app.query_one("#send-repeat", Input).value = "every 5ms"
        await pilot.pause()
        assert "10-3600000 ms" in error(app)
        await pilot.press("enter")
        await settle(pilot)  # the enter is handled: it posted no Send
        assert app.sends == []

    drive(app, scenario)


# -- file mode -------------------------------------------------------------------------


def test_file_mode_reads_the_file_when_sending(tmp_path: Path) -> None:
    blob = bytes(range(256)) * 4
    path = tmp_path / "payload.bin"
    path.write_bytes(blob)
    app = EditorApp()

    async def scenario(pilot: Pilot[Any]) -> None:
        await set_mode(pilot, app, "file")
        assert error(app) == ""  # an empty path waits for Enter
        await type_and_send(pilot, str(path))
        await wait_until(pilot, lambda: app.sends, what="the file's bytes")
        assert sent(app) == [blob]
        await pilot.press("f3", "f3")  # CRLF, chosen in file mode
        app.query_one("#payload", Input).value = str(path)
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(app.sends) == 2, what="the second send")
        assert app.sends[1].data == blob + b"\r\n"
        assert app.editor.history.entries[-1].mode == "file"

    drive(app, scenario)


def test_file_mode_errors_are_one_line(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        f.truncate(MAX_FILE_SIZE + 1)  # sparse: nothing written
    app = EditorApp()

    async def scenario(pilot: Pilot[Any]) -> None:
        await set_mode(pilot, app, "file")
        await pilot.press("enter")
        assert "needs a path" in error(app)
        cases = [(tmp_path / "missing.bin", "No such file or directory"),
                 (tmp_path, "not a regular file"), (big, "over the 64 MiB limit"),
                 (big / "inside", "Not a directory")]
        for path, expected in cases:
            app.query_one("#payload", Input).value = str(path)
            await pilot.press("enter")
            await wait_until(pilot, lambda expected=expected: expected in error(app),
                             what=expected)
            assert "\n" not in error(app)
        assert app.sends == []

    drive(app, scenario)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.bin"
    path.write_bytes(b"x")
    path.chmod(0)
    app = EditorApp()

    async def scenario(pilot: Pilot[Any]) -> None:
        await set_mode(pilot, app, "file")
        await type_and_send(pilot, str(path))
        await wait_until(pilot, lambda: "Permission denied" in error(app), what="the error")

    drive(app, scenario)


# -- destination and layout ------------------------------------------------------------


def test_destination_shown_hidden_and_required_when_shown() -> None:
    app = EditorApp()

    async def scenario(pilot: Pilot[Any]) -> None:
        destination = app.query_one("#destination", Input)
        assert not destination.display
        app.editor.need_destination(True)
        await pilot.pause()
        assert destination.display and destination.region.width > 0
        await type_and_send(pilot, "hi")
        assert "destination needed" in error(app) and app.sends == []
        destination.value = "127.0.0.1"
        await pilot.pause()
        assert error(app).startswith("destination: missing")
        destination.value = "127.0.0.1:9"
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.sends[-1].destination == "127.0.0.1:9"
        assert app.sends[-1].request.op == "sendto"
        app.editor.need_destination(False)
        await pilot.pause()
        assert not destination.display
        app.query_one("#payload").focus()
        await type_and_send(pilot, "hi")
        assert app.sends[-1].destination == "" and app.sends[-1].request.op == "send"

    drive(app, scenario)


@pytest.mark.parametrize(("size", "narrow"), [
    ((80, 24), True), ((100, 30), True), ((107, 30), False), ((120, 40), False)])
def test_layout_fits(size: tuple[int, int], narrow: bool) -> None:
    app = EditorApp()

    async def scenario(pilot: Pilot[Any]) -> None:
        editor = app.editor
        editor.need_destination(True)
        await pilot.pause()
        assert editor.has_class("-narrow") is narrow
        box = editor.region
        assert box.width == size[0] - 30
        for widget in editor.query("Input, Select, Checkbox, Label").results():
            if widget.display and widget.region.area:
                assert box.contains_region(widget.region), widget
        ending = app.query_one("#send-ending").region
        oob = app.query_one("#flag-oob").region
        assert (oob.y > ending.y) is narrow  # flags get their own row when narrow
        assert editor.region.height <= (5 if narrow else 4)
        await pilot.press("f6")  # options hidden: the payload row alone
        assert editor.region.height == 3
        await pilot.press("f4")  # asking for the repeat shows them again
        assert app.query_one("#send-repeat").region.area > 0
        await pilot.press("f6")  # hiding them from inside moves focus to the payload
        assert app.focused is app.query_one("#payload")

    drive(app, scenario, size)


def test_every_binding_has_an_id() -> None:
    ids = {b.id for b in SendEditor.BINDINGS if isinstance(b, Binding)}
    assert len(ids) == len(SendEditor.BINDINGS)
    assert {"send.mode", "send.ending", "send.repeat", "send.flags", "send.options",
            "send.stop", "send.history_prev", "send.history_next"} == ids


# -- end to end ------------------------------------------------------------------------


def test_requests_reach_a_real_echo_peer_byte_exact() -> None:
    engine = Engine()
    peer = Peer("echo", "tcp", ("127.0.0.1", 0)).start()
    try:
        sid = int(engine.call("socket").result["sock"])  # type: ignore[index]
        assert engine.call("connect", sid, address=format_address(peer.address)).ok

        def submit(request: SendRequest) -> None:  # the screen's part: one step per Send
            engine.submit(request.op, sid, **request.step_args())

        app = EditorApp(submit)

        async def scenario(pilot: Pilot[Any]) -> None:
            await pilot.press("f3", "f3", "f5", "tab", "space")  # CRLF, MSG_DONTWAIT
            app.query_one("#send-repeat", Input).value = "3"
            app.query_one("#payload").focus()
            await type_and_send(pilot, "ping")
            await wait_until(pilot, lambda: app.ended, what="three sends")
            app.query_one("#send-repeat", Input).value = ""
            await set_mode(pilot, app, "hex")
            await type_and_send(pilot, "00 ff 0d 0a")
            expected = b"ping\r\n" * 3 + b"\x00\xff\r\n"
            await wait_until(pilot, lambda: engine.capture(sid).stream(IN) == expected,
                             what="the echo of every byte")

        drive(app, scenario)
        sends = [s for s in engine.session.steps if s.op == "send"]
        assert [s.args.get("flags") for s in sends] == [["MSG_DONTWAIT"]] * 4  # flags stay on
        assert all(s.ok for s in sends)
        assert engine.capture(sid).stream(1) == b"ping\r\n" * 3 + b"\x00\xff\r\n"
    finally:
        engine.shutdown()
        peer.stop()
