"""Which processes hold which sockets: socket inodes found by scanning /proc/*/fd.

The scan reads one link per open descriptor of every process it may look into (about
0.3 s for 60,000 sockets), so it is cached and run from a worker, never on every
refresh and never on the UI's loop. Names come from psutil, else /proc/PID/comm.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping

from workbench.core.conntable import Owner

PROC = "/proc"


def _name(pid: int) -> str:
    try:
        import psutil

        return psutil.Process(pid).name()
    except Exception:  # gone, no access, or no psutil: the kernel's short name will do
        try:
            with open(f"{PROC}/{pid}/comm", encoding="utf-8", errors="replace") as f:
                return f.read().strip()
        except OSError:
            return "?"


def _socket_inodes(pid: str) -> list[int]:
    """Inodes of the sockets open in one process ([] when it is gone or hidden)."""
    base = f"{PROC}/{pid}/fd/"
    try:
        fds = os.listdir(base)
    except OSError:
        return []
    found: list[int] = []
    readlink = os.readlink
    for fd in fds:
        try:
            link = readlink(base + fd)
        except OSError:  # closed meanwhile
            continue
        if link.startswith("socket:["):
            found.append(int(link[8:-1]))
    return found


def scan_owners() -> dict[int, tuple[Owner, ...]]:
    """inode -> the processes holding that socket (several after a fork)."""
    owners: dict[int, tuple[Owner, ...]] = {}
    try:
        pids = [p for p in os.listdir(PROC) if p.isdecimal()]
    except OSError:
        return owners
    for pid in pids:
        time.sleep(0)  # a scan runs beside the UI: let it in between processes
        inodes = _socket_inodes(pid)
        if not inodes:
            continue
        owner = Owner(int(pid), _name(int(pid)))
        for inode in dict.fromkeys(inodes):  # a socket dup'ed in one process counts once
            held = owners.get(inode)
            owners[inode] = (owner,) if held is None else (*held, owner)
    return owners


class OwnerCache:
    """The last scan, and a rescan when it is older than `max_age` (call from a worker)."""

    def __init__(self, max_age: float = 3.0) -> None:
        self.max_age = self._base_age = max_age
        self._lock = threading.Lock()
        self._owners: Mapping[int, tuple[Owner, ...]] = {}
        self._at = -1e9

    def get(self) -> Mapping[int, tuple[Owner, ...]]:
        return self._owners

    def refresh(self, force: bool = False) -> Mapping[int, tuple[Owner, ...]]:
        self.rescan(force)
        return self._owners

    def rescan(self, force: bool = False) -> bool:
        """Scan if the last scan is stale (or `force`); True when a scan ran."""
        if not force and time.monotonic() - self._at < self.max_age:
            return False
        with self._lock:  # one scan at a time; a second caller takes its result
            if force or time.monotonic() - self._at >= self.max_age:
                started = time.monotonic()
                self._owners = scan_owners()
                self._at = time.monotonic()
                # a slow scan (a busy machine) is repeated less often
                self.max_age = max(self._base_age, 10 * (self._at - started))
                return True
        return False
