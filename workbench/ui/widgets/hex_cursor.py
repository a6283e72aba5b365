"""The hex view's byte cursor and selection: moves, clicks, marks and jumps.

The cursor is (chunk, byte within it) and only ever on a kept byte of a visible chunk;
a selection runs from an anchor (direction, offset) to the cursor, within one
direction's stream. Moving the cursor away from the tail pauses following.
"""

from __future__ import annotations

from textual import events
from textual.actions import SkipAction

from workbench.core.capture_rows import DIRECTION_NAMES
from workbench.core.steps import NOT_KEPT_WHY


class HexCursor:
    """Mixin of HexView: where the cursor is, what is selected, and the keys that move them."""

    def cursor_position(self) -> tuple[int, int] | None:
        """(direction, stream offset) of the byte under the cursor."""
        if self.cursor is None:
            return None
        chunk = self.model.chunk(self.cursor[0])
        return chunk.direction, chunk.offset + self.cursor[1]

    def _cursor_range(self) -> tuple[int, int, int] | None:
        where = self.cursor_position()
        return None if where is None else (where[0], where[1], where[1] + 1)

    @property
    def selection(self) -> tuple[int, int, int] | None:
        """(direction, start, end) of the selected bytes, end exclusive."""
        where = self.cursor_position()
        if self.anchor is None or where is None:
            return None
        lo, hi = sorted((self.anchor[1], where[1]))
        return self.anchor[0], lo, hi + 1

    def select(self, direction: int, start: int, end: int) -> None:
        """Select bytes start..end-1 of a direction's stream; the cursor goes to the end."""
        if not 0 <= start < end <= self.model.totals[direction]:
            raise ValueError(f"no bytes {start}..{end} in the {DIRECTION_NAMES[direction]} "
                             f"stream ({self.model.totals[direction]} bytes)")
        if not self._go(direction, end - 1):
            raise ValueError(f"byte {end - 1} of {DIRECTION_NAMES[direction]} is filtered "
                             "out or was not kept")
        self.anchor, self._sticky = (direction, start), True
        self._changed()

    def _set_cursor(self, chunk: int | None, byte: int) -> None:
        if chunk is None:
            return
        self.cursor = (chunk, byte)
        if self.anchor is not None and self.model.chunk(chunk).direction != self.anchor[0]:
            self.anchor = None  # a selection never spans the two directions
        last = self.model.step(len(self.model), False)
        at_tail = chunk == last and byte == self.model.chunk(chunk).size - 1
        if self.following and not at_tail:
            self.set_follow(False)

    def _go(self, direction: int, offset: int) -> bool:
        i = self.model.chunk_at(direction, offset)
        if i is None or self.model.block_of(i) is None or self.model.gap(i):
            return False
        self._set_cursor(i, offset - self.model.chunk(i).offset)
        return True

    def _changed(self) -> None:
        self._strips.clear()
        self._scroll_to_cursor()
        self.refresh()
        if (where := self.cursor_position()) is not None:
            self.post_message(self.CursorMoved(*where, self.selection))

    def _scroll_to_cursor(self, center: bool = False) -> None:
        if self.cursor is not None:
            self._scroll_to_row(self.model.row_of(*self.cursor), center)

    def _scroll_to_row(self, y: int | None, center: bool = False) -> None:
        if y is None:
            return
        height = max(1, self.scrollable_content_region.height - 1)
        top = self.scroll_offset.y
        if center and not top <= y < top + height:
            self._scroll_y(max(0, y - height // 3))
        elif y < top:
            self._scroll_y(y)
        elif y >= top + height:
            self._scroll_y(y - height + 1)

    def _begin_move(self, select: bool) -> int | None:
        """Start or drop the selection for a move; the direction moves are confined to."""
        if select and self.anchor is None and (where := self.cursor_position()):
            self.anchor, self._sticky = where, False
        elif not select and not self._sticky:
            self.anchor = None
        return None if self.anchor is None else self.anchor[0]

    def action_bytes(self, delta: int, select: bool = False) -> None:
        confine = self._begin_move(select)
        if self.cursor is None:
            return
        i, j = self.cursor
        size = self.model.chunk(i).size
        if 0 <= j + delta < size:
            self._set_cursor(i, j + delta)
        elif (nxt := self.model.step(i, delta > 0, confine)) is not None:
            self._set_cursor(nxt, 0 if delta > 0 else self.model.chunk(nxt).size - 1)
        self._changed()

    def action_rows(self, delta: int, select: bool = False) -> None:
        confine = self._begin_move(select)
        if self.cursor is None:
            return
        y = self.model.row_of(*self.cursor)
        if y is None:
            return
        column = self.cursor[1] % self.shape.row_bytes
        target = self._byte_at_row(y + delta, column, delta > 0, confine)
        if target is not None:
            self._set_cursor(*target)
        self._changed()

    def action_page(self, pages: int, select: bool = False) -> None:
        self.action_rows(pages * max(1, self.scrollable_content_region.height - 2), select)

    def action_row_edge(self, end: bool, select: bool = False) -> None:
        self._begin_move(select)
        if self.cursor is None:
            return
        i, j = self.cursor
        width = self.shape.row_bytes
        first = j - j % width
        self._set_cursor(i, min(first + width, self.model.chunk(i).size) - 1 if end else first)
        self._changed()

    def action_edge(self, end: bool, select: bool = False) -> None:
        confine = self._begin_move(select)
        i = self.model.step(len(self.model) if end else -1, not end, confine)
        if i is not None:
            self._set_cursor(i, self.model.chunk(i).size - 1 if end else 0)
            self._changed()

    def _byte_at_row(self, y: int, column: int, down: bool,
                     confine: int | None) -> tuple[int, int] | None:
        """The byte at `column` of row y, or of the nearest data row past it (in the
        confined direction); None past either end."""
        heads, width = int(self.model.headers), self.shape.row_bytes
        y = min(max(y, 0), self.model.rows - 1)
        k, r = self.model.locate(y)
        i = self.model.block_chunk(k)
        chunk = self.model.chunk(i)
        good = chunk.size > 0 and not chunk.gap and (confine is None
                                                     or chunk.direction == confine)
        if good and r >= heads:
            return i, min((r - heads) * width + column, chunk.size - 1)
        if good and down:
            return i, min(column, chunk.size - 1)
        nxt = self.model.step(i, down, confine)
        if nxt is None:
            return None
        size = self.model.chunk(nxt).size
        return nxt, (min(column, size - 1) if down else (size - 1) // width * width
                     + min(column, (size - 1) % width))

    def action_mark(self) -> None:
        if self.anchor is not None:
            self.anchor = None
        elif (where := self.cursor_position()) is not None:
            self.anchor, self._sticky = where, True
        self._changed()

    def action_clear(self) -> None:
        """Stop a running search, save or copy; else clear the selection and the match;
        else let escape reach the app (cancel a call)."""
        if self.cancel_jobs():
            return
        if self.anchor is None and self.match is None:
            raise SkipAction()
        self.anchor = self.match = None
        self._changed()

    def on_click(self, event: events.Click) -> None:
        if event.y >= self.scrollable_content_region.height - 1:  # the status line
            return
        row = self._rows.get(self.scroll_offset.y + event.y)
        if row is None or row.header:
            return
        for j in range(len(row.data)):
            if any(a <= event.x < b for a, b in row.spans(j, j + 1)):
                self._begin_move(bool(event.shift))
                self._go(row.direction, row.start + j)
                self._changed()
                return

    def on_mouse_scroll_up(self) -> None:
        self.set_follow(False)


    # -- jump ----------------------------------------------------------------------------

    def jump_to(self, direction: int, offset: int) -> bool:
        """Put the cursor on byte `offset` of a direction's stream; False (and a
        one-line notice) when there is no such byte or a filter hides it."""
        total = self.model.totals[direction]
        name = DIRECTION_NAMES[direction]
        if not 0 <= offset < total:
            self._say(f"offset {offset} (0x{offset:x}) is outside the {name} stream "
                      f"({total} bytes)", severity="error")
            return False
        i = self.model.chunk_at(direction, offset)
        if i is not None and self.model.gap(i):  # show the gap's row; the cursor stays
            chunk = self.model.chunk(i)
            why = NOT_KEPT_WHY.get(self.capture.why(i), "") if self.capture else ""
            self._say(f"offset 0x{offset:x} of {name} was not kept: {chunk.size} bytes from "
                      f"0x{chunk.offset:x} ({why or 'not kept'})",
                      severity="warning")
            self.set_follow(False)
            self._scroll_to_row(self.model.row_of(i, 0), center=True)
            return False
        if not self._go(direction, offset):
            self._say(f"offset 0x{offset:x} of {name} is hidden by the filter: "
                      "D or e changes it", severity="error")
            return False
        if not self._sticky:
            self.anchor = None
        self._changed()
        self._scroll_to_cursor(center=True)
        self.post_message(self.Jumped(direction, offset))
        return True
