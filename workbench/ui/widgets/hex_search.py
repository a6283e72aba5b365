"""Searching the hex view: a text or hex pattern in the streams shown, from the cursor on.

Within one direction's stream and across chunk boundaries; bytes that were not kept
are never read and no match spans them. A search over a small capture is done at
once. Over a big one (more than SEARCH_INLINE bytes in the directions shown) it runs
in a thread worker on a snapshot of the chunk index, reading through the store's
public `read`: the status line says "searching…", keys keep working, a new search
supersedes it and escape stops it.
"""

from __future__ import annotations

from workbench.core.capture_rows import DIRECTION_NAMES, IN, OUT, StreamReader, nearest_match
from workbench.io.capture import CaptureStore
from workbench.ui.widgets.hex_jobs import stop_if_cancelled

SEARCH_INLINE = 1 << 20  # bytes; a search over more runs in a thread


def stream_reader(capture: CaptureStore) -> StreamReader:
    """The store's stream reads, stopping between windows once the job is cancelled."""

    def read(direction: int, offset: int, size: int) -> bytes:
        stop_if_cancelled()
        return capture.read(direction, offset, size)

    return read


class HexSearch:
    """Mixin of HexView: `search` and the keys that repeat it."""

    def search(self, pattern: bytes, forward: bool = True) -> bool:
        """Find `pattern` after (or before) the cursor, move the cursor to it and
        highlight it; False (and a notice) when there is none. Over a big capture the
        search runs in a worker and this says True once it started: the Found message,
        or a notice, tells how it ended."""
        if not pattern:
            self._say("nothing to search for", severity="error")
            return False
        self.pattern = pattern
        capture = self.capture
        if capture is None:
            return self._found(capture, pattern, forward, None)
        shown = (IN, OUT) if self.model.direction is None else (self.model.direction,)
        starts = {direction: self._search_start(direction, forward) for direction in shown}
        index, read = self.model.snapshot(), stream_reader(capture)

        def work() -> tuple[int, int] | None:
            return nearest_match(index, read, pattern, starts, forward)

        if sum(index.totals[direction] for direction in shown) <= SEARCH_INLINE:
            return self._found(capture, pattern, forward, work())
        self._start_job("search", work, lambda found: self._found(capture, pattern, forward,
                                                                  found))
        return True

    def _found(self, capture: CaptureStore | None, pattern: bytes, forward: bool,
               found: tuple[int, int] | None) -> bool:
        """Show a search's end: the match, or a notice that there is none."""
        if capture is not self.capture:
            return False  # another socket's by now
        if found is None:
            where = "after" if forward else "before"
            self._say(f"{pattern!r} not found {where} the cursor", severity="warning")
            self._changed()
            return False
        direction, offset = found
        self.match = (direction, offset, offset + len(pattern))
        if not self._go(direction, offset):  # the filters changed while a worker searched
            self._say(f"{pattern!r} found at 0x{offset:x} of {DIRECTION_NAMES[direction]}, "
                      "which the filter now hides: D or e changes it", severity="warning")
        self._changed()
        self._scroll_to_cursor(center=True)
        self.post_message(self.Found(direction, offset, len(pattern)))
        return True

    def _search_start(self, direction: int, forward: bool) -> int:
        """Where the stream of `direction` passes the cursor in display order."""
        where = self.cursor_position()
        if where is None or self.cursor is None:
            return 0 if forward else self.model.totals[direction]
        if where[0] == direction:
            return where[1] + 1 if forward else where[1]
        nxt = self.model.step(self.cursor[0], True, direction)
        return self.model.totals[direction] if nxt is None else self.model.chunk(nxt).offset

    def action_search_again(self, forward: bool) -> None:
        if not self.pattern:
            self._say("no search yet: press / first", severity="error")
            return
        self.search(self.pattern, forward)
