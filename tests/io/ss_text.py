"""`ss -H` output split into comparable fields, for ground truth (and its fixtures)."""

from __future__ import annotations

import shutil
import subprocess

SS = shutil.which("ss")


def ss_lines(flags: str) -> list[tuple[str, ...]]:
    """Rows of `ss -<flags>nH` (e.g. "ta"), each split on blanks."""
    assert SS is not None
    out = subprocess.run([SS, f"-{flags}nH"], capture_output=True, text=True, timeout=30,
                         check=True).stdout
    return parse(out)


def parse(text: str) -> list[tuple[str, ...]]:
    return [tuple(line.split()) for line in text.splitlines() if line.strip()]


def inet_key(fields: tuple[str, ...]) -> tuple[str, str]:
    """(local, peer) of a `ss -t`/`ss -u` row: State Recv-Q Send-Q Local Peer."""
    return fields[3], fields[4]


def unix_inode(fields: tuple[str, ...]) -> int:
    """The inode of a `ss -x` row: Netid State Recv-Q Send-Q Name Inode * Peer."""
    return int(fields[5])
