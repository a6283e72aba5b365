"""The selected socket's bytes as text, one block per chunk, direction marked.

The marker (`>` sent, `<` received) survives NO_COLOR; offsets are cumulative per
direction, like socat's from=/to=. The hex view replaces this in its own issue.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from workbench.core.payload import to_escapes
from workbench.io.capture import IN, CaptureStore, Chunk

SHOWN = 512  # bytes of one chunk shown as text; the rest is counted
RECENT = 400  # chunks shown when a socket is selected


def chunk_text(chunk: Chunk, data: bytes) -> Text:
    incoming = chunk.direction == IN
    marker, style = ("<", "cyan") if incoming else (">", "green")
    head = Text(f"{marker} {'in' if incoming else 'out'} @{chunk.offset} {chunk.size}B ",
                style=f"bold {style}")
    if chunk.peer:
        head.append(f"{chunk.peer} ", style=style)
    body = to_escapes(data[:SHOWN])
    if chunk.size > SHOWN:
        body += f" …(+{chunk.size - SHOWN} bytes)"
    return head + Text(body or "(empty)")


class DataView(RichLog):
    def __init__(self) -> None:
        super().__init__(id="data", max_lines=2000, wrap=True, markup=False, auto_scroll=True,
                         min_width=20)
        self.capture: CaptureStore | None = None
        self._shown = 0  # chunks of `capture` already written

    def show_capture(self, capture: CaptureStore | None) -> None:
        self.clear()
        self.capture = capture
        self._shown = 0
        if capture is None:
            self.write(Text("no socket selected: press n to create one", style="dim"))
            return
        self._shown = max(0, len(capture) - RECENT)
        self.catch_up()
        if not len(capture):
            self.write(Text("nothing sent or received yet", style="dim"))

    def catch_up(self) -> None:
        """Write the chunks that arrived since the last call (bounded per call)."""
        if self.capture is None:
            return
        total = len(self.capture)
        if total - self._shown > RECENT:  # a flood: skip to the recent ones
            skipped = total - RECENT - self._shown
            self.write(Text(f"… {skipped} chunks not shown", style="dim"))
            self._shown = total - RECENT
        for index in range(self._shown, total):
            chunk = self.capture.chunk(index)
            self.write(chunk_text(chunk, self.capture.log.read(chunk.pos, min(chunk.size, SHOWN))))
        self._shown = total
