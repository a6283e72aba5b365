"""The Textual app: bindings, palette and wiring. The work happens in the screens."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from textual.app import App, SystemCommand
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Input

from workbench.core.errors import InputError
from workbench.core.session import Session
from workbench.io.demo import GREETING
from workbench.io.workspace import DEMO_PORT, Workspace
from workbench.ui.commands import ACTIONS, bindings
from workbench.ui.screens.help import HelpScreen
from workbench.ui.screens.main import MainScreen
from workbench.ui.session_actions import SessionActions
from workbench.ui.stepping import StepThrough
from workbench.ui.widgets.socket_tree import SocketTree

STYLES = Path(__file__).resolve().parent.parent / "styles"
if not STYLES.is_dir():  # running from a source checkout
    STYLES = Path(__file__).resolve().parents[2] / "styles"


def keymap_path() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return Path(config) / "socket-workbench" / "keymap.json"


class WorkbenchApp(SessionActions, App[int]):
    CSS_PATH = str(STYLES / "workbench.tcss")
    TITLE = "Socket Workbench"
    BINDINGS = bindings()

    def __init__(self, session: Session | None = None, path: str | None = None,
                 demo: bool = False, stable: bool = False, journal: bool = True,
                 journal_dir: str | None = None, lossless: bool = False) -> None:
        super().__init__()
        self.lossless = lossless  # capture: back-pressure rather than gaps
        self.open_path = path
        self.preloaded = session
        self.demo = demo
        self.stable = stable  # fixed ports and a frozen clock: screenshots and snapshots
        self.journal = journal
        self.journal_dir = journal_dir
        self.stepper: StepThrough | None = None
        self.keymap: dict[str, str] = {}  # binding id -> key, from keymap.json
        self._workspaces: list[Workspace] = []  # closed on unmount
        self.unsaved_journals: list[str] = []  # told to the user after the screen closes

    # -- start-up ------------------------------------------------------------------------

    def _make_workspace(self) -> Workspace:
        ws = Workspace(Path(self.journal_dir) if self.journal_dir else None,
                       journal=self.journal, port_base=DEMO_PORT if self.stable else None,
                       lossless=self.lossless)
        if self.stable:
            ws.set_clock(lambda: 0.0)
        self._workspaces.append(ws)
        return ws

    def on_mount(self) -> None:
        self._load_keymap()
        self.push_screen(MainScreen(self._make_workspace))
        self.call_after_refresh(self._after_start)

    def _after_start(self) -> None:
        main = self.main
        if self.demo:
            self._start_demo(main)
        if self.open_path:
            self._load(self.open_path, self.preloaded)
        main.refresh_peers()

    def _load_keymap(self) -> None:
        path = keymap_path()
        if not path.exists():
            return
        try:
            keymap = json.loads(path.read_text())
            if not isinstance(keymap, dict):
                raise ValueError("not an object")
            self.keymap = {str(k): str(v) for k, v in keymap.items()}
            self.set_keymap(self.keymap)
        except (OSError, ValueError) as exc:
            self.notify(f"{path}: ignored ({exc}); it maps binding ids to keys, "
                        'e.g. {"socket.new": "ctrl+n"}', severity="warning")

    def _start_demo(self, main: MainScreen) -> None:
        ws = main.ws
        try:
            ws.start_peer("echo", "tcp", name="echo")
        except InputError as exc:
            self.notify(str(exc), severity="error")
            return
        ws.session.title = "demo: a TCP client talking to an echo peer"
        self.run_worker(lambda: self._demo_steps(ws), thread=True, exit_on_error=False,
                        name="demo")

    def _demo_steps(self, ws: Workspace) -> None:
        sock = ws.call("socket", family="inet", type="stream").result["sock"]
        if self.stable:
            ws.call("setsockopt", sock, option="SO_REUSEADDR", value=1)
            ws.call("bind", sock, address=f"127.0.0.1:{DEMO_PORT + 100}")
        ws.call("connect", sock, address="peer:echo")
        ws.call("send", sock, data=GREETING)
        ws.call("expect", sock, data=GREETING, timeout=5.0)

    @property
    def main(self) -> MainScreen:
        screen = self.get_screen("main") if self.is_screen_installed("main") else None
        if isinstance(screen, MainScreen):
            return screen
        for candidate in self.screen_stack:
            if isinstance(candidate, MainScreen):
                return candidate
        raise RuntimeError("main screen not mounted")

    def on_unmount(self) -> None:
        # The screens are already gone here (the stack is empty): close what was made,
        # so peers, sockets and the journal end with the app.
        for ws in self._workspaces:
            if ws.dirty and ws.journal is not None and ws.session.steps:
                self.unsaved_journals.append(str(ws.journal.dir))
            ws.close()
        self._workspaces.clear()

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Never markup: messages carry user text ("[b]" in a path, "[v6]" in help)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    # -- palette -------------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for action in ACTIONS:
            yield SystemCommand(action.title, action.help,
                                lambda a=action.action: self.run_action(a))

    # -- socket actions: each opens its form on the main screen --------------------------

    def action_socket(self, name: str) -> None:
        """Run one socket action (a key in forms.FORMS) on the selected socket."""
        self.main.open_form(name)

    def action_cancel(self) -> None:
        main = self.main
        if isinstance(self.focused, Input):  # esc leaves a text field first
            main.query_one(SocketTree).focus()
            return
        # A blocking connect in its syscall counts too: cancelling aborts it.
        if main.selected is None or not main.ws.cancel_pending(main.selected):
            self.notify("nothing in progress on the selected socket", timeout=3)

    # -- data ----------------------------------------------------------------------------

    def action_focus_send(self) -> None:
        self.main.show_pane("data")
        self.main.query_one("#payload").focus()

    def action_cycle_mode(self) -> None:
        from workbench.ui.widgets.send_editor import SendEditor

        mode = self.main.query_one(SendEditor).cycle_mode()
        self.notify(f"payload mode: {mode}", timeout=2)

    def action_toggle_lossless(self) -> None:
        ws = self.main.ws
        ws.set_lossless(not ws.lossless)
        self.lossless = ws.lossless
        self.notify("capture: lossless, every byte kept; a flood slows to what storage takes"
                    if ws.lossless else
                    "capture: keeping up; what storage cannot keep is marked as not kept",
                    timeout=4)

    def action_show_tab(self, tab: str) -> None:
        self.main.show_pane(tab)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.keymap))

def run_app(session: Session | None = None, path: str | None = None, demo: bool = False,
            lossless: bool = False) -> int:
    app = WorkbenchApp(session=session, path=path, demo=demo, lossless=lossless)
    app.run()
    for journal in app.unsaved_journals:  # nothing is lost: say where it is
        print(f"workbench: unsaved steps are in the journal {journal}; "
              f"`workbench recover {journal} -o FILE` saves them", file=sys.stderr)
    return app.return_code or 0
