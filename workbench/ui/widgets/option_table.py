"""Tables of the Options pane: the options of the selected socket, and its TCP_INFO.

Columns share the width the pane has, laid out again on resize, so nothing scrolls
sideways at 80 columns: a name longer than its column is cut with "…" (the line
under the table names it in full). Rows are updated in place when only their values
change, so the cursor stays where the user put it while values refresh.
"""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.events import Resize
from textual.widgets import DataTable

from workbench.ui.panes.option_rows import OptionRow
from workbench.ui.text import fit

MIN_NAME, MAX_NAME = 12, 24
FIELD, VALUE, MIN_MEANING = 14, 17, 20  # TCP_INFO columns
MAX_VALUE = 28  # wider goes to the note: "asked 8192 (8 KiB)" rather than blank cells
NOTE = 12  # "asked 1000", "read-only", an errno: the rest goes to the value


def _cell(text: str, width: int, style: str = "") -> Text:
    return Text(fit(text, width) if width > 1 else text, style=style, no_wrap=True)


def _value(text: str, width: int) -> str:
    """A value with its gloss ("16384 (16 KiB)") loses the gloss before it is cut."""
    return text.split(" (")[0] if len(text) > width and not text.startswith("(") else text


class OptionTable(DataTable):
    """One row per option; Enter edits the one under the cursor (on/off flips)."""

    BINDINGS = [
        Binding("enter", "select_cursor", "set", show=False, id="options.set",
                tooltip="set the option under the cursor: on/off flips, others ask a value"),
        Binding("space", "select_cursor", "flip", show=False, id="options.flip",
                tooltip="the same as enter: flips an on/off option"),
    ]

    def __init__(self) -> None:
        super().__init__(id="options-table", cursor_type="row", zebra_stripes=True)
        self._rows: list[OptionRow] = []
        self._widths = (0, 0, 0)

    def _column_widths(self) -> tuple[int, int, int]:
        padding = 2 * self.cell_padding
        room = max(30, self.scrollable_content_region.width - 3 * padding - 1)
        longest = max((len(r.spec.name) for r in self._rows), default=MIN_NAME)
        name = max(MIN_NAME, min(longest, MAX_NAME, room * 40 // 100))
        value = max(6, min(MAX_VALUE, room - name - NOTE))
        return name, value, max(6, room - name - value)

    def _fill(self) -> None:
        keep = self.cursor_row
        self.clear(columns=True)
        self._widths = name, value, note = self._column_widths()
        self.add_column("option", key="name", width=name)
        self.add_column("value", key="value", width=value)
        self.add_column("set", key="note", width=note)
        for row in self._rows:
            self.add_row(*self._cells(row), key=row.spec.name)
        if self._rows:
            self.move_cursor(row=min(keep, len(self._rows) - 1))

    def _cells(self, row: OptionRow) -> tuple[Text, Text, Text]:
        name, value, note = self._widths
        dim = "" if row.usable else "dim"
        return (_cell(row.spec.name, name, dim), _cell(_value(row.value, value), value, dim),
                _cell(row.note, note, "bold" if row.changed else dim))

    def show(self, rows: list[OptionRow]) -> None:
        """New rows: the same options update their cells; a new set rebuilds."""
        same = [r.spec.name for r in rows] == [r.spec.name for r in self._rows]
        old = self._rows
        self._rows = rows
        if not same or self._column_widths() != self._widths:
            self._fill()
            return
        for before, row in zip(old, rows, strict=True):
            if before != row:
                cells = self._cells(row)
                for key, cell in zip(("name", "value", "note"), cells, strict=True):
                    self.update_cell(row.spec.name, key, cell)

    def current(self) -> OptionRow | None:
        if not self._rows or not 0 <= self.cursor_row < len(self._rows):
            return None
        return self._rows[self.cursor_row]

    def on_resize(self, event: Resize) -> None:
        if self._rows and self._column_widths() != self._widths:
            self._fill()


class TcpInfoTable(DataTable):
    """TCP_INFO of the selected TCP socket, field by field; the meaning of each field
    has a column when there is room, else the line under the table gives it."""

    def __init__(self) -> None:
        super().__init__(id="tcp-info-table", cursor_type="row", zebra_stripes=True)
        self._width = 0
        self._rows: list[tuple[str, str, str]] = []

    def _meaning_width(self) -> int:
        rest = self.scrollable_content_region.width - FIELD - VALUE - 6 * self.cell_padding - 1
        return rest if rest >= MIN_MEANING else 0

    def show(self, rows: list[tuple[str, str, str]]) -> None:
        same = [r[0] for r in rows] == [r[0] for r in self._rows]
        self._rows = rows
        if not same or self._meaning_width() != self._width:
            self._fill()
            return
        for name, value, _ in rows:
            self.update_cell(name, "value", value)

    def _fill(self) -> None:
        keep = self.cursor_row
        self.clear(columns=True)
        self._width = self._meaning_width()
        self.add_column("field", key="name", width=FIELD)
        self.add_column("value", key="value", width=VALUE)
        if self._width:
            self.add_column("meaning", key="meaning", width=self._width)
        for name, value, meaning in self._rows:
            cells = (name, value, _cell(meaning, self._width, "dim"))
            self.add_row(*cells[: 3 if self._width else 2], key=name)
        if self._rows:
            self.move_cursor(row=min(keep, len(self._rows) - 1))

    def current(self) -> str:
        """The field under the cursor, or ""."""
        if not self._rows or not 0 <= self.cursor_row < len(self._rows):
            return ""
        return self._rows[self.cursor_row][0]

    def on_resize(self, event: Resize) -> None:
        if self._rows and self._meaning_width() != self._width:
            self._fill()
