"""The event log: every step with its result, errno name and a one-line meaning."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from workbench.core.errnos import lookup
from workbench.core.steps import Step

MAX_LINES = 5000  # the session keeps every step; the log shows the recent ones


def meaning(step: Step) -> str:
    if step.error is None:
        return ""
    try:
        return lookup(step.error.name).meaning
    except KeyError:
        return step.error.message


def step_line(step: Step) -> Text:
    line = Text(f"{step.t:8.3f} ", style="dim")
    if step.auto:
        line.append("auto ", style="italic")
    line.append(step.describe())
    line.append(" → ")
    if step.error is None:
        line.append(step.outcome(), style="green")
    else:
        line.append(f"{step.error.name} ", style="bold red")
        line.append(meaning(step))
    return line


class RecvBatch:
    """Consecutive auto-receives on one socket, shown as one line in a flood."""

    def __init__(self) -> None:
        self.steps: list[Step] = []

    def add(self, step: Step) -> bool:
        """Take an auto-receive that carried data; False for anything else."""
        fits = step.auto and step.ok and step.op in ("recv", "recvfrom") \
            and bool(step.result and not step.result.get("eof"))
        if fits and self.steps and self.steps[0].sock != step.sock:
            return False
        if fits:
            self.steps.append(step)
        return fits

    def flush(self, log: EventLog) -> None:
        if len(self.steps) == 1:
            log.add_step(self.steps[0])
        elif self.steps:
            first = self.steps[0]
            total = sum(len(s.result["data"]) for s in self.steps if s.result)
            line = Text(f"{first.t:8.3f} ", style="dim")
            line.append("auto ", style="italic")
            line.append(f"{first.op}(#{first.sock}) x{len(self.steps)} → ")
            line.append(f"{total} bytes", style="green")
            log.write(line)
        self.steps = []


class EventLog(RichLog):
    def __init__(self) -> None:
        super().__init__(id="log-view", max_lines=MAX_LINES, wrap=True, markup=False,
                         min_width=20)

    def add_step(self, step: Step) -> None:
        self.write(step_line(step))
