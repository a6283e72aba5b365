"""The event log: every step with its result, errno name and a one-line meaning."""

from __future__ import annotations

from collections import deque

from rich.text import Text
from textual.binding import Binding
from textual.widgets import RichLog

from workbench.core.diagnosis import deferred_connect_error, words_for_step
from workbench.core.steps import Step

MAX_ENTRIES = 2000  # the session keeps every step; the log shows the recent ones
MAX_LINES = 3 * MAX_ENTRIES  # wrapped lines: room for entries of a few lines each


def meaning(step: Step) -> str:
    """What the error means for the call the step made (a cancel says so)."""
    return words_for_step(step)[0]


def step_line(step: Step) -> Text:
    line = Text(f"{step.t:8.3f} ", style="dim")
    if step.auto:
        line.append("auto ", style="italic")
    line.append(step.describe())
    line.append(" → ")
    failed = deferred_connect_error(step) if step.error is None else None
    if failed is not None:  # a non-blocking connect that failed, read through SO_ERROR
        line.append(step.outcome())
        line.append(f" connect failed: {failed.name} ", style="bold red")
        line.append(meaning(step))
    elif step.error is None:
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
        fits = step.auto_received and bool(step.result and not step.result.get("eof"))
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
            log.add_line(line)
        self.steps = []


class EventLog(RichLog):
    """The log keeps each entry's Text, not only its wrapped lines: entries written while
    the pane is hidden (no width) are drawn when it shows, and a new width re-wraps all
    of them, so the log always wraps at the width it has. Enter lists the failed steps
    to explain one (screens/why)."""

    BINDINGS = [Binding("enter", "app.pick_failure", "why", id="log.explain",
                        tooltip="choose a failed step and see why it failed")]

    def __init__(self) -> None:
        super().__init__(id="log-view", max_lines=MAX_LINES, wrap=True, markup=False,
                         min_width=1)
        self.entries: deque[Text] = deque(maxlen=MAX_ENTRIES)
        self._drawn_width = 0  # the width the lines on screen were wrapped at
        self._behind = False  # entries came while hidden: not drawn yet

    def add_step(self, step: Step) -> None:
        self.add_line(step_line(step))

    def add_line(self, text: Text) -> None:
        self.entries.append(text)
        width = self._width()
        if width and width == self._drawn_width and not self._behind:
            self.write(text, width=width)
        elif not self._behind:
            self._behind = True
            self.call_after_refresh(self.reflow)  # drawn once the pane has a width

    def _width(self) -> int:
        return self.scrollable_content_region.width if self.region.width else 0

    def on_resize(self) -> None:
        self.call_after_refresh(self.reflow)

    def on_show(self) -> None:
        self.call_after_refresh(self.reflow)

    def reflow(self) -> None:
        """Wrap every entry kept at the width the log has now (nothing while hidden)."""
        width = self._width()
        if not width or (width == self._drawn_width and not self._behind):
            return
        at_end = self.is_vertical_scroll_end or not self._drawn_width
        self.clear()
        for text in self.entries:
            self.write(text, width=width, scroll_end=False)
        self._drawn_width, self._behind = width, False
        if at_end:
            self.scroll_end(animate=False, immediate=True)
