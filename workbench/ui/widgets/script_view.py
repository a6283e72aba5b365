"""A loaded session's steps, with what was recorded and what the live run returned."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from workbench.core.session import Session
from workbench.core.steps import Step

EMPTY = "no session loaded: ctrl+o opens one, then f7 runs the next step, f8 runs all"


def _outcome(step: Step) -> str:
    return step.error.name if step.error is not None else step.outcome()


class ScriptView(DataTable):
    def __init__(self) -> None:
        super().__init__(id="script", cursor_type="row", zebra_stripes=True)
        self._rows: dict[int, object] = {}

    def on_mount(self) -> None:
        self._add_columns()
        self.show_empty()

    def _add_columns(self) -> None:
        # "live" sits left of the long columns so it stays on screen at 80 columns.
        self.add_column("#", key="seq", width=3)
        self.add_column("live", key="live", width=14)
        self.add_column("step", key="step", width=32)
        self.add_column("recorded", key="recorded")

    def show_empty(self) -> None:
        self.clear()
        self._rows.clear()
        self.add_row("", "", Text(EMPTY, style="dim"), "")

    def load(self, session: Session) -> None:
        # New columns: clear() keeps widths, and the placeholder's would push the
        # recorded and live columns out of view.
        self.clear(columns=True)
        self._add_columns()
        self._rows.clear()
        for step in session.ordered():
            call = ("auto " if step.auto else "") + step.describe()
            style = "dim" if step.auto else ""
            self._rows[step.seq] = self.add_row(str(step.seq), "", Text(call, style=style),
                                                Text(_outcome(step), style=style))

    def mark(self, seq: int, live: str, ok: bool) -> None:
        key = self._rows.get(seq)
        if key is None:
            return
        self.update_cell(key, "live", Text(live, style="green" if ok else "bold red"))
        self.move_cursor(row=self.get_row_index(key))
