"""Helpers shared by the test suites: bounded waits, IPv6 detection, process clean-up."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable

import pytest

TIMEOUT = 5.0


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


HAS_IPV6 = ipv6_loopback()


def wait_until(predicate: Callable[[], object], what: str, timeout: float = TIMEOUT) -> None:
    """Poll until predicate is true; fail the test naming what never happened."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.005)


def stop_process(proc: subprocess.Popen, timeout: float = TIMEOUT) -> None:
    """Kill a process a test started (by its pid) and close its pipes."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
