"""The keys screen (`?`): every action with its key, binding id and help."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from workbench.ui.commands import ACTIONS, key_label


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "close", id="help.close")]

    def __init__(self, keys: dict[str, str] | None = None) -> None:
        super().__init__()
        self.keys = keys or {}

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Label("Keys  (remap by id in keymap.json; ctrl+p opens the palette)",
                        id="help-title")
            table: DataTable[str] = DataTable(id="help-table", cursor_type="row")
            table.add_columns("key", "action", "what it does", "id")
            for action in ACTIONS:
                key = key_label(self.keys.get(action.id, action.key))
                table.add_row(key, action.title, action.help, action.id)
            yield table

    def action_close(self) -> None:
        self.dismiss(None)
