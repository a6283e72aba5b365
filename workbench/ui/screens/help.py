"""The keys screen (`?`): every key with its help and binding id, grouped by where it
works; the ones that do nothing now are dimmed and say why (words, so NO_COLOR shows it).

Long help wraps within the screen; nothing scrolls sideways. Below WIDE columns the
binding id goes under the help instead of a column of its own.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Label

from workbench.ui.key_help import KeyGroup, KeyRow

WIDE = 100  # columns from which the binding id gets a column of its own
KEY_WIDTH = 15  # "shift+ctrl+home"


class KeyList(Widget):
    """The groups as tables fitted to the widget's width."""

    DEFAULT_CSS = "KeyList { height: auto; }"

    def __init__(self, groups: list[KeyGroup]) -> None:
        super().__init__(id="help-keys")
        self.groups = groups

    def render(self) -> RenderableType:
        wide = self.size.width >= WIDE
        parts: list[RenderableType] = []
        for group in self.groups:
            head = Text.assemble((group.title, "bold underline"), f"  {group.where}")
            if group.off:
                head.append(f"  not now: {group.off}", style="italic")
            # Wide: one key width for all, so the id columns line up; else each its own.
            rows = [r for g in (self.groups if wide else [group]) for r in g.rows]
            keys = min(KEY_WIDTH, max((len(r.key) for r in rows), default=1))
            parts += [Text(""), head, self._table(group, wide, keys)]
        return Group(*parts[1:])

    def _table(self, group: KeyGroup, wide: bool, keys: int) -> Table:
        table = Table(box=None, show_header=False, expand=True, padding=(0, 1, 0, 0))
        table.add_column("key", no_wrap=True, width=keys, style="bold")
        table.add_column("what", ratio=1)
        if wide:
            table.add_column("id", no_wrap=True, style="dim")
        for row in group.rows:
            dim = "dim" if (group.off and not row.always) or row.not_now else ""
            cells = [Text(row.key, style=dim), self._what(row, wide, dim)]
            if wide:
                cells.append(Text(row.id))
            table.add_row(*cells)
        return table

    @staticmethod
    def _what(row: KeyRow, wide: bool, dim: str) -> Text:
        what = Text.assemble((row.title, "bold"), f": {row.help}", style=dim)
        if row.not_now:
            what.append(f" (not now: {row.not_now})", style="italic")
        if not wide:
            what.append(f"  [{row.id}]", style="dim")
        return what


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "close", id="help.close")]

    def __init__(self, groups: list[KeyGroup]) -> None:
        super().__init__()
        self.groups = groups

    @property
    def rows(self) -> list[tuple[str, KeyRow]]:
        """(group title, row) for every key listed."""
        return [(g.title, r) for g in self.groups for r in g.rows]

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Label("Keys  (remap by id in keymap.json; ctrl+p opens the palette; "
                        "esc closes)", id="help-title")
            with VerticalScroll(id="help-scroll"):
                yield KeyList(self.groups)

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()

    def action_close(self) -> None:
        self.dismiss(None)
