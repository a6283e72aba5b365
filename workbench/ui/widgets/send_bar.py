"""The send bar: a payload in text, hex or escapes, checked as it is typed."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label

from workbench.core.endpoints import parse_endpoint
from workbench.core.errors import InputError
from workbench.core.payload import PAYLOAD_MODES, parse_payload

PLACEHOLDER = {"text": "text to send (UTF-8), Enter sends",
               "hex": "hex: de ad be ef, 0xde 0xad, \\xde\\xad…",
               "escapes": "text with escapes: GET / HTTP/1.0\\r\\n\\r\\n"}


class SendBar(Vertical):
    class Send(Message):
        def __init__(self, data: bytes, destination: str) -> None:
            super().__init__()
            self.data = data
            self.destination = destination

    def __init__(self) -> None:
        super().__init__(id="send-bar")
        self.mode = "text"

    def compose(self) -> ComposeResult:
        with Horizontal(id="send-row"):
            yield Label("text", id="send-mode")
            yield Input(placeholder=PLACEHOLDER["text"], id="payload")
            yield Input(placeholder="to: host:port", id="destination", classes="hidden")
        yield Label("", id="send-error")

    def cycle_mode(self) -> str:
        self.mode = PAYLOAD_MODES[(PAYLOAD_MODES.index(self.mode) + 1) % len(PAYLOAD_MODES)]
        self.query_one("#send-mode", Label).update(self.mode)
        self.query_one("#payload", Input).placeholder = PLACEHOLDER[self.mode]
        self._check()
        return self.mode

    def need_destination(self, needed: bool) -> None:
        self.query_one("#destination", Input).set_class(not needed, "hidden")

    def _parse(self) -> tuple[bytes, str]:
        data = parse_payload(self.query_one("#payload", Input).value, self.mode)
        dest_input = self.query_one("#destination", Input)
        destination = "" if dest_input.has_class("hidden") else dest_input.value.strip()
        if destination and not destination.startswith(("peer:", "sock:")):
            parse_endpoint(destination)
        return data, destination

    def _check(self) -> bool:
        error = self.query_one("#send-error", Label)
        try:
            self._parse()
        except InputError as exc:
            error.update(str(exc))
            return False
        error.update("")
        return True

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self._check()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self._check():
            return
        data, destination = self._parse()
        self.post_message(self.Send(data, destination))
