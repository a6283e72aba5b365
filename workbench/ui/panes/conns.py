"""The Conns pane: the machine's connection table, live, with the workbench's own sockets
marked "mine", states explained and a summary line.

The pane pulls: while its tab is shown and not paused, a thread worker dumps the table
(netlink), scans owners when they are stale, filters, sorts and diffs, and hands the
result back to the UI's loop, which only sets the rows of the line-API table. A change
of filter or sort while paused works on the last dump, in the worker too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Label, Static, TabbedContent

from workbench.core.conn_filter import ConnFilter, parse_filter
from workbench.core.conn_format import NEEDS_INFO, Context, render
from workbench.core.conn_parse import Parsed
from workbench.core.conn_rows import view
from workbench.core.conn_states import explain
from workbench.core.conn_summary import TROUBLE, Summary, summarize
from workbench.core.conn_trouble import pileups
from workbench.core.conntable import F_COOKIE, RawRow, cookies, diff, sort_rows
from workbench.core.errors import InputError
from workbench.io.conns.source import WANT_INFO, WANT_SKMEM, ConnSource, Snapshot
from workbench.io.conns.source import default_source as netlink_or_psutil
from workbench.ui.panes import PaneController
from workbench.ui.widgets.conn_paste import PasteBox
from workbench.ui.widgets.conn_table import BASE_COLUMNS, ConnTable
from workbench.ui.widgets.hex_save import local_clipboard

if TYPE_CHECKING:
    from workbench.ui.screens.main import MainScreen

INTERVALS = (0.5, 1.0, 2.0, 5.0, 10.0)
MARK_SECONDS = 3.0  # how long a row that appeared or vanished stays marked
SORTS = ("", "netid", "state", "recv-q", "send-q", "local", "peer", "process")
EXTRA_COLUMNS: tuple[tuple[str, ...], ...] = (
    (), ("timer", "uid", "inode"), ("rtt", "cwnd", "retrans", "timer"), ("skmem",))


@dataclass
class Settings:
    """What the user chose; copied into each job so the worker never reads widgets."""

    flt: ConnFilter = field(default_factory=ConnFilter)
    sort: str = ""
    reverse: bool = False
    extras: int = 0  # index into EXTRA_COLUMNS

    @property
    def columns(self) -> tuple[str, ...]:
        return (*BASE_COLUMNS, *EXTRA_COLUMNS[self.extras])

    @property
    def want(self) -> int:
        cols = set(EXTRA_COLUMNS[self.extras])
        return (WANT_INFO if cols & NEEDS_INFO else 0) | (
            WANT_SKMEM if "skmem" in cols else 0)


@dataclass
class Result:
    snap: Snapshot
    rows: list[RawRow]
    marks: dict[int, str]
    summary: Summary
    settings: Settings
    trouble: list[str] = field(default_factory=list)  # pile-ups spotted (conn_trouble)


class ConnsView(Vertical):
    """The pane's widgets and keys; its controller ticks it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash,f", "focus_filter", "filter", id="conns.filter",
                tooltip="type filter words: tcp udp unix v6 listen estab :8080 10.0.0.0/8 "
                        "proc:NAME mine"),
        Binding("space", "pause", "pause", id="conns.pause",
                tooltip="pause or resume refreshing"),
        Binding("plus,equals_sign", "interval(-1)", "faster", id="conns.faster", show=False,
                tooltip="refresh more often"),
        Binding("minus", "interval(1)", "slower", id="conns.slower", show=False,
                tooltip="refresh less often"),
        Binding("greater_than_sign", "sort(1)", "sort", id="conns.sort_next",
                tooltip="sort by the next column"),
        Binding("less_than_sign", "sort(-1)", "sort previous", id="conns.sort_previous",
                show=False,
                tooltip="sort by the previous column"),
        Binding("R", "invert", "reverse sort", id="conns.invert", show=False,
                tooltip="sort the other way round"),
        Binding("e", "extras", "columns", id="conns.columns", show=False,
                tooltip="more columns: timer, uid, inode; rtt, cwnd, retrans; skmem"),
        Binding("y", "copy(False)", "copy row", id="conns.copy_row", show=False,
                tooltip="copy the row under the cursor as ss prints it"),
        Binding("Y", "copy(True)", "copy table", id="conns.copy_table", show=False,
                tooltip="copy every row shown (the filter applied) as ss prints them"),
        Binding("P", "paste", "paste", id="conns.paste", show=False,
                tooltip="show pasted ss or netstat output instead of this machine's table; "
                        "again: back to the live table"),
    ]

    def __init__(self, pane: ConnsPane) -> None:
        super().__init__(id="conns-pane")
        self.pane = pane

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter: tcp listen :8080 10.0.0.0/8 proc:NAME mine "
                                "(/ or f)", id="conns-filter")
        yield Label("", id="conns-status")
        yield ConnTable(id="conns-table")
        yield Static("", id="conns-explain")
        yield Label("", id="conns-summary")
        yield Label("", id="conns-news")

    @on(Input.Submitted, "#conns-filter")
    def _submitted(self, event: Input.Submitted) -> None:
        self.pane.set_filter(event.value)
        if self.pane.filter_error is None:
            self.query_one(ConnTable).focus()

    @on(Input.Changed, "#conns-filter")
    def _changed(self, event: Input.Changed) -> None:
        self.pane.set_filter(event.value, quiet=True)

    @on(ConnTable.CursorMoved)
    def _moved(self, event: ConnTable.CursorMoved) -> None:
        self.pane.explain_row(event.row, event.mark)

    def action_focus_filter(self) -> None:
        self.query_one("#conns-filter", Input).focus()

    def action_pause(self) -> None:
        self.pane.toggle_pause()

    def action_interval(self, step: int) -> None:
        self.pane.step_interval(step)

    def action_sort(self, step: int) -> None:
        self.pane.step_sort(step)

    def action_invert(self) -> None:
        self.pane.invert_sort()

    def action_extras(self) -> None:
        self.pane.step_extras()

    def action_copy(self, whole: bool) -> None:
        self.pane.copy(whole)

    def action_paste(self) -> None:
        if self.pane.saved is not None:
            self.pane.show_saved(None)
        else:
            self.app.push_screen(PasteBox(), self.pane.show_saved)


class ConnsPane(PaneController):
    """The controller: settings, the refresh job, and what the widgets show."""

    source_factory: Callable[[], ConnSource] = staticmethod(netlink_or_psutil)

    def __init__(self, screen: MainScreen) -> None:
        super().__init__(screen)
        self.settings = Settings()
        self.interval = 2.0
        self.paused = False
        self.filter_error: str | None = None
        self.result: Result | None = None
        self.refreshes = 0
        self._source: ConnSource | None = None
        self._busy = False
        self._again = False
        self._due = 0.0
        self._marks: dict[int, tuple[str, float]] = {}  # cookie -> (mark, until)
        self._gone: dict[int, tuple[RawRow, float]] = {}  # vanished rows, still shown
        # the last table fetched and its cookies: the next refresh diffs against them
        self._cookies: tuple[list[RawRow] | None, set[int]] = (None, set())
        self._baseline: dict[str, int] | None = None  # trouble counters when first shown
        self.saved: Snapshot | None = None  # pasted output shown instead of the live table

    def compose(self) -> ComposeResult:
        yield ConnsView(self)

    # -- when to refresh ------------------------------------------------------------------

    def shown(self) -> bool:
        try:
            return self.screen.query_one("#tabs", TabbedContent).active == "conns"
        except Exception:  # not composed yet, or going away
            return False

    def on_shown(self) -> None:
        """The tab was chosen: the table takes the keys, and a refresh starts now."""
        self.screen.query_one(ConnTable).focus()
        if not self.paused:
            self.refresh(fetch=True)

    def on_tick(self) -> None:
        if self.saved is not None or self.paused or not self.shown() or \
                time.monotonic() < self._due:
            return
        self.refresh(fetch=True)

    def refresh(self, fetch: bool = True) -> None:
        """Start a job (dump, or only re-filter the last dump); one at a time."""
        if self._busy:
            self._again = True
            return
        if not fetch and self.result is None:
            return
        self._busy = True
        self._due = time.monotonic() + self.interval
        mine = frozenset(i.inode for i in self.screen.ws.sockets() if i.inode)
        self._job(fetch, Settings(self.settings.flt, self.settings.sort,
                                  self.settings.reverse, self.settings.extras), mine)

    def _job(self, fetch: bool, settings: Settings, mine: frozenset[int]) -> None:
        self.screen.run_worker(lambda: self._work(fetch, settings, mine), thread=True,
                               exit_on_error=False, group="conns")

    def _work(self, fetch: bool, settings: Settings, mine: frozenset[int]) -> None:
        """In the worker thread; hands its result to the UI's loop, then rescans the
        owners if they are stale (slow on a big table: after the rows are shown)."""
        started = time.monotonic()
        try:
            result = self._compute(fetch, settings, mine)
        except Exception as exc:  # a dump that failed is shown, never a crash
            self.screen.app.call_from_thread(self._failed, exc)
            return
        took = time.monotonic() - started
        self.screen.app.call_from_thread(self._show, result, mine, took)
        source = self._source
        if fetch and self.saved is None and source is not None and source.scan_owners():
            self.screen.app.call_from_thread(self._owners_ready)

    def _compute(self, fetch: bool, settings: Settings, mine: frozenset[int]) -> Result:
        """Off the UI's loop: dump, owners, filter, marks, sort, summary."""
        last = self.result
        if self.saved is not None:
            snap, summary = self.saved, summarize(self.saved.rows)
            last = None  # no marks: nothing refreshes
        elif fetch or last is None:
            if self._source is None:
                self._source = self.source_factory()
            snap = self._source.fetch(want=settings.want, owners=True, scan=False)
            time.sleep(0)  # let the UI's loop in between the steps of a big table
            summary = summarize(snap.rows, *self._source.counters())
        else:
            snap, summary = last.snap, last.summary
        marks = self._update_marks(last.snap.rows if last and fetch else None, snap.rows)
        time.sleep(0)
        rows = settings.flt.apply(snap.rows, snap.owners, mine)
        gone = [r for r, _ in self._gone.values()]
        if gone:
            rows = rows + settings.flt.apply(gone, snap.owners, mine)
        time.sleep(0)
        rows = sort_rows(rows, settings.sort, settings.reverse, snap.owners)
        trouble = pileups(snap.rows, summary.tcp_states, snap.owners, summary.port_range)
        return Result(snap, rows, marks, summary, settings, trouble)

    def _update_marks(self, before: list[RawRow] | None, after: list[RawRow]
                      ) -> dict[int, str]:
        now = time.monotonic()
        table, known = self._cookies
        if table is not after:  # kept with its table: the next refresh's "before"
            self._cookies = (after, cookies(after))
        if before is not None:
            changes = diff(before, after, known if table is before else None,
                           self._cookies[1])
            until = now + MARK_SECONDS
            for cookie in changes.appeared:
                self._marks[cookie] = ("+", until)
            for row in changes.vanished:
                self._gone[row[F_COOKIE]] = (row, until)
                self._marks[row[F_COOKIE]] = ("-", until)
        self._marks = {c: m for c, m in self._marks.items() if m[1] > now}
        self._gone = {c: g for c, g in self._gone.items() if g[1] > now}
        return {c: m for c, (m, _) in self._marks.items()}

    # -- on the UI's loop -------------------------------------------------------------------

    def _owners_ready(self) -> None:
        """A rescan of the owners ended: show them with the next dump, now."""
        self._due = 0.0

    def _show(self, result: Result, mine: frozenset[int], took: float) -> None:
        self._busy = False
        # a big table takes a while to refresh: never spend more than a fifth of the time
        self._due = max(self._due, time.monotonic() + 4 * took)
        self.result = result
        self.refreshes += 1
        snap = result.snap
        table = self.screen.query_one(ConnTable)
        empty = "no sockets match the filter" if not result.settings.flt.empty else "no sockets"
        table.show(result.rows, Context(snap.owners, snap.extras, snap.ifnames, mine),
                   result.marks, result.settings.columns, empty)
        self._status()
        self.screen.query_one("#conns-summary", Label).update(result.summary.line())
        news = self.screen.query_one("#conns-news", Label)
        text = self._news(result)
        news.update(text)
        news.display = bool(text)
        if self._again:
            self._again = False
            self.refresh(fetch=False)

    def _failed(self, exc: Exception) -> None:
        self._busy = False
        self.paused = True
        self.screen.query_one("#conns-status", Label).update(
            f"cannot read the socket table: {exc}; paused (space tries again)")

    def _news(self, result: Result) -> str:
        """Pile-ups spotted in the table, then trouble counters (ListenOverflows, …) that
        rose since the pane first looked: they count from boot, so only a rise is news."""
        counters = result.summary.trouble
        if self._baseline is None:
            self._baseline = dict(counters)
        rises = {k: v - self._baseline.get(k, 0) for k, v in counters.items()
                 if v > self._baseline.get(k, 0)}
        parts = list(result.trouble)
        if rises:
            first, *rest = rises
            parts.append(f"since opened: {first} +{rises[first]} ({TROUBLE[first]})"
                         + "".join(f", {k} +{rises[k]}" for k in rest))
        return "; ".join(parts)

    def _status(self) -> None:
        result = self.result
        shown = len(result.rows) if result else 0
        total = len(result.snap.rows) if result else 0
        s = self.settings
        parts = [f"{shown} of {total}" if not s.flt.empty else f"{total} sockets"]
        parts.append("paused" if self.paused else f"every {self.interval:g}s")
        sort = s.sort or "kernel order"
        parts.append(f"sort {sort}{' descending' if s.reverse else ''}")
        if self.saved is not None:
            parts[1:2] = [f"{self.saved.source} (P: back to live)"]
        elif result is not None and result.snap.source != "netlink":
            parts.append(f"via {result.snap.source}")
        if self.filter_error:
            parts = [self.filter_error]
        self.screen.query_one("#conns-status", Label).update(" · ".join(parts))

    def explain_row(self, row: RawRow | None, mark: str) -> None:
        box = self.screen.query_one("#conns-explain", Static)
        if row is None or self.result is None:
            box.update("")
            return
        table = self.screen.query_one(ConnTable)
        ctx = table.ctx
        box.update("\n".join(explain(view(row, ctx.owners, ctx.mine, ctx.extras, ctx.ifnames),
                                     mark)))

    # -- what the keys change -------------------------------------------------------------

    def set_filter(self, text: str, quiet: bool = False) -> None:
        try:
            flt = parse_filter(text)
        except InputError as exc:
            self.filter_error = str(exc)
            if not quiet:
                self.screen.notify(str(exc), severity="warning", timeout=5)
            self._status()
            return
        self.filter_error = None
        self.settings.flt = flt
        self.refresh(fetch=False)
        self._status()

    def copy(self, whole: bool) -> None:
        """The row under the cursor, or every row shown, as text like ss (OSC 52, and the
        local clipboard where there is one); a big table is rendered in a worker."""
        table = self.screen.query_one(ConnTable)
        rows = list(table.rows) if whole else [r for r in (table.current,) if r is not None]
        if not rows:
            self.screen.notify("nothing to copy: no row is shown", severity="warning")
            return
        columns = [c for c in table.columns if c != "process"] + ["process"]
        ctx = table.ctx

        def work() -> None:
            text = "\n".join(render(rows, columns, ctx, header=whole)) + "\n"
            local_clipboard(text)
            self.screen.app.call_from_thread(self._copied, text, len(rows))

        self.screen.run_worker(work, thread=True, exit_on_error=False, group="conns-copy")

    def _copied(self, text: str, count: int) -> None:
        self.screen.app.copy_to_clipboard(text)
        self.screen.notify(f"copied {count} row{'s' if count != 1 else ''} as ss prints them",
                           timeout=3)

    def show_saved(self, parsed: Parsed | None) -> None:
        """Show pasted output (from the paste box), or None: back to the live table."""
        if parsed is None and self.saved is None:
            return  # the paste box was cancelled
        self.saved = None if parsed is None else Snapshot(
            parsed.rows, 0.0, 0.0, {}, parsed.owners, parsed.ifnames,
            f"pasted {parsed.tool} output")
        self.result = None  # a table of another origin: no marks against it
        self._marks, self._gone = {}, {}
        self.refresh(fetch=True)
        self._status()

    def toggle_pause(self) -> None:
        self.paused = not self.paused
        if not self.paused:
            self._due = 0.0
        self._status()

    def step_interval(self, step: int) -> None:
        at = INTERVALS.index(self.interval) if self.interval in INTERVALS else 2
        self.interval = INTERVALS[max(0, min(len(INTERVALS) - 1, at + step))]
        self._due = min(self._due, time.monotonic() + self.interval)
        self._status()

    def step_sort(self, step: int) -> None:
        at = SORTS.index(self.settings.sort)
        self.settings.sort = SORTS[(at + step) % len(SORTS)]
        self.refresh(fetch=False)
        self._status()

    def invert_sort(self) -> None:
        self.settings.reverse = not self.settings.reverse
        self.refresh(fetch=False)
        self._status()

    def step_extras(self) -> None:
        self.settings.extras = (self.settings.extras + 1) % len(EXTRA_COLUMNS)
        self.refresh(fetch=True)  # TCP_INFO and skmem are asked of the kernel only now
        self._status()
