"""Golden tests: the formatter against the real `hexdump -C` and `xxd`, byte for byte."""

from __future__ import annotations

import io
import os
import random
import shutil
import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.hexdump import (
    LAYOUTS,
    format_canonical,
    format_narrow,
    format_rows,
    format_xxd,
    iter_canonical,
    iter_narrow,
    iter_xxd,
    row_bytes,
    write_canonical,
    write_xxd,
)

HEXDUMP = shutil.which("hexdump")
XXD = shutil.which("xxd")
needs_hexdump = pytest.mark.skipif(HEXDUMP is None, reason="hexdump (util-linux) not installed")
needs_xxd = pytest.mark.skipif(XXD is None, reason="xxd not installed")

LENGTHS = [0, 1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 47, 48, 49, 255, 256, 4095, 4096, 4097]
LENGTHS += random.Random(7).sample(range(4098), 6)


def _canonical_format(width: int) -> list[str]:
    """`hexdump -e` arguments for the canonical style at any width (8 bytes per hex group)."""
    # hexdump drops a unit's trailing space only on its last repeat, so a lone byte has none.
    groups = [
        f'{count}/1 "%02x{" " if count > 1 else ""}"'
        for count in (min(8, width - j) for j in range(0, width, 8))
    ]
    return [
        "-e", '"%08.8_Ax\\n"',
        "-e", '"%08.8_ax  " ' + ' "  " '.join(groups),
        "-e", f'"  |" {width}/1 "%_p" "|\\n"',
    ]  # fmt: skip


NARROW = tuple(_canonical_format(8))


@cache
def _tool(args: tuple[str, ...], data: bytes) -> str:
    done = subprocess.run(
        args, input=data, capture_output=True, check=True, env={"LC_ALL": "C"}, timeout=30
    )
    return done.stdout.decode("ascii")


def hexdump(data: bytes, *args: str) -> str:
    assert HEXDUMP is not None
    return _tool((HEXDUMP, *args), data)


def xxd(data: bytes, *args: str) -> str:
    assert XXD is not None
    return _tool((XXD, *args), data)


def _runs(rng: random.Random, n: int) -> bytes:
    """Rows picked from two candidates in runs of 1 to 5: squeezing of every shape."""
    rows, pool = [], [rng.randbytes(16), rng.randbytes(16)]
    while len(rows) * 16 < n:
        rows += [pool[rng.randrange(2)]] * rng.randint(1, 5)
    return b"".join(rows)[:n]


def _tail_repeat(rng: random.Random, n: int) -> bytes:
    head = rng.randbytes(n // 3)
    return (head + rng.randbytes(16) * (n // 16 + 1))[:n]


def _edges(rng: random.Random, n: int) -> bytes:
    """Bytes at the printable boundaries and line-breaking controls."""
    edges = b"\x00\x09\x0a\x0d\x1f\x20\x7e\x7f\x80\xa0\xff|*"
    return bytes(rng.choice(edges) for _ in range(n))


KINDS: dict[str, Callable[[random.Random, int], bytes]] = {
    "random": lambda rng, n: rng.randbytes(n),
    "zeros": lambda rng, n: bytes(n),
    "pattern": lambda rng, n: (b"0123456789abcdef" * (n // 16 + 1))[:n],
    "runs": _runs,
    "tail_repeat": _tail_repeat,
    "edges": _edges,
}


def sample(kind: str, n: int) -> bytes:
    return KINDS[kind](random.Random(f"{kind}-{n}"), n)


CASES = [(kind, n) for kind in KINDS for n in LENGTHS]


@needs_hexdump
@pytest.mark.parametrize(("kind", "n"), CASES)
def test_canonical_matches_hexdump(kind: str, n: int) -> None:
    data = sample(kind, n)
    assert format_canonical(data) == hexdump(data, "-C")


@needs_hexdump
@pytest.mark.parametrize(("kind", "n"), CASES)
def test_unsqueezed_matches_hexdump_v(kind: str, n: int) -> None:
    data = sample(kind, n)
    assert format_canonical(data, squeeze=False) == hexdump(data, "-C", "-v")


@needs_xxd
@pytest.mark.parametrize(("kind", "n"), CASES)
def test_xxd_matches_xxd(kind: str, n: int) -> None:
    data = sample(kind, n)
    assert format_xxd(data) == xxd(data)


@needs_hexdump
@pytest.mark.parametrize(("kind", "n"), CASES)
def test_narrow_matches_hexdump_format(kind: str, n: int) -> None:
    data = sample(kind, n)
    assert format_narrow(data) == hexdump(data, *NARROW)


def test_narrow_fits_an_80_column_pane() -> None:
    (line,) = format_rows(bytes(range(8)), 0, "narrow")
    assert line == "00000000  00 01 02 03 04 05 06 07  |........|"
    assert len(line) <= 80


def test_empty_input_prints_nothing() -> None:
    assert format_canonical(b"") == format_xxd(b"") == format_narrow(b"") == ""
    assert format_rows(b"", 0, "canonical") == []


STREAM_KINDS = ["runs", "zeros", "tail_repeat", "pattern"]


@needs_hexdump
@pytest.mark.parametrize("block_size", [16, 32, 48, 80, 4096])
@pytest.mark.parametrize("chunk", [1, 7, 16, 100, 5000])
@pytest.mark.parametrize("kind", STREAM_KINDS)
def test_streaming_squeezes_across_blocks(kind: str, chunk: int, block_size: int) -> None:
    data = sample(kind, 1999)
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    streamed = b"".join(iter_canonical(pieces, block_size=block_size))
    assert streamed.decode("ascii") == hexdump(data, "-C")
    narrow = b"".join(iter_narrow(pieces, block_size=block_size))
    assert narrow.decode("ascii") == hexdump(data, *NARROW)


@needs_xxd
@pytest.mark.parametrize("block_size", [16, 48, 4096])
@pytest.mark.parametrize("chunk", [1, 7, 100])
def test_xxd_streaming(chunk: int, block_size: int) -> None:
    data = sample("edges", 1001)
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    assert b"".join(iter_xxd(pieces, block_size=block_size)).decode() == xxd(data)


@needs_hexdump
@needs_xxd
def test_write_functions_stream_to_a_binary_file() -> None:
    data = sample("runs", 4097)
    out = io.BytesIO()
    assert write_canonical([data[:1000], data[1000:]], out) == len(out.getvalue())
    assert out.getvalue().decode() == hexdump(data, "-C")
    out = io.BytesIO()
    assert write_xxd(iter([data]), out) == len(out.getvalue())
    assert out.getvalue().decode() == xxd(data)


# Offsets that start mid-row and that cross into 9 and 10 printed digits.
OFFSETS = [1, 5, 0x1234, 0xFFFFFFE8, 0xFFFFFFF7, 0xFFFFFFFF, 0xFFFFFFFFF0]


@needs_hexdump
@pytest.mark.parametrize("start", OFFSETS)
@pytest.mark.parametrize("kind", ["runs", "random"])
def test_start_offset_matches_hexdump_skip(tmp_path: Path, start: int, kind: str) -> None:
    data = sample(kind, 100)
    path = tmp_path / "capture"
    with path.open("wb") as f:  # sparse: only the tail holds data
        try:
            os.pwrite(f.fileno(), data, start)
        except OSError as exc:
            pytest.skip(f"the filesystem under {tmp_path} cannot hold a sparse file: {exc}")
    assert HEXDUMP is not None
    expected = _tool((HEXDUMP, "-C", "-s", str(start), str(path)), b"")
    assert format_canonical(data, start) == expected
    assert b"".join(iter_canonical([data], start, block_size=32)).decode() == expected


@needs_hexdump
def test_empty_range_past_zero_prints_its_end_offset(tmp_path: Path) -> None:
    path = tmp_path / "capture"
    path.write_bytes(bytes(16))
    assert HEXDUMP is not None
    assert format_canonical(b"", 16) == _tool((HEXDUMP, "-C", "-s", "16", str(path)), b"")


@needs_xxd
@pytest.mark.parametrize("start", OFFSETS)
def test_start_offset_matches_xxd_display_offset(start: int) -> None:
    data = sample("edges", 100)
    assert format_xxd(data, start) == xxd(data, "-o", str(start))


@needs_xxd
@pytest.mark.parametrize("width", [*range(1, 34), 64, 255, 256])
def test_xxd_rows_at_any_width(width: int) -> None:
    data = sample("edges", 300)
    rows = format_rows(data, 0, "xxd", width)
    assert "".join(f"{row}\n" for row in rows) == xxd(data, "-c", str(width))


@needs_hexdump
@pytest.mark.parametrize("width", [1, 4, 8, 12, 16, 17, 24, 32])
def test_canonical_rows_at_any_width(width: int) -> None:
    data = sample("edges", 300)
    rows = format_rows(data, 0, "canonical", width)
    expected = hexdump(data, "-v", *_canonical_format(width))
    assert "".join(f"{row}\n" for row in rows) + f"{len(data):08x}\n" == expected


@needs_hexdump
@pytest.mark.parametrize("layout", ["canonical", "narrow"])
@pytest.mark.parametrize("n", [0, 1, 17, 4097])
def test_rows_are_the_unsqueezed_hexdump(layout: str, n: int) -> None:
    data = sample("runs", n)
    args = ("-C", "-v") if layout == "canonical" else ("-v", *NARROW)
    text = "".join(f"{row}\n" for row in format_rows(data, 0, layout))
    assert text + (f"{n:08x}\n" if n else "") == hexdump(data, *args)


def test_row_bytes() -> None:
    assert [row_bytes(layout) for layout in LAYOUTS] == [16, 16, 8]


@pytest.mark.parametrize(("layout", "width"), [("octal", None), ("xxd", 0), ("canonical", 257)])
def test_bad_layout_or_width_is_refused(layout: str, width: int | None) -> None:
    with pytest.raises(ValueError):
        format_rows(b"abc", 0, layout, width)


def test_negative_offset_is_refused() -> None:
    with pytest.raises(ValueError):
        format_canonical(b"abc", -1)


def _unsqueezed(data: bytes, start: int, layout: str) -> str:
    if layout == "xxd":
        return format_xxd(data, start)
    dump = format_canonical if layout == "canonical" else format_narrow
    return dump(data, start, squeeze=False)


offsets = st.integers(min_value=0, max_value=2**48)
payloads = st.binary(max_size=300)


@settings(max_examples=200, deadline=None)
@given(data=payloads, start=offsets, layout=st.sampled_from(LAYOUTS))
def test_rows_joined_are_the_unsqueezed_dump(data: bytes, start: int, layout: str) -> None:
    text = "".join(f"{row}\n" for row in format_rows(data, start, layout))
    dump = _unsqueezed(data, start, layout)
    trailer = "" if layout == "xxd" or not (data or start) else f"{start + len(data):08x}\n"
    assert text + trailer == dump


@settings(max_examples=200, deadline=None)
@given(data=payloads, start=offsets, layout=st.sampled_from(LAYOUTS), cut=st.data())
def test_a_window_of_rows_matches_the_whole(
    data: bytes, start: int, layout: str, cut: st.DataObject
) -> None:
    width = row_bytes(layout)
    whole = format_rows(data, start, layout)
    first = cut.draw(st.integers(0, len(whole)))
    end = cut.draw(st.integers(first, len(whole)))
    window = data[first * width : end * width]
    assert format_rows(window, start + first * width, layout) == whole[first:end]


# Rows drawn from a tiny pool so that runs of repeats, and their edges, are common.
pooled_rows = st.lists(st.sampled_from([bytes(16), b"\x01" * 16, b"ab" * 8]), max_size=40)


@settings(max_examples=200, deadline=None)
@given(
    rows=pooled_rows,
    tail=st.binary(max_size=20),
    start=offsets,
    block_rows=st.integers(1, 6),
    chunk=st.integers(1, 70),
)
def test_streaming_equals_whole(
    rows: list[bytes], tail: bytes, start: int, block_rows: int, chunk: int
) -> None:
    data = b"".join(rows) + tail
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    for stream, whole in ((iter_canonical, format_canonical), (iter_narrow, format_narrow)):
        streamed = b"".join(stream(pieces, start, block_size=16 * block_rows))
        assert streamed.decode() == whole(data, start)
    assert b"".join(iter_xxd(pieces, start, block_size=16 * block_rows)).decode() == (
        format_xxd(data, start)
    )
