"""Auto-accept out of descriptors (or memory): pause, count, resume when one frees.

Once a process is out of descriptors, a listener with connections waiting stays
readable and every accept fails at once: retrying on each wake-up spins a core and
records an error per try. Instead the first failure is recorded and auto-accept
pauses; the listener is tried again after a back-off that doubles up to a second, or
at once when a socket of the engine closes. Further failures are only counted: the
count is recorded, as one more step with `{"repeats": N}`, when the pause ends (or
once a minute while it lasts). A pause ends when accepts have worked for QUIET
seconds without a failure, when one finds nothing waiting, or when the listener is
closed, shut down or its auto-accept turned off; so a descriptor freed now and then
(one accept, then a failure again) does not record a step each time.
"""

from __future__ import annotations

import errno
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from workbench.core.steps import StepError
from workbench.io.engine.events import Call

if TYPE_CHECKING:
    from workbench.io.engine.api import Engine
    from workbench.io.engine.live import LiveSocket

# Errors that say "no resources now", not "this connection is bad": wait, then retry.
EXHAUSTED = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
OUT_OF_FDS = frozenset({errno.EMFILE, errno.ENFILE})
FIRST_DELAY = 0.01  # seconds before the first retry; doubles up to MAX_DELAY
MAX_DELAY = 1.0
REPORT_EVERY = 60.0  # while a pause lasts, its count is recorded this often
QUIET = 1.0  # seconds of accepts without a failure that end a pause


@dataclass
class Pause:
    """A listener's auto-accept paused by `error`: `hits` failures so far, the first
    recorded at once and `unreported` of the rest not recorded yet."""

    error: StepError
    since: float
    hits: int = 1
    unreported: int = 0
    reported_at: float = 0.0
    delay: float = FIRST_DELAY
    retry_at: float = 0.0
    ok_at: float | None = None  # accepts have worked since then, without a failure

    def due(self, now: float | None = None) -> bool:
        return (time.monotonic() if now is None else now) >= self.retry_at

    def wake_ms(self) -> int | None:
        """Milliseconds until the actor has something to do here (for its poll)."""
        now, times = time.monotonic(), []
        if not self.due(now):
            times.append(self.retry_at)
        if self.ok_at is not None:
            times.append(self.ok_at + QUIET)
        return max(0, int((min(times) - now) * 1000) + 1) if times else None


def exhausted(error: StepError | None) -> bool:
    return error is not None and error.number in EXHAUSTED


def pause_accept(eng: Engine, s: LiveSocket, error: StepError) -> None:
    """An accept failed for want of resources: record the first, count the rest."""
    now = time.monotonic()
    pause = s.accept_pause
    if pause is None:
        s.accept_pause = Pause(error, since=now, retry_at=now + FIRST_DELAY, reported_at=now)
        with eng.lock:
            eng.paused[s.id] = s
        until = "a descriptor frees" if error.number in OUT_OF_FDS else "memory frees"
        note = StepError(error.name, error.number,
                         f"{error.message}; auto-accept paused until {until}")
        eng.record_auto("accept", s, None, note)
        eng.changed(s)
        return
    pause.error, pause.ok_at = error, None
    pause.hits += 1
    pause.unreported += 1
    pause.delay = min(MAX_DELAY, pause.delay * 2)
    pause.retry_at = now + pause.delay
    if now - pause.reported_at >= REPORT_EVERY:
        _report(eng, s, pause, "auto-accept still paused")


def accepted(s: LiveSocket) -> None:
    """An accept worked during a pause: the next failure waits only a short while."""
    pause = s.accept_pause
    if pause is not None:
        pause.delay, pause.retry_at = FIRST_DELAY, 0.0
        pause.ok_at = pause.ok_at or time.monotonic()


def settle(eng: Engine, s: LiveSocket) -> None:
    """End the pause once accepts have worked for QUIET seconds (the actor's turn)."""
    pause = s.accept_pause
    if pause is None or pause.ok_at is None:
        return
    if time.monotonic() >= pause.ok_at + QUIET:
        end_pause(eng, s)


def end_pause(eng: Engine, s: LiveSocket, how: str = "auto-accept resumed") -> None:
    """The pause is over (descriptors to spare, or the listener stops): record its count."""
    pause, s.accept_pause = s.accept_pause, None
    with eng.lock:
        eng.paused.pop(s.id, None)
    if pause is not None and pause.unreported:
        _report(eng, s, pause, how)


def _report(eng: Engine, s: LiveSocket, pause: Pause, how: str) -> None:
    error = pause.error
    note = StepError(error.name, error.number,
                     f"{error.message}; hit {pause.hits} times in {_since(pause)}; {how}")
    call = Call("accept", s.id, {}, started=eng.now())
    eng.record(call, {"repeats": pause.hits}, note, auto=True)
    pause.unreported, pause.reported_at = 0, time.monotonic()


def _since(pause: Pause) -> str:
    return f"{max(0.0, time.monotonic() - pause.since):.1f} s"
