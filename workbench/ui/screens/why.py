"""Why a step failed: the call, its errno, what it means for that call, the likely
causes on this machine now with the evidence each rests on, what to do, hard or soft,
and the Winsock and BSD names. Also the list of failed steps to choose from, and the
errno browser (every entry with its meaning; type to search).

The diagnosis is gathered off the interface's loop (Workspace.diagnose gives a
future); the screen shows "gathering evidence…" until it is done.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from workbench.core.diagnosis import Diagnosis, deferred_connect_error
from workbench.core.errnos import ErrnoInfo, all_errnos, gai_errors, lookup
from workbench.core.steps import Step
from workbench.ui.screens.form import FormScreen
from workbench.ui.stable import FakePorts
from workbench.ui.widgets.hex_save import local_clipboard

if TYPE_CHECKING:
    from workbench.ui.screens.main import MainScreen

POLL = 0.05  # seconds between looks at the diagnosis future
GATHERING = "gathering evidence… (it may read /proc and run `ip`: a second at most)"
PID = re.compile(r"\bpid \d+")
STABLE_PID = "pid 4242"
PORT_WORD = re.compile(r"\bport (\d{5})\b")


def stable_mask(fakes: FakePorts) -> Callable[[str], str]:
    """For screenshots: every pid shown as one, and a port written as "port N" as its
    fake (the app fakes "host:port" itself when it draws)."""
    def port(match: re.Match[str]) -> str:
        real = int(match.group(1))
        return f"port {fakes[real]}" if real in fakes else match.group(0)

    return lambda text: PORT_WORD.sub(port, PID.sub(STABLE_PID, text))


def failed_steps(steps: list[Step]) -> list[Step]:
    """Steps that failed (a non-blocking connect's end read through SO_ERROR too),
    newest first; not an auto-receive's EAGAIN, which is the pump finding nothing."""
    found = []
    for step in reversed(steps):
        error = step.error or deferred_connect_error(step)
        if error is not None and not (step.auto and error.name == "EAGAIN"):
            found.append(step)
    return found


def last_failure(steps: list[Step], sock: int | None) -> Step | None:
    """The newest failed step of socket `sock`; with no socket, the newest of all."""
    return next((s for s in failed_steps(steps) if sock is None or s.sock == sock), None)


def step_title(step: Step) -> str:
    error = step.error or deferred_connect_error(step)
    name = error.name if error is not None else "?"
    what = step.describe() if step.error is not None else f"connect(#{step.sock})"
    return f"step {step.seq}: {what} → {name}"


def elsewhere(info: ErrnoInfo) -> str:
    return info.elsewhere() or "the same name and number elsewhere"


def why_text(d: Diagnosis, title: str, info: ErrnoInfo | None = None,
             mask: Callable[[str], str] = str) -> Text:
    """The explanation as one text: words, not colours, carry it (NO_COLOR). `mask`
    rewrites what varies from run to run (pids, for screenshots)."""
    out = Text()

    def add(text: str, style: str = "") -> None:
        out.append(mask(text), style=style)

    add(f"{title}\n", "bold")
    add(f"{d.name} ({d.number}) {d.message}\n", "bold red")
    add("soft: a retry with nothing changed may succeed\n" if d.soft else
        "hard: something must change before it can succeed\n")
    if info is not None:
        add(f"elsewhere: {elsewhere(info)}\n", "dim")
    add(f"\nWhat it means for {d.call}\n", "bold underline")
    add(f"  {d.meaning}\n")
    found = [c for c in d.causes if c.evidence]
    add("\nLikely causes on this machine now\n" if found else "\nUsual causes\n",
        "bold underline")
    for n, claim in enumerate(d.causes, 1):
        add(f"  {n}. {claim.text}")
        add(f"  [{', '.join(claim.evidence)}]\n" if claim.evidence else
            "  (general knowledge)\n", "italic" if claim.evidence else "dim")
    add("\nWhat to do\n", "bold underline")
    for claim in d.fixes:
        add(f"  • {claim.text}")
        add(f"  [{', '.join(claim.evidence)}]\n" if claim.evidence else "\n", "italic")
    facts = [f for f in d.facts if not f.key.startswith("step.")]
    if facts:
        add("\nEvidence gathered\n", "bold underline")
        for fact in facts:
            add(f"  {fact.key}: ", "bold")
            add(fact.text)
            add(f"  ({fact.source})\n", "dim")
    if d.related:
        add("\nRelated options: ", "bold")
        add(", ".join(d.related) + f" (o: setsockopt {d.related[0]} on this socket)\n")
    return out


class WhyScreen(ModalScreen[str | None]):
    """The explanation of one failed step, gathered off the loop. `o` closes it with
    the first related option, for the caller to open setsockopt with it."""

    BINDINGS = [Binding("escape,q", "close", "close", id="why.close"),
                Binding("o", "set_option", "set a related option", id="why.option",
                        tooltip="setsockopt on the step's socket, the related option filled in"),
                Binding("y", "copy", "copy", id="why.copy", tooltip="copy the explanation")]

    def __init__(self, step: Step, diagnosis: Future,
                 mask: Callable[[str], str] = str) -> None:
        super().__init__()
        self.step = step
        self.future = diagnosis
        self.mask = mask  # screenshots: pids and ports differ each run (stable_mask)
        self.diagnosis: Diagnosis | None = None
        self.text = GATHERING  # what the screen shows, as plain text (tests, copying)

    def compose(self) -> ComposeResult:
        with Vertical(id="why"):
            yield Label("Why it failed  (↑↓ scroll, o sets a related option, y copies, "
                        "esc closes)", id="why-title")
            with VerticalScroll(id="why-scroll"):
                yield Static(GATHERING, id="why-body")

    def on_mount(self) -> None:
        self.app.clear_notifications()  # the toast of the failure: this says all of it
        self.query_one("#why-scroll").focus()
        self._look()

    def _look(self) -> None:
        if not self.future.done():
            self.set_timer(POLL, self._look)
            return
        body = self.query_one("#why-body", Static)
        try:
            self.diagnosis = self.future.result()
        except Exception as exc:  # the diagnosis is best effort: say what went wrong
            self.text = f"no explanation: {exc}"
            body.update(Text(self.text))
            return
        text = why_text(self.diagnosis, step_title(self.step), self._info(), self.mask)
        self.text = text.plain
        body.update(text)

    def action_copy(self) -> None:
        if self.diagnosis is None:
            self.notify("still gathering evidence: nothing to copy yet", timeout=3)
            return
        self.app.copy_to_clipboard(self.text)
        local_clipboard(self.text)
        self.notify(f"copied the explanation ({len(self.text.splitlines())} lines)", timeout=3)

    def action_set_option(self) -> None:
        related = self.diagnosis.related if self.diagnosis is not None else ()
        if not related:
            self.notify("no related option to set for this error", timeout=3)
            return
        self.dismiss(related[0])

    def _info(self) -> ErrnoInfo | None:
        try:
            return lookup(self.diagnosis.name) if self.diagnosis else None
        except KeyError:
            return None

    def action_close(self) -> None:
        self.dismiss(None)


class FailurePicker(ModalScreen[int | None]):
    """The session's failed steps, newest first: Enter explains one."""

    BINDINGS = [Binding("escape", "close", "close", id="failures.close")]

    def __init__(self, steps: list[Step]) -> None:
        super().__init__()
        self.steps = failed_steps(steps)

    def compose(self) -> ComposeResult:
        with Vertical(id="failures"):
            yield Label("Failed steps — Enter explains one, esc closes", id="why-title")
            yield OptionList(*(Option(step_title(s), id=str(s.seq)) for s in self.steps),
                             id="failures-list")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or -1))

    def action_close(self) -> None:
        self.dismiss(None)


def entry_line(info: ErrnoInfo) -> str:
    return f"{info.name} ({info.number}) {info.message}: {info.meaning}"


class ErrnoBrowser(ModalScreen[None]):
    """Every errno and resolver error with its meaning; typing filters; Enter shows one."""

    BINDINGS = [Binding("escape", "close", "close", id="errnos.close"),
                Binding("down", "to_list", "to the list", show=False, id="errnos.list")]

    def __init__(self) -> None:
        super().__init__()
        self.entries = all_errnos() + gai_errors()
        self.shown = ""  # the entry shown below the list, as plain text

    def compose(self) -> ComposeResult:
        with Vertical(id="errnos"):
            yield Label("Errnos — type to search, ↓ to the list, Enter shows one, esc closes",
                        id="why-title")
            yield Input(placeholder="search: name, number or words", id="errnos-search")
            yield OptionList(*self._options(""), id="errnos-list")
            with VerticalScroll(id="errnos-detail"):
                yield Static("", id="errnos-body")

    def _options(self, text: str) -> list[Option]:
        words = text.lower().split()
        return [Option(entry_line(i), id=i.name) for i in self.entries
                if all(w in entry_line(i).lower() for w in words)]

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Changed)
    def _search(self, event: Input.Changed) -> None:
        found = self.query_one(OptionList)
        found.clear_options()
        found.add_options(self._options(event.value))

    @on(Input.Submitted)
    def _to_list(self) -> None:
        self.query_one(OptionList).focus()

    def action_to_list(self) -> None:
        found = self.query_one(OptionList)
        found.focus()
        if found.highlighted is None and found.option_count:
            found.highlighted = 0

    @on(OptionList.OptionHighlighted)
    @on(OptionList.OptionSelected)
    def _show(self, event: OptionList.OptionHighlighted | OptionList.OptionSelected) -> None:
        info = next((i for i in self.entries if i.name == event.option.id), None)
        if info is None:
            return
        text = Text()
        text.append(f"{info.name} ({info.number}) {info.message}\n", style="bold")
        text.append(f"{info.meaning}\ntry: {info.hint}\n")
        if info.causes:
            text.append("causes: " + "; ".join(info.causes) + "\n")
        text.append(f"elsewhere: {elsewhere(info)}\n", style="dim")
        if info.related:
            text.append("related options: " + ", ".join(info.related) + "\n")
        self.shown = text.plain
        self.query_one("#errnos-body", Static).update(text)

    def action_close(self) -> None:
        self.dismiss(None)


def set_related_option(main: MainScreen, step: Step, option: str | None) -> None:
    """After `o` in the why screen: setsockopt on the step's socket, `option` filled in."""
    if not option or step.sock is None:
        return
    info = main.ws.socket_info(step.sock)
    if info is None or info.state == "closed":
        main.notify(f"socket #{step.sock} is closed: set {option} on a new one (n, then o)",
                    severity="warning")
        return
    main.select(step.sock)
    main.open_form("setsockopt")

    def fill() -> None:
        form = main.app.screen
        if isinstance(form, FormScreen):
            form.query_one("#f-option", Input).value = option

    main.app.call_after_refresh(fill)
