"""The main screen: the socket tree and the panes of the registry, side by side.

Every action here turns into a step submitted to the workspace; results come back
through the bridge as coalesced messages, which the screen hands to each pane, so
nothing here ever waits on a socket.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, TabbedContent, TabPane, Tree

from workbench.core.diagnosis import deferred_connect_error, words_for_step
from workbench.core.errors import InputError
from workbench.core.ops import OPS, created_sockets
from workbench.core.steps import Step
from workbench.io.engine import CallStarted, EngineEvent, SocketChanged, SocketInfo, StepDone
from workbench.io.workspace import Workspace
from workbench.ui import forms
from workbench.ui.messages import EngineActivity, EngineBridge
from workbench.ui.panes import PANES, PaneController
from workbench.ui.panes.session import SessionPane
from workbench.ui.text import fit, set_text
from workbench.ui.widgets.send_editor import SendEditor
from workbench.ui.widgets.socket_tree import SocketTree

NO_SOCKET_NEEDED = ("new_socket", "socketpair", "start_peer")
READS = ("getsockopt", "getsockname", "getpeername")  # their result is the point: shown


class MainScreen(Screen[None]):
    def __init__(self, workspace_factory: Callable[[], Workspace]) -> None:
        super().__init__(id="main")
        self._factory = workspace_factory
        self.workspace: Workspace | None = None
        self.bridge = EngineBridge(self.post_message)
        self.selected: int | None = None
        self.panes: dict[str, PaneController] = {p.id: p.make(self) for p in PANES}

    # -- layout --------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Label("Socket Workbench", id="title-bar")
        with Horizontal(id="body"):
            with Vertical(id="left"):
                yield SocketTree()
                yield Label("", id="peers")
            with TabbedContent(id="tabs", initial=PANES[0].id):
                for pane in PANES:
                    with TabPane(pane.title, id=pane.id):
                        yield from self.panes[pane.id].compose()
        yield Footer()

    def on_mount(self) -> None:
        self.workspace = self._factory()
        self.workspace.subscribe(self.bridge)
        self.set_interval(self.bridge.min_interval, self._tick)
        self._tell_selected(None)
        self.update_title()
        self.query_one(SocketTree).focus()

    @property
    def ws(self) -> Workspace:
        assert self.workspace is not None
        return self.workspace

    @property
    def session_pane(self) -> SessionPane:
        pane = self.panes["session"]
        assert isinstance(pane, SessionPane)
        return pane

    def show_pane(self, pane_id: str) -> None:
        self.query_one("#tabs", TabbedContent).active = pane_id
        self.panes[pane_id].on_shown()

    def update_title(self) -> None:
        ws = self.workspace
        name = str(ws.path) if ws is not None and ws.path else "unsaved session"
        title = ws.session.title if ws is not None and ws.session.title else ""
        mark = " *" if ws is not None and ws.dirty else ""
        text = f"Socket Workbench — {name}{mark}" + (f" — {title}" if title else "")
        bar = self.query_one("#title-bar", Label)
        width = bar.content_region.width
        set_text(bar, fit(text, width) if width else text, fitted=bool(width))

    def on_resize(self) -> None:
        self.call_after_refresh(self._refit)  # once the widgets have their new sizes

    def _refit(self) -> None:
        """What is fitted to the width is fitted again: the title, the header."""
        self.update_title()
        if self.selected is not None:
            self._tell_selected(self.ws.socket_info(self.selected))

    def refresh_peers(self) -> None:
        peers = self.ws.peer_addresses()
        text = "  ".join(f"peer:{n} {a}" for n, a in peers.items()) or "no peers: p starts one"
        self.query_one("#peers", Label).update(text)

    # -- engine activity -----------------------------------------------------------------

    def _tick(self) -> None:
        if self.bridge.due():
            self._drain()
        for pane in self.panes.values():
            pane.on_tick()

    @on(EngineActivity)
    def _drain(self) -> None:
        events = self.bridge.drain()
        changed, made = self._sockets_touched(events)
        for pane in self.panes.values():
            pane.on_events(events)
        self._refresh_sockets(changed)
        if made:  # a socket just created, or accepted on the one shown, is selected
            self.select(made[-1])
        self.update_title()

    def _sockets_touched(self, events: list[EngineEvent]) -> tuple[set[int], list[int]]:
        """Sockets whose snapshot changed, and sockets the user just created."""
        changed: set[int] = set()
        made: list[int] = []
        for event in events:
            if isinstance(event, StepDone):
                step = event.step
                if step.auto_received:
                    changed.add(step.sock)  # a flood's steps: nothing made, nothing to say
                    continue
                self._announce(event.step)
                created = created_sockets(event.step)
                changed.update(s for s in (event.step.sock, *created) if s is not None)
                if event.step.op in ("socket", "socketpair"):
                    made.extend(created[:1])
                elif event.step.op == "accept" and event.step.sock == (
                        made[-1] if made else self.selected):  # the one shown once drained
                    made.extend(created)
            elif isinstance(event, SocketChanged):
                changed.add(event.sock)
            elif isinstance(event, CallStarted):  # the tree shows it as "op…"
                changed.add(event.call.sock or -1)
        return changed, made

    def _announce(self, step: Step) -> None:
        """Errors get a notification with the errno's meaning, reads their value; other
        results stay in the log. Not while a session runs: each of its steps shows in
        the Session pane, and a toast per step would stack up over it."""
        stepper = getattr(self.app, "stepper", None)
        if stepper is not None and stepper.running:
            return
        if step.error is None and not step.auto and step.op in READS:
            self.notify(f"{step.describe()} → {step.outcome()}", timeout=6)
            return
        error = step.error or deferred_connect_error(step)  # a non-blocking connect's end
        if error is None or (step.auto and error.name == "EAGAIN"):
            return
        severity = "warning" if error.name in ("EAGAIN", "EINPROGRESS", "EINTR") else "error"
        info = self.ws.socket_info(step.sock) if step.sock is not None else None
        said, hint = words_for_step(step, info.family if info is not None else "", brief=True)
        tried = f"; try: {hint}" if hint else ""  # what to do, as `workbench errno` says
        what = step.describe() if step.error is not None else f"connect(#{step.sock})"
        why = "" if error.name == "EAGAIN" else " (! why)"  # screens/why: evidence seen here
        self.notify(f"{what}: {error.name} — {said}{tried}{why}", severity=severity, timeout=8)

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
            self.select(first_new)
        elif self.selected in changed:
            self._tell_selected(infos.get(self.selected))

    # -- selection -----------------------------------------------------------------------

    @on(Tree.NodeHighlighted)
    def _highlighted(self, event: Tree.NodeHighlighted) -> None:
        if event.node is not self.query_one(SocketTree).cursor_node:
            return  # stale: the cursor has moved on since it was posted
        if event.node.data is not None and event.node.data != self.selected:
            self._select(event.node.data)

    def select(self, sock: int) -> None:
        """Select a socket: the tree's cursor, the header, the panes and every form
        that opens next all show this one."""
        self.query_one(SocketTree).select_socket(sock)
        self._select(sock)

    def _select(self, sock: int) -> None:
        self.selected = sock
        self._tell_selected(self.ws.socket_info(sock))

    def _tell_selected(self, info: SocketInfo | None) -> None:
        for pane in self.panes.values():
            pane.on_selected(info)

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
        if name not in NO_SOCKET_NEEDED:
            info = self.current()
            if info is None:
                return
        form, make = forms.FORMS[name](self, info)
        op = forms.FORM_OPS.get(name, name)
        reason = self.ws.why_not(info.id, op) if info is not None and op in OPS else None
        if form is None:
            if reason:  # made all the same: the errno it returns is worth seeing
                self.notify(f"{op} will likely fail: {reason}", severity="warning", timeout=4)
            make({})
        else:
            form.note = f"likely to fail now: {reason}" if reason else ""
            self.ask(form, make)
