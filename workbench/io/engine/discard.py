"""Past the capture budget, a stream is counted in a few steps a second, not kept.

Once the budget is reached (or the disk's free space is under the floor) nothing a
stream receives is kept, yet a step per drain would still journal a line per
megabyte: thousands a second in a flood, more than the budget itself in minutes. So
a drain past the budget reads and drops what arrives for up to SLICE, and records
one `recv` step for all of it (`{"kept": false, "size": N, "why": "budget"}`): the
journal grows by a few lines a second however long the flood. Offsets and counters
stay exact; calls queued on the socket wait at most SLICE.
"""

from __future__ import annotations

import select
import socket
import time
from typing import TYPE_CHECKING

from workbench.core.steps import NOT_KEPT, NotKept, StepError
from workbench.io.capture import IN
from workbench.io.engine.live import LiveSocket

if TYPE_CHECKING:
    from workbench.io.engine.api import Engine

SLICE = 0.05  # seconds one step past the budget may cover


def count_only(eng: Engine, s: LiveSocket) -> tuple[int, bool, StepError | None]:
    """Read and drop for up to SLICE; record the bytes as not kept: (bytes, the end
    came, the error that came)."""
    why = eng.log.full or "budget"
    total, end, error = 0, False, None
    deadline = time.monotonic() + SLICE
    poll = select.poll()
    poll.register(s.sock.fileno(), select.POLLIN)
    with eng.buffers.take() as buf, memoryview(buf) as view:
        while (left := deadline - time.monotonic()) > 0:
            try:
                n = s.sock.recv_into(view, len(view), socket.MSG_DONTWAIT)
            except BlockingIOError:
                if not poll.poll(int(left * 1000) + 1):
                    break
                continue
            except OSError as exc:
                error = eng.error_of(exc)
                break
            if n == 0:
                end = True
                break
            total += n
    if total:
        eng.log.refuse(total)
        chunk = s.capture.note(IN, NOT_KEPT, total, eng.now(), "", why)
        eng.record_auto("recv", s, {"data": NotKept(total, why), "at": chunk.offset})
    return total, end, error
