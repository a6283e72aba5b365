"""Painting hex view rows as Strips, and reading new chunks from a capture store."""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from workbench.core.capture_rows import NewChunks, Row
from workbench.io.capture import CaptureStore
from workbench.ui.text import fit

Marks = list[tuple[int, int, Style]]
TIME = re.compile(r"  t=\S+")  # a header's timestamp, the first thing to go when narrow


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


def fit_header(text: str, width: int) -> str:
    """A chunk header in `width` cells: without its time, then with the peer's address
    cut in the middle (its port kept), then cut at the end."""
    if len(text) <= width:
        return text
    text = TIME.sub("", text)
    return fit(text, width)


def paint(row: Row, palette: Palette, width: int, marks: Marks) -> Strip:
    """A row as a Strip `width` cells wide. A header that is too long is fitted; a longer
    data row (escapes in a narrow text column) is cut with "»", never scrolled sideways,
    so every row starts at its offset. Rows are ASCII (and "│»"): one cell per
    character, so cutting is slicing."""
    base = palette.base + palette.direction[row.direction]
    text, right = row.text, ""
    if row.header:
        base += palette.header
        text = fit_header(text, width)
    elif row.gap:  # bytes that were not kept: muted, never drawn as data
        base += palette.more
    if len(text) > width:
        text, right = text[: width - 1], "»"
    segments = _segments(text, base, marks)
    if right:
        segments.append(Segment(right, palette.base + palette.more))
    used = len(text) + len(right)
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
