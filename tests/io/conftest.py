"""Fixtures of the io suite."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from support import threads_end

from workbench.io.engine import Engine


@pytest.fixture
def engine() -> Iterator[Engine]:
    """An engine on real sockets; shut down, and its threads gone, at the end."""
    eng = Engine()
    try:
        yield eng
    finally:
        eng.shutdown()
    threads_end()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A plain TCP listener on loopback the test owns: the other side of a connection."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(10.0)
    try:
        yield srv
    finally:
        srv.close()
