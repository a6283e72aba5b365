"""The send editor: payload modes, line ending, repeat, flags, destination and history.

The editor never touches a socket: it checks what is typed (core.send_request) and
posts one `SendEditor.Send` per send; the screen turns each into a step. Repeats run
on Textual timers on the UI loop, in bounded batches, so a million sends neither block
the loop nor flood the message queue, and the stop key ends them at the next tick.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Callable
from functools import partial

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Checkbox, Input, Label, Select

from workbench.core.errors import InputError
from workbench.core.send_request import (
    ENDINGS,
    HISTORY_LIMIT,
    MAX_FILE_SIZE,
    SEND_MODES,
    HistoryEntry,
    SendHistory,
    SendRequest,
    build_request,
    check_file_size,
    check_path,
    file_error,
    format_repeat,
)
from workbench.core.steps import SEND_FLAGS
from workbench.ui.text import set_text
from workbench.ui.widgets.check import Check

PLACEHOLDER = {
    "text": "text to send (UTF-8), Enter sends",
    "hex": "hex: de ad be ef, 0xde 0xad, \\xde\\xad…",
    "escapes": "text with escapes: GET / HTTP/1.0\\r\\n\\r\\n",
    "latin-1": "text to send (latin-1: one byte per character)",
    "file": "path of a file to send (up to 64 MiB)",
}
TICK = 0.02  # seconds between batches of a back-to-back repeat
BATCH = 100  # sends posted per tick: bounds the message queue however large the count
NARROW = 77  # below this width the flag toggles get a row of their own


def flag_id(name: str) -> str:
    return "flag-" + name.removeprefix("MSG_").lower()


def read_payload_file(path: str) -> bytes:
    """A file payload's bytes (run off the UI loop); InputError when it cannot be sent."""
    full = os.path.expanduser(path)
    try:
        info = os.stat(full)
        if not stat.S_ISREG(info.st_mode):  # a FIFO or device could block or never end
            raise InputError(f"{path} is not a regular file: give the path of a file")
        check_file_size(path, info.st_size)
        with open(full, "rb") as f:
            data = f.read(MAX_FILE_SIZE + 1)
    except OSError as exc:
        raise file_error(path, exc) from None
    check_file_size(path, len(data))  # it may have grown since stat
    return data


class SendEditor(Vertical):
    """The send editor: payload modes, line endings, repeats, flags, history."""

    DEFAULT_CSS = """
    SendEditor { height: auto; }
    SendEditor .hidden { display: none; }
    SendEditor #send-row { height: 3; }
    SendEditor #send-mode { width: 9; height: 3; content-align: center middle;
                            text-style: bold; }
    SendEditor #payload { width: 1fr; }
    SendEditor #destination { width: 24; }
    SendEditor.-narrow #destination { width: 18; }
    SendEditor #send-extras { height: 1; padding-left: 1; }
    SendEditor.-narrow #send-extras { layout: vertical; height: auto; }
    SendEditor #send-options, SendEditor #send-flags { width: auto; height: 1; }
    SendEditor #send-ending { width: 12; margin-right: 1; }
    SendEditor #send-repeat { width: 16; margin-right: 1; }
    SendEditor #send-flags Checkbox { margin-right: 1; }
    SendEditor #send-flags Checkbox:last-child { margin-right: 0; }
    SendEditor #send-error { color: $error; width: 100%; height: auto; padding: 0 1; }
    """

    BINDINGS = [
        Binding("f2", "cycle_mode", "mode", show=False, id="send.mode",
                tooltip="payload mode: text, hex, escapes, latin-1, file"),
        Binding("f3", "cycle_ending", "ending", show=False, id="send.ending",
                tooltip="line ending appended: none, LF, CRLF"),
        Binding("f4", "focus_repeat", "repeat", show=False, id="send.repeat",
                tooltip="repeat: N times, every T ms, or N every T"),
        Binding("f5", "focus_flags", "flags", show=False, id="send.flags",
                tooltip="send flags: MSG_OOB, MSG_DONTWAIT, MSG_MORE, MSG_NOSIGNAL"),
        Binding("f6", "toggle_options", "options", show=False, id="send.options",
                tooltip="show or hide the ending, repeat and flag row"),
        # Shown (and active) only while a repeat runs; otherwise esc reaches the app.
        Binding("escape", "stop", "stop sending", id="send.stop",
                tooltip="stop the repeat in progress"),
        Binding("up", "history(-1)", "previous", show=False, id="send.history_prev",
                tooltip="recall the previous payload"),
        Binding("down", "history(1)", "next", show=False, id="send.history_next",
                tooltip="recall the next payload"),
    ]

    class Send(Message):
        """One send to submit as a step; a repeat posts one per send (index 1, 2, ...)."""

        def __init__(self, request: SendRequest, index: int = 1) -> None:
            super().__init__()
            self.request = request
            self.index = index

        @property
        def data(self) -> bytes:
            return self.request.data

        @property
        def destination(self) -> str:
            return self.request.destination

        @property
        def flags(self) -> list[str]:
            return self.request.flags

        @property
        def last(self) -> bool:
            """The final send of a counted request (never true for "until stopped")."""
            return 0 < self.request.count <= self.index

    class RepeatEnded(Message):
        """A repeat finished its count or was stopped; `sent` Send messages were posted."""

        def __init__(self, request: SendRequest, sent: int, stopped: bool) -> None:
            super().__init__()
            self.request = request
            self.sent = sent
            self.stopped = stopped

    def __init__(self, id: str = "send-editor", history_limit: int = HISTORY_LIMIT) -> None:
        super().__init__(id=id)
        self.mode = "text"
        self.history = SendHistory(history_limit)
        self._endings = {m: "none" for m in SEND_MODES}  # each mode its own: none by default
        self._socket: int | None = None  # whose mode and endings these are
        self._saved: dict[int, tuple[str, dict[str, str]]] = {}  # other sockets' own
        self._request: SendRequest | None = None
        self._timer: Timer | None = None
        self._sent = 0
        self._reading = False  # a file payload is being read
        self.status = ""  # progress of the last repeat, also shown under the payload

    # -- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="send-row"):
            yield Label(self.mode, id="send-mode")
            yield Input(placeholder=PLACEHOLDER[self.mode], id="payload")
            yield Input(placeholder="to: host:port", id="destination", classes="hidden")
        with Horizontal(id="send-extras"):
            with Horizontal(id="send-options"):
                yield Select([(f"end:{e}", e) for e in ENDINGS], value="none",
                             allow_blank=False, compact=True, id="send-ending",
                             tooltip="line ending appended (F3)")
                yield Input(placeholder="repeat: 1", compact=True, id="send-repeat",
                            tooltip="5 · every 250ms · 5 every 1s (F4); esc stops")
            with Horizontal(id="send-flags"):
                for name in SEND_FLAGS:
                    yield Check(name.removeprefix("MSG_"), compact=True, id=flag_id(name),
                                tooltip=name)
        error = Label("", id="send-error")
        error.display = False
        yield error

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width < NARROW, "-narrow")

    @property
    def _payload(self) -> Input:
        return self.query_one("#payload", Input)

    # -- the fields ----------------------------------------------------------------------

    @property
    def ending(self) -> str:
        return self._endings[self.mode]

    @property
    def flags(self) -> list[str]:
        return [n for n in SEND_FLAGS if self.query_one(f"#{flag_id(n)}", Checkbox).value]

    @property
    def destination_needed(self) -> bool:
        return not self.query_one("#destination", Input).has_class("hidden")

    @property
    def destination(self) -> str:
        return self.query_one("#destination", Input).value if self.destination_needed else ""

    @property
    def repeating(self) -> bool:
        return self._timer is not None

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        set_text(self.query_one("#send-mode", Label), mode)  # unchanged: no layout
        self._payload.placeholder = PLACEHOLDER[mode]
        self._show_ending()

    def use_socket(self, sock: int | None) -> None:
        """The mode and line endings are each socket's own: what was chosen for one
        never carries over to the next (a new socket starts in text, no ending)."""
        if sock == self._socket:
            return
        if self._socket is not None:
            self._saved[self._socket] = (self.mode, dict(self._endings))
        self._socket = sock
        mode, endings = self._saved.get(sock if sock is not None else -1,
                                        ("text", {m: "none" for m in SEND_MODES}))
        self._endings = dict(endings)
        self.set_mode(mode)

    def cycle_mode(self) -> str:
        self.set_mode(SEND_MODES[(SEND_MODES.index(self.mode) + 1) % len(SEND_MODES)])
        return self.mode

    def cycle_ending(self) -> str:
        names = list(ENDINGS)
        ending = names[(names.index(self.ending) + 1) % len(names)]
        self._endings[self.mode] = ending
        self._show_ending()
        return ending

    def _show_ending(self) -> None:
        # Quietly: a late Changed would store this value under whatever mode is current.
        with self.prevent(Select.Changed):
            self.query_one("#send-ending", Select).value = self.ending
        self._check()

    def need_destination(self, needed: bool) -> None:
        """Called at each header update: it changes nothing unless the need did (each
        label update lays the screen out again, which a flood cannot afford)."""
        field = self.query_one("#destination", Input)
        if field.has_class("hidden") == (not needed):
            return
        field.set_class(not needed, "hidden")
        self._check()

    def _builder(self, text: str, required: bool) -> Callable[..., SendRequest]:
        """build_request with the fields as they are now; call it with file_data (file mode).

        `required`: an empty destination is an error on Enter, not while typing.
        """
        return partial(build_request, text, self.mode, self.ending, self.flags,
                       self.query_one("#send-repeat", Input).value, self.destination,
                       require_destination=required and self.destination_needed)

    def _show_error(self, message: str) -> None:
        label = self.query_one("#send-error", Label)
        set_text(label, message)
        label.display = bool(message)  # no blank line at 80x24 when all is well

    def _check(self) -> bool:
        """Check the fields as they are typed; an empty file path waits for Enter."""
        self._summarise()
        text = self._payload.value
        if self.mode == "file" and not text.strip():
            text = "-"
        try:
            self._builder(text, required=False)(file_data=b"")
        except InputError as exc:
            self._show_error(str(exc))
            return False
        self._show_error("")
        return True

    def _summarise(self) -> None:
        """The payload's border title shows the options, even with their row hidden."""
        repeat = self.query_one("#send-repeat", Input).value.strip()
        parts = [p for p in (self.ending if self.ending != "none" else "",
                             f"repeat {repeat}" if repeat else "",
                             "+".join(f.removeprefix("MSG_") for f in self.flags)) if p]
        self._payload.border_title = " · ".join(parts)

    @on(Input.Changed)
    @on(Checkbox.Changed)
    def _changed(self) -> None:
        self._check()

    def on_descendant_focus(self) -> None:
        self._check()  # back in the editor: say again what is wrong, if anything

    def on_descendant_blur(self) -> None:
        self.call_after_refresh(self._left)

    def _left(self) -> None:
        """Focus went out of the editor: an error about what was being typed is stale."""
        focused = self.screen.focused
        if focused is None or (focused is not self and self not in focused.ancestors):
            self._show_error("")

    @on(Select.Changed, "#send-ending")
    def _ending_chosen(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self._endings[self.mode] = event.value
        self._check()

    # -- sending -------------------------------------------------------------------------

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.send()

    def send(self) -> None:
        """Check the fields and post the request (reading the file first in file mode)."""
        if self.repeating:
            self._show_error("a repeat is running: press esc to stop it, then send again")
            return
        if self._reading:
            return
        text, mode = self._payload.value, self.mode
        make = self._builder(text, required=True)
        try:
            if mode == "file":
                make(file_data=b"")  # every other field is right before reading
                self._reading = True
                self.run_worker(self._read_then_send(text, make), group="send-file",
                                exclusive=True, exit_on_error=False)
                return
            request = make()
        except InputError as exc:
            self._show_error(str(exc))
            return
        self._start(request, text, mode)

    async def _read_then_send(self, text: str, make: Callable[..., SendRequest]) -> None:
        try:
            data = await asyncio.to_thread(read_payload_file, check_path(text))
            request = make(file_data=data)
        except InputError as exc:
            self._show_error(str(exc))
            return
        finally:
            self._reading = False
        self._start(request, text, "file")

    def _start(self, request: SendRequest, text: str, mode: str) -> None:
        self._show_error("")
        self._set_status("")
        self.history.add(text, mode)
        self._request, self._sent = request, 0
        self._tick()
        if self._request is not None:  # more to send: the rest comes from a timer
            period = TICK if request.interval_ms is None else request.interval_ms / 1000
            self._timer = self.set_interval(period, self._tick, name="send-repeat")
            self.refresh_bindings()  # the footer shows the stop key

    def _tick(self) -> None:
        request = self._request
        if request is None:
            return
        todo = BATCH if request.interval_ms is None else 1
        if request.count:
            todo = min(todo, request.count - self._sent)
        for _ in range(todo):
            self._sent += 1
            self.post_message(self.Send(request, self._sent))
        if request.count and self._sent >= request.count:
            self._finish(stopped=False)
        else:
            self._set_status(f"{self._progress()} · esc stops")

    def _progress(self) -> str:
        request = self._request
        assert request is not None
        total = f"/{request.count}" if request.count else ""
        every = f" every {request.interval_ms} ms" if request.interval_ms else ""
        return f"{self._sent}{total} sent{every}"

    def _finish(self, stopped: bool) -> None:
        request = self._request
        if request is None:
            return
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
            self.refresh_bindings()
        if request.repeats:
            self._set_status(f"{'stopped' if stopped else 'done'}: {self._progress()}")
            self.post_message(self.RepeatEnded(request, self._sent, stopped))
        self._request = None

    def _set_status(self, text: str) -> None:
        self.status = text
        self._payload.border_subtitle = text

    def stop(self) -> bool:
        """Stop a repeat in progress; False when none runs."""
        if not self.repeating:
            return False
        self._finish(stopped=True)
        return True

    # -- keys ----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Unavailable keys fall through: esc still cancels a call, up/down still move.
        if action == "stop":
            return self.repeating
        if action == "history":
            return self.screen.focused is self._payload
        return True

    def action_cycle_mode(self) -> None:
        self.cycle_mode()

    def action_cycle_ending(self) -> None:
        self.cycle_ending()

    def action_focus_repeat(self) -> None:
        self.query_one("#send-extras").remove_class("hidden")
        self.query_one("#send-repeat", Input).focus()

    def action_focus_flags(self) -> None:
        self.query_one("#send-extras").remove_class("hidden")
        self.query_one(f"#{flag_id(next(iter(SEND_FLAGS)))}", Checkbox).focus()

    def action_toggle_options(self) -> None:
        extras = self.query_one("#send-extras")
        extras.toggle_class("hidden")
        focused = self.screen.focused
        if extras.has_class("hidden") and focused is not None and extras in focused.ancestors:
            self._payload.focus()  # never leave focus on a hidden field

    def action_stop(self) -> None:
        self.stop()

    def action_history(self, step: int) -> None:
        if step < 0:
            entry = self.history.previous(self._payload.value, self.mode)
        else:
            entry = self.history.next()
        if entry is not None:
            self._recall(entry)

    def _recall(self, entry: HistoryEntry) -> None:
        if entry.mode != self.mode:
            self.set_mode(entry.mode)
        payload = self._payload
        payload.value = entry.text
        payload.cursor_position = len(entry.text)

    def set_repeat(self, count: int, interval_ms: int | None = None) -> None:
        """Fill the repeat field (for commands and tests), e.g. (0, 250): every 250 ms."""
        self.query_one("#send-repeat", Input).value = format_repeat(count, interval_ms)
