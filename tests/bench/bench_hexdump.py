"""Hex dump benchmark against `xxd` and `hexdump -C`, measured in the same run.

Run with `python tests/bench/bench_hexdump.py`. It is a script, not a timed test:
- bulk export of a 64 MiB capture to /dev/null, best of 3, as input MiB/s;
- one screen (40 rows) at 1000 random offsets of a 1 GiB sparse capture, read with
  os.pread and formatted, as median and p99 milliseconds.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
from _table import print_table, ratio
from _traffic import MIB, traffic_block

from workbench.core.hexdump import format_rows, iter_canonical, iter_xxd

SCREEN_ROWS = 40
SCREEN_BYTES = SCREEN_ROWS * 16
BIG_CAPTURE = 1 << 30

Dump = Callable[[Iterable[bytes]], Iterator[bytes]]
PEER_ENV = {**os.environ, "LC_ALL": "C"}  # the C locale decides what hexdump calls printable


def make_capture(path: Path, size_mib: int) -> None:
    rng = np.random.default_rng(1)
    with path.open("wb") as f:
        for _ in range(size_mib):
            f.write(traffic_block(rng))


def make_sparse_capture(path: Path) -> None:
    """1 GiB, with 1 MiB of traffic every 16 MiB and holes (zeros) between."""
    rng = np.random.default_rng(2)
    with path.open("wb") as f:
        f.truncate(BIG_CAPTURE)
        for start in range(0, BIG_CAPTURE, 16 * MIB):
            os.pwrite(f.fileno(), traffic_block(rng), start)


def chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(MIB):
            yield chunk


def best_of(runs: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def export_ours(path: Path, dump: Dump) -> None:
    with open(os.devnull, "wb") as out:
        for piece in dump(chunks(path)):
            out.write(piece)


def run_peer(args: list[str]) -> None:
    subprocess.run(args, stdout=subprocess.DEVNULL, check=True, env=PEER_ENV)


def peer_digest(args: list[str]) -> str:
    digest = hashlib.sha256()
    with subprocess.Popen(args, stdout=subprocess.PIPE, env=PEER_ENV) as proc:
        assert proc.stdout is not None
        while piece := proc.stdout.read(MIB):
            digest.update(piece)
    return digest.hexdigest()


def our_digest(path: Path, dump: Dump) -> str:
    digest = hashlib.sha256()
    for piece in dump(chunks(path)):
        digest.update(piece)
    return digest.hexdigest()


def rate(size: int, seconds: float) -> str:
    return f"{size / MIB / seconds:,.0f} MiB/s"


def bulk_rows(path: Path, size: int) -> tuple[list[tuple[str, str, str, str]], list[str]]:
    """Export timings, plus a note per peer on whether the outputs are byte-identical."""
    cases = [
        ("export hexdump -C text", iter_canonical, ["hexdump", "-C"]),
        ("export hexdump -C text (vs xxd)", iter_canonical, ["xxd"]),
        ("export xxd text", iter_xxd, ["xxd"]),
    ]
    rows, notes = [], []
    for what, dump, tool in cases:
        ours = best_of(3, lambda dump=dump: export_ours(path, dump))
        if shutil.which(tool[0]) is None:
            rows.append((what, rate(size, ours), f"{tool[0]}: not installed", "n/a"))
            continue
        peer = best_of(3, lambda tool=tool: run_peer([*tool, str(path)]))
        rows.append(
            (what, rate(size, ours), f"{' '.join(tool)}: {rate(size, peer)}", ratio(peer, ours))
        )
        if dump is iter_canonical and tool[0] == "xxd":
            continue  # different formats: nothing to compare byte for byte
        same = our_digest(path, dump) == peer_digest([*tool, str(path)])
        notes.append(f"{' '.join(tool)} output byte-identical: {'yes' if same else 'NO'}")
    return rows, notes


def screen_times(path: Path, count: int) -> list[float]:
    rng = random.Random(3)
    fd = os.open(path, os.O_RDONLY)
    try:
        times = []
        for _ in range(count):
            first = rng.randrange(BIG_CAPTURE // 16 - SCREEN_ROWS) * 16
            start = time.perf_counter()
            format_rows(os.pread(fd, SCREEN_BYTES, first), first, "canonical")
            times.append(time.perf_counter() - start)
        return times
    finally:
        os.close(fd)


def peer_screen_times(path: Path, count: int) -> list[float]:
    """The same screen from a fresh `xxd -s OFF -l LEN`, the way a shell user would get it."""
    rng = random.Random(4)
    times = []
    for _ in range(count):
        first = rng.randrange(BIG_CAPTURE // 16 - SCREEN_ROWS) * 16
        args = ["xxd", "-s", str(first), "-l", str(SCREEN_BYTES), str(path)]
        start = time.perf_counter()
        run_peer(args)
        times.append(time.perf_counter() - start)
    return times


def p99(times: list[float]) -> float:
    return statistics.quantiles(times, n=100)[98]


def screen_rows(path: Path) -> list[tuple[str, str, str, str]]:
    ours = screen_times(path, 1000)
    peer = peer_screen_times(path, 100) if shutil.which("xxd") else []
    rows = []
    for what, stat in (("median", statistics.median), ("p99", p99)):
        mine = stat(ours) * 1e3
        theirs = f"xxd -s -l: {stat(peer) * 1e3:.3f} ms" if peer else "xxd: not installed"
        share = ratio(stat(peer), stat(ours)) if peer else "n/a"
        rows.append(
            (f"one screen ({SCREEN_ROWS} rows) of 1 GiB, {what}", f"{mine:.3f} ms", theirs, share)
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=64, help="bulk capture size (64)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-hexdump-") as tmp:
        bulk = Path(tmp) / "capture.bin"
        make_capture(bulk, args.size_mib)
        rows, notes = bulk_rows(bulk, args.size_mib * MIB)
        bulk.unlink()
        sparse = Path(tmp) / "capture-1g.bin"
        make_sparse_capture(sparse)
        rows += screen_rows(sparse)
    print(
        f"hexdump benchmark: {args.size_mib} MiB capture, Python {sys.version.split()[0]}, "
        f"numpy {np.__version__}, {os.cpu_count()} CPUs; ratio = our throughput / peer's"
    )
    print_table(rows)
    print("\n".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
