"""The hex view: a socket's capture as blocks of hex or text rows, drawn with the line API.

The row model lives in core.capture_rows (and capture_index, capture_search); this
widget is put together from mixins, one module each:
- hex_layout: mode, layout, headers, direction and peer filters, follow;
- hex_draw: `render_line` with its row and strip caches, and the status line;
- hex_cursor: the byte cursor, the selection, moves, clicks and jumps;
- hex_search: search, at once over a small capture, in a worker over a big one;
- hex_save: copy and save, in a worker when big (a save from the prompt always);
- hex_prompt: the jump, search and save prompts; hex_jobs: the workers.
This module holds the keys, the messages, and the feeding from the capture store.

Bytes the capture did not keep (storage fell behind a flood) show as one row saying
so; the cursor skips them, search never matches across them, a copy that touches them
says why it cannot, and a save writes the kept bytes and says what it left out.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import Worker

from workbench.core.capture_index import ChunkInfo
from workbench.core.capture_rows import CaptureRows, Row, Shape
from workbench.io.capture import CaptureStore
from workbench.ui.widgets.hex_cursor import HexCursor
from workbench.ui.widgets.hex_draw import HexDrawing
from workbench.ui.widgets.hex_jobs import HexJobs
from workbench.ui.widgets.hex_layout import FILTERS, LAYOUT_CHOICES, HexLayout
from workbench.ui.widgets.hex_paint import Palette, new_chunks, paint
from workbench.ui.widgets.hex_prompt import PROMPTS, HexPrompt, HexPrompts
from workbench.ui.widgets.hex_save import HexCopySave
from workbench.ui.widgets.hex_search import HexSearch

# Other modules (the benchmark, tests, the screen) import these from here.
__all__ = ["FILTERS", "LAYOUT_CHOICES", "POLL_SECONDS", "PROMPTS", "HexPrompt", "HexView",
           "Palette", "new_chunks", "paint"]

POLL_SECONDS = 0.2  # catch up with the store even when nobody calls catch_up()

def _binding(key: str, action: str, description: str, id: str, help: str = "") -> Binding:
    return Binding(key, action, description, show=False, id=f"hex.{id}", tooltip=help)


def _move_bindings() -> list[Binding]:
    moves = [("up", "rows(-1)", "up", "a row up"), ("down", "rows(1)", "down", "a row down"),
             ("left", "bytes(-1)", "left", "a byte back"),
             ("right", "bytes(1)", "right", "a byte on"),
             ("pageup", "page(-1)", "page_up", "a page up"),
             ("pagedown", "page(1)", "page_down", "a page down"),
             ("home", "row_edge(False)", "row_start", "to the row's first byte"),
             ("end", "row_edge(True)", "row_end", "to the row's last byte"),
             ("ctrl+home", "edge(False)", "top", "to the first byte"),
             ("ctrl+end", "edge(True)", "bottom", "to the last byte")]
    out = [_binding(key, action, name.replace("_", " "), name, f"move the cursor {where}")
           for key, action, name, where in moves]
    out += [_binding(f"shift+{key}", action.replace(")", ", True)"),
                     f"select {name.replace('_', ' ')}", f"select_{name}",
                     f"extend the selection {where} (within one direction)")
            for key, action, name, where in moves]
    return out


class HexView(HexPrompts, HexSearch, HexCopySave, HexCursor, HexLayout, HexDrawing, HexJobs,
              ScrollView, can_focus=True, inherit_bindings=False):
    """A socket's capture: one block per chunk (`<` received, `>` sent), hex or text.

    Keys, with the binding ids that keymap.json remaps:
    - arrows, pageup/pagedown, home/end move the byte cursor (hex.up, hex.down,
      hex.left, hex.right, hex.page_up, hex.page_down, hex.row_start, hex.row_end);
      ctrl+home / ctrl+end go to the first / last byte (hex.top, hex.bottom);
      a click puts the cursor on a byte.
    - shift + any move selects within one direction's stream (hex.select_up, ...);
      v starts a selection that plain moves extend, or drops it (hex.mark);
      escape stops a search, save or copy still running, else clears the
      selection and the search highlight (hex.clear), and otherwise goes on to the app.
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
    A search over a big capture, a big copy and every save from the prompt run in a
    thread worker; the status line says "searching…" or "saving…" meanwhile.

    The screen feeds it with `show_capture()` and `catch_up()` (it also polls), and
    may listen to CursorMoved, Jumped, Found, Saved and FollowChanged; with
    `own_prompts=False` it handles PromptRequested and calls `answer()`.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        *_move_bindings(),
        _binding("v", "mark", "mark", "mark",
                 "start a selection that plain moves extend, or drop it"),
        _binding("escape", "clear", "clear selection", "clear",
                 "stop a search, copy or save; else clear the selection and the match"),
        _binding("m", "mode", "mode", "mode", "show hex, text or split"),
        _binding("L", "layout", "layout", "layout",
                 "rows: auto, canonical (hexdump -C), xxd, narrow"),
        _binding("t", "headers", "headers", "headers", "chunk headers and timestamps"),
        _binding("f", "follow", "follow / pause", "follow", "follow the tail, or pause"),
        _binding("D", "direction", "direction filter", "direction",
                 "both directions, received only, sent only"),
        _binding("e", "peer", "peer filter", "peer",
                 "one peer at a time (datagram sockets)"),
        _binding("colon", "prompt('jump')", "jump to offset", "jump",
                 "jump to an offset: 0x1000, in 4096, > 0x10"),
        _binding("slash", "prompt('search')", "search", "search",
                 "search text with escapes, or hex:de ad"),
        _binding("f3", "search_again(True)", "next match", "search_next",
                 "the next match of the last search"),
        _binding("shift+f3,f15", "search_again(False)", "previous match", "search_prev",
                 "the previous match of the last search"),
        _binding("y", "copy('hex')", "copy hex", "copy_hex", "copy the selection as hex"),
        _binding("Y", "copy('text')", "copy text", "copy_text",
                 "copy the selection as text, escaped as the text view shows it"),
        _binding("C", "copy('c')", "copy C array", "copy_c",
                 "copy the selection as a C array"),
        _binding("P", "copy('python')", "copy Python bytes", "copy_python",
                 "copy the selection as a Python bytes literal"),
        _binding("w", "prompt('save')", "save raw", "save",
                 "save the selection (or the cursor's direction) raw to a file"),
        _binding("W", "prompt('save_hexdump')", "save hexdump", "save_hexdump",
                 "save the selection (or the cursor's direction) as hexdump -C text"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "hex-view--in", "hex-view--out", "hex-view--header", "hex-view--cursor",
        "hex-view--selection", "hex-view--match", "hex-view--status", "hex-view--more",
    }

    DEFAULT_CSS = """
    HexView {
        height: 1fr;
        overflow-x: hidden;
        overflow-y: scroll;  /* a scroll bar that came and went would lay the screen out */
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
                 own_prompts: bool = True, poll: float = POLL_SECONDS, fed_every: float = 0.0,
                 name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.own_prompts = own_prompts
        self._poll = poll
        # after a catch-up took chunks in, how long the poll is let off: the screen that
        # feeds the view comes again within `fed_every` (0: nobody feeds it on a cadence)
        self._let_off = max(2 * poll, fed_every + poll)
        self._took_in = 0.0  # when catch_up last found new chunks
        self.mode = "hex"
        self.layout_choice = "auto"
        self.following = True
        self.datagram = datagram
        self.capture: CaptureStore | None = None
        self.model = CaptureRows()
        self.shape = Shape("hex", "canonical", 16)
        self.squeezed = ""  # why the layout chosen gave way to narrow ("" when it did not)
        self.cursor: tuple[int, int] | None = None  # (chunk, byte within it)
        self.anchor: tuple[int, int] | None = None  # (direction, offset) where selection began
        self._sticky = False  # a `v` selection: plain moves extend it
        self.match: tuple[int, int, int] | None = None  # (direction, start, end)
        self.pattern = b""
        self._rows: LRUCache[int, Row] = LRUCache(4096)
        self._strips: LRUCache[int, Strip] = LRUCache(1024)
        self._palette: Palette | None = None
        self._width = 0
        self._jobs: dict[Worker[Any], Any] = {}  # running searches, saves, copies
        self.show_capture(capture, datagram=datagram)

    def _say(self, message: str, severity: SeverityLevel = "information",
             timeout: float | None = None) -> None:
        """A one-line notice; never markup, as patterns and paths may hold brackets."""
        self.notify(message, severity=severity, timeout=timeout, markup=False)

    # -- feeding -------------------------------------------------------------------------

    def show_capture(self, capture: CaptureStore | None, datagram: bool = False) -> None:
        """Show another socket's capture (or none); a search still running is dropped."""
        self.cancel_jobs("search", quiet=True)
        self.capture, self.datagram = capture, datagram
        self.model = CaptureRows()
        self.cursor = self.anchor = self.match = None
        self.following = True
        self._relayout()
        self.catch_up()

    def highlight(self, span: tuple[int, int, int] | None) -> None:
        """Mark bytes (direction, start, end) as a match is marked, e.g. a decoded
        field's; None clears. The cursor stays where it is."""
        self.match = span
        self._strips.clear()
        self.refresh()

    def cursor_chunk(self) -> tuple[ChunkInfo, int] | None:
        """The chunk under the cursor and the cursor's byte within it."""
        if self.cursor is None:
            return None
        return self.model.chunk(self.cursor[0]), self.cursor[1]

    def catch_up(self) -> None:
        """Take in the chunks that arrived since the last call; follow the tail if on."""
        new = None if self.capture is None else new_chunks(self.capture, len(self.model))
        if new is None:
            return
        self._took_in = time.monotonic()
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

    def poll_tick(self) -> None:
        """The view's own poll: let off while the screen's catch-ups feed it (one took
        chunks in within two periods, or a period past the screen's cadence). Under a
        flood the screen's drains then draw the view in the same frame as the header
        and the tree, where a poll of its own would draw the whole screen again in a
        frame between them."""
        if time.monotonic() - self._took_in >= self._let_off:
            self.catch_up()

    def on_mount(self) -> None:
        if self._poll > 0:
            self.set_interval(self._poll, self.poll_tick)

    def on_resize(self) -> None:
        self._relayout()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._palette = None
        self._strips.clear()

