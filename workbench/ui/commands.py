"""Every action of the workbench, once: its key, binding id, palette title and help.

Bindings, the command palette and the help screen are all built from this table,
so an action is never reachable one way and missing another. Socket actions take
their title and help from the op table, the view keys from the pane registry.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

from workbench.core.ops import OPS
from workbench.ui.panes import PANES


@dataclass(frozen=True)
class Action:
    id: str  # binding id: users remap keys by it (keymap.json)
    key: str  # "" for an action reached from the palette only
    action: str  # App action name
    title: str  # the palette entry, object then verb: "socket: connect"
    help: str
    footer: bool = False
    op: str = ""  # the op it runs, so the palette can say when it makes no sense
    group: str = "app"  # where it applies, for `?`: app or socket


def _op(binding_id: str, key: str, form: str, op: str, footer: bool = False) -> Action:
    spec = OPS[op]
    return Action(binding_id, key, f"socket('{form}')", spec.title, spec.help, footer, op,
                  "socket")


SOCKET_ACTIONS = (
    _op("socket.new", "n", "new_socket", "socket", footer=True),
    _op("socket.pair", "N", "socketpair", "socketpair"),
    _op("socket.bind", "b", "bind", "bind"),
    _op("socket.listen", "l", "listen", "listen"),
    _op("socket.connect", "c", "connect", "connect", footer=True),
    _op("socket.accept", "a", "accept", "accept"),
    _op("socket.recv", "r", "recv", "recv"),
    _op("socket.shutdown", "d", "shutdown", "shutdown"),
    _op("socket.close", "x", "close", "close", footer=True),
    _op("socket.blocking", "k", "toggle_blocking", "set_blocking"),
    _op("socket.auto", "u", "toggle_auto", "set_auto"),
    _op("socket.cloexec", "E", "toggle_cloexec", "set_inheritable"),
)

ACTIONS: tuple[Action, ...] = (
    *SOCKET_ACTIONS,
    Action("socket.cancel", "escape", "cancel", "socket: cancel call",
           "leave a text field; else cancel the call in progress on the socket",
           group="socket"),
    _op("option.set", "o", "setsockopt", "setsockopt"),
    _op("option.get", "g", "getsockopt", "getsockopt"),
    Action("option.tcp_info", "i", "tcp_info", "option: TCP_INFO",
           "the Options pane shows TCP_INFO of the selected TCP socket, live; i again: "
           "the options", group="socket"),
    Action("data.send", "s", "focus_send", "data: send",
           "focus the send editor: type a payload, Enter sends", True),
    Action("data.hex", "h", "focus_hex", "data: hex view",
           "focus the hex view: then its keys work (m, /, :, v, y, w, …)"),
    Action("data.mode", "f2", "cycle_mode", "data: payload mode",
           "text, hex, escapes, latin-1 or file for the send editor"),
    Action("peer.start", "p", "socket('start_peer')", "peer: start",
           "start a built-in echo/chargen peer"),
    Action("session.save", "ctrl+s", "save", "session: save", "save the session", True),
    Action("session.save_as", "S", "save_as", "session: save as", "save under a new name"),
    Action("session.open", "ctrl+o", "open", "session: open", "load a session to step through"),
    Action("session.next", "f7", "next_step", "session: next step",
           "run the next step of the loaded session"),
    Action("session.run", "f8", "run_all", "session: run all", "run the rest of the session"),
    Action("session.stop", "f9", "stop_run", "session: stop", "stop running the session"),
    Action("export.c", "X", "export('C')", "export: C",
           "the session as a C program: preview, copy (y), save (w)"),
    Action("errno.explain", "exclamation_mark", "why", "errno: explain the last error",
           "why the selected socket's last failed step failed: its meaning for the call, "
           "the causes seen on this machine now with their evidence, what to do"),
    Action("capture.lossless", "K", "toggle_lossless", "capture: lossless on/off",
           "keep every byte (a flood slows) or keep up (gaps marked)"),
    *(Action(f"view.{p.id}", p.key, f"show_tab('{p.id}')", f"view: {p.name}", p.help)
      for p in PANES),
    Action("app.help", "question_mark,f1", "help", "help: keys",
           "show every key (f1 also works while typing)", True),
    Action("app.quit", "q", "quit", "app: quit", "quit (the journal keeps every step)", True),
)

# Reached from the palette only (no key yet): reads whose result shows in the log, and
# the other export languages (X opens C; the screen switches language).
PALETTE_ONLY: tuple[Action, ...] = (
    Action("packet.icmp_echo", "", "socket('icmp_echo')", "packet: ICMP echo request",
           "send an echo request (checksum computed) from a raw ICMP or ping socket",
           op="sendto", group="socket"),
    Action("export.python", "", "export('Python')", "export: Python",
           "the session as a Python program (blocking, selectors or asyncio)"),
    Action("export.findings", "", "export('findings (JSON)')", "export: findings",
           "what the session shows, as JSON findings with the evidence for each"),
    Action("errno.pick", "", "pick_failure", "errno: explain a failed step…",
           "choose one of the session's failed steps and see why it failed (Enter in the "
           "Log pane too)"),
    Action("errno.browse", "", "errno_browse", "errno: browse",
           "every errno and resolver error with its meaning; type to search"),
    _op("socket.getsockname", "", "getsockname", "getsockname"),
    _op("socket.getpeername", "", "getpeername", "getpeername"),
)


def bindings() -> list[Binding]:
    return [
        Binding(a.key, a.action, a.title.split(": ", 1)[1], show=a.footer, id=a.id, tooltip=a.help)
        for a in ACTIONS if a.key
    ]


KEY_NAMES = {"question_mark": "?", "escape": "esc", "colon": ":", "slash": "/",
             "exclamation_mark": "!"}
ALIASES = {"f15"}  # what some terminals send for shift+f3: not a key to learn


def key_label(key: str) -> str:
    """A binding's keys as a user types them: "? / f1", not "question_mark,f1"."""
    keys = [k.strip() for k in key.split(",") if k.strip() not in ALIASES]
    return " / ".join(KEY_NAMES.get(k, k) for k in keys)
