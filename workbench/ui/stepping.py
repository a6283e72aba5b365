"""Stepping through a loaded session in the live workspace, one step at a time.

The same Replayer as `workbench replay`, driven from a worker thread: each user
step runs on the workspace's engine (so it shows in the tree and log like any
other), and its live outcome is set beside the recorded one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from workbench.core.compare import Mismatch, join_kept, outcome_key
from workbench.core.session import Session
from workbench.io.replay import Replayer
from workbench.io.workspace import Workspace


class StepThrough:
    def __init__(self, recorded: Session, ws: Workspace, timeout: float = 5.0,
                 allow_raw: bool = False) -> None:
        self.replayer = Replayer(recorded, ws, timeout, allow_raw=allow_raw)
        self._steps = self.replayer.iter_steps()
        self._stop = threading.Event()
        self.done = False
        self.running = False  # a step (or run all) is in progress: the Session pane shows it
        self.mismatches: list[Mismatch] = []
        self._unsubscribe = ws.subscribe(self.replayer.on_event)

    def close(self) -> None:
        """Stop following the workspace (another session is opened, or the app ends)."""
        self._stop.set()
        self._unsubscribe()

    def stop(self) -> None:
        self._stop.set()

    def advance(self, until_end: bool = False) -> Iterator[tuple[int, str, bool]]:
        """Run the next step (or all the rest); yield (seq, live outcome, matches)."""
        self._stop.clear()
        self.running = True
        try:
            yield from self._advance(until_end)
        finally:
            self.running = False

    def _advance(self, until_end: bool) -> Iterator[tuple[int, str, bool]]:
        while not self.done and not self._stop.is_set():
            try:
                recorded, live = next(self._steps)
            except StopIteration:
                self.done = True
                self.mismatches = self.replayer.finish()
                yield from self._auto_marks()
                return
            if live is None:
                yield recorded.seq, "not run", False
            else:
                text = live.error.name if live.error else live.outcome()
                yield recorded.seq, text, outcome_key(live) == outcome_key(recorded)
            if not until_end:
                return

    def _auto_marks(self) -> Iterator[tuple[int, str, bool]]:
        """Auto steps are not re-run: each is marked by how its socket's bytes compared."""
        bad = {m.sock: m for m in self.mismatches if m.kind != "outcome" and m.sock is not None}
        for step in self.replayer.recorded.ordered():
            if step.auto:
                miss = bad.get(step.sock)
                yield step.seq, "as recorded" if miss is None else miss.kind + " differ", \
                    miss is None

    def progress_lines(self) -> list[str]:
        """Per recorded socket: what the live run received against the recording so far."""
        rep = self.replayer
        lines = []
        for rec_id, want in sorted(rep.progress.by_sock.items()):
            if not want.chunks and not want.events:
                continue
            got = rep.live.get(rep.ids.get(rec_id, -1))
            unit = "bytes" if want.stream else "datagrams"
            expected, received = join_kept(want.chunks, got.chunks)
            same = received[:len(expected)] == expected[:len(received)]
            mark = "matches so far" if same else "DIFFERS"
            lines.append(f"#{rec_id}: received {got.count()} of {want.count()} recorded "
                         f"{unit}, {mark}")
        if self.done:
            lines += [m.render() for m in self.mismatches] or ["finished: everything matches"]
        return lines

    @property
    def ok(self) -> bool:
        return self.done and not self.mismatches

    def summary(self) -> str:
        if self.ok:
            return "session finished: everything received matches the recording"
        first = self.mismatches[0].render().splitlines()[0] if self.mismatches else ""
        return f"session finished with {len(self.mismatches)} mismatch(es): {first}"
