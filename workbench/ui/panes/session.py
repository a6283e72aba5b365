"""The Session pane: a loaded session's steps beside what the live run returned."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from workbench.core.session import Session
from workbench.ui.panes import PaneController
from workbench.ui.widgets.script_view import EMPTY, ScriptView


class SessionPane(PaneController):
    def compose(self) -> ComposeResult:
        yield ScriptView()
        yield Static(EMPTY, id="script-status", markup=False)

    def load(self, recorded: Session) -> None:
        self.screen.query_one(ScriptView).load(recorded)
        self.show_status([])

    def mark(self, seq: int, live: str, ok: bool) -> None:
        self.screen.query_one(ScriptView).mark(seq, live, ok)

    def show_status(self, lines: list[str]) -> None:
        self.screen.query_one("#script-status", Static).update("\n".join(lines))
