"""Hex dump text, byte-identical to `hexdump -C` and plain `xxd`, plus a narrow layout.

Lines are built as a 2-D uint8 array (one row per line) filled from lookup tables,
so bulk export runs at memory speed. Streaming works in bounded blocks and carries
the squeeze state (`*` lines) across block boundaries.

Layouts:
- "canonical": `hexdump -C` (16 bytes a row, `|ascii|`, `*` squeezing, final offset);
- "narrow": the same style at 8 bytes a row, for an 80-column pane;
- "xxd": plain `xxd` (16 bytes a row in 2-byte groups, no squeezing, no final offset).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Protocol

import numpy as np

LAYOUTS = ("canonical", "xxd", "narrow")
BLOCK_SIZE = 1 << 18  # 256 KiB in, ~1.3 MB of text out: stays in cache
MAX_WIDTH = 256  # the largest row xxd accepts (-c 256)

_ROW_BYTES = {"canonical": 16, "xxd": 16, "narrow": 8}
# Two hex digits per byte value; as uint16 one store writes both digits in order.
_PAIRS = np.frombuffer(b"".join(b"%02x" % i for i in range(256)), dtype=np.uint16)
# What both tools print for a byte in the text column (isprint() in the C locale).
_PRINTABLE_TABLE = bytes(b if 0x20 <= b < 0x7F else 0x2E for b in range(256))
_PRINTABLE = np.frombuffer(_PRINTABLE_TABLE, dtype=np.uint8)


def _by_byte_pair(table: np.ndarray) -> np.ndarray:
    """Widen a per-byte table to one indexed by two bytes read as "<u2", halving gathers."""
    value = np.arange(1 << 16)
    both = np.stack([table[value & 0xFF], table[value >> 8]], axis=1)
    return both.view(np.uint32 if table.itemsize == 2 else np.uint16).ravel()


_QUADS = _by_byte_pair(_PAIRS)  # 256 KiB: four hex digits per pair of bytes
_PRINTABLE2 = _by_byte_pair(_PRINTABLE)


class BinaryWriter(Protocol):
    """Anything with a binary `write`, such as a file opened with "wb"."""

    def write(self, data: bytes, /) -> object: ...


# Hex digits are stored in runs: (column, stride, which units, units are 2-byte quads).
_Run = tuple[int, int, slice, bool]


@dataclass(frozen=True)
class _Spec:
    """Where each field of a line sits, in columns after the offset digits."""

    width: int  # data bytes per row
    hex_cols: tuple[int, ...]  # column of each byte's two hex digits
    runs: tuple[_Run, ...]
    ascii_col: int
    template: bytes  # a full line after the offset: separators and spaces, no data
    close: bytes  # written right after the text column ("|" or nothing)


def _template(sep: bytes, ascii_col: int, width: int, opener: bytes, close: bytes) -> bytes:
    body = bytearray(b" " * (ascii_col + width) + close + b"\n")
    body[: len(sep)] = sep
    body[ascii_col - len(opener) : ascii_col] = opener
    return bytes(body)


def _hexdump_spec(width: int) -> _Spec:
    # "  xx xx .. xx  xx .. xx  |text|": an extra space after every 8 bytes.
    cols = tuple(2 + 3 * j + j // 8 for j in range(width))
    runs = tuple((cols[j], 3, slice(j, j + 8), False) for j in range(0, width, 8))
    ascii_col = cols[-1] + 5
    template = _template(b"  ", ascii_col, width, b"|", b"|")
    return _Spec(width, cols, runs, ascii_col, template, b"|")


def _xxd_spec(width: int) -> _Spec:
    # ": xxxx xxxx .. xxxx  text", with the columns xxd computes for 2-byte groups.
    cols = tuple(2 + 5 * j // 2 for j in range(width))
    runs: tuple[_Run, ...] = ((2, 5, slice(None), True),)
    if width % 2:  # an odd row has no whole quads: store even and odd bytes apart
        runs = ((2, 5, slice(0, None, 2), False), (4, 5, slice(1, None, 2), False))
    ascii_col = 4 + (5 * width - 1) // 2
    template = _template(b": ", ascii_col, width, b"", b"")
    return _Spec(width, cols, runs, ascii_col, template, b"")


@cache
def _spec(layout: str, width: int | None) -> _Spec:
    if layout not in _ROW_BYTES:
        raise ValueError(f"unknown hexdump layout {layout!r}; expected one of {LAYOUTS}")
    width = _ROW_BYTES[layout] if width is None else width
    if not 1 <= width <= MAX_WIDTH:
        raise ValueError(f"row width must be 1..{MAX_WIDTH} bytes, got {width}")
    return _xxd_spec(width) if layout == "xxd" else _hexdump_spec(width)


def row_bytes(layout: str) -> int:
    """Data bytes per row of a layout."""
    return _spec(layout, None).width


def _digits(offset: int) -> int:
    """Both tools print offsets with %08x: at least 8 digits, more when needed."""
    return max(8, (offset.bit_length() + 3) // 4)


def _digit_runs(base: int, rows: int, width: int) -> Iterator[tuple[int, int, int]]:
    """Split rows into (first, end, digits) runs whose offsets print equally wide."""
    first = 0
    while first < rows:
        digits = _digits(base + first * width)
        end = min(rows, -(-(16**digits - base) // width))
        yield first, end, digits
        first = end


def _view(
    out: np.ndarray, col: int, dtype: type, shape: tuple[int, int], stride: int
) -> np.ndarray:
    """A strided (possibly unaligned) window on `out` for one field of every line."""
    strides = (out.shape[1], stride)
    return np.ndarray(shape, dtype=dtype, buffer=out, offset=col, strides=strides)


def _store(out: np.ndarray, col: int, field: np.ndarray) -> None:
    """Copy an (n, k) uint8 field into every line in the widest words that fit: fewer stores."""
    n, k = field.shape
    for dtype in (np.uint64, np.uint32, np.uint16):
        size = np.dtype(dtype).itemsize
        if k % size == 0 and field.strides[1] == 1:
            _view(out, col, dtype, (n, k // size), size)[...] = field.view(dtype)
            return
    out[:, col : col + k] = field


def _put_offsets(out: np.ndarray, offsets: np.ndarray, digits: int) -> None:
    quads = (digits + 3) // 4
    big_endian = offsets.astype(">u8").view("<u2").reshape(-1, 4)[:, 4 - quads :]
    text = np.take(_QUADS, big_endian).view(np.uint8)
    _store(out, 0, text[:, 4 * quads - digits :])


def _hex_pairs(rows: np.ndarray) -> np.ndarray:
    """(n, width) uint16: the two hex digits of every byte, gathered two bytes at a time."""
    if rows.shape[1] % 2:
        return np.take(_PAIRS, rows)
    return np.take(_QUADS, rows.view("<u2")).view(np.uint16)


def _printable(rows: np.ndarray) -> np.ndarray:
    if rows.shape[1] % 2:
        return np.take(_PRINTABLE, rows)
    return np.take(_PRINTABLE2, rows.view("<u2")).view(np.uint8)


class _Canvas:
    """Line buffers reused across blocks: separators are written once, data every time."""

    def __init__(self, spec: _Spec) -> None:
        self.spec = spec
        self.blanks: dict[int, np.ndarray] = {}  # by number of offset digits

    def blank(self, rows: int, digits: int) -> np.ndarray:
        lines = self.blanks.get(digits)
        if lines is None or len(lines) < rows:
            lines = np.empty((rows, digits + len(self.spec.template)), dtype=np.uint8)
            lines[:, digits:] = np.frombuffer(self.spec.template, dtype=np.uint8)
            self.blanks[digits] = lines
        return lines[:rows]

    def render(self, rows: np.ndarray, offsets: np.ndarray, digits: int) -> np.ndarray:
        """Lines for full rows, as an (n, line length) view valid until the next call."""
        out = self.blank(len(rows), digits)
        if not len(rows):  # a block made only of squeezed repeats
            return out
        _put_offsets(out, offsets, digits)
        pairs = _hex_pairs(rows)
        for col, stride, sel, quad in self.spec.runs:
            hexes = (pairs.view(np.uint32) if quad else pairs)[:, sel]
            _view(out, digits + col, hexes.dtype.type, hexes.shape, stride)[...] = hexes
        _store(out, digits + self.spec.ascii_col, _printable(rows))
        return out


def _row_keys(rows: np.ndarray) -> np.ndarray:
    """Rows as uint64 words when possible: comparing rows is then a few word compares."""
    return rows.view(np.uint64) if rows.shape[1] % 8 == 0 else rows


def _with_stars(lines: np.ndarray, stars: np.ndarray) -> bytes:
    """The lines as text, with each line listed in `stars` replaced by "*"."""
    flat, size = lines.reshape(-1), lines.shape[1]
    pieces: list[bytes | np.ndarray] = []
    done = 0
    for star in stars.tolist():  # joining slices copies the text once, unlike a byte mask
        pieces += [flat[done * size : star * size], b"*\n"]
        done = star + 1
    pieces.append(flat[done * size :])
    return b"".join(pieces)


class _Dumper:
    """Formats a byte stream block by block, keeping the state that spans blocks."""

    def __init__(self, spec: _Spec, offset: int, squeeze: bool, trailer: bool) -> None:
        if offset < 0:
            raise ValueError(f"a dump cannot start at a negative offset ({offset})")
        self.spec = spec
        self.canvas = _Canvas(spec)
        self.offset = offset
        self.squeeze = squeeze
        self.trailer = trailer
        self.prev: np.ndarray | None = None  # last full row seen
        self.in_run = False  # the last full row repeated the one before it

    def feed(self, data: bytes | memoryview) -> Iterator[bytes]:
        """Lines for `data`; only the final block of a stream may end in a partial row."""
        width = self.spec.width
        full = len(data) // width
        rows = np.frombuffer(data, dtype=np.uint8, count=full * width).reshape(full, width)
        for first, end, digits in _digit_runs(self.offset, full, width):
            yield self._rows(rows[first:end], digits)
        if tail := bytes(data[full * width :]):
            yield self._partial(tail)

    def finish(self) -> bytes:
        """hexdump ends with the end offset, unless nothing was ever at any offset."""
        return b"%08x\n" % self.offset if self.trailer and self.offset else b""

    def _rows(self, rows: np.ndarray, digits: int) -> bytes:
        step = np.uint64(self.spec.width)
        offsets = np.uint64(self.offset) + np.arange(len(rows), dtype=np.uint64) * step
        self.offset += rows.size
        if self.squeeze:
            return self._squeezed(rows, offsets, digits)
        return self.canvas.render(rows, offsets, digits).tobytes()

    def _squeezed(self, rows: np.ndarray, offsets: np.ndarray, digits: int) -> bytes:
        dup = self._repeats(rows)
        starts = dup.copy()  # the first repeat of a run prints "*", the rest print nothing
        starts[0] &= not self.in_run
        starts[1:] &= ~dup[:-1]
        self.prev, self.in_run = rows[-1].copy(), bool(dup[-1])
        if not dup.any():
            return self.canvas.render(rows, offsets, digits).tobytes()
        shown = ~dup | starts
        lines = self.canvas.render(rows[shown], offsets[shown], digits)
        return _with_stars(lines, np.flatnonzero(starts[shown]))

    def _repeats(self, rows: np.ndarray) -> np.ndarray:
        keys = _row_keys(rows)
        dup = np.empty(len(rows), dtype=bool)
        dup[0] = self.prev is not None and np.array_equal(rows[0], self.prev)
        dup[1:] = True
        for col in keys.T:  # column by column: far cheaper than .all(axis=1) on short rows
            dup[1:] &= col[1:] == col[:-1]
        return dup

    def _partial(self, tail: bytes) -> bytes:
        """A short last row: hex padded to full width, text column only as long as the data."""
        spec, digits = self.spec, _digits(self.offset)
        row = np.frombuffer(tail.ljust(spec.width, b"\0"), dtype=np.uint8).reshape(1, -1)
        offsets = np.array([self.offset], dtype=np.uint64)
        line = bytearray(self.canvas.render(row, offsets, digits).tobytes())
        for col in spec.hex_cols[len(tail) :]:
            line[digits + col : digits + col + 2] = b"  "
        self.offset += len(tail)
        return bytes(line[: digits + spec.ascii_col + len(tail)]) + spec.close + b"\n"


def _reblock(chunks: Iterable[bytes], size: int) -> Iterator[bytes | memoryview]:
    """Re-cut chunks of any size into blocks of `size` bytes; only the last may be short."""
    pending = bytearray()
    for chunk in chunks:
        view = memoryview(chunk).cast("B")
        if pending:
            take = size - len(pending)
            pending += view[:take]
            view = view[take:]
            if len(pending) < size:
                continue
            yield bytes(pending)
            pending.clear()
        whole = len(view) - len(view) % size
        for start in range(0, whole, size):
            yield view[start : start + size]
        pending += view[whole:]
    if pending:
        yield bytes(pending)


def _iter(
    chunks: Iterable[bytes], layout: str, start_offset: int, squeeze: bool, block_size: int
) -> Iterator[bytes]:
    spec = _spec(layout, None)
    hexdump_style = layout != "xxd"
    dumper = _Dumper(spec, start_offset, squeeze and hexdump_style, hexdump_style)
    size = max(spec.width, block_size - block_size % spec.width)
    for block in _reblock(chunks, size):
        yield from dumper.feed(block)
    if end := dumper.finish():
        yield end


def iter_canonical(
    chunks: Iterable[bytes],
    start_offset: int = 0,
    *,
    squeeze: bool = True,
    block_size: int = BLOCK_SIZE,
) -> Iterator[bytes]:
    """`hexdump -C` text of the concatenated chunks, one piece per block of input."""
    return _iter(chunks, "canonical", start_offset, squeeze, block_size)


def iter_narrow(
    chunks: Iterable[bytes],
    start_offset: int = 0,
    *,
    squeeze: bool = True,
    block_size: int = BLOCK_SIZE,
) -> Iterator[bytes]:
    """Canonical-style text at 8 bytes a row, streamed like `iter_canonical`."""
    return _iter(chunks, "narrow", start_offset, squeeze, block_size)


def iter_xxd(
    chunks: Iterable[bytes], start_offset: int = 0, *, block_size: int = BLOCK_SIZE
) -> Iterator[bytes]:
    """Plain `xxd` text of the concatenated chunks, streamed."""
    return _iter(chunks, "xxd", start_offset, False, block_size)


def _write(pieces: Iterable[bytes], out: BinaryWriter) -> int:
    written = 0
    for piece in pieces:
        out.write(piece)
        written += len(piece)
    return written


def write_canonical(
    chunks: Iterable[bytes], out: BinaryWriter, start_offset: int = 0, *, squeeze: bool = True
) -> int:
    """Write `hexdump -C` text to `out` without holding it all; returns bytes written."""
    return _write(iter_canonical(chunks, start_offset, squeeze=squeeze), out)


def write_xxd(chunks: Iterable[bytes], out: BinaryWriter, start_offset: int = 0) -> int:
    """Write plain `xxd` text to `out` without holding it all; returns bytes written."""
    return _write(iter_xxd(chunks, start_offset), out)


def format_canonical(data: bytes, start_offset: int = 0, *, squeeze: bool = True) -> str:
    """Exactly what `hexdump -C` prints for `data` (offsets shifted by `start_offset`)."""
    return b"".join(iter_canonical([data], start_offset, squeeze=squeeze)).decode("ascii")


def format_narrow(data: bytes, start_offset: int = 0, *, squeeze: bool = True) -> str:
    """`hexdump -C` style at 8 bytes a row (45 columns), for an 80-column pane."""
    return b"".join(iter_narrow([data], start_offset, squeeze=squeeze)).decode("ascii")


def format_xxd(data: bytes, start_offset: int = 0) -> str:
    """Exactly what plain `xxd` prints for `data` (offsets shifted by `start_offset`)."""
    return b"".join(iter_xxd([data], start_offset)).decode("ascii")


def format_rows(data: bytes, first_offset: int, layout: str, width: int | None = None) -> list[str]:
    """One line per row of `data` (no squeezing, no newline), first row at `first_offset`.

    `width` defaults to `row_bytes(layout)`; a partial last row is laid out as the
    tools lay out their last row.
    """
    dumper = _Dumper(_spec(layout, width), first_offset, squeeze=False, trailer=False)
    return b"".join(dumper.feed(data)).decode("ascii").split("\n")[:-1]
