"""What `?` lists: every key, grouped by where it works, marked when it does nothing now.

The app's keys come from the action table (commands.py); the hex view's and the send
editor's straight from their widgets' BINDINGS, so the list cannot drift from the keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from textual.binding import Binding, BindingType

from workbench.ui.commands import ACTIONS, key_label
from workbench.ui.panes.conns import ConnsView
from workbench.ui.panes.data import DataBody
from workbench.ui.widgets.event_log import EventLog
from workbench.ui.widgets.hex_view import HexView
from workbench.ui.widgets.option_table import OptionTable
from workbench.ui.widgets.send_editor import SendEditor


@dataclass(frozen=True)
class KeyRow:
    key: str  # as typed: "?", ":", "shift+f3"
    title: str
    help: str
    id: str  # the binding id keymap.json remaps
    not_now: str = ""  # why it would do nothing useful now; "" when it applies
    always: bool = False  # applies even when its group does not (n with no socket)


@dataclass(frozen=True)
class KeyGroup:
    title: str
    where: str  # when these keys work
    rows: tuple[KeyRow, ...]
    off: str = ""  # why none of them works now (e.g. the hex view has not the focus)


@dataclass
class Now:
    """What applies at the moment `?` was pressed."""

    socket: str = ""  # the selected socket, "#3 tcp4 connected"; "" for none
    why_not: Callable[[str], str | None] = lambda op: None  # per op, on that socket
    pending: bool = False  # a call is in progress on it (esc cancels)
    session: bool = False  # a session is loaded to step through
    hex_focused: bool = False
    options_focused: bool = False
    conns_focused: bool = False
    log_focused: bool = False
    send_focused: bool = False
    keymap: dict[str, str] = field(default_factory=dict)


def _key(now: Now, binding_id: str, key: str) -> str:
    return key_label(now.keymap.get(binding_id, key))


def _app_row(now: Now, action_id: str) -> KeyRow:
    action = next(a for a in ACTIONS if a.id == action_id)
    reason = ""
    makes = action.op in ("socket", "socketpair")
    if action.op and not makes and now.socket:  # with no socket the group says so
        reason = now.why_not(action.op) or ""
    elif action.id.startswith("session.") and action.id not in (
            "session.save", "session.save_as", "session.open") and not now.session:
        reason = "no session loaded: ctrl+o opens one"
    elif action.id == "socket.cancel" and now.socket and not now.pending:
        reason = "nothing in progress (esc still leaves a text field)"
    title = action.title.split(": ", 1)[-1] if action.group == "socket" else action.title
    return KeyRow(_key(now, action.id, action.key), title, action.help, action.id, reason,
                  always=makes)


def widget_rows(now: Now, bindings: Iterable[BindingType]) -> tuple[KeyRow, ...]:
    """One row per binding with an id, in the widget's order."""
    return tuple(KeyRow(_key(now, b.id, b.key), b.description, b.tooltip or b.description, b.id)
                 for b in bindings if isinstance(b, Binding) and b.id)


def key_groups(now: Now) -> list[KeyGroup]:
    """The groups `?` shows, in order: app, socket, data pane (hex view), send editor."""
    app = tuple(_app_row(now, a.id) for a in ACTIONS if a.key and a.group == "app")
    sock = tuple(_app_row(now, a.id) for a in ACTIONS if a.key and a.group == "socket")
    sock_off = "" if now.socket else "no socket selected: press n to create one"
    return [
        KeyGroup("app", "anywhere in the main screen", app),
        KeyGroup("socket", f"on the selected socket{f' ({now.socket})' if now.socket else ''}",
                 sock, sock_off),
        KeyGroup("data pane: hex view", "while the hex view has the focus (h, or tab to it)",
                 widget_rows(now, HexView.BINDINGS),
                 "" if now.hex_focused else "press h to focus the hex view"),
        KeyGroup("send editor", "while the send editor has the focus (s, or tab to it)",
                 widget_rows(now, SendEditor.BINDINGS),
                 "" if now.send_focused else "press s to focus the send editor"),
        KeyGroup("data pane", "while the hex view or the send editor has the focus",
                 widget_rows(now, DataBody.BINDINGS),
                 "" if now.hex_focused or now.send_focused
                 else "press h to focus the hex view"),
        KeyGroup("log pane", "while the event log has the focus (2, then tab to it)",
                 widget_rows(now, EventLog.BINDINGS),
                 "" if now.log_focused else "press 2, then tab to the log"),
        KeyGroup("options pane", "while the options table has the focus (4, or tab to it)",
                 widget_rows(now, OptionTable.BINDINGS),
                 "" if now.options_focused else "press 4 to show and focus the options"),
        KeyGroup("connections pane", "while the connection table has the focus (5)",
                 widget_rows(now, ConnsView.BINDINGS),
                 "" if now.conns_focused else "press 5 to show and focus the table"),
    ]
