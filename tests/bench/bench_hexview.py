"""Hex view benchmark: one screen at a random offset of a 1 GiB capture, against `xxd`.

Run with `python tests/bench/bench_hexview.py`. It is a script, not a timed test:
- a CaptureStore of 1 GiB (1024 chunks of 1 MiB, both directions interleaved) whose
  ByteLog lives in a temporary file, indexed by the view's row model;
- at 1000 random (direction, offset) points: the row lookup, one screen of 40 rows
  formatted and painted into Strips (no cache), as median and p99 milliseconds;
- the peer: `xxd -s POS -l 640` on the same bytes of the same file, the way a shell
  user would look at that spot.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _table import print_table, ratio
from _traffic import MIB, traffic_block

from workbench.core.capture_rows import CaptureRows, choose_shape, format_window
from workbench.io.capture import ByteLog, CaptureStore
from workbench.ui.widgets.hex_view import Palette, new_chunks, paint

ROWS = 40
WIDTH = 118  # a 120-column terminal less the scrollbar
Point = tuple[int, int]  # (direction, offset)


def make_store(path: Path, chunks: int) -> CaptureStore:
    rng = np.random.default_rng(5)
    blocks = [traffic_block(rng) for _ in range(8)]
    store = CaptureStore(ByteLog(str(path)))
    for n in range(chunks):
        store.append(n % 2, blocks[n % len(blocks)], n * 0.001)
    return store


def one_screen(model: CaptureRows, store: CaptureStore, mode: str,
               palette: Palette) -> Callable[[Point], int]:
    """What the view does to draw a screen at a point: find the row, format, paint."""
    shape = choose_shape(mode, "auto", WIDTH)
    model.configure(shape.row_bytes, True, None, None)
    read = store.log.read

    def draw(point: Point) -> int:
        direction, offset = point
        chunk = model.chunk_at(direction, offset)
        assert chunk is not None
        y = model.row_of(chunk, offset - model.chunk(chunk).offset)
        assert y is not None
        rows = format_window(model, read, shape, False, min(y, model.rows - ROWS), ROWS)
        strips = [paint(row, palette, WIDTH, []) for row in rows]
        return len(strips)

    return draw


def log_position(model: CaptureRows, point: Point) -> int:
    chunk = model.chunk_at(*point)
    assert chunk is not None
    info = model.chunk(chunk)
    return info.pos + point[1] - info.offset


def time_each(points: list[Point], action: Callable[[Point], object]) -> list[float]:
    times = []
    for point in points:
        start = time.perf_counter()
        action(point)
        times.append(time.perf_counter() - start)
    return times


def xxd_times(path: Path, positions: list[int]) -> list[float]:
    times = []
    for pos in positions:
        args = ["xxd", "-s", str(pos), "-l", str(ROWS * 16), str(path)]
        start = time.perf_counter()
        subprocess.run(args, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return times


def p99(times: list[float]) -> float:
    return statistics.quantiles(times, n=100)[98]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=1024, help="1 MiB chunks (1024)")
    parser.add_argument("--samples", type=int, default=1000, help="random offsets (1000)")
    args = parser.parse_args()
    rng = random.Random(7)
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-hexview-") as tmp:
        path = Path(tmp) / "capture.bytes"
        store = make_store(path, args.chunks)
        model = CaptureRows()
        start = time.perf_counter()
        new = new_chunks(store, 0)
        assert new is not None
        model.extend(new)
        index_ms = (time.perf_counter() - start) * 1e3
        points = [(d := rng.randrange(2), rng.randrange(store.totals[d]))
                  for _ in range(args.samples)]
        peer = (xxd_times(path, [log_position(model, p) for p in points])
                if shutil.which("xxd") else [])
        for mode in ("hex", "split", "text"):
            draw = one_screen(model, store, mode, Palette.plain())
            ours = time_each(points, draw)
            for what, stat in (("median", statistics.median), ("p99", p99)):
                theirs = f"xxd -s -l: {stat(peer) * 1e3:.3f} ms" if peer else "xxd: missing"
                share = ratio(stat(peer), stat(ours)) if peer else "n/a"
                rows.append((f"one screen ({ROWS} rows), {mode} mode, {what}",
                             f"{stat(ours) * 1e3:.3f} ms", theirs, share))
        store.log.close()
    size = args.chunks * MIB
    print(f"hex view benchmark: {size / MIB:,.0f} MiB capture in {args.chunks} chunks, "
          f"{args.samples} random offsets, {WIDTH} columns, Python {sys.version.split()[0]}, "
          f"numpy {np.__version__}, {os.cpu_count()} CPUs; ratio = peer's time / ours")
    print_table(rows)
    print(f"indexing {args.chunks} chunks into rows: {index_ms:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
