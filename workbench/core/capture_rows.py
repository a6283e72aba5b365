"""A capture as the hex view lays it out: blocks of rows, any row found in O(log n).

The view shows one block per chunk in arrival order, both directions interleaved like
`socat -v`: an optional header row, then the chunk's bytes as rows of `row_bytes`,
offsets cumulative per direction. A chunk the capture did not keep (storage fell
behind the stream) is one row that says so: never zeros, never a read. The model
keeps the chunk index as growable numpy columns and a running total of rows over the
visible blocks, so finding the block under a row is one binary search and new chunks
cost only their own part.

Also pure helpers of the view: the row shape for a width, the rows of a screen, and
the parsing of its prompts. Pure: numpy and core only; bytes come in through a reader.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from workbench.core.errors import InputError
from workbench.core.hexdump import format_rows, row_bytes
from workbench.core.payload import parse_escapes, parse_hex, to_c_array, to_python_literal
from workbench.core.steps import NOT_KEPT

IN, OUT = 0, 1  # the same numbers as io.capture: received, sent
MARKERS = ("<", ">")  # received, sent: in every row, so direction survives NO_COLOR
DIRECTION_NAMES = ("in", "out")
MODES = ("hex", "text", "split")
PREFIX = 2  # the marker and a space
SEPARATOR = " │ "  # between the hex and the text of a split row
SEARCH_WINDOW = 1 << 20
COPY_FORMATS = ("hex", "text", "c", "python")
Reader = Callable[[int, int], bytes]  # (byte log position, size) -> bytes
Gaps = tuple[np.ndarray, np.ndarray]  # starts and ends of not-kept stretches, ascending

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
class ChunkInfo:
    index: int  # arrival order among all chunks of the socket
    t: float
    direction: int
    offset: int  # cumulative within its direction
    size: int
    pos: int  # where the bytes sit in the byte log; NOT_KEPT if they were not kept
    peer: str

    @property
    def gap(self) -> bool:
        """Bytes that passed through but were not kept: a gap in the stream."""
        return self.pos == NOT_KEPT and self.size > 0


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


def gap_row(chunk: ChunkInfo) -> Row:
    """The one row of a chunk that was not kept: where and how much, no bytes."""
    at = chunk.offset
    text = (f"{MARKERS[chunk.direction]} {at:0{offset_digits(at)}x}  {chunk.size} bytes "
            "not kept (storage fell behind the stream)")
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


# -- the model ---------------------------------------------------------------------------


class Column:
    """A numpy array grown in place with doubling capacity: appends cost their own size."""

    def __init__(self, dtype: type) -> None:
        self._buf = np.empty(64, dtype=dtype)
        self.n = 0

    @property
    def a(self) -> np.ndarray:
        return self._buf[: self.n]

    def extend(self, values: np.ndarray) -> None:
        need = self.n + len(values)
        if need > len(self._buf):
            grown = np.empty(max(need, 2 * len(self._buf)), dtype=self._buf.dtype)
            grown[: self.n] = self._buf[: self.n]
            self._buf = grown
        self._buf[self.n : need] = values
        self.n = need

    def clear(self) -> None:
        self.n = 0


@dataclass(frozen=True)
class NewChunks:
    """Chunks appended to a store since the last look, copied out of its arrays."""

    t: np.ndarray
    direction: np.ndarray
    offset: np.ndarray
    size: np.ndarray
    pos: np.ndarray
    peer: np.ndarray  # ids into `peers`
    peers: list[str]  # every peer text seen so far, by id


class CaptureRows:
    """The chunks of one socket and the rows they make under the current settings."""

    def __init__(self) -> None:
        self._t = Column(np.float64)
        self._dir = Column(np.int8)
        self._off = Column(np.int64)
        self._size = Column(np.int64)
        self._pos = Column(np.int64)
        self._peer = Column(np.int32)
        self.peers: list[str] = [""]
        self.totals = [0, 0]
        self.lost = [0, 0]  # bytes per direction not kept
        self._by_dir = (Column(np.int64), Column(np.int64))  # chunk numbers per direction
        self._dir_off = (Column(np.int64), Column(np.int64))  # and their offsets
        self._gap_lo = (Column(np.int64), Column(np.int64))  # not-kept stretches
        self._gap_hi = (Column(np.int64), Column(np.int64))
        self.row_bytes = 16
        self.headers = True
        self.direction: int | None = None  # show one direction only
        self.peer: int | None = None  # show one peer only (an id into `peers`)
        self._vis = Column(np.int64)  # visible chunk numbers, ascending
        self._ends = Column(np.int64)  # rows up to and including each visible block

    def __len__(self) -> int:
        return self._t.n

    @property
    def rows(self) -> int:
        return int(self._ends.a[-1]) if self._ends.n else 0

    @property
    def blocks(self) -> int:
        return self._vis.n

    def extend(self, new: NewChunks) -> None:
        first = len(self)
        for col, values in ((self._t, new.t), (self._dir, new.direction),
                            (self._off, new.offset), (self._size, new.size),
                            (self._pos, new.pos), (self._peer, new.peer)):
            col.extend(values)
        self.peers = list(new.peers)
        numbers = np.arange(first, len(self), dtype=np.int64)
        gap = (new.pos == NOT_KEPT) & (new.size > 0)
        for d in (IN, OUT):
            mine = new.direction == d
            self._by_dir[d].extend(numbers[mine])
            self._dir_off[d].extend(new.offset[mine])
            self.totals[d] += int(new.size[mine].sum())
            lost = mine & gap
            self._gap_lo[d].extend(new.offset[lost])
            self._gap_hi[d].extend(new.offset[lost] + new.size[lost])
            self.lost[d] += int(new.size[lost].sum())
        self._show(numbers)

    def configure(self, row_bytes: int, headers: bool, direction: int | None,
                  peer: int | None) -> None:
        """New layout or filters: the running totals are rebuilt (vectorised, O(n))."""
        self.row_bytes, self.headers = row_bytes, headers
        self.direction, self.peer = direction, peer
        self._vis.clear()
        self._ends.clear()
        self._show(np.arange(len(self), dtype=np.int64))

    def _show(self, numbers: np.ndarray) -> None:
        shown = numbers[self._visible(numbers)]
        size = self._size.a[shown]
        body = np.where(self._pos.a[shown] == NOT_KEPT, np.minimum(size, 1),
                        (size + self.row_bytes - 1) // self.row_bytes)
        rows = int(self.headers) + body
        ends = np.cumsum(rows, dtype=np.int64) + self.rows
        self._vis.extend(shown)
        self._ends.extend(ends)

    def _visible(self, numbers: np.ndarray) -> np.ndarray:
        keep = np.ones(len(numbers), dtype=bool)
        if self.direction is not None:
            keep &= self._dir.a[numbers] == self.direction
        if self.peer is not None:
            keep &= self._peer.a[numbers] == self.peer
        return keep

    # -- lookups -------------------------------------------------------------------------

    def chunk(self, i: int) -> ChunkInfo:
        return ChunkInfo(i, float(self._t.a[i]), int(self._dir.a[i]), int(self._off.a[i]),
                         int(self._size.a[i]), int(self._pos.a[i]),
                         self.peers[int(self._peer.a[i])])

    def gap(self, i: int) -> bool:
        """Chunk i passed through but was not kept: one row, no cursor, no reads."""
        return bool(self._pos.a[i] == NOT_KEPT and self._size.a[i] > 0)

    def gaps(self, direction: int) -> Gaps:
        """The not-kept stretches of a direction's stream: (starts, ends), ascending."""
        return self._gap_lo[direction].a, self._gap_hi[direction].a

    def block_start(self, k: int) -> int:
        return int(self._ends.a[k - 1]) if k else 0

    def locate(self, y: int) -> tuple[int, int]:
        """(visible block, row within it) for row y: one binary search."""
        k = int(np.searchsorted(self._ends.a, y, side="right"))
        return k, y - self.block_start(k)

    def block_chunk(self, k: int) -> int:
        return int(self._vis.a[k])

    def block_of(self, i: int) -> int | None:
        """The visible block showing chunk i, or None when a filter hides it."""
        k = int(np.searchsorted(self._vis.a, i))
        return k if k < self._vis.n and self._vis.a[k] == i else None

    def row_of(self, i: int, j: int) -> int | None:
        """The row showing byte j of chunk i (a gap's one row for all its bytes)."""
        k = self.block_of(i)
        if k is None:
            return None
        return self.block_start(k) + int(self.headers) + (0 if self.gap(i) else
                                                           j // self.row_bytes)

    def chunk_at(self, direction: int, offset: int) -> int | None:
        """The chunk holding byte `offset` of a direction's stream."""
        offsets = self._dir_off[direction].a
        k = int(np.searchsorted(offsets, offset, side="right")) - 1
        if k < 0:
            return None
        i = int(self._by_dir[direction].a[k])
        return i if offset < self._off.a[i] + self._size.a[i] else None

    def step(self, i: int, forward: bool, direction: int | None = None) -> int | None:
        """The next (or previous) visible chunk with kept bytes after chunk i, optionally
        of one direction only; i may be -1 or len(self) to start at either end."""
        pool = self._vis.a if direction is None else self._by_dir[direction].a
        at = int(np.searchsorted(pool, i, side="right" if forward else "left"))
        for part in _batches(pool, at, forward):
            ok = (self._size.a[part] > 0) & (self._pos.a[part] != NOT_KEPT)
            if direction is not None:
                ok &= self._visible(part)
            hits = np.flatnonzero(ok)
            if len(hits):
                return int(part[hits[0] if forward else hits[-1]])
        return None

    def window(self, y: int, n: int) -> Iterator[tuple[int, int, int]]:
        """(visible block, first row, end row) for the blocks covering rows y..y+n-1."""
        k, r = self.locate(y)
        left = n
        while left > 0 and k < self.blocks:
            total = self.block_start(k + 1) - self.block_start(k)
            end = min(total, r + left)
            yield k, r, end
            left -= end - r
            k, r = k + 1, 0


def _batches(pool: np.ndarray, at: int, forward: bool, size: int = 256) -> Iterator[np.ndarray]:
    """Slices of pool from `at` onwards (or before `at`, going back), growing in size."""
    while (at < len(pool)) if forward else (at > 0):
        lo, hi = (at, at + size) if forward else (max(0, at - size), at)
        yield pool[lo:hi]
        at = hi if forward else lo
        size *= 4


def find(read: Callable[[int, int], bytes], total: int, pattern: bytes, start: int,
         forward: bool, window: int = SEARCH_WINDOW, gaps: Gaps | None = None) -> int:
    """A stream offset where `pattern` starts: the first at or after `start`, or the last
    before it; -1 when none. Windows overlap by len(pattern) - 1, so a match across a
    chunk (or window) boundary is found. Bytes in `gaps` are never read and no match
    spans one: each kept stretch is searched on its own."""
    if gaps is None or not len(gaps[0]):
        return _find(read, total, pattern, start, forward, window)
    for lo, hi in kept_spans(gaps, total, start, forward):

        def part(at: int, size: int, lo: int = lo, hi: int = hi) -> bytes:
            return read(lo + at, max(0, min(size, hi - lo - at)))

        k = _find(part, hi - lo, pattern, start - lo, forward, window)
        if k >= 0:
            return lo + k
    return -1


def kept_spans(gaps: Gaps, total: int, start: int, forward: bool) -> Iterator[tuple[int, int]]:
    """The kept stretches [lo, hi) of a stream of `total` bytes around `gaps`: going
    forward, those ending after `start`, in order; going back, those beginning before
    it, last first. Empty stretches (between touching gaps) are left out."""
    starts, ends = gaps
    count = len(starts)
    order = (range(int(np.searchsorted(starts, start, "right")), count + 1) if forward
             else range(int(np.searchsorted(ends, start, "left")), -1, -1))
    for s in order:
        lo = int(ends[s - 1]) if s else 0
        hi = int(starts[s]) if s < count else total
        if hi > lo:
            yield lo, hi


def _find(read: Callable[[int, int], bytes], total: int, pattern: bytes, start: int,
          forward: bool, window: int) -> int:
    extra = len(pattern) - 1
    if forward:
        at = max(0, start)
        while at + extra < total:
            k = read(at, window + extra).find(pattern)
            if k >= 0:
                return at + k
            at += window
        return -1
    end = min(start, total)
    while end > 0:
        lo = max(0, end - window)
        k = read(lo, end - lo + extra).rfind(pattern)
        if k >= 0:
            return lo + k
        end = lo
    return -1


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
                  n: int) -> list[Row]:
    """Rows y..y+n-1: one log read and one formatting call per visible block (none
    for a chunk that was not kept)."""
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
            rows.append(gap_row(chunk))
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
