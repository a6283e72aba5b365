"""Messages from the engine's threads to the UI's loop, coalesced and bounded.

The engine may record thousands of steps a second (a chargen flood). Each event is
queued in a deque and at most one EngineActivity message is in the app's queue at
a time, so the message queue never fills; the handler drains what has piled up.
A socket's SocketChanged events are kept once per drain (they only say "read its
snapshot again"), and under a flood drains come less often: the UI thread's work,
a new layout of the screen at each drain, holds the GIL the receiving threads need.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from textual.message import Message

from workbench.io.engine import EngineEvent, SocketChanged


class EngineActivity(Message):
    """Something happened in the engine: drain the bridge."""


BUSY_INTERVAL = 0.5  # seconds between the screen's drains under a flood (see EngineBridge)


class EngineBridge:
    """Thread-safe hand-over of engine events to the UI's event loop.

    At most one EngineActivity is in flight, and after a drain the next one waits
    `min_interval`, or `busy_interval` after a drain of at least `busy_events` (a
    flood): under a flood the UI refreshes twice a second and leaves the CPU and the
    GIL to the receiving threads (on two CPUs, with the sender on one, each refresh
    comes out of their time), yet an event after a quiet spell shows at once.
    The UI calls `due()` from a timer to pick up events held back.
    """

    def __init__(self, post: Callable[[Message], object], limit: int = 100_000,
                 min_interval: float = 0.1, busy_interval: float = BUSY_INTERVAL,
                 busy_events: int = 100) -> None:
        self._post = post
        self._events: deque[EngineEvent] = deque(maxlen=limit)
        self._changed: dict[int, None] = {}  # sockets whose SocketChanged waits, in order
        self._guard = threading.Lock()
        self._posted = False
        self._last_drain = 0.0
        self.min_interval, self.busy_interval, self.busy_events = (
            min_interval, busy_interval, busy_events)
        self._interval = min_interval

    def __call__(self, event: EngineEvent) -> None:  # engine threads
        with self._guard:
            if type(event) is SocketChanged:
                self._changed[event.sock] = None
            else:
                self._events.append(event)
            if self._posted or time.monotonic() - self._last_drain < self._interval:
                return
            self._posted = True
        self._post(EngineActivity())

    def due(self) -> bool:
        """Events are waiting and the interval has passed (for the UI's timer)."""
        with self._guard:
            return bool(self._events or self._changed) and not self._posted and \
                time.monotonic() - self._last_drain >= self._interval

    def drain(self) -> list[EngineEvent]:  # UI loop
        """What piled up, in order; each socket's SocketChanged once, after its steps."""
        with self._guard:
            events = list(self._events)
            events += [SocketChanged(sock) for sock in self._changed]
            self._events.clear()
            self._changed.clear()
            self._posted = False
            self._last_drain = time.monotonic()
            busy = len(events) >= self.busy_events
            self._interval = self.busy_interval if busy else self.min_interval
        return events
