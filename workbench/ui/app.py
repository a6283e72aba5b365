"""The Textual app: bindings, palette and wiring. The work happens in the screens."""

from __future__ import annotations

import gc
import io
import json
import os
import sys
from collections import deque
from collections.abc import Awaitable, Iterable
from pathlib import Path

from rich.console import Console
from rich.segment import Segments
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Input

from workbench.core.errors import InputError
from workbench.core.ops import OPS
from workbench.core.session import Session
from workbench.core.sizes import AUTO, Budget
from workbench.io.demo import GREETING
from workbench.io.workspace import Workspace
from workbench.ui.commands import ACTIONS, PALETTE_ONLY, bindings
from workbench.ui.key_help import Now, key_groups
from workbench.ui.panes.conns import ConnsView
from workbench.ui.screens.export import ExportScreen
from workbench.ui.screens.help import HelpScreen
from workbench.ui.screens.main import MainScreen
from workbench.ui.screens.why import (
    ErrnoBrowser,
    FailurePicker,
    WhyScreen,
    failed_steps,
    last_failure,
    set_related_option,
    stable_mask,
    step_title,
)
from workbench.ui.session_actions import SessionActions
from workbench.ui.stable import PEER_PORT, SOCKET_PORT, FakePorts
from workbench.ui.stepping import StepThrough
from workbench.ui.widgets.event_log import EventLog
from workbench.ui.widgets.hex_view import HexView
from workbench.ui.widgets.option_table import OptionTable
from workbench.ui.widgets.send_editor import SendEditor
from workbench.ui.widgets.socket_tree import SocketTree, kind_label

STYLES = Path(__file__).resolve().parent.parent / "styles"
if not STYLES.is_dir():  # running from a source checkout
    STYLES = Path(__file__).resolve().parents[2] / "styles"


TOASTS_SHORT, TOASTS_TALL = 2, 3  # toasts shown at once, up to 30 rows and above
MAX_FAILED_LISTED = 20  # failed steps the palette offers to explain, newest first


def keymap_path() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return Path(config) / "socket-workbench" / "keymap.json"


def freeze_heap() -> None:
    """Take what the start made out of the collector's sight. Its widgets, styles and
    modules, over a hundred thousand objects, live as long as the app; a full collection
    walks every object it sees with the interpreter held, and under a flood one took
    60 ms, the receiving thread and the keys waiting on it (10 ms with these frozen).
    The app thaws them as it ends."""
    gc.collect()
    gc.freeze()


class WorkbenchApp(SessionActions, App[int]):
    CSS_PATH = str(STYLES / "workbench.tcss")
    TITLE = "Socket Workbench"
    # Tab moves the focus at once, before the next key is read: keys typed right after
    # it land in the new field (as a screen binding it waited for the old field first).
    BINDINGS = [*bindings(),
                Binding("tab", "focus_next", "next field", show=False, priority=True),
                Binding("shift+tab", "focus_previous", "previous field", show=False,
                        priority=True)]

    def __init__(self, session: Session | None = None, path: str | None = None,
                 demo: bool = False, stable: bool = False, journal: bool = True,
                 journal_dir: str | None = None, lossless: bool = False,
                 allow_public_peers: bool = False, capture_budget: Budget = AUTO) -> None:
        super().__init__()
        self.lossless = lossless  # capture: back-pressure rather than gaps
        self.capture_budget = capture_budget  # received bytes kept on disk (AUTO: default)
        self.allow_public_peers = allow_public_peers  # peers a file declares, beyond loopback
        self.open_path = path
        self.preloaded = session
        self.demo = demo
        self.stable = stable  # fake ports and a frozen clock: screenshots and snapshots
        self.fake_ports = FakePorts()  # stable: real port -> the one screenshots show
        self.journal = journal
        self.journal_dir = journal_dir
        self.stepper: StepThrough | None = None
        self.keymap: dict[str, str] = {}  # binding id -> key, from keymap.json
        self._workspaces: list[Workspace] = []  # closed on unmount
        self.unsaved_journals: list[str] = []  # told to the user after the screen closes
        self.notices: deque[tuple[str, str]] = deque(maxlen=200)  # (severity, message)

    # -- start-up ------------------------------------------------------------------------

    def _make_workspace(self) -> Workspace:
        ws = Workspace(Path(self.journal_dir) if self.journal_dir else None,
                       journal=self.journal, lossless=self.lossless,
                       allow_public_peers=self.allow_public_peers,
                       capture_budget=self.capture_budget)
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
        for notice in main.ws.notices:  # settings ignored, journals pruned or kept, disk
            self.notify(notice, severity="warning", timeout=10)
        self.call_after_refresh(freeze_heap)

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
        ws.call("connect", sock, address="peer:echo")
        ws.call("send", sock, data=GREETING)
        ws.call("expect", sock, data=GREETING, timeout=5.0)

    # -- stable screenshots --------------------------------------------------------------

    def export_screenshot(self, *, title: str | None = None, simplify: bool = False) -> str:
        """Stable mode shows fake ports: every port is bound as 0, so it differs each run.

        Textual 8's export_screenshot, with the fakes put into the rendered segments
        before the SVG is made (its ids hash the content, so the SVG must be made from
        the fakes).
        """
        if not self.stable:
            return super().export_screenshot(title=title, simplify=simplify)
        assert self._driver is not None, "App must be running"
        self._fake_ports_in_use()
        width, height = self.size
        console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                          color_system="truecolor", record=True, legacy_windows=False,
                          safe_box=False)
        update = self.screen._compositor.render_update(
            full=True, screen_stack=self._background_screens, simplify=simplify)
        console.print(Segments(self.fake_ports.segments(console.render(update))))
        return console.export_svg(title=title or self.title)

    def _fake_ports_in_use(self) -> None:
        """Peers from PEER_PORT in start order; our sockets from SOCKET_PORT by id, then
        any closed one a step result names."""
        for ws in self._workspaces:
            for address in ws.peer_addresses().values():
                self._fake_port(address, PEER_PORT)
            for info in sorted(ws.sockets(), key=lambda i: i.id):
                self._fake_port(info.local, SOCKET_PORT)
            for step in ws.steps():
                local = (step.result or {}).get("local")
                if isinstance(local, str):
                    self._fake_port(local, SOCKET_PORT)

    def _fake_port(self, address: str, base: int) -> None:
        """An IP address's port, unless 0 (unbound); unix: addresses have none."""
        port = address.rpartition(":")[2]
        if not address.startswith("unix:") and port.isdigit() and int(port):
            self.fake_ports.assign(int(port), base)

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
        gc.unfreeze()  # what the start made can go now, with the app

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Never markup: messages carry user text ("[b]" in a path, "[v6]" in help)."""
        self.notices.append((severity, message))
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    @property
    def max_toasts(self) -> int:
        return TOASTS_TALL if self.size.height > 30 else TOASTS_SHORT

    def _refresh_notifications(self) -> None:
        """Only the newest few toasts show: a burst (a session run, a flood of errors)
        never stacks up over the panes. Every message stays in `notices` and the log."""
        for old in list(self._notifications)[:-self.max_toasts]:
            del self._notifications[old]
        super()._refresh_notifications()

    # -- palette -------------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        main = self.main
        for action in (*ACTIONS, *PALETTE_ONLY):
            reason = None
            if action.op and OPS[action.op].needs_socket and main.workspace is not None:
                reason = main.ws.why_not(main.selected, action.op)
            yield SystemCommand(action.title, f"not now: {reason}" if reason else action.help,
                                lambda a=action.action: self.run_action(a))
        for step in failed_steps(main.ws.steps())[:MAX_FAILED_LISTED]:
            yield SystemCommand(f"errno: explain {step_title(step)}",
                                "why it failed, with the evidence seen here now",
                                lambda seq=step.seq: self.explain(seq))
        hex_view = main.query_one(HexView)
        for binding in HexView.BINDINGS:
            name = getattr(binding, "id", "").removeprefix("hex.")
            if name in HEX_PALETTE and isinstance(binding, Binding):
                reason = hex_not_now(hex_view, name)
                yield SystemCommand(f"data: {binding.description}",
                                    f"not now: {reason}" if reason else binding.tooltip,
                                    lambda a=binding.action: self._hex_action(a))

    def _hex_action(self, action: str) -> Awaitable[bool]:
        """A hex view command from the palette: the view is shown and focused first."""
        self.action_focus_hex()
        return self.run_action(action, self.main.query_one(HexView))

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

    def action_focus_hex(self) -> None:
        self.main.show_pane("data")
        self.main.query_one(HexView).focus()

    def action_cycle_mode(self) -> None:
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

    def action_export(self, lang: str) -> None:
        ws = self.main.ws
        if not ws.session.steps:
            self.notify("nothing to export yet: the session has no steps", severity="warning")
            return
        name = ws.path.stem if ws.path else "session"
        self.push_screen(ExportScreen(ws.session, lang, name))

    def action_tcp_info(self) -> None:
        """TCP_INFO in the Options pane, or back to the options."""
        self.main.show_pane("options")
        self.main.panes["options"].toggle_tcp_info()  # type: ignore[attr-defined]

    def action_help(self) -> None:
        self.push_screen(HelpScreen(key_groups(self._now())))

    # -- errors explained (screens/why) --------------------------------------------------

    def action_why(self) -> None:
        """Explain the selected socket's last failed step (the newest of all when none)."""
        main = self.main
        step = last_failure(main.ws.steps(), main.selected)
        if step is None:
            self.notify("no failed step on the selected socket yet", timeout=3)
            return
        self.explain(step.seq)

    def explain(self, seq: int | None) -> None:
        step = next((s for s in self.main.ws.steps() if s.seq == seq), None)
        if step is not None:
            mask = stable_mask(self.fake_ports) if self.stable else str
            self.push_screen(WhyScreen(step, self.main.ws.diagnose(step.seq), mask),
                             lambda option: set_related_option(self.main, step, option))

    def action_pick_failure(self) -> None:
        steps = self.main.ws.steps()
        if not failed_steps(steps):
            self.notify("no step has failed in this session", timeout=3)
            return
        self.push_screen(FailurePicker(steps), self.explain)

    def action_errno_browse(self) -> None:
        self.push_screen(ErrnoBrowser())

    def _now(self) -> Now:
        """What applies now, for `?`: the selected socket, the focus, a loaded session."""
        main = self.main
        sock = main.selected
        info = main.ws.socket_info(sock) if sock is not None else None
        focused = self.focused
        editor = main.query_one(SendEditor)
        return Now(socket=f"#{info.id} {kind_label(info)} {info.state}" if info else "",
                   why_not=lambda op: main.ws.why_not(sock, op),
                   pending=bool(info and info.pending), session=self.stepper is not None,
                   hex_focused=focused is main.query_one(HexView),
                   options_focused=isinstance(focused, OptionTable),
                   log_focused=isinstance(focused, EventLog),
                   conns_focused=focused is not None and any(
                       isinstance(w, ConnsView) for w in (focused, *focused.ancestors)),
                   send_focused=focused is not None and (
                       focused is editor or editor in focused.ancestors),
                   keymap=self.keymap)

HEX_PALETTE = ("jump", "search", "search_next", "search_prev", "copy_hex", "copy_text", "copy_c",
               "copy_python", "save", "save_hexdump")


def hex_not_now(view: HexView, name: str) -> str:
    """Why a hex view command would do nothing now ("" when it would)."""
    if view.capture is None:
        return "no socket selected: press n to create one"
    if not any(view.model.totals):
        return "nothing sent or received yet"
    if name.startswith("copy") and view.selection is None:
        return "nothing selected: in the hex view v marks, shift+arrows extend"
    if name.startswith("search_") and not view.pattern:
        return "no search yet: data: search first"
    return ""


def run_app(session: Session | None = None, path: str | None = None, demo: bool = False,
            lossless: bool = False, allow_public_peers: bool = False,
            capture_budget: Budget = AUTO) -> int:
    app = WorkbenchApp(session=session, path=path, demo=demo, lossless=lossless,
                       allow_public_peers=allow_public_peers, capture_budget=capture_budget)
    app.run()
    for journal in app.unsaved_journals:  # nothing is lost: say where it is
        print(f"workbench: unsaved steps are in the journal {journal}; "
              f"`workbench recover {journal} -o FILE` saves them", file=sys.stderr)
    return app.return_code or 0
