"""Messages from the engine's threads to the UI's loop, coalesced and bounded.

The engine may record thousands of steps a second (a chargen flood). Each event is
queued in a deque and at most one EngineActivity message is in the app's queue at
a time, so the message queue never fills; the handler drains what has piled up.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from textual.message import Message

from workbench.io.engine import EngineEvent


class EngineActivity(Message):
    """Something happened in the engine: drain the bridge."""


class EngineBridge:
    """Thread-safe hand-over of engine events to the UI's event loop."""

    def __init__(self, post: Callable[[Message], object], limit: int = 100_000) -> None:
        self._post = post
        self._events: deque[EngineEvent] = deque(maxlen=limit)
        self._lock = threading.Lock()
        self._posted = False

    def __call__(self, event: EngineEvent) -> None:  # engine threads
        with self._lock:
            self._events.append(event)
            if self._posted:
                return
            self._posted = True
        self._post(EngineActivity())

    def drain(self) -> list[EngineEvent]:  # UI loop
        with self._lock:
            events = list(self._events)
            self._events.clear()
            self._posted = False
        return events
