"""The connection table: a line-API view (`ScrollView` + `render_line`, cached Strips).

It holds the rows already filtered and sorted (raw tuples: see core.conntable) and
paints only those on screen, so 60,000 rows scroll and refresh as fast as 40. Column
widths follow the rows in view (never narrower than the header), and the table
scrolls sideways when the pane is narrower than a row. The first column marks rows
that appeared (`+`) or vanished (`-`) at the last refreshes, in characters, so it
reads under NO_COLOR; the workbench's own sockets say "mine" in the Process column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from workbench.core.conn_format import COLUMNS, Context
from workbench.core.conntable import (
    CLOSE_WAIT,
    F_COOKIE,
    F_STATE,
    LISTEN,
    SYN_SENT,
    TIME_WAIT,
    Diff,
    RawRow,
)

BASE_COLUMNS = ("netid", "state", "recv-q", "send-q", "local", "peer", "process")
SHORT_HEADERS = {"netid": "Netid", "recv-q": "Recv-Q", "send-q": "Send-Q",
                 "local": "Local", "peer": "Peer"}
MIN_WIDTHS = {"netid": 5, "state": 10, "local": 15, "peer": 15}
RIGHT = frozenset({"recv-q", "send-q", "rtt", "cwnd", "retrans", "uid", "inode"})
NARROW = 72  # below this many cells, Recv-Q and Send-Q share one column


def fitted(columns: Sequence[str], width: int) -> tuple[str, ...]:
    """The columns for a table `width` cells wide: narrow ones put both queues together."""
    if width >= NARROW or "recv-q" not in columns:
        return tuple(columns)
    return tuple("queues" if c == "recv-q" else c for c in columns if c != "send-q")


@dataclass(frozen=True)
class Palette:
    base: Style
    header: Style
    cursor: Style
    new: Style
    gone: Style
    listen: Style
    waiting: Style  # states that often mean trouble when they pile up
    mine: Style

    @classmethod
    def plain(cls) -> Palette:
        """Styles without an app (the benchmark): roughly what DEFAULT_CSS gives."""
        return cls(Style(), Style(bold=True), Style(reverse=True), Style(color="green"),
                   Style(dim=True, strike=True), Style(color="cyan"), Style(color="yellow"),
                   Style(bold=True))


def layout(rows: Sequence[RawRow], columns: Sequence[str], ctx: Context) -> list[int]:
    """Each column's width for these rows: its widest cell, at least its header."""
    widths = []
    for name in columns:
        col = COLUMNS[name]
        head = len(SHORT_HEADERS.get(name, col.header))
        widest = max((len(col.cell(r, ctx)) for r in rows), default=0)
        widths.append(max(head, widest, MIN_WIDTHS.get(name, 0)))
    return widths


def _state_style(row: RawRow, palette: Palette) -> Style | None:
    state = row[F_STATE]
    if state == LISTEN:
        return palette.listen
    if state in (CLOSE_WAIT, TIME_WAIT, SYN_SENT):
        return palette.waiting
    return None


def paint_row(row: RawRow, columns: Sequence[str], widths: Sequence[int], ctx: Context,
              palette: Palette, mark: str = " ", cursor: bool = False) -> Strip:
    """One row: the mark, then each cell padded to its column, one space apart."""
    base = palette.base
    if mark == "+":
        base += palette.new
    elif mark == "-":
        base += palette.gone
    if cursor:
        base += palette.cursor
    segments = [Segment(mark + " ", base)]
    for name, width in zip(columns, widths, strict=True):
        text = COLUMNS[name].cell(row, ctx)
        text = text.rjust(width) if name in RIGHT else text.ljust(width)
        style = base
        if name == "state" and mark == " ":
            extra = _state_style(row, palette)
            if extra is not None:
                style = base + extra
        elif name == "process" and text.startswith("mine"):
            style = base + palette.mine
        segments.append(Segment(text + " ", style))
    return Strip(segments)


def paint_header(columns: Sequence[str], widths: Sequence[int], palette: Palette) -> Strip:
    style = palette.base + palette.header
    segments = [Segment("  ", style)]
    for name, width in zip(columns, widths, strict=True):
        head = SHORT_HEADERS.get(name, COLUMNS[name].header)
        segments.append(Segment((head.rjust(width) if name in RIGHT else head.ljust(width))
                                + " ", style))
    return Strip(segments)


def paint_visible(rows: Sequence[RawRow], snap: Any, changes: Diff | None = None,
                  width: int = 118, columns: Sequence[str] = BASE_COLUMNS) -> list[Strip]:
    """A screen of rows painted as the widget paints them (for the benchmark)."""
    ctx = Context(snap.owners, snap.extras, snap.ifnames)
    palette = Palette.plain()
    widths = layout(rows, columns, ctx)
    appeared = changes.appeared if changes is not None else frozenset()
    strips = [paint_header(columns, widths, palette).crop(0, width)]
    for row in rows:
        mark = "+" if row[F_COOKIE] in appeared else " "
        strips.append(paint_row(row, columns, widths, ctx, palette, mark).crop(0, width))
    return strips


class ConnTable(ScrollView, can_focus=True, inherit_bindings=False):
    """Rows of the connection table with a cursor; the pane feeds it with `show`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "up", show=False, id="conns.up",
                tooltip="move the cursor a row up"),
        Binding("down", "move(1)", "down", show=False, id="conns.down",
                tooltip="move the cursor a row down"),
        Binding("pageup", "page(-1)", "page up", show=False, id="conns.page_up",
                tooltip="move the cursor a page up"),
        Binding("pagedown", "page(1)", "page down", show=False, id="conns.page_down",
                tooltip="move the cursor a page down"),
        Binding("home", "edge(False)", "top", show=False, id="conns.top",
                tooltip="to the first row"),
        Binding("end", "edge(True)", "bottom", show=False, id="conns.bottom",
                tooltip="to the last row"),
        Binding("left", "sideways(-8)", "left", show=False, id="conns.left",
                tooltip="scroll the columns left"),
        Binding("right", "sideways(8)", "right", show=False, id="conns.right",
                tooltip="scroll the columns right"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "conn-table--header", "conn-table--cursor", "conn-table--new", "conn-table--gone",
        "conn-table--listen", "conn-table--waiting", "conn-table--mine",
    }

    DEFAULT_CSS = """
    ConnTable {
        height: 1fr;
        overflow-x: auto;
        overflow-y: auto;
        & > .conn-table--header { text-style: bold; background: $panel; }
        & > .conn-table--cursor { text-style: reverse; }
        & > .conn-table--new { color: $text-success; }
        & > .conn-table--gone { color: $text-muted; text-style: strike; }
        & > .conn-table--listen { color: $text-primary; }
        & > .conn-table--waiting { color: $text-warning; }
        & > .conn-table--mine { text-style: bold; }
    }
    """

    class CursorMoved(Message):
        """The row under the cursor changed (None: the table is empty)."""

        def __init__(self, row: RawRow | None, mark: str) -> None:
            super().__init__()
            self.row, self.mark = row, mark

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.rows: list[RawRow] = []
        self.marks: Mapping[int, str] = {}  # cookie -> "+" or "-"
        self.columns: tuple[str, ...] = BASE_COLUMNS
        self.ctx = Context()
        self.cursor = 0
        self._widths: list[int] = []
        self._shown: tuple[str, ...] = BASE_COLUMNS
        self._strips: LRUCache[tuple[Any, ...], Strip] = LRUCache(512)
        self._palette: Palette | None = None
        self._empty = "no sockets match"

    # -- feeding ------------------------------------------------------------------------

    def show(self, rows: list[RawRow], ctx: Context, marks: Mapping[int, str],
             columns: Sequence[str] | None = None, empty: str = "no sockets match") -> None:
        """New rows; the cursor stays on the same socket when it is still there."""
        selected = self.current
        self.rows, self.ctx, self.marks, self._empty = rows, ctx, marks, empty
        if columns is not None:
            self.columns = tuple(columns)
        if selected is not None:
            cookie = selected[F_COOKIE]
            near = self.cursor
            found = self._find(cookie, near)
            self.cursor = found if found is not None else min(near, max(len(rows) - 1, 0))
        self._strips.clear()
        self._widths = []
        self._relayout()
        self._announce()

    def _find(self, cookie: int, near: int) -> int | None:
        """The row of `cookie`, looked for around `near` first (rows move little)."""
        rows = self.rows
        for at in range(max(0, near - 50), min(len(rows), near + 50)):
            if rows[at][F_COOKIE] == cookie:
                return at
        for at, row in enumerate(rows):
            if row[F_COOKIE] == cookie:
                return at
        return None

    @property
    def current(self) -> RawRow | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def palette(self) -> Palette:
        if self._palette is None:
            get = self.get_component_rich_style
            names = ("header", "cursor", "new", "gone", "listen", "waiting", "mine")
            self._palette = Palette(self.rich_style,
                                    *(get(f"conn-table--{n}", partial=True) for n in names))
        return self._palette

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._palette = None
        self._strips.clear()

    # -- layout and drawing -------------------------------------------------------------

    def _visible(self) -> list[RawRow]:
        top = self.scroll_offset.y
        return self.rows[top:top + max(self.size.height, 1)]

    def _relayout(self) -> None:
        self._fit_widths()
        total = 2 + sum(w + 1 for w in self._widths)
        self.virtual_size = Size(total, len(self.rows) + 1)
        self.refresh()

    @property
    def shown_columns(self) -> tuple[str, ...]:
        return fitted(self.columns, self.scrollable_content_region.width)

    def _fit_widths(self) -> None:
        """Widths for the rows in view; they only grow while the rows stay the same."""
        self._shown = self.shown_columns
        widths = layout(self._visible(), self._shown, self.ctx)
        if len(self._widths) == len(widths):
            widths = [max(a, b) for a, b in zip(widths, self._widths, strict=True)]
        if widths != self._widths:
            self._strips.clear()  # painted with the old widths
        self._widths = widths

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if int(old) != int(new):
            self._relayout()

    def on_resize(self) -> None:
        self._widths = []
        self._strips.clear()
        self._relayout()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        palette = self.palette()
        if len(self._widths) != len(self._shown) or self._shown != self.shown_columns:
            self._fit_widths()
        if y == 0:
            strip = paint_header(self._shown, self._widths, palette)
            return strip.crop_extend(scroll_x, scroll_x + width, palette.base)
        index = scroll_y + y - 1
        if index >= len(self.rows):
            if index == 0:
                return Strip([Segment(self._empty, palette.base)]).crop_extend(
                    0, width, palette.base)
            return Strip.blank(width, palette.base)
        row = self.rows[index]
        mark = self.marks.get(row[F_COOKIE], " ")
        cursor = index == self.cursor
        key = (row, mark, cursor, scroll_x, width)
        strip = self._strips.get(key)
        if strip is None:
            strip = paint_row(row, self._shown, self._widths, self.ctx, palette, mark, cursor)
            strip = strip.crop_extend(scroll_x, scroll_x + width,
                                      palette.base + palette.cursor if cursor else palette.base)
            self._strips[key] = strip
        return strip

    # -- cursor -------------------------------------------------------------------------

    def _announce(self) -> None:
        row = self.current
        self.post_message(self.CursorMoved(row, self.marks.get(row[F_COOKIE], " ")
                                           if row is not None else " "))

    def move_to(self, index: int) -> None:
        if not self.rows:
            return
        index = max(0, min(index, len(self.rows) - 1))
        if index == self.cursor:
            return
        self.cursor = index
        page = max(self.size.height - 1, 1)
        top = self.scroll_offset.y
        if index < top:
            self.scroll_to(y=index, animate=False)
        elif index >= top + page:
            self.scroll_to(y=index - page + 1, animate=False)
        self.refresh()
        self._announce()

    def action_move(self, delta: int) -> None:
        self.move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.move_to(self.cursor + direction * max(self.size.height - 2, 1))

    def action_edge(self, last: bool) -> None:
        self.move_to(len(self.rows) - 1 if last else 0)

    def action_sideways(self, delta: int) -> None:
        self.scroll_to(x=self.scroll_offset.x + delta, animate=False)
