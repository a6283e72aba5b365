"""Messages from the engine's threads to the UI's loop, coalesced and bounded.

The engine may record thousands of steps a second (a chargen flood). Each event is
queued in a deque and at most one EngineActivity message is in the app's queue at
a time, so the message queue never fills; the handler drains what has piled up.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from textual.message import Message

from workbench.io.engine import EngineEvent


class EngineActivity(Message):
    """Something happened in the engine: drain the bridge."""


class EngineBridge:
    """Thread-safe hand-over of engine events to the UI's event loop.

    At most one EngineActivity is in flight, and after a drain the next one waits
    `min_interval`: under a flood the UI refreshes a bounded number of times a
    second and leaves the GIL to the engine, yet an event after a quiet spell shows
    at once. The UI calls `due()` from a timer to pick up events held back.
    """

    def __init__(self, post: Callable[[Message], object], limit: int = 100_000,
                 min_interval: float = 0.1) -> None:
        self._post = post
        self._events: deque[EngineEvent] = deque(maxlen=limit)
        self._guard = threading.Lock()
        self._posted = False
        self._last_drain = 0.0
        self.min_interval = min_interval

    def __call__(self, event: EngineEvent) -> None:  # engine threads
        with self._guard:
            self._events.append(event)
            if self._posted or time.monotonic() - self._last_drain < self.min_interval:
                return
            self._posted = True
        self._post(EngineActivity())

    def due(self) -> bool:
        """Events are waiting and the interval has passed (for the UI's timer)."""
        with self._guard:
            return bool(self._events) and not self._posted and \
                time.monotonic() - self._last_drain >= self.min_interval

    def drain(self) -> list[EngineEvent]:  # UI loop
        with self._guard:
            events = list(self._events)
            self._events.clear()
            self._posted = False
            self._last_drain = time.monotonic()
        return events
