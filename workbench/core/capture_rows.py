"""A capture as the hex view lays it out: rows of hex or text, formatted a screen at a time.

The view shows one block per chunk in arrival order, both directions interleaved like
`socat -v`: an optional header row, then the chunk's bytes as rows of `row_bytes`,
offsets cumulative per direction. A chunk the capture did not keep (storage fell
behind the stream) is one row that says so: never zeros, never a read.

The chunk index and the row lookups live in core.capture_index, the search in
core.capture_search; this module formats rows (the row shape for a width, the rows of
a screen) and parses the view's prompts. Every name of the three is importable from
here. Pure: numpy and core only; bytes come in through a reader.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from workbench.core.capture_index import (
    IN,
    OUT,
    CaptureRows,
    ChunkInfo,
    Column,
    Gaps,
    IndexSnapshot,
    NewChunks,
)
from workbench.core.capture_search import (
    SEARCH_WINDOW,
    StreamReader,
    find,
    kept_spans,
    nearest_match,
)
from workbench.core.errors import InputError
from workbench.core.hexdump import format_rows, row_bytes
from workbench.core.payload import parse_escapes, parse_hex, to_c_array, to_python_literal
from workbench.core.steps import NOT_KEPT, NOT_KEPT_WHY

__all__ = [
    "COPY_FORMATS", "DIRECTION_NAMES", "IN", "MARKERS", "MODES", "NOT_KEPT", "OUT", "PREFIX",
    "SEARCH_WINDOW", "SEPARATOR", "CaptureRows", "ChunkInfo", "Column", "Gaps",
    "IndexSnapshot", "NewChunks", "Reader", "Row", "Shape", "ShortRead", "StreamReader",
    "choose_shape", "copy_text", "data_rows", "escape", "escape_cells", "find",
    "format_window", "gap_row", "header_text", "hex_col", "kept_spans", "nearest_match",
    "offset_digits", "parse_jump", "parse_pattern", "row_width",
]

MARKERS = ("<", ">")  # received, sent: in every row, so direction survives NO_COLOR
DIRECTION_NAMES = ("in", "out")
MODES = ("hex", "text", "split")
PREFIX = 2  # the marker and a space
SEPARATOR = " │ "  # between the hex and the text of a split row
COPY_FORMATS = ("hex", "text", "c", "python")
Reader = Callable[[int, int], bytes]  # (byte log position, size) -> bytes

# Columns after the offset digits, as core.hexdump lays rows out.
_HEX_END = {"canonical": 50, "narrow": 25, "xxd": 41}  # end of the hex part
_TEXT_AT = {"canonical": 53, "narrow": 28, "xxd": 43}  # first character of the text column


def offset_digits(offset: int) -> int:
    """hexdump and xxd print offsets with %08x: 8 digits, more past 4 GiB."""
    return max(8, (offset.bit_length() + 3) // 4)


def hex_col(layout: str, j: int) -> int:
    """Column of byte j's first hex digit, counted after the offset digits."""
    return 2 + 5 * j // 2 if layout == "xxd" else 2 + 3 * j + j // 8


def row_width(mode: str, layout: str, row_bytes: int) -> int:
    """Cells of a full row with 8 offset digits; text counts one cell per byte."""
    if mode == "text":
        return PREFIX + 10 + row_bytes
    if mode == "split":
        return PREFIX + 8 + _HEX_END[layout] + len(SEPARATOR) + row_bytes
    return PREFIX + 8 + _TEXT_AT[layout] + row_bytes + (layout != "xxd")


# -- escaped text, as payload.to_escapes writes it, row by row --------------------------

_NAMED = {0x0D: "\\r", 0x0A: "\\n", 0x09: "\\t", 0x5C: "\\\\"}
_ESCAPES = tuple(
    _NAMED.get(b) or (chr(b) if 0x20 <= b < 0x7F else f"\\x{b:02x}") for b in range(256)
)
# NUL stays itself here and is fixed afterwards: "\0" only when no octal digit follows.
_TRANSLATE = {b: s for b, s in enumerate(_ESCAPES) if s != chr(b) and b}
_WIDTHS = [len(s) for s in _ESCAPES]
_WIDTHS[0] = 2  # "\\0"; four when an octal digit follows
_NUL_BEFORE_OCTAL = re.compile("\x00(?=[0-7])")
_OCTAL = frozenset(b"01234567")


def escape(data: bytes, following: int = -1) -> str:
    """to_escapes(data) for a slice of a stream whose next byte is `following` (-1: none)."""
    text = data.decode("latin-1").translate(_TRANSLATE)
    if "\x00" not in text:
        return text
    tail = chr(following) if following in _OCTAL else ""
    text = _NUL_BEFORE_OCTAL.sub(r"\\x00", text + tail)
    return (text[: len(text) - len(tail)]).replace("\x00", "\\0")


def escape_cells(data: bytes, following: int = -1) -> list[int]:
    """Where each byte's escape starts in escape(data), plus the end: len(data) + 1 items."""
    cells = [0]
    for i, b in enumerate(data):
        nxt = data[i + 1] if i + 1 < len(data) else following
        width = 4 if b == 0 and nxt in _OCTAL else _WIDTHS[b]
        cells.append(cells[-1] + width)
    return cells


# -- rows --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the view, with what it takes to find its bytes on screen."""

    chunk: int
    direction: int
    text: str
    start: int = -1  # stream offset of the first byte; -1 for a header
    data: bytes = b""
    layout: str = ""  # set on rows with hex digits
    hex_base: int = -1  # column where the offset digits end
    text_base: int = -1  # column of the first byte's text
    escaped: bool = False  # text cells are escapes (several cells per byte)
    following: int = -1  # the stream's next byte, which decides how a NUL is escaped
    missing: int = 0  # on a gap row: the bytes from `start` on that were not kept

    @property
    def header(self) -> bool:
        return self.start < 0

    @property
    def gap(self) -> bool:
        return self.missing > 0

    def cells(self) -> list[int]:
        if self.escaped:
            return escape_cells(self.data, self.following)
        return list(range(len(self.data) + 1))

    def spans(self, j0: int, j1: int) -> list[tuple[int, int]]:
        """Columns showing bytes j0..j1-1 of this row: the hex cells and the text cells."""
        if self.header or j0 >= j1:
            return []
        out = []
        if self.hex_base >= 0:
            lo, hi = hex_col(self.layout, j0), hex_col(self.layout, j1 - 1) + 2
            out.append((self.hex_base + lo, self.hex_base + hi))
        if self.text_base >= 0:
            cells = self.cells()
            out.append((self.text_base + cells[j0], self.text_base + cells[j1]))
        return out


def header_text(chunk: ChunkInfo, datagram: bool) -> str:
    """Like socat -v: marker, direction, length, from=/to= offsets; then time and peer."""
    name = DIRECTION_NAMES[chunk.direction].ljust(3)
    if chunk.size:
        what = f"length={chunk.size} from={chunk.offset} to={chunk.offset + chunk.size - 1}"
    elif chunk.direction == IN and not datagram:
        what = f"EOF at={chunk.offset}"
    else:
        what = f"length=0 at={chunk.offset}"
    if chunk.gap:
        what += "  not kept"
    text = f"{MARKERS[chunk.direction]} {name} {what}  t={chunk.t:.6f}"
    if not chunk.peer:
        return text
    return f"{text}  peer={escape(chunk.peer.encode())}"  # rows stay ASCII: a cell a char


def gap_row(chunk: ChunkInfo, why: str = "storage") -> Row:
    """The one row of a chunk that was not kept: where, how much and why, no bytes."""
    at = chunk.offset
    text = (f"{MARKERS[chunk.direction]} {at:0{offset_digits(at)}x}  {chunk.size} bytes "
            f"not kept ({NOT_KEPT_WHY.get(why, why)})")
    return Row(chunk.index, chunk.direction, text, at, missing=chunk.size)


def data_rows(chunk: ChunkInfo, first: int, data: bytes, following: int, mode: str,
              layout: str, row_bytes: int) -> list[Row]:
    """Rows `first`.. of a chunk, for `data` = those rows' bytes."""
    start = chunk.offset + first * row_bytes
    pieces = [data[k : k + row_bytes] for k in range(0, len(data), row_bytes)]
    nexts = [p[0] for p in pieces[1:]] + [following][: len(pieces)]
    marker = MARKERS[chunk.direction] + " "
    if mode == "text":
        return [_text_row(chunk, marker, start + q * row_bytes, piece, nxt)
                for q, (piece, nxt) in enumerate(zip(pieces, nexts, strict=True))]
    lines = format_rows(data, start, layout, row_bytes)
    rows = []
    for q, (line, piece, nxt) in enumerate(zip(lines, pieces, nexts, strict=True)):
        at = start + q * row_bytes
        base = PREFIX + offset_digits(at)
        if mode == "split":
            text = marker + line[: base - PREFIX + _HEX_END[layout]] + SEPARATOR
            rows.append(Row(chunk.index, chunk.direction, text + escape(piece, nxt), at, piece,
                            layout, base, len(text), True, nxt))
        else:
            rows.append(Row(chunk.index, chunk.direction, marker + line, at, piece, layout,
                            base, base + _TEXT_AT[layout]))
    return rows


def _text_row(chunk: ChunkInfo, marker: str, at: int, piece: bytes, nxt: int) -> Row:
    head = f"{marker}{at:0{offset_digits(at)}x}  "
    return Row(chunk.index, chunk.direction, head + escape(piece, nxt), at, piece,
               text_base=len(head), escaped=True, following=nxt)


# -- screens -----------------------------------------------------------------------------


class ShortRead(OSError):
    """The byte log gave fewer bytes than the index promised (a read raced a spill)."""


@dataclass(frozen=True)
class Shape:
    """How rows are laid out at a given width."""

    mode: str
    layout: str
    row_bytes: int


def choose_shape(mode: str, choice: str, width: int) -> Shape:
    """Canonical when it fits, else narrow; text rows hold what fits (3/4 for escapes)."""
    if mode == "text":
        return Shape(mode, "canonical", max(8, (width - 12) * 3 // 4 // 8 * 8))
    if choice == "auto":
        spare = 16 if mode == "split" else 0  # room for some escapes in the text column
        fits = width >= row_width(mode, "canonical", 16) + spare
        choice = "canonical" if fits else "narrow"
    return Shape(mode, choice, row_bytes(choice))


def format_window(model: CaptureRows, read: Reader, shape: Shape, datagram: bool, y: int,
                  n: int, why: Callable[[int], str] = lambda i: "storage") -> list[Row]:
    """Rows y..y+n-1: one log read and one formatting call per visible block (none
    for a chunk that was not kept; `why(index)` says why it was not)."""
    rows: list[Row] = []
    heads, width = int(model.headers), shape.row_bytes
    for k, first, end in model.window(y, n):
        chunk = model.chunk(model.block_chunk(k))
        if heads and first == 0:
            rows.append(Row(chunk.index, chunk.direction, header_text(chunk, datagram)))
        a, b = max(first - heads, 0), end - heads
        if b <= a:
            continue
        if chunk.gap:
            rows.append(gap_row(chunk, why(chunk.index)))
            continue
        lo, hi = a * width, min(chunk.size, b * width)
        data = read(chunk.pos + lo, min(chunk.size, hi + 1) - lo)  # one byte more: escapes
        if len(data) < hi - lo:
            raise ShortRead(f"{len(data)} of {hi - lo} bytes")
        following = data[hi - lo] if len(data) > hi - lo else -1
        rows += data_rows(chunk, a, data[: hi - lo], following, shape.mode, shape.layout,
                          width)
    return rows


# -- prompts and copies ----------------------------------------------------------------


def parse_jump(text: str, default: int) -> tuple[int, int]:
    """'[<|>|in|out] OFFSET' -> (direction, offset). Offsets as the view shows them
    (8+ hex digits) or with 0x are hex; other plain digits are decimal."""
    words = text.replace("<", "< ").replace(">", "> ").split()
    names = {"<": 0, "in": 0, ">": 1, "out": 1}
    direction = names.get(words[0].lower(), -1) if words else -1
    if direction >= 0:
        words = words[1:]
    if len(words) != 1:
        raise InputError("write one offset, e.g. 1234, 0x4d2 or > 0x10 for the sent stream")
    word = words[0].lower()
    hexy = word.startswith("0x") or (len(word) >= 8 and word[0] == "0") or not word.isdigit()
    try:
        offset = int(word.removeprefix("0x"), 16 if hexy else 10)
    except ValueError:
        raise InputError(f"bad offset {word!r}: use 1234, 0x4d2 or 000004d2") from None
    return (default if direction < 0 else direction), offset


def parse_pattern(text: str) -> bytes:
    """Search text with C escapes, or 'hex:' and hex digits."""
    if text.lower().startswith("hex:"):
        return parse_hex(text[4:])
    return parse_escapes(text)


def copy_text(data: bytes, fmt: str) -> str:
    if fmt == "hex":
        return data.hex(" ")
    if fmt == "text":
        return data.decode("utf-8", errors="backslashreplace")
    if fmt == "c":
        return to_c_array(data)
    if fmt == "python":
        return to_python_literal(data)
    raise ValueError(f"unknown copy format {fmt!r}; expected one of {COPY_FORMATS}")
