"""The hex view: a socket's capture as blocks of hex or text rows, drawn with the line API.

Only the rows on screen are formatted (one byte-log read and one `format_rows` call per
visible block) and kept as Strips in LRU caches, so any offset of a 1 GiB capture draws
at once. The row model lives in core.capture_rows; this module adds the screen: keys,
cursor and selection, search, copy and save.

Bytes the capture did not keep (storage fell behind a flood) show as one row saying
so; the cursor skips them, search never matches across them, a copy that touches them
says why it cannot, and a save writes the kept bytes and says what it left out.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from functools import partial
from itertools import takewhile
from typing import ClassVar

from rich.segment import Segment
from textual import events
from textual.actions import SkipAction
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.scroll_view import ScrollView
from textual.strip import Strip

from workbench.core.capture_rows import (
    DIRECTION_NAMES,
    IN,
    MARKERS,
    MODES,
    CaptureRows,
    Row,
    Shape,
    ShortRead,
    choose_shape,
    copy_text,
    find,
    format_window,
    kept_spans,
    parse_jump,
    parse_pattern,
)
from workbench.core.errors import InputError
from workbench.core.hexdump import write_canonical
from workbench.io.capture import CaptureStore, NotKeptError
from workbench.ui.widgets.hex_paint import Marks, Palette, new_chunks, paint
from workbench.ui.widgets.hex_prompt import PROMPTS, HexPrompt
from workbench.ui.widgets.socket_tree import human_bytes

LAYOUT_CHOICES = ("auto", "canonical", "xxd", "narrow")
FILTERS = ("both", "in", "out")
COPY_LIMIT = 1 << 20  # bytes; terminals cap what they accept on the clipboard (OSC 52)
SAVE_BLOCK = 1 << 20
SAVE_INLINE = 8 << 20  # bytes; bigger saves from the prompt run in a thread
POLL_SECONDS = 0.2  # catch up with the store even when nobody calls catch_up()

# -- the widget --------------------------------------------------------------------------


def _binding(key: str, action: str, description: str, id: str) -> Binding:
    return Binding(key, action, description, show=False, id=f"hex.{id}")


def _move_bindings() -> list[Binding]:
    moves = [("up", "rows(-1)", "up"), ("down", "rows(1)", "down"),
             ("left", "bytes(-1)", "left"), ("right", "bytes(1)", "right"),
             ("pageup", "page(-1)", "page_up"), ("pagedown", "page(1)", "page_down"),
             ("home", "row_edge(False)", "row_start"), ("end", "row_edge(True)", "row_end"),
             ("ctrl+home", "edge(False)", "top"), ("ctrl+end", "edge(True)", "bottom")]
    out = [_binding(key, action, name.replace("_", " "), name) for key, action, name in moves]
    out += [_binding(f"shift+{key}", action.replace(")", ", True)"), f"select {name}",
                     f"select_{name}") for key, action, name in moves]
    return out


class HexView(ScrollView, can_focus=True, inherit_bindings=False):
    """A socket's capture: one block per chunk (`<` received, `>` sent), hex or text.

    Keys, with the binding ids that keymap.json remaps:
    - arrows, pageup/pagedown, home/end move the byte cursor (hex.up, hex.down,
      hex.left, hex.right, hex.page_up, hex.page_down, hex.row_start, hex.row_end);
      ctrl+home / ctrl+end go to the first / last byte (hex.top, hex.bottom);
      a click puts the cursor on a byte.
    - shift + any move selects within one direction's stream (hex.select_up, ...);
      v starts a selection that plain moves extend, or drops it (hex.mark);
      escape clears the selection and the search highlight (hex.clear), and
      otherwise goes on to the app.
    - m: hex, text or split mode (hex.mode); L: layout auto, canonical, xxd, narrow
      (hex.layout); t: chunk headers and timestamps (hex.headers).
    - f: follow the tail or pause (hex.follow); moving the cursor away pauses too.
    - D: both directions, received only, sent only (hex.direction); e: one peer
      only, cycling through the peers of a datagram socket (hex.peer).
    - colon: jump to an offset (hex.jump); slash: search text or hex (hex.search);
      f3 / shift+f3: next / previous match (hex.search_next, hex.search_prev).
    - y / Y / C / P: copy the selection as hex, text, a C array, a Python literal
      (hex.copy_hex, hex.copy_text, hex.copy_c, hex.copy_python).
    - w / W: save the selection, or the cursor's whole direction, raw or as
      `hexdump -C` text (hex.save, hex.save_hexdump).

    The screen feeds it with `show_capture()` and `catch_up()` (it also polls), and
    may listen to CursorMoved, Jumped, Found, Saved and FollowChanged; with
    `own_prompts=False` it handles PromptRequested and calls `answer()`.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        *_move_bindings(),
        _binding("v", "mark", "mark", "mark"),
        _binding("escape", "clear", "clear selection", "clear"),
        _binding("m", "mode", "mode", "mode"),
        _binding("L", "layout", "layout", "layout"),
        _binding("t", "headers", "headers", "headers"),
        _binding("f", "follow", "follow / pause", "follow"),
        _binding("D", "direction", "direction filter", "direction"),
        _binding("e", "peer", "peer filter", "peer"),
        _binding("colon", "prompt('jump')", "jump to offset", "jump"),
        _binding("slash", "prompt('search')", "search", "search"),
        _binding("f3", "search_again(True)", "next match", "search_next"),
        _binding("shift+f3,f15", "search_again(False)", "previous match", "search_prev"),
        _binding("y", "copy('hex')", "copy hex", "copy_hex"),
        _binding("Y", "copy('text')", "copy text", "copy_text"),
        _binding("C", "copy('c')", "copy C array", "copy_c"),
        _binding("P", "copy('python')", "copy Python bytes", "copy_python"),
        _binding("w", "prompt('save')", "save raw", "save"),
        _binding("W", "prompt('save_hexdump')", "save hexdump", "save_hexdump"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "hex-view--in", "hex-view--out", "hex-view--header", "hex-view--cursor",
        "hex-view--selection", "hex-view--match", "hex-view--status", "hex-view--more",
    }

    DEFAULT_CSS = """
    HexView {
        height: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-gutter: stable;
        & > .hex-view--in { color: $text-primary; }
        & > .hex-view--out { color: $text-success; }
        & > .hex-view--header { text-style: bold; }
        & > .hex-view--cursor { text-style: reverse; }
        & > .hex-view--selection { background: $primary 45%; text-style: underline; }
        & > .hex-view--match { background: $warning; color: $text; text-style: bold; }
        & > .hex-view--status { background: $panel; color: $text-muted; }
        & > .hex-view--more { color: $text-muted; }
    }
    """

    class CursorMoved(Message):
        """The cursor or the selection changed; `selection` is (direction, start, end)."""

        def __init__(self, direction: int, offset: int,
                     selection: tuple[int, int, int] | None) -> None:
            super().__init__()
            self.direction, self.offset, self.selection = direction, offset, selection

    class Jumped(Message):
        def __init__(self, direction: int, offset: int) -> None:
            super().__init__()
            self.direction, self.offset = direction, offset

    class Found(Message):
        def __init__(self, direction: int, offset: int, size: int) -> None:
            super().__init__()
            self.direction, self.offset, self.size = direction, offset, size

    class Saved(Message):
        def __init__(self, path: str, direction: int, start: int, end: int,
                     hexdump: bool) -> None:
            super().__init__()
            self.path, self.direction, self.start, self.end = path, direction, start, end
            self.hexdump = hexdump

    class FollowChanged(Message):
        def __init__(self, following: bool) -> None:
            super().__init__()
            self.following = following

    class PromptRequested(Message):
        """With own_prompts=False: ask the user, then call `answer(kind, text)`."""

        def __init__(self, kind: str, title: str, value: str) -> None:
            super().__init__()
            self.kind, self.title, self.value = kind, title, value

    def __init__(self, capture: CaptureStore | None = None, *, datagram: bool = False,
                 own_prompts: bool = True, poll: float = POLL_SECONDS,
                 name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.own_prompts = own_prompts
        self._poll = poll
        self.mode = "hex"
        self.layout_choice = "auto"
        self.following = True
        self.datagram = datagram
        self.capture: CaptureStore | None = None
        self.model = CaptureRows()
        self.shape = Shape("hex", "canonical", 16)
        self.cursor: tuple[int, int] | None = None  # (chunk, byte within it)
        self.anchor: tuple[int, int] | None = None  # (direction, offset) where selection began
        self._sticky = False  # a `v` selection: plain moves extend it
        self.match: tuple[int, int, int] | None = None  # (direction, start, end)
        self.pattern = b""
        self._rows: LRUCache[int, Row] = LRUCache(4096)
        self._strips: LRUCache[int, Strip] = LRUCache(1024)
        self._palette: Palette | None = None
        self._width = 0
        self.show_capture(capture, datagram=datagram)

    def _say(self, message: str, severity: SeverityLevel = "information",
             timeout: float | None = None) -> None:
        """A one-line notice; never markup, as patterns and paths may hold brackets."""
        self.notify(message, severity=severity, timeout=timeout, markup=False)

    # -- feeding -------------------------------------------------------------------------

    def show_capture(self, capture: CaptureStore | None, datagram: bool = False) -> None:
        """Show another socket's capture (or none)."""
        self.capture, self.datagram = capture, datagram
        self.model = CaptureRows()
        self.cursor = self.anchor = self.match = None
        self.following = True
        self._relayout()
        self.catch_up()

    def catch_up(self) -> None:
        """Take in the chunks that arrived since the last call; follow the tail if on."""
        new = None if self.capture is None else new_chunks(self.capture, len(self.model))
        if new is None:
            return
        rows = self.model.rows
        self.model.extend(new)
        self._strips.clear()  # the status line and a header may change
        self._update_size()
        if self.following:
            self._to_tail()
        elif self.cursor is None:
            self._set_cursor(self.model.step(-1, True), 0)
        if self.model.rows != rows:
            self.refresh()

    def on_mount(self) -> None:
        if self._poll > 0:
            self.set_interval(self._poll, self.catch_up)

    def on_resize(self) -> None:
        self._relayout()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._palette = None
        self._strips.clear()

    # -- layout and filters --------------------------------------------------------------

    def _content_width(self) -> int:
        return max(20, self.scrollable_content_region.width or self.size.width or 80)

    def _relayout(self) -> None:
        """Recompute the shape for the width and the rows for the filters; keep the cursor."""
        self._width = self._content_width()
        self.shape = choose_shape(self.mode, self.layout_choice, self._width)
        model = self.model
        model.configure(self.shape.row_bytes, model.headers, model.direction, model.peer)
        self._rows.clear()
        self._strips.clear()
        self._update_size()
        self._keep_cursor_visible()
        self.refresh()

    def _update_size(self) -> None:
        self.virtual_size = Size(self._width, self.model.rows + 1)  # + the status line

    def _reconfigure(self, **changes: object) -> None:
        for name, value in changes.items():  # headers, direction or peer of the model
            setattr(self.model, name, value)
        self._relayout()

    def _keep_cursor_visible(self) -> None:
        if self.cursor is not None and self.model.block_of(self.cursor[0]) is None:
            i = self.cursor[0]
            self.cursor = None
            near = self.model.step(i, True)
            self._set_cursor(self.model.step(i, False) if near is None else near, 0)
        if self.following:
            self._to_tail()
        else:
            self._scroll_to_cursor(center=True)

    @property
    def direction_filter(self) -> str:
        d = self.model.direction
        return "both" if d is None else DIRECTION_NAMES[d]

    @property
    def peer_filter(self) -> str | None:
        p = self.model.peer
        return None if p is None else self.model.peers[p]

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
        self.mode = mode
        self._relayout()

    def set_layout(self, choice: str) -> None:
        if choice not in LAYOUT_CHOICES:
            raise ValueError(f"unknown layout {choice!r}; expected one of {LAYOUT_CHOICES}")
        self.layout_choice = choice
        self._relayout()

    def set_headers(self, shown: bool) -> None:
        self._reconfigure(headers=shown)

    def set_direction_filter(self, which: str) -> None:
        if which not in FILTERS:
            raise ValueError(f"unknown filter {which!r}; expected one of {FILTERS}")
        self._reconfigure(direction=None if which == "both" else DIRECTION_NAMES.index(which))

    def set_peer_filter(self, peer: str | None) -> None:
        if peer is not None and peer not in self.model.peers:
            raise ValueError(f"no chunk from or to {peer!r}")
        self._reconfigure(peer=None if peer is None else self.model.peers.index(peer))

    def set_follow(self, following: bool) -> None:
        if following == self.following:
            return
        self.following = following
        self.post_message(self.FollowChanged(following))
        if following:
            self._to_tail()
        self._strips.clear()
        self.refresh()

    def _to_tail(self) -> None:
        last = self.model.step(len(self.model), False)
        if last is not None:
            self.cursor = (last, self.model.chunk(last).size - 1)
        self._scroll_y(self.max_scroll_y)

    def _scroll_y(self, y: int) -> None:
        if self.is_mounted:
            self.scroll_to(y=y, animate=False, immediate=True)

    # -- drawing -------------------------------------------------------------------------

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
        marks = self._marks(row)
        focus = max((b for a, b, s in marks if s is self.palette().cursor), default=-1)
        return paint(row, self.palette(), width, marks, focus)

    def _fill(self, y: int, height: int) -> Row:
        """Format the screen around row y in one go: one read per visible block."""
        top = max(0, min(y, self.scroll_offset.y))
        assert self.capture is not None
        try:
            rows = format_window(self.model, self.capture.log.read, self.shape, self.datagram,
                                 top, max(height, y - top + 1))
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
        text = " " + " · ".join(self.status_parts())
        style = self.rich_style + self.palette().status
        return Strip([Segment(text[:width], style)]).extend_cell_length(width, style)

    def status_parts(self) -> list[str]:
        """What the status line says: mode, filters, follow, cursor, selection, search."""
        shape = self.shape
        parts = [shape.mode if shape.mode == "text" else f"{shape.mode} {shape.layout}",
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
        return parts

    @property
    def not_kept(self) -> str:
        """'1.0M not kept' when the capture dropped bytes it could not store in time."""
        lost = 0 if self.capture is None else sum(self.capture.lost)
        return f"{human_bytes(lost)} not kept" if lost else ""

    # -- cursor and selection ------------------------------------------------------------

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
        if self.anchor is None and self.match is None:
            raise SkipAction()  # let escape reach the app (cancel a call)
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

    # -- view actions --------------------------------------------------------------------

    def action_mode(self) -> None:
        self.set_mode(MODES[(MODES.index(self.mode) + 1) % len(MODES)])

    def action_layout(self) -> None:
        index = LAYOUT_CHOICES.index(self.layout_choice)
        self.set_layout(LAYOUT_CHOICES[(index + 1) % len(LAYOUT_CHOICES)])

    def action_headers(self) -> None:
        self.set_headers(not self.model.headers)

    def action_follow(self) -> None:
        self.set_follow(not self.following)

    def action_direction(self) -> None:
        self.set_direction_filter(FILTERS[(FILTERS.index(self.direction_filter) + 1) % 3])

    def action_peer(self) -> None:
        peers = [None, *self.model.peers[1:]]
        if len(peers) == 1:
            self._say("no peers to filter by: datagram sockets record one per datagram",
                      severity="warning")
            return
        self.set_peer_filter(peers[(peers.index(self.peer_filter) + 1) % len(peers)])

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
            self._say(f"offset 0x{offset:x} of {name} was not kept: {chunk.size} bytes from "
                      f"0x{chunk.offset:x} (storage fell behind the stream)",
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

    # -- search --------------------------------------------------------------------------

    def search(self, pattern: bytes, forward: bool = True) -> bool:
        """Find `pattern` after (or before) the cursor, within one direction's stream and
        across chunk boundaries; move the cursor to it and highlight it."""
        if not pattern:
            self._say("nothing to search for", severity="error")
            return False
        self.pattern = pattern
        found = self._find(pattern, forward)
        if found is None:
            where = "after" if forward else "before"
            self._say(f"{pattern!r} not found {where} the cursor", severity="warning")
            self._changed()
            return False
        direction, offset = found
        self.match = (direction, offset, offset + len(pattern))
        self._go(direction, offset)
        self._changed()
        self._scroll_to_cursor(center=True)
        self.post_message(self.Found(direction, offset, len(pattern)))
        return True

    def _find(self, pattern: bytes, forward: bool) -> tuple[int, int] | None:
        """The nearest visible match in display order over the directions shown."""
        best: tuple[int, int, int] | None = None  # (chunk, direction, offset)
        shown = (0, 1) if self.model.direction is None else (self.model.direction,)
        for direction in shown:
            offset = self._find_in(direction, pattern, self._search_start(direction, forward),
                                   forward)
            if offset < 0:
                continue
            chunk = self.model.chunk_at(direction, offset)
            assert chunk is not None
            key = (chunk, direction, offset)
            if best is None or (key < best if forward else key > best):
                best = key
        return None if best is None else (best[1], best[2])

    def _search_start(self, direction: int, forward: bool) -> int:
        """Where the stream of `direction` passes the cursor in display order."""
        where = self.cursor_position()
        if where is None or self.cursor is None:
            return 0 if forward else self.model.totals[direction]
        if where[0] == direction:
            return where[1] + 1 if forward else where[1]
        nxt = self.model.step(self.cursor[0], True, direction)
        return self.model.totals[direction] if nxt is None else self.model.chunk(nxt).offset

    def _find_in(self, direction: int, pattern: bytes, start: int, forward: bool) -> int:
        assert self.capture is not None
        capture = self.capture

        def read(at: int, size: int) -> bytes:
            return capture.read(direction, at, size)

        total, gaps = self.model.totals[direction], self.model.gaps(direction)
        while (offset := find(read, total, pattern, start, forward, gaps=gaps)) >= 0:
            chunk = self.model.chunk_at(direction, offset)
            if chunk is not None and self.model.block_of(chunk) is not None:
                return offset
            start = offset + 1 if forward else offset  # in a hidden datagram: go on
        return -1

    def action_search_again(self, forward: bool) -> None:
        if not self.pattern:
            self._say("no search yet: press / first", severity="error")
            return
        self.search(self.pattern, forward)

    # -- prompts -------------------------------------------------------------------------

    def action_prompt(self, kind: str) -> None:
        title, placeholder = PROMPTS[kind]
        value = self._suggest_name(kind == "save_hexdump") if kind.startswith("save") else ""
        if not self.own_prompts:
            self.post_message(self.PromptRequested(kind, title, value))
            return

        def done(text: str | None) -> None:
            if text is not None:
                self.answer(kind, text)

        self.app.push_screen(HexPrompt(title, value, placeholder), done)

    def answer(self, kind: str, text: str) -> bool:
        """Carry out a prompt's answer: 'jump', 'search', 'save' or 'save_hexdump'."""
        try:
            if kind == "jump":
                where = self.cursor_position()
                return self.jump_to(*parse_jump(text, where[0] if where else 1))
            if kind == "search":
                return self.search(parse_pattern(text))
            return self._save_answer(text, hexdump=kind == "save_hexdump")
        except InputError as exc:
            self._say(str(exc), severity="error")
            return False

    def _save_answer(self, path: str, hexdump: bool) -> bool:
        """Save what the prompt was for; a big save runs in a thread, the UI stays live."""
        target = self._target()
        if target is None or target[2] - target[1] <= SAVE_INLINE:
            return self.save(path, hexdump=hexdump) >= 0
        self.run_worker(partial(self.save, path, *target, hexdump=hexdump), thread=True,
                        name="hex-save", exit_on_error=False)
        return True

    def _suggest_name(self, hexdump: bool) -> str:
        target = self._target()
        if target is None:
            return ""
        direction, start, end = target
        return f"capture-{DIRECTION_NAMES[direction]}-{start}-{end}" + (
            ".hexdump.txt" if hexdump else ".bin")

    # -- copy and save -------------------------------------------------------------------

    def selected_bytes(self) -> bytes | None:
        """The selection's bytes; NotKeptError if it touches bytes that were not kept."""
        sel = self.selection
        if sel is None or self.capture is None:
            return None
        return self.capture.read(sel[0], sel[1], sel[2] - sel[1])

    def action_copy(self, fmt: str) -> None:
        self.copy_selection(fmt)

    def copy_selection(self, fmt: str) -> str | None:
        """Copy the selection as hex, text, a C array or a Python literal."""
        sel = self.selection
        if sel is None:
            self._say("nothing selected: v marks, shift+arrows extend", severity="error")
            return None
        if sel[2] - sel[1] > COPY_LIMIT:
            self._say(f"{sel[2] - sel[1]} bytes is too much to copy: save them with w",
                      severity="error")
            return None
        try:
            data = self.selected_bytes() or b""
        except NotKeptError as exc:
            self._say(f"cannot copy: {exc}", severity="error")
            return None
        text = copy_text(data, fmt)
        self.app.copy_to_clipboard(text)
        _local_clipboard(text)
        self._say(f"copied {len(data)} bytes as {fmt}", timeout=3)
        return text

    def _target(self) -> tuple[int, int, int] | None:
        """What a save writes: the selection, else the whole stream of the cursor."""
        if (sel := self.selection) is not None:
            return sel
        where = self.cursor_position()
        if where is None:
            return None
        return where[0], 0, self.model.totals[where[0]]

    def save(self, path: str, direction: int | None = None, start: int = 0,
             end: int | None = None, hexdump: bool = False) -> int:
        """Write stream bytes to a file, raw or as `hexdump -C` text, streaming; returns
        bytes written or -1. Without a direction: the selection, else the cursor's
        whole direction. Bytes that were not kept are left out (a hexdump keeps the true
        offsets, a raw file is that much shorter) and the notice says so."""
        if direction is None:
            target = self._target()
            if target is None:
                self._say("nothing to save yet", severity="error")
                return -1
            direction, start, end = target
        end = self.model.totals[direction] if end is None else end
        path = os.path.expanduser(path.strip())
        if not path:
            self._say("no file name given", severity="error")
            return -1
        name = DIRECTION_NAMES[direction]
        stretches = kept_spans(self.model.gaps(direction), end, start, True)
        spans = [(max(lo, start), min(hi, end))
                 for lo, hi in takewhile(lambda span: span[0] < end, stretches)]
        kept = sum(hi - lo for lo, hi in spans)
        if not kept and end > start:
            self._say(f"nothing to save: the {end - start} bytes of {name} from 0x{start:x} "
                      "were not kept (storage fell behind the stream)", severity="error")
            return -1
        try:
            written = self._write(path, direction, spans, hexdump)
        except OSError as exc:
            self._say(f"cannot save to {path}: {exc.strerror or exc}", severity="error")
            return -1
        if kept < end - start:
            self._say(f"saved {kept} of {end - start} bytes of {name} to {path}: "
                      f"{end - start - kept} bytes were not kept and are left out",
                      severity="warning", timeout=8)
        else:
            self._say(f"saved {kept} bytes of {name} to {path}", timeout=4)
        self.post_message(self.Saved(path, direction, start, end, hexdump))
        return written

    def _write(self, path: str, direction: int, spans: list[tuple[int, int]],
               hexdump: bool) -> int:
        """The kept stretches one after the other; as hexdumps, each at its own offset."""
        with open(path, "wb") as out:
            if hexdump:
                return sum(write_canonical(self._stream(direction, lo, hi), out, lo)
                           for lo, hi in spans)
            return sum(out.write(piece) for lo, hi in spans
                       for piece in self._stream(direction, lo, hi))

    def _stream(self, direction: int, start: int, end: int) -> Iterator[bytes]:
        assert self.capture is not None
        for at in range(start, end, SAVE_BLOCK):
            yield self.capture.read(direction, at, min(SAVE_BLOCK, end - at))


def _local_clipboard(text: str) -> None:
    """Also the local clipboard, when pyperclip is there and works (not over SSH)."""
    try:
        import pyperclip  # type: ignore[import-not-found]
    except ImportError:
        return
    with contextlib.suppress(Exception):  # no clipboard tool, no display: ignore
        pyperclip.copy(text)
