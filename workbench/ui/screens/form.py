"""A small modal form: fields checked as they are typed, one-line errors inline.

Each text field has a `check` that turns its text into a value or raises InputError;
the form submits only when every field checks out, so a bad host, a port out of
range or bad hex never reaches the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select
from textual.widgets._select import SelectOverlay

from workbench.core.errors import InputError
from workbench.ui.widgets.check import Check


@dataclass
class Field:
    name: str
    label: str
    default: Any = ""
    choices: tuple[str, ...] = ()  # a Select when given
    check: Callable[[str], Any] | None = None  # text -> value, or raise InputError
    checkbox: bool = False
    placeholder: str = ""
    # A warning about a valid value that may take a while to find (it runs in a worker,
    # e.g. who holds the port a bind names); it never stops the form from submitting.
    advise: Callable[[Any], str | None] | None = None


class FormSelect(Select[str]):
    """A choice in a form: Enter opens its list; choosing from it goes on to the next
    field, so Enter, Enter walks a form from its first field to its last."""

    @on(SelectOverlay.UpdateSelection)
    def _chosen(self) -> None:
        self.call_after_refresh(self.screen.focus_next)


class FormScreen(ModalScreen[dict[str, Any] | None]):
    """Focus starts on the first field. Enter in a text field, on a checkbox (space
    toggles it) or on the submit button submits; on a choice it opens the list."""

    BINDINGS = [Binding("escape", "cancel", "cancel", id="form.cancel"),
                Binding("enter", "submit", "submit", show=False, id="form.submit")]

    def __init__(self, title: str, fields: list[Field], submit: str = "OK") -> None:
        super().__init__(classes="form")
        self.title_text = title
        self.fields = fields
        self.submit_label = submit
        self.note = ""  # e.g. why the call will likely fail now (it may still be made)

    def compose(self) -> ComposeResult:
        with Vertical(id="form"):
            yield Label(self.title_text, id="form-title")
            if self.note:
                yield Label(self.note, id="form-note", classes="field-error", markup=False)
            for field in self.fields:
                yield from self._field(field)
            with Horizontal(id="form-buttons"):
                yield Button(self.submit_label, variant="primary", id="submit", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def _field(self, field: Field) -> ComposeResult:
        if field.checkbox:
            yield Check(field.label, bool(field.default), id=f"f-{field.name}", compact=True)
            return
        yield Label(field.label, classes="field-label", markup=False)  # "[v6]:port"
        if field.choices:
            yield FormSelect([(c, c) for c in field.choices],
                             value=field.default or field.choices[0], allow_blank=False,
                             id=f"f-{field.name}", compact=True)
        else:
            yield Input(str(field.default), placeholder=field.placeholder, id=f"f-{field.name}",
                        compact=True)
        yield Label("", id=f"e-{field.name}", classes="field-error", markup=False)
        if field.advise is not None:
            advice = Label("", id=f"w-{field.name}", classes="field-advice", markup=False)
            advice.display = False
            yield advice

    def on_mount(self) -> None:
        self._validate()
        self.query_one(f"#f-{self.fields[0].name}" if self.fields else "#submit").focus()

    def _values(self) -> tuple[dict[str, Any], dict[str, str]]:
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for field in self.fields:
            widget = self.query_one(f"#f-{field.name}")
            raw = widget.value  # type: ignore[attr-defined]
            if field.check is not None and not field.choices and not field.checkbox:
                try:
                    values[field.name] = field.check(str(raw))
                except InputError as exc:
                    errors[field.name] = str(exc)
            else:
                values[field.name] = raw
        return values, errors

    def _validate(self) -> bool:
        values, errors = self._values()
        for field in self.fields:
            if not field.checkbox:
                self.query_one(f"#e-{field.name}", Label).update(errors.get(field.name, ""))
            if field.advise is not None:
                self._advise(field, values.get(field.name) if field.name not in errors else None)
        self.query_one("#submit", Button).disabled = bool(errors)
        return not errors

    def _advise(self, field: Field, value: Any) -> None:
        """Ask the field's adviser about a valid value in a worker; the newest asks wins."""
        label = self.query_one(f"#w-{field.name}", Label)
        if value is None or field.advise is None:
            label.update("")
            label.display = False
            return
        advise = field.advise

        def work() -> None:
            try:
                words = advise(value) or ""
            except (OSError, InputError):  # advice is a bonus: a failure says nothing
                words = ""
            self.app.call_from_thread(self._show_advice, label, words)

        self.run_worker(work, thread=True, exclusive=True, group=f"advise-{field.name}",
                        exit_on_error=False)

    @staticmethod
    def _show_advice(label: Label, words: str) -> None:
        if label.is_mounted:  # an empty line takes no room: the form keeps its size
            label.update(words)
            label.display = bool(words)

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        self._validate()

    @on(Input.Submitted)
    @on(Button.Pressed, "#submit")
    def action_submit(self) -> None:
        if self._validate():
            self.dismiss(self._values()[0])

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
