"""Synthetic traffic shared by the benchmarks: random payload, zero runs and HTTP text."""

from __future__ import annotations

import numpy as np

MIB = 1 << 20
HTTP = b"GET /index.html HTTP/1.1\r\nHost: example.test\r\nAccept: */*\r\n\r\n"


def traffic_block(rng: np.random.Generator) -> bytes:
    """1 MiB of random-ish traffic: mostly random payload, a zero run and some HTTP text."""
    block = rng.integers(0, 256, MIB, dtype=np.uint8)
    block[: MIB // 16] = 0
    text = (HTTP * (MIB // 16 // len(HTTP) + 1))[: MIB // 16]
    block[MIB // 16 : MIB // 8] = np.frombuffer(text, dtype=np.uint8)
    return block.tobytes()
