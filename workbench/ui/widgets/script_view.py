"""A loaded session's steps, with what was recorded and what the live run returned.

The columns share the width the pane has (laid out again on resize): nothing scrolls
sideways. A step or outcome longer than its column has its addresses cut in the
middle (the port kept) and then wraps onto a second line of its row.
"""

from __future__ import annotations

from rich.text import Text
from textual.events import Resize
from textual.widgets import DataTable

from workbench.core.session import Session
from workbench.core.steps import Step
from workbench.ui.text import fit

EMPTY = "no session loaded: ctrl+o opens one, then f7 runs the next step, f8 runs all"
SEQ, LIVE = 3, 12  # widths of the "#" and "live" columns
NARROW = 50  # cells left for step and recorded below which they share a column
LINES = 2  # lines a cell may wrap onto


def _outcome(step: Step) -> str:
    return step.error.name if step.error is not None else step.outcome()


class ScriptView(DataTable):
    def __init__(self) -> None:
        super().__init__(id="script", cursor_type="row", zebra_stripes=True)
        self._rows: dict[int, object] = {}
        self._session: Session | None = None
        self._marks: dict[int, tuple[str, bool]] = {}
        self._widths = (0, 0)  # step, recorded

    def on_mount(self) -> None:
        self._add_columns()

    def _column_widths(self) -> tuple[int, int]:
        """Widths of the step and recorded columns: what the others leave, 2:1; below
        NARROW cells the recorded outcome goes into the step's cell (recorded: 0)."""
        padding = 2 * self.cell_padding
        rest = max(20, self.scrollable_content_region.width - SEQ - LIVE - 3 * padding)
        if rest < NARROW:
            return rest, 0
        recorded = rest // 3
        return rest - recorded - padding, recorded

    def _add_columns(self) -> None:
        # "live" sits left of the long columns so it stays on screen at 80 columns.
        self._widths = step, recorded = self._column_widths()
        self.add_column("#", key="seq", width=SEQ)
        self.add_column("live", key="live", width=LIVE)
        self.add_column("step → recorded" if not recorded else "step", key="step", width=step)
        if recorded:
            self.add_column("recorded", key="recorded", width=recorded)

    def on_resize(self, event: Resize) -> None:
        if self._column_widths() != self._widths:
            self._fill()

    def load(self, session: Session) -> None:
        self._session = session
        self._marks.clear()
        self._fill()

    def _fill(self) -> None:
        """(Re)build the columns for the width and the rows for the session."""
        self.clear(columns=True)
        self._add_columns()
        self._rows.clear()
        if self._session is None:
            return
        step_w, rec_w = self._widths
        for step in self._session.ordered():
            call = ("auto " if step.auto else "") + step.describe()
            style = "dim" if step.auto else ""
            cells: list[Text | str] = [str(step.seq), self._live(step.seq)]
            if rec_w:
                cells += [Text(fit(call, step_w * LINES), style=style),
                          Text(fit(_outcome(step), rec_w * LINES), style=style)]
            else:  # narrow: what was recorded follows the call, dimmed
                cells.append(Text.assemble((fit(call, step_w * LINES), style),
                                           (f" → {fit(_outcome(step), step_w * LINES)}",
                                            "dim")))
            self._rows[step.seq] = self.add_row(*cells, height=None)

    def _live(self, seq: int) -> Text | str:
        mark = self._marks.get(seq)
        if mark is None:
            return ""
        live, ok = mark
        return Text(fit(live, LIVE), style="green" if ok else "bold red")  # rows keep heights

    def mark(self, seq: int, live: str, ok: bool) -> None:
        key = self._rows.get(seq)
        if key is None:
            return
        self._marks[seq] = (live, ok)
        self.update_cell(key, "live", self._live(seq), update_width=False)
        self.move_cursor(row=self.get_row_index(key))
