"""The main screen: socket tree, data pane with send bar, event log and the rest.

Every action here turns into a step submitted to the workspace's engine; results
come back through the bridge as coalesced messages, so nothing here ever waits on
a socket.
"""

from __future__ import annotations

import time
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Static, TabbedContent, TabPane, Tree

from workbench.core.errors import InputError
from workbench.core.session import socket_ids
from workbench.core.steps import Step
from workbench.io.engine import CallStarted, SocketChanged, SocketInfo, StepDone
from workbench.io.workspace import Workspace
from workbench.ui import forms
from workbench.ui.messages import EngineActivity, EngineBridge
from workbench.ui.widgets.event_log import EventLog, RecvBatch, meaning
from workbench.ui.widgets.hex_view import HexView
from workbench.ui.widgets.script_view import ScriptView
from workbench.ui.widgets.send_editor import SendEditor
from workbench.ui.widgets.socket_tree import SocketTree, human_bytes, kind_label

OPTIONS_LATER = (
    "Socket options: the live option panel (full catalog, effective read-back, TCP_INFO) "
    "is not there yet.\n\nNow: press o to set an integer option and g to read one; "
    "both are recorded as steps."
)
CONNS_LATER = (
    "Connections: the machine's connection table is not there yet.\n\n"
    "It will come from netlink sock_diag with this workbench's own sockets marked. "
    "Meanwhile `ss -tanup` shows it."
)


class MainScreen(Screen[None]):
    def __init__(self, workspace_factory: Any) -> None:
        super().__init__(id="main")
        self._factory = workspace_factory
        self.workspace: Workspace | None = None
        self.bridge = EngineBridge(self.post_message)
        self.selected: int | None = None
        self._rate_marks: dict[int, tuple[float, int, int, str]] = {}

    # -- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Label("Socket Workbench", id="title-bar")
        with Horizontal(id="body"):
            with Vertical(id="left"):
                yield SocketTree()
                yield Label("", id="peers")
            with TabbedContent(id="tabs", initial="data"):
                with TabPane("Data", id="data"):
                    yield Label("", id="sock-header")
                    yield HexView(id="data")
                    yield SendEditor()
                with TabPane("Log", id="log"):
                    yield EventLog()
                with TabPane("Session", id="session"):
                    yield ScriptView()
                    yield Static("", id="script-status", markup=False)
                with TabPane("Options", id="options"):
                    yield Static(OPTIONS_LATER, classes="later")
                with TabPane("Conns", id="conns"):
                    yield Static(CONNS_LATER, classes="later")
        yield Footer()

    def on_mount(self) -> None:
        self.workspace = self._factory()
        self.workspace.subscribe(self.bridge)
        self.set_interval(self.bridge.min_interval, self._tick)
        self.query_one(HexView).show_capture(None)
        self._update_title()
        self.query_one(SocketTree).focus()

    @property
    def ws(self) -> Workspace:
        assert self.workspace is not None
        return self.workspace

    def _update_title(self) -> None:
        ws = self.workspace
        name = str(ws.path) if ws is not None and ws.path else "unsaved session"
        title = ws.session.title if ws is not None and ws.session.title else ""
        mark = " *" if ws is not None and ws.dirty else ""
        text = f"Socket Workbench — {name}{mark}" + (f" — {title}" if title else "")
        _set_text(self.query_one("#title-bar", Label), text)

    def refresh_peers(self) -> None:
        peers = self.ws.peer_addresses()
        text = "  ".join(f"peer:{n} {a}" for n, a in peers.items()) or "no peers: p starts one"
        self.query_one("#peers", Label).update(text)

    # -- engine activity -----------------------------------------------------------------

    def _tick(self) -> None:
        if self.bridge.due():
            self._drain()
        mark = self._rate_marks.get(self.selected or -1)
        if mark is not None and mark[3] and time.monotonic() - mark[0] >= 0.5:
            self._show_selected(self.ws.socket_info(self.selected or -1))  # rates fall

    @on(EngineActivity)
    def _drain(self) -> None:
        changed: set[int] = set()
        made: list[int] = []
        log = self.query_one(EventLog)
        batch = RecvBatch()
        for event in self.bridge.drain():
            if isinstance(event, StepDone):
                if not batch.add(event.step):
                    batch.flush(log)
                    log.add_step(event.step)
                self._announce(event.step)
                changed.update(s for s in (event.step.sock,) if s is not None)
                created = socket_ids([event.step])
                changed.update(created)
                if event.step.op in ("socket", "socketpair"):
                    made.extend(created[:1])
            elif isinstance(event, SocketChanged):
                changed.add(event.sock)
            elif isinstance(event, CallStarted):  # the tree shows it as "op…"
                changed.add(event.call.sock or -1)
        batch.flush(log)
        self._refresh_sockets(changed)
        if made:  # a socket the user just created becomes the selected one
            self.query_one(SocketTree).select_socket(made[-1])
            self._select(made[-1])
        self._update_title()

    def _announce(self, step: Step) -> None:
        """Errors get a notification with the errno's meaning; results stay in the log."""
        if step.error is None or (step.auto and step.error.name == "EAGAIN"):
            return
        severity = "warning" if step.error.name in ("EAGAIN", "EINPROGRESS", "EINTR") else "error"
        self.notify(f"{step.describe()}: {step.error.name} — {meaning(step)}",
                    severity=severity, timeout=8)

    def _refresh_sockets(self, changed: set[int]) -> None:
        tree = self.query_one(SocketTree)
        infos = {i.id: i for i in self.ws.sockets()}
        first_new = None
        for sid in sorted(changed):
            info = infos.get(sid)
            if info is None:
                continue
            if not tree.has(sid) and first_new is None:
                first_new = sid
            tree.show(info)
        if self.selected is None and first_new is not None:
            tree.select_socket(first_new)
            self._select(first_new)
        elif self.selected in changed:
            self._show_selected(infos.get(self.selected))
            self.query_one(HexView).catch_up()

    # -- selection -----------------------------------------------------------------------

    @on(Tree.NodeHighlighted)
    def _highlighted(self, event: Tree.NodeHighlighted) -> None:
        if event.node.data is not None and event.node.data != self.selected:
            self._select(event.node.data)

    def _select(self, sock: int) -> None:
        self.selected = sock
        info = self.ws.socket_info(sock)
        capture = self.ws.capture(sock) if info else None
        self.query_one(HexView).show_capture(capture, datagram=bool(info and info.type == "dgram"))
        self._show_selected(info)

    def _show_selected(self, info: SocketInfo | None) -> None:
        header = self.query_one("#sock-header", Label)
        if info is None:
            _set_text(header, "no socket selected")
            return
        mode = ("blocking" if info.blocking else "non-blocking") + (
            " auto" if info.auto else " manual")
        lost = self.query_one(HexView).not_kept  # the view shows the selected socket
        _set_text(header,
            f"#{info.id} {kind_label(info)} {info.state} {info.local or '-'} → "
            f"{info.peer or '-'}  ↓{human_bytes(info.bytes_in)} ↑{human_bytes(info.bytes_out)}"
            f"{self._rates(info)}{f'  {lost}' if lost else ''}  {mode}"
        )
        self.query_one(SendEditor).need_destination(info.type == "dgram" and not info.peer)

    def _rates(self, info: SocketInfo) -> str:
        """Bytes per second in and out, measured over the last half second or more."""
        now = time.monotonic()
        mark = self._rate_marks.get(info.id)
        if mark is None:
            self._rate_marks[info.id] = (now, info.bytes_in, info.bytes_out, "")
            return ""
        then, was_in, was_out, shown = mark
        if now - then >= 0.5:
            rate_in = (info.bytes_in - was_in) / (now - then)
            rate_out = (info.bytes_out - was_out) / (now - then)
            shown = "" if not (rate_in or rate_out) else (
                f" ({human_bytes(int(rate_in))}/s ↓ {human_bytes(int(rate_out))}/s ↑)")
            self._rate_marks[info.id] = (now, info.bytes_in, info.bytes_out, shown)
        return shown

    def current(self) -> SocketInfo | None:
        """The selected socket, or a one-line notice saying how to get one."""
        info = self.ws.socket_info(self.selected) if self.selected is not None else None
        if info is None:
            self.notify("no socket selected: press n to create one", severity="warning")
            return None
        if info.state == "closed":
            self.notify(f"socket #{info.id} is closed: press n for a new one",
                        severity="warning")
            return None
        return info

    # -- submitting steps ----------------------------------------------------------------

    def submit(self, op: str, sock: int | None = None, **args: Any) -> None:
        try:
            self.ws.submit(op, sock, **args)
        except InputError as exc:
            self.notify(str(exc), severity="error")

    @on(SendEditor.Send)
    def _send(self, event: SendEditor.Send) -> None:
        """One message is one send: the editor itself paces repeats."""
        info = self.current()
        if info is None:
            self.query_one(SendEditor).stop()
            return
        request = event.request
        self.submit(request.op, info.id, **request.step_args())
        if event.last:
            self.query_one("#payload", Input).value = ""

    def ask(self, screen: Any, then: Any) -> None:
        self.app.push_screen(screen, lambda values: then(values) if values else None)

    def open_form(self, name: str) -> None:
        """Open the form of one socket action; the form's values become a step."""
        info = None
        if name not in ("new_socket", "socketpair", "start_peer"):
            info = self.current()
            if info is None:
                return
        form, make = forms.FORMS[name](self, info)
        if form is None:
            make({})
        else:
            self.ask(form, make)


def _set_text(label: Label, text: str) -> None:
    """Update a label only when its text changes: each update lays the screen out again,
    which under a flood would take the time the receiving threads need."""
    if str(label.content) != text:
        label.update(text)
