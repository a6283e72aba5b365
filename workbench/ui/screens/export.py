"""The export screen: the session as C, Python or JSON findings, previewed, copied, saved.

The text is made in a thread worker from a snapshot of the session's steps, so a long
session never freezes the screen; the preview is highlighted by Rich's Syntax.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

from rich.syntax import Syntax
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, ScrollableContainer, Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Select, Static

from workbench.core.errors import InputError
from workbench.core.session import Session
from workbench.io.atomic_write import atomic_file
from workbench.ui.screens.form import Field, FormScreen
from workbench.ui.widgets.hex_save import local_clipboard

LANGS: dict[str, tuple[str, tuple[str, ...], str]] = {
    # label -> (syntax, I/O models, file suffix)
    "C": ("c", ("blocking", "poll"), ".c"),
    "Python": ("python", ("blocking", "selectors", "asyncio"), ".py"),
    "findings (JSON)": ("json", ("-",), ".json"),
}


def render(session: Session, lang: str, model: str) -> str:
    """The exported text; a one-line InputError when the session cannot be exported."""
    if lang == "C":
        from workbench.export.c import export_c
        return export_c(session, model)
    if lang == "Python":
        from workbench.export.python import export_python
        return export_python(session, model)
    from workbench.export.findings import analyse
    return json.dumps(analyse(session), indent=2) + "\n"


def snapshot(session: Session) -> Session:
    """The session as it is now: the engine may append steps while the worker reads."""
    return dataclasses.replace(session, steps=list(session.steps), peers=list(session.peers),
                               closers=[])


class ExportScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", "close", id="export.close"),
        Binding("y", "copy", "copy", id="export.copy", tooltip="copy the text (OSC 52)"),
        Binding("w,ctrl+s", "save", "save", id="export.save", tooltip="save it to a file"),
    ]

    def __init__(self, session: Session, lang: str = "C", name: str = "session") -> None:
        super().__init__(id="export")
        self.session = snapshot(session)
        self.lang = lang if lang in LANGS else "C"
        self.base = name
        self.text = ""  # the last text made; "" while making or after an error

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box"):
            yield Label(f"Export {len(self.session.steps)} steps", id="export-title")
            with Horizontal(id="export-choices"):
                yield Select([(k, k) for k in LANGS], value=self.lang, allow_blank=False,
                             id="export-lang", compact=True)
                yield Select([(m, m) for m in LANGS[self.lang][1]], allow_blank=False,
                             id="export-model", compact=True)
            with ScrollableContainer(id="export-preview"):
                yield Static("", id="export-text")
            yield Label("y copy  w save  tab choices  esc close", id="export-keys")

    def on_mount(self) -> None:
        self.query_one("#export-preview").focus()
        self.make()

    @on(Select.Changed, "#export-lang")
    def _lang(self, event: Select.Changed) -> None:
        self.lang = str(event.value)
        models = self.query_one("#export-model", Select)
        models.set_options([(m, m) for m in LANGS[self.lang][1]])
        self.make()

    @on(Select.Changed, "#export-model")
    def _model(self) -> None:
        self.make()

    def model(self) -> str:
        value = self.query_one("#export-model", Select).value
        models = LANGS[self.lang][1]
        return str(value) if value in models else models[0]

    def make(self) -> None:
        self.text = ""
        self.query_one("#export-text", Static).update("making…")
        self._make(self.lang, self.model())

    @work(thread=True, exclusive=True, exit_on_error=False, group="export")
    def _make(self, lang: str, model: str) -> None:
        try:
            text, error = render(self.session, lang, model), ""
        except InputError as exc:  # the session holds something export cannot write
            text, error = "", str(exc)
        self.app.call_from_thread(self._show, lang, model, text, error)

    def _show(self, lang: str, model: str, text: str, error: str) -> None:
        if (lang, model) != (self.lang, self.model()):
            return  # the choice moved on while this was made
        self.text = text
        shown = self.query_one("#export-text", Static)
        if error:
            shown.update(f"cannot export: {error}")
            return
        shown.update(Syntax(text, LANGS[lang][0], line_numbers=True, word_wrap=False,
                            theme="ansi_dark"))

    def action_copy(self) -> None:
        if not self.text:
            self.notify("nothing to copy yet", severity="warning", timeout=3)
            return
        self.app.copy_to_clipboard(self.text)
        local_clipboard(self.text)
        self.notify(f"copied {len(self.text.splitlines())} lines of {self.lang}", timeout=3)

    def action_save(self) -> None:
        if not self.text:
            self.notify("nothing to save yet", severity="warning", timeout=3)
            return
        text, default = self.text, f"{self.base}{LANGS[self.lang][2]}"
        form = FormScreen(f"Save the {self.lang} export", [
            Field("path", "file", default, check=_path),
        ], submit="Save")
        self.app.push_screen(form, lambda v: self._save(v["path"], text) if v else None)

    def _save(self, path: str, text: str) -> None:
        saved = _write(path, text, self.notify)
        if saved:
            self.notify(f"saved {saved}", timeout=4)


def _path(text: str) -> str:
    if not text.strip():
        raise InputError("give a file name, e.g. session.c")
    return text.strip()


def _write(path: str, text: str, say: Callable[..., object]) -> str:
    try:
        with atomic_file(path) as out:
            out.write(text.encode())
        return path
    except InputError as exc:
        say(str(exc), severity="error")
    except OSError as exc:
        say(f"cannot save: {exc.strerror}; pick another folder", severity="error")
    return ""
