"""The Options pane: every option of the selected socket, live, editable in place.

Values come from an `inspect()` sweep on the socket's actor: reads that only look
add no steps. Setting an option is one `setsockopt` step; its result carries what
the kernel kept, shown against what was asked. For TCP sockets `i` swaps the table
for TCP_INFO, read again every second while it shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Label, Static, TabbedContent

from workbench.core.errors import InputError
from workbench.core.options import format_option_value, parse_option_value, value_form
from workbench.io.engine import EngineEvent, SocketInfo, StepDone
from workbench.ui.panes import PaneController
from workbench.ui.panes.option_rows import (
    OptionRow,
    SetResult,
    option_detail,
    option_rows,
    tcp_info_rows,
    tcp_meaning,
)
from workbench.ui.screens.form import Field, FormScreen
from workbench.ui.text import fit, set_text
from workbench.ui.widgets.option_table import OptionTable, TcpInfoTable

REREAD = 1.0  # seconds between sweeps while the pane shows
TOUCHING = ("setsockopt", "getsockopt", "set_blocking", "set_inheritable", "bind", "listen",
            "connect", "shutdown", "accept")  # steps after which values may differ


class Read(Message):
    """A sweep finished on an actor thread: `apply` runs on the UI's loop."""

    def __init__(self, apply: Callable[[], None]) -> None:
        super().__init__()
        self.apply = apply


class OptionsView(Vertical):
    def __init__(self, pane: OptionsPane) -> None:
        super().__init__(id="options-view")
        self.pane = pane

    def compose(self) -> ComposeResult:
        yield Label("", id="options-header")
        yield OptionTable()
        yield TcpInfoTable()
        yield Static("", id="options-detail", markup=False)

    def on_mount(self) -> None:
        self.query_one(TcpInfoTable).display = False

    @on(Read)
    def _read(self, message: Read) -> None:
        message.apply()

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self.pane.show_detail()

    @on(DataTable.RowSelected, "#options-table")
    def _selected(self) -> None:
        self.pane.edit()


class OptionsPane(PaneController):
    shown: int | None = None
    info: SocketInfo | None = None
    view: OptionsView | None = None
    tcp_view = False
    _tabs: TabbedContent | None = None
    _stale = False  # something changed while the pane was hidden: redraw when shown

    def compose(self) -> ComposeResult:
        self.readings: dict[str, Any] = {}
        self.tcp_info: dict[str, int] = {}
        self.flags: dict[str, bool] = {}
        self.sets: dict[int, dict[str, SetResult]] = {}
        self._asked = 0.0  # when the last sweep was asked for
        self._in_flight = 0
        self.view = OptionsView(self)
        yield self.view

    # -- what the screen tells the pane ---------------------------------------------------

    def on_selected(self, info: SocketInfo | None) -> None:
        moved = (info.id if info else None) != self.shown
        touched = info is not None and self.info is not None and (
            info.state != self.info.state or info.blocking != self.info.blocking)
        self.info = info
        if moved:
            self.shown = info.id if info else None
            self.readings, self.tcp_info, self.flags = {}, {}, {}
            self._in_flight = 0
        if moved or touched:
            self.redraw()
            self.read()

    def on_events(self, events: list[EngineEvent]) -> None:
        touched = False
        for event in events:
            if not isinstance(event, StepDone) or event.step.sock is None:
                continue
            step = event.step
            if step.op == "setsockopt" and step.args.get("option"):
                self.sets.setdefault(step.sock, {})[str(step.args["option"])] = \
                    SetResult.of(step)
            touched |= step.sock == self.shown and step.op in TOUCHING
        if touched:
            self.redraw()
            self.read(force=True)

    def on_tick(self) -> None:
        if not self.visible():
            return
        if self._stale:  # shown without on_shown (its tab clicked)
            self.redraw()
        if time.monotonic() - self._asked >= REREAD:
            self.read()

    def on_shown(self) -> None:
        """The tab was chosen: the table takes the keys, values are read at once."""
        if self._stale:
            self.redraw()
        if self.view is not None:
            self._table().focus()
        self.read(force=True)

    # -- reading ---------------------------------------------------------------------------

    def visible(self) -> bool:
        """Asked ten times a second: the tabs are looked up once, not queried each time."""
        if self._tabs is None:
            found = self.screen.query("#tabs")
            if not found:
                return False
            self._tabs = found.first(TabbedContent)
        return self._tabs.active == "options"

    def read(self, force: bool = False) -> None:
        """Sweep the socket's options (and TCP_INFO when shown): one at a time."""
        info = self.info
        if info is None or info.state == "closed" or not (force or self.visible()):
            return
        if self._in_flight and not force:
            return
        self._asked = time.monotonic()
        wanted = ["options", "flags"] + (["tcp_info"] if self._tcp() and self.tcp_view else [])
        for what in wanted:
            self._inspect(info.id, what)

    def _inspect(self, sock: int, what: str) -> None:
        try:
            future = self.screen.ws.inspect(sock, what)
        except InputError:  # the socket went away between the tick and the ask
            return
        self._in_flight += 1
        future.add_done_callback(lambda f: self._post(sock, what, f))

    def _post(self, sock: int, what: str, future: Future) -> None:
        """On the actor's thread: hand the result to the UI's loop."""
        if self.view is not None:
            self.view.post_message(Read(lambda: self._apply(sock, what, future)))

    def _apply(self, sock: int, what: str, future: Future) -> None:
        self._in_flight = max(0, self._in_flight - 1)
        if sock != self.shown or future.exception() is not None:
            return  # another socket is shown now, or this one closed meanwhile
        value = future.result()
        if what == "options":
            self.readings = dict(value)
        elif what == "flags":
            self.flags = dict(value)
        else:
            self.tcp_info = dict(value)
        self.redraw()

    # -- drawing ---------------------------------------------------------------------------

    def _tcp(self) -> bool:
        return self.info is not None and self.info.type == "stream" and \
            self.info.family in ("inet", "inet6")

    def _table(self) -> DataTable:
        assert self.view is not None
        if self.tcp_view and self._tcp():
            return self.view.query_one(TcpInfoTable)
        return self.view.query_one(OptionTable)

    def redraw(self) -> None:
        if self.view is None or not self.view.is_mounted:
            return
        if not self.visible():  # hidden: drawn when shown (a redraw lays the screen out)
            self._stale = True
            return
        self._stale = False
        self._header()
        info, tcp = self.info, self.tcp_view and self._tcp()
        table = self.view.query_one(OptionTable)
        tcp_table = self.view.query_one(TcpInfoTable)
        table.display, tcp_table.display = not tcp, tcp
        if info is None:
            table.show([])
        elif tcp:
            tcp_table.show(tcp_info_rows(self.tcp_info))
        else:
            table.show(option_rows(info.family, info.type, self.readings, self._sets()))
        self.show_detail()

    def _sets(self) -> dict[str, SetResult]:
        return self.sets.get(self.shown, {}) if self.shown is not None else {}

    def _header(self) -> None:
        assert self.view is not None
        label = self.view.query_one("#options-header", Label)
        info = self.info
        if info is None:
            set_text(label, "no socket selected: press n to create one")
            return
        flags = self.flags
        # Key first, as the footer has them: the line fits 80 columns.
        parts = [f"#{info.id}", f"k blocking {'on' if info.blocking else 'off'}"]
        if "cloexec" in flags:
            parts.append(f"E cloexec {'on' if flags['cloexec'] else 'off'}")
        if self._tcp():
            parts.append("i " + ("options" if self.tcp_view else "TCP_INFO"))
        width = label.content_region.width
        text = "  ".join(parts)
        set_text(label, fit(text, width) if width else text)

    def show_detail(self) -> None:
        if self.view is None:
            return
        detail = self.view.query_one("#options-detail", Static)
        row = self.view.query_one(OptionTable).current()
        if self.tcp_view and self._tcp():
            field = self.view.query_one(TcpInfoTable).current()
            text = (f"{field}: {tcp_meaning(field)}\n" if field else "") + \
                "TCP_INFO, read from the kernel every second; reading adds no steps"
        elif self.info is None or row is None:
            text = ""
        else:
            text = option_detail(row, self._sets().get(row.spec.name), self.info.state)
        if str(detail.content) != text:
            detail.update(text)
            table = self._table()  # its height changed with the box's: keep the cursor seen
            self.view.call_after_refresh(lambda: table.move_cursor(row=table.cursor_row))

    # -- acting ----------------------------------------------------------------------------

    def toggle_tcp_info(self) -> None:
        if not self._tcp():
            self.screen.notify("TCP_INFO is for TCP sockets only", severity="warning",
                               timeout=3)
            return
        self.tcp_view = not self.tcp_view
        self.redraw()
        self._table().focus()
        self.read(force=True)

    def edit(self) -> None:
        """Enter on a row: flip an on/off option, ask for any other value."""
        assert self.view is not None
        row = self.view.query_one(OptionTable).current()
        info = self.info
        if row is None or info is None:
            return
        why = _why_fixed(row)
        if why:
            self.screen.notify(why, severity="warning", timeout=4)
            return
        spec = row.spec
        current = self.readings.get(spec.name)
        if spec.codec == "bool" and isinstance(current, int):
            self.screen.submit("setsockopt", info.id, option=spec.name, value=int(not current))
            return
        self._ask_value(info.id, row, current)

    def _ask_value(self, sock: int, row: OptionRow, current: Any) -> None:
        spec = row.spec
        start = edit_text(spec, current)
        form = FormScreen(f"{spec.name} on socket #{sock}", [
            Field("value", f"value: {value_hint(spec)}", start,
                  check=lambda text: parse_option_value(spec, text)),
        ], submit="Set")
        self.screen.ask(form, lambda v: self.screen.submit(
            "setsockopt", sock, option=spec.name, value=v["value"]))


def _why_fixed(row: OptionRow) -> str:
    """Why this row cannot be set, or ""."""
    if not row.usable:
        return f"{row.spec.name} does not apply here: {row.note}"
    if row.spec.readonly:
        return f"{row.spec.name} is read-only: the kernel reports it, nobody sets it"
    return ""


def edit_text(spec: Any, value: Any) -> str:
    """A reading as text the value field takes back."""
    if value is None or spec.writeonly:
        return ""
    if isinstance(value, dict) and "on" in value:
        return f"{'on' if value['on'] else 'off'} {value.get('seconds', 0)}"
    if isinstance(value, bool | int | float | str):
        return str(value)
    return format_option_value(spec, value)


def value_hint(spec: Any) -> str:
    """What to type, with the range and unit when the catalog has them."""
    unit = f" {spec.unit}" if spec.unit else ""
    if spec.codec == "int" and spec.low is not None and spec.high is not None:
        return f"an integer from {spec.low} to {spec.high}{unit}"
    return value_form(spec) + (f", in {spec.unit}" if unit and spec.codec == "int" else "")
