"""Painting hex view rows as Strips, and reading new chunks from a capture store."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from workbench.core.capture_rows import NewChunks, Row
from workbench.io.capture import CaptureStore

Marks = list[tuple[int, int, Style]]


# -- reading the store -------------------------------------------------------------------


def new_chunks(store: CaptureStore, start: int) -> NewChunks | None:
    """The store's index from chunk `start` on (copies, safe on any thread)."""
    return store.index_since(start)


# -- painting ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Palette:
    base: Style  # the widget's own colours, under everything
    direction: tuple[Style, Style]  # received, sent
    header: Style
    cursor: Style
    selection: Style
    match: Style
    status: Style
    more: Style

    @classmethod
    def plain(cls) -> Palette:
        """Styles without an app (the benchmark): what DEFAULT_CSS gives, roughly."""
        return cls(Style(), (Style(color="cyan"), Style(color="green")), Style(bold=True),
                   Style(reverse=True), Style(underline=True, bgcolor="blue"),
                   Style(bold=True, bgcolor="yellow"), Style(dim=True), Style(dim=True))


def paint(row: Row, palette: Palette, width: int, marks: Marks, focus: int = -1) -> Strip:
    """A row as a Strip `width` cells wide; a longer row is cut with "»", or shifted
    with "«" so that column `focus` (the cursor) stays in view. Rows are ASCII (and
    "│«»"): one cell per character, so cutting is slicing."""
    base = palette.base + palette.direction[row.direction]
    if row.header:
        base += palette.header
    elif row.gap:  # bytes that were not kept: muted, never drawn as data
        base += palette.more
    text, left, right = row.text, "", ""
    if len(text) > width:
        shift = max(0, focus + 2 - width) if focus >= 0 else 0
        left = "«" if shift else ""
        keep = width - 1 - len(left)
        right = "»" if shift + keep < len(text) else ""
        text = text[shift : shift + keep]
        marks = [(a - shift, b - shift, style) for a, b, style in marks]
    segments = _segments(text, base, marks)
    if left:
        segments.insert(0, Segment(left, palette.base + palette.more))
    if right:
        segments.append(Segment(right, palette.base + palette.more))
    used = len(left) + len(text) + len(right)
    if used < width:
        segments.append(Segment(" " * (width - used), palette.base))
    return Strip(segments, width)


def _segments(text: str, base: Style, marks: Marks) -> list[Segment]:
    if not marks:
        return [Segment(text, base)]
    n = len(text)
    spans = [(min(max(a, 0), n), min(max(b, 0), n), style) for a, b, style in marks]
    cuts = sorted({0, n, *(a for a, _, _ in spans), *(b for _, b, _ in spans)})
    out = []
    for a, b in pairwise(cuts):
        style = base
        for lo, hi, extra in spans:  # later marks win: selection, match, then cursor
            if lo <= a and b <= hi:
                style += extra
        out.append(Segment(text[a:b], style))
    return out
