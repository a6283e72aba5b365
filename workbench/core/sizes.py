"""Sizes as people write them (`64M`, `2G`, `1.5G`, `4096`) and back (`1.0G`).

Units are binary: K is 1024 bytes, M is 1024 K, and so on; a trailing `B` or `iB`
is allowed (`64MiB`, `64MB`). A capture budget may also be `none` (no budget) or
`auto` (the default, worked out where the journal lives).
"""

from __future__ import annotations

import math
import re
from typing import Literal

from workbench.core.errors import InputError

AUTO: Literal["auto"] = "auto"
Budget = int | None | Literal["auto"]  # bytes; None: no budget; AUTO: the default
UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
MAX_SIZE = 1 << 60  # far beyond any disk, and a whole number everywhere
_SIZE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(?:i?b)?", re.IGNORECASE)


def parse_size(text: str, what: str = "size", examples: str = "64M, 2G or 0") -> int:
    """Bytes from `64M`, `2G`, `1.5g`, `512KiB`, `4096`; InputError (one line) otherwise."""
    match = _SIZE.fullmatch(str(text).strip())
    if match is None:
        raise InputError(f"{what} {str(text)[:40]!r} is not a size: use e.g. {examples}")
    value = float(match.group(1)) * UNITS[match.group(2).lower()]
    if not math.isfinite(value) or value > MAX_SIZE:
        raise InputError(f"{what} {str(text)[:40]!r} is too big: use e.g. {examples}")
    return int(value)


def parse_budget(text: str, what: str = "capture budget") -> Budget:
    """A size, `none` (no budget) or `auto` (the default)."""
    word = str(text).strip().lower()
    if word == "none":
        return None
    if word == AUTO:
        return AUTO
    return parse_size(text, what, "64M, 2G, 0 (keep nothing received), none (no budget) "
                                  "or auto")


def format_size(n: int) -> str:
    """`512B`, `64.0M`, `1.0G`: the header's and the listings' way of writing sizes."""
    value = float(n)
    for unit in ("B", "K", "M", "G"):
        if value < 1024:
            return f"{int(value)}B" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}T"
