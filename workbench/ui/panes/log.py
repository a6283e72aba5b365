"""The Log pane: every step with its result; floods of receives folded into one line.
With the log focused (tab), Enter lists the failed steps to explain. Showing the pane
does not move the focus: under a flood a focus change redraws the busy log each time."""

from __future__ import annotations

from textual.app import ComposeResult

from workbench.io.engine import EngineEvent, StepDone
from workbench.ui.panes import PaneController
from workbench.ui.widgets.event_log import EventLog, RecvBatch


class LogPane(PaneController):
    def compose(self) -> ComposeResult:
        yield EventLog()

    def on_events(self, events: list[EngineEvent]) -> None:
        log = self.screen.query_one(EventLog)
        batch = RecvBatch()
        for event in events:
            if isinstance(event, StepDone) and not batch.add(event.step):
                batch.flush(log)
                log.add_step(event.step)
        batch.flush(log)
