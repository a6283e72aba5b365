"""Fixtures every suite shares."""

from __future__ import annotations

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
