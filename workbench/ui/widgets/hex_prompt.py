"""The hex view's one-line prompt: jump, search or save."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class HexPrompt(ModalScreen[str | None]):
    """One line of input at the bottom of the screen: jump, search or save."""

    DEFAULT_CSS = """
    HexPrompt {
        align: left bottom;
        background: transparent;
    }
    HexPrompt > Vertical {
        height: auto;
        background: $surface;
        border-top: solid $primary;
    }
    HexPrompt Label {
        padding: 0 1;
        text-style: bold;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "cancel", id="hex.prompt_cancel")]

    def __init__(self, title: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text)
            yield Input(self.value, placeholder=self.placeholder, id="hex-prompt")

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


PROMPTS = {
    "jump": ("jump to offset", "1234, 0x4d2 or 000004d2; start with < or > for a direction"),
    "search": ("search", "text with escapes (GET\\r\\n, \\x00), or hex:de ad be ef"),
    "save": ("save raw bytes to", "file name"),
    "save_hexdump": ("save as hexdump -C text to", "file name"),
}
