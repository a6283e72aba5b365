"""The paste box of the Conns pane: saved output of ss or netstat, shown in the table.

A modal with a text area: paste (the terminal's paste, or type), ctrl+s reads it, esc
cancels. Text that is neither ss nor netstat output says so in the box and stays.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, TextArea

from workbench.core.conn_parse import Parsed, parse_table
from workbench.core.errors import InputError

PASTE_LIMIT = 16 << 20


class PasteBox(ModalScreen[Parsed | None]):
    """Returns the rows read from the pasted text, or None (cancelled)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "read", "show it", id="conns.paste_read",
                tooltip="read the pasted ss or netstat output into the table"),
        Binding("escape", "cancel", "cancel", id="conns.paste_cancel",
                tooltip="close the paste box, the table as it was"),
    ]

    DEFAULT_CSS = """
    PasteBox { align: center middle; }
    PasteBox > Vertical {
        width: 90%; height: 80%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    PasteBox TextArea { height: 1fr; }
    PasteBox #paste-note { height: auto; width: 100%; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Paste the output of ss -tanp, ss -uanp, ss -xan, netstat -an or "
                        "netstat -tanp; ctrl+s shows it in the table, esc cancels.",
                        id="paste-note")
            yield TextArea(id="paste-text", soft_wrap=False)

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_read(self) -> None:
        text = self.query_one(TextArea).text
        note = self.query_one("#paste-note", Label)
        if len(text) > PASTE_LIMIT:
            note.update(f"over {PASTE_LIMIT >> 20} MiB: save it to a file and use "
                        "workbench conns --from FILE")
            return
        try:
            parsed = parse_table(text)
        except InputError as exc:
            note.update(f"{exc}; esc cancels")
            return
        if not parsed.rows:
            note.update("no socket rows in it: paste the whole output, header included")
            return
        self.dismiss(parsed)

    def action_cancel(self) -> None:
        self.dismiss(None)
