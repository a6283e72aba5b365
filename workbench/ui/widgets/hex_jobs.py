"""Long work of the hex view off the UI thread: a search over a big capture, a save, a big copy.

Each job runs in a Textual thread worker, one per kind: a new search supersedes the
one still running (the worker group is exclusive), escape cancels them all. A job's
reads call `stop_if_cancelled()` between blocks, so a cancelled thread ends soon;
its result comes back as the worker's StateChanged message, handled on the UI thread.
While a job runs, the status line says so ("searching…").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.worker import NoActiveWorker, Worker, WorkerState, get_current_worker

JOB_LABELS = {"search": "searching…", "save": "saving…", "copy": "copying…"}


class JobCancelled(Exception):
    """Raised inside a job's thread once its worker was cancelled."""


def stop_if_cancelled() -> None:
    """In a job's thread: raise JobCancelled if the job was cancelled. Elsewhere (a
    small search done at once on the UI thread): nothing."""
    try:
        worker = get_current_worker()
    except NoActiveWorker:
        return
    if worker.is_cancelled:
        raise JobCancelled()


@dataclass(frozen=True)
class _Job:
    kind: str
    done: Callable[[Any], None]


class HexJobs:
    """Mixin of HexView: start, track, cancel and finish thread jobs."""

    _jobs: dict[Worker[Any], _Job]  # the running ones; a job cancelled leaves at once

    def _start_job(self, kind: str, work: Callable[[], Any],
                   done: Callable[[Any], None]) -> Worker[Any]:
        """Run `work()` in a thread; `done(result)` runs on the UI thread after. A job of
        the same kind still running is cancelled and its result, if any, dropped."""
        self.cancel_jobs(kind, quiet=True)
        worker = self.run_worker(work, name=f"hex-{kind}", group=f"hex-{kind}", thread=True,
                                 exclusive=True, exit_on_error=False)
        self._jobs[worker] = _Job(kind, done)
        self.refresh()  # the status line says it
        return worker

    @property
    def busy(self) -> list[str]:
        """What the jobs running are doing, for the status line: ['searching…']."""
        return [JOB_LABELS[job.kind] for job in self._jobs.values()]

    def cancel_jobs(self, kind: str | None = None, quiet: bool = False) -> bool:
        """Cancel the running jobs (of one kind); False if none was running."""
        stopped = [w for w, job in self._jobs.items() if kind in (None, job.kind)]
        for worker in stopped:
            job = self._jobs.pop(worker)
            worker.cancel()
            if not quiet:
                self._say(f"{job.kind} cancelled", severity="warning", timeout=3)
        if stopped:
            self.refresh()
        return bool(stopped)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        job = self._jobs.get(event.worker)
        if job is None or event.state in (WorkerState.PENDING, WorkerState.RUNNING):
            return  # not ours, or no longer wanted (cancelled, superseded)
        del self._jobs[event.worker]
        self.refresh()
        if event.state == WorkerState.SUCCESS:
            job.done(event.worker.result)
        elif event.state == WorkerState.ERROR:
            self._say(f"{job.kind} failed: {event.worker.error}", severity="error")
