"""What the engine tells its subscribers, and the records it hands out.

Events and snapshots only: no socket, no lock of the engine's leaks through them,
so views may keep them on any thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workbench.core.steps import Step


@dataclass(frozen=True)
class StepDone:
    step: Step


@dataclass(frozen=True)
class CallStarted:
    """A call is in progress (it would block); it shows as such and can be cancelled."""

    call: Call


@dataclass(frozen=True)
class SocketChanged:
    sock: int


EngineEvent = StepDone | CallStarted | SocketChanged
Listener = Callable[[EngineEvent], None]


@dataclass
class Call:
    """A submitted step until it is recorded."""

    op: str
    sock: int | None
    args: dict[str, Any]
    started: float = 0.0
    step: Step | None = None
    done: threading.Event = field(default_factory=threading.Event)
    cancelled: bool = False
    sent: int = 0  # progress of a send that waits for room
    flags: int = 0
    payload: bytes = b""  # the bytes a send sends (args may hold them as a log reference)
    log_pos: int = -1  # where those bytes sit in the byte log, when they were put there
    deadline: float | None = None  # for expect

    def wait(self, timeout: float | None = None) -> Step | None:
        self.done.wait(timeout)
        return self.step


@dataclass(frozen=True)
class SocketInfo:
    """A snapshot of one socket for views: safe to read on any thread."""

    id: int
    family: str
    type: str
    state: str
    local: str
    peer: str
    blocking: bool
    auto: bool
    parent: int | None
    bytes_in: int
    bytes_out: int
    pending: str
    kind: str = "stream"
    inode: int = 0  # the socket's inode, as the connection table (sock_diag) names it


class Subscribers:
    """Callbacks fed every engine event; each subscription ends with its own handle."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: tuple[Listener, ...] = ()

    def add(self, callback: Listener) -> Callable[[], None]:
        with self._lock:
            self._callbacks = (*self._callbacks, callback)
        done = threading.Event()

        def unsubscribe() -> None:
            if done.is_set():
                return
            done.set()
            with self._lock:
                kept = list(self._callbacks)
                kept.remove(callback)
                self._callbacks = tuple(kept)

        return unsubscribe

    def __len__(self) -> int:
        return len(self._callbacks)

    def emit(self, event: EngineEvent) -> None:
        for callback in self._callbacks:  # a tuple: safe while others (un)subscribe
            callback(event)
