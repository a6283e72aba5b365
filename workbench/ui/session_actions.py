"""Session files and stepping, as app actions: save, save as, open, next, run, stop.

A mixin of the app, so the app module keeps to wiring. Stepping runs in a thread
worker and reaches the screen only through `call_from_thread`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from workbench.core.errors import InputError
from workbench.core.raw_approval import Approval, raw_steps
from workbench.core.session import Session
from workbench.core.steps import Step
from workbench.ui.screens.approval import ApprovalScreen
from workbench.ui.screens.form import Field, FormScreen
from workbench.ui.stepping import StepThrough

if TYPE_CHECKING:
    from workbench.ui.app import WorkbenchApp

    _Base = WorkbenchApp
else:
    _Base = object


class SessionActions(_Base):
    stepper: StepThrough | None

    # -- files ---------------------------------------------------------------------------

    def action_save(self) -> None:
        if self.main.ws.path is None:
            self.action_save_as()
            return
        self._save(None)

    def action_save_as(self) -> None:
        default = str(self.main.ws.path or "session.json")
        form = FormScreen("Save session as", [
            Field("path", "file", default, check=path_check),
        ], submit="Save")
        self.push_screen(form, lambda v: self._save(v["path"]) if v else None)

    def _save(self, path: str | None) -> None:
        try:
            saved = self.main.ws.save(path)
        except InputError as exc:
            self.notify(str(exc), severity="error")
            return
        except OSError as exc:
            self.notify(f"cannot save: {exc.strerror}; pick another folder", severity="error")
            return
        self.main.update_title()
        self.notify(f"saved {saved} ({len(self.main.ws.session.steps)} steps)")

    def action_open(self) -> None:
        form = FormScreen("Open a session to step through", [
            Field("path", "session file or journal directory", "", check=path_check),
        ], submit="Open")
        self.push_screen(form, lambda v: self._load(v["path"]) if v else None)

    def _load(self, path: str, recorded: Session | None = None) -> None:
        main = self.main
        try:
            recorded = main.ws.load(path, recorded)
        except InputError as exc:
            self.notify(str(exc), severity="error")
            return
        if self.stepper is not None:
            self.stepper.close()  # one stepper follows the workspace at a time
        self.stepper = StepThrough(recorded, main.ws)
        main.session_pane.load(recorded)
        main.refresh_peers()
        main.update_title()
        self.action_show_tab("session")
        self.notify(f"loaded {path}: {len(recorded.steps)} steps; f7 next, f8 run all")
        raw = raw_steps(recorded.steps)
        if raw:  # as --allow-raw: the file's own recorded approval is never taken
            self.push_screen(ApprovalScreen(raw_question(raw), "Step through raw sockets?",
                                            "Enter or y: approve them for this run · "
                                            "Esc or n: their steps fail, the rest run"),
                             lambda yes: self._approve_raw(recorded) if yes else None)

    def _approve_raw(self, recorded: Session) -> None:
        if self.stepper is None or self.stepper.replayer.recorded is not recorded:
            return  # another session was loaded meanwhile
        self.stepper.close()
        self.stepper = StepThrough(recorded, self.main.ws, allow_raw=True)
        self.notify("raw and packet sockets approved for this run")

    # -- stepping ------------------------------------------------------------------------

    def action_next_step(self) -> None:
        if self._need_stepper():
            self.run_worker(self._advance, thread=True, exit_on_error=False,
                            group="stepping", exclusive=True)

    def action_run_all(self) -> None:
        if self._need_stepper():
            self.run_worker(lambda: self._advance(until_end=True), thread=True,
                            exit_on_error=False, group="stepping", exclusive=True)

    def action_stop_run(self) -> None:
        if self.stepper is not None:
            self.stepper.stop()

    def _need_stepper(self) -> bool:
        if self.stepper is None:
            self.notify("no session loaded: ctrl+o opens one", severity="warning")
            return False
        return True

    def _advance(self, until_end: bool = False) -> None:
        stepper = self.stepper
        assert stepper is not None
        pane = self.main.session_pane
        for seq, live, ok in stepper.advance(until_end):
            self.call_from_thread(pane.mark, seq, live, ok)
            self.call_from_thread(pane.show_status, stepper.progress_lines())
        self.call_from_thread(pane.show_status, stepper.progress_lines())
        if stepper.done:
            self.call_from_thread(self.notify, stepper.summary(),
                                  severity="information" if stepper.ok else "error")


def path_check(text: str) -> str:
    if not text.strip():
        raise InputError("a file name is needed, e.g. session.json")
    return os.path.expanduser(text.strip())


def raw_question(raw: list[tuple[Step, Approval]]) -> str:
    """What approving a loaded session's raw sockets lets it do, socket by socket."""
    parts = [f"This session creates {len(raw)} raw or packet socket"
             f"{'s' if len(raw) > 1 else ''}. Approve them for this run?"]
    parts += [f"step {step.seq}: {words.text()}" for step, words in raw]
    return "\n\n".join(parts)
