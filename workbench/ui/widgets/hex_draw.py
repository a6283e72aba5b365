"""Drawing the hex view: rows as Strips through the line API, and the status line.

Only the rows on screen are formatted, one byte-log read and one `format_window` call
per screen, and kept in LRU caches (rows, and strips with their marks), so any offset
of a 1 GiB capture draws at once. Reads for the screen stay on the UI thread: they
are small and the byte log answers them from memory or one pread.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.strip import Strip

from workbench.core.capture_rows import IN, MARKERS, Row, ShortRead, format_window
from workbench.ui.widgets.hex_paint import Marks, Palette, paint
from workbench.ui.widgets.socket_tree import human_bytes


class HexDrawing:
    """Mixin of HexView: `render_line` and what it draws with."""

    def render_line(self, y: int) -> Strip:
        width = self._width
        height = self.scrollable_content_region.height
        if y == height - 1:
            return self._status_strip(width)
        row_y = self.scroll_offset.y + y
        strip = self._strips.get(row_y)
        if strip is None:
            strip = self._row_strip(row_y, width, height)
            self._strips[row_y] = strip
        return strip

    def palette(self) -> Palette:
        if self._palette is None:
            get = self.get_component_rich_style
            names = ("in", "out", "header", "cursor", "selection", "match", "status", "more")
            styles = [get(f"hex-view--{n}", partial=True) for n in names]
            self._palette = Palette(self.rich_style, (styles[0], styles[1]), *styles[2:])
        return self._palette

    def _row_strip(self, y: int, width: int, height: int) -> Strip:
        if y >= self.model.rows:
            if y or self.model.rows:
                return Strip.blank(width, self.palette().base)
            return self._empty_strip(width)
        row = self._rows.get(y)
        if row is None:
            row = self._fill(y, height)
        return paint(row, self.palette(), width, self._marks(row))

    def _fill(self, y: int, height: int) -> Row:
        """Format the screen around row y in one go: one read per visible block."""
        top = max(0, min(y, self.scroll_offset.y))
        assert self.capture is not None
        try:
            rows = format_window(self.model, self.capture.read_log, self.shape, self.datagram,
                                 top, max(height, y - top + 1), self.capture.why)
        except ShortRead:  # try again shortly; nothing cached
            self.set_timer(0.1, self._redraw)
            return Row(-1, IN, "< …")
        except (OSError, ValueError) as exc:  # the log is closed: the app is going away
            return Row(-1, IN, f"< capture unavailable: {exc}")
        for at, row in enumerate(rows, top):
            self._rows[at] = row
        return rows[y - top]

    def _redraw(self) -> None:
        self._strips.clear()
        self.refresh()

    def _empty_strip(self, width: int) -> Strip:
        text = ("no socket selected: press n to create one" if self.capture is None
                else "nothing sent or received yet")
        palette = self.palette()
        strip = Strip([Segment(text, palette.base + palette.more)])
        return strip.extend_cell_length(width, palette.base)

    def _marks(self, row: Row) -> Marks:
        if row.header:
            return []
        palette, marks = self.palette(), []
        if row.gap:  # a selection across the gap: mark the row that says so
            sel = self.selection
            if sel and sel[0] == row.direction and sel[1] < row.start + row.missing \
                    and row.start < sel[2]:
                marks.append((2, len(row.text), palette.selection))
            return marks
        ranges = [(self.selection, palette.selection), (self.match, palette.match),
                  (self._cursor_range(), palette.cursor)]
        for found, style in ranges:
            if found is None or found[0] != row.direction:
                continue
            j0 = max(found[1], row.start) - row.start
            j1 = min(found[2], row.start + len(row.data)) - row.start
            marks += [(a, b, style) for a, b in row.spans(j0, j1)]
        return marks

    def _status_strip(self, width: int) -> Strip:
        parts = self.status_parts()
        text = " " + " · ".join(parts)
        if len(text) > width and self.squeezed:  # the reason goes before anything else
            text = " " + " · ".join([parts[0].split(" (")[0], *parts[1:]])
        if len(text) > width:
            text = text[: width - 1] + "…"
        style = self.rich_style + self.palette().status
        return Strip([Segment(text, style)]).extend_cell_length(width, style)

    def status_parts(self) -> list[str]:
        """What the status line says: mode, filters, follow, cursor, selection, search."""
        shape = self.shape
        squeezed = f" ({self.squeezed})" if self.squeezed else ""
        parts = [shape.mode if shape.mode == "text" else f"{shape.mode} {shape.layout}{squeezed}",
                 self.direction_filter + (f" {self.peer_filter}" if self.peer_filter else ""),
                 "follow" if self.following else "paused"]
        if lost := self.not_kept:
            parts.append(lost)
        if (where := self.cursor_position()) is not None:
            parts.append(f"{MARKERS[where[0]]} 0x{where[1]:x}")
        if (sel := self.selection) is not None:
            parts.append(f"sel {sel[2] - sel[1]} B")
        if self.pattern:
            parts.append(f"/{self.pattern[:16]!r}"[:24])
        return parts + self.busy

    @property
    def not_kept(self) -> str:
        """'1.0M not kept' when the capture dropped bytes it could not store in time."""
        lost = 0 if self.capture is None else sum(self.capture.lost)
        return f"{human_bytes(lost)} not kept" if lost else ""
