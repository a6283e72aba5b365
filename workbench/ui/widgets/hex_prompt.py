"""The hex view's prompts: a one-line input for jump, search or save, and its answers."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from workbench.core.capture_rows import parse_jump, parse_pattern
from workbench.core.errors import InputError


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


class HexPrompts:
    """Mixin of HexView: ask (its own HexPrompt, or the screen via PromptRequested) and
    carry out the answer."""

    def action_prompt(self, kind: str) -> None:
        title, placeholder = PROMPTS[kind]
        value = self._suggest_name(kind == "save_hexdump") if kind.startswith("save") else ""
        if not self.own_prompts:
            self.post_message(self.PromptRequested(kind, title, value))
            return

        def done(text: str | None) -> None:
            if text is not None:
                self.answer(kind, text)

        self.app.push_screen(HexPrompt(title, value, placeholder), done)

    def answer(self, kind: str, text: str) -> bool:
        """Carry out a prompt's answer: 'jump', 'search', 'save' or 'save_hexdump'. A
        save runs in a worker (as may a search): True then means it started."""
        try:
            if kind == "jump":
                where = self.cursor_position()
                return self.jump_to(*parse_jump(text, where[0] if where else 1))
            if kind == "search":
                return self.search(parse_pattern(text))
            return self.start_save(text, hexdump=kind == "save_hexdump")
        except InputError as exc:
            self._say(str(exc), severity="error")
            return False
