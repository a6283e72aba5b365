"""The confirmation before a raw or packet socket is created: what it can see and send.

The words come from `raw_approval.describe(...).text()`. Enter or y approves (the
socket step then carries `approved: true`, so the yes is in the session); Esc or n
cancels and nothing is created. The text scrolls when the terminal is short.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static


class ApprovalScreen(ModalScreen[bool]):
    """Dismissed with True (approved) or False (cancelled)."""

    BINDINGS = [
        Binding("enter,y", "answer(True)", "create it", id="approval.yes",
                tooltip="approve: create the socket, and record the approval"),
        Binding("escape,n", "answer(False)", "cancel", id="approval.no",
                tooltip="cancel: no socket is created"),
    ]

    DEFAULT_CSS = """
    ApprovalScreen { align: center middle; }
    ApprovalScreen #approval {
        width: 76; max-width: 95%; height: auto; max-height: 95%;
        border: thick $warning; background: $surface; padding: 0 1;
    }
    ApprovalScreen #approval-title { text-style: bold; }
    ApprovalScreen #approval-text { height: auto; max-height: 16; }
    ApprovalScreen #approval-keys { color: $text-muted; padding-top: 1; }
    """

    def __init__(self, text: str, title: str = "Create this socket?",
                 keys: str = "Enter or y: create it and record the approval · "
                             "Esc or n: cancel") -> None:
        super().__init__(classes="approval")
        self.text = text
        self.title_text = title
        self.keys = keys

    def compose(self) -> ComposeResult:
        with Vertical(id="approval"):
            yield Label(self.title_text, id="approval-title", markup=False)
            with VerticalScroll(id="approval-text", can_focus=True):
                yield Static(self.text, markup=False)
            yield Label(self.keys, id="approval-keys", markup=False)

    def on_mount(self) -> None:
        self.query_one("#approval-text").focus()  # arrows scroll the words if they are long

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
